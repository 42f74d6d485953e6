// KerberosFlags values (RFC 4120 §5.2.8, §5.4.1, §5.3, §5.5.1) as 32-bit words: ASN.1 bit 0 is
// the most significant bit (0x80000000), which is how MIT encodes them (03 05 00 b0 b1 b2 b3).

export const KdcOptions = {
  FORWARDABLE: 0x40000000,
  FORWARDED: 0x20000000,
  PROXIABLE: 0x10000000,
  PROXY: 0x08000000,
  ALLOW_POSTDATE: 0x04000000,
  POSTDATED: 0x02000000,
  RENEWABLE: 0x00800000,
  /** MS-SFU: constrained delegation with a ticket in additional-tickets */
  CNAME_IN_ADDL_TKT: 0x00020000,
  /** RFC 6806: allow the KDC to answer with a referral / canonical name */
  CANONICALIZE: 0x00010000,
  REQUEST_ANONYMOUS: 0x00008000,
  DISABLE_TRANSITED_CHECK: 0x00000020,
  RENEWABLE_OK: 0x00000010,
  ENC_TKT_IN_SKEY: 0x00000008,
  RENEW: 0x00000002,
  VALIDATE: 0x00000001,
} as const;

export const TicketFlags = {
  FORWARDABLE: 0x40000000,
  FORWARDED: 0x20000000,
  PROXIABLE: 0x10000000,
  PROXY: 0x08000000,
  MAY_POSTDATE: 0x04000000,
  POSTDATED: 0x02000000,
  INVALID: 0x01000000,
  RENEWABLE: 0x00800000,
  INITIAL: 0x00400000,
  PRE_AUTHENT: 0x00200000,
  HW_AUTHENT: 0x00100000,
  TRANSITED_POLICY_CHECKED: 0x00080000,
  OK_AS_DELEGATE: 0x00040000,
  ENC_PA_REP: 0x00010000,
  ANONYMOUS: 0x00008000,
} as const;

/** APOptions on the wire (MIT's AP_OPTS_USE_SUBKEY etc. are local flags and never encoded). */
export const ApOptions = {
  USE_SESSION_KEY: 0x40000000,
  MUTUAL_REQUIRED: 0x20000000,
} as const;

/** Names of the flags set in `value` (for traces), e.g. ["forwardable", "renewable"]. */
export function flagNames(table: Record<string, number>, value: number): string[] {
  const out: string[] = [];
  for (const [name, bit] of Object.entries(table)) {
    if ((value & bit) !== 0) out.push(name.toLowerCase().replace(/_/g, '-'));
  }
  return out;
}
