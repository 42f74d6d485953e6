// Numbers and byte strings of the gssproxy protocol (docs/gssproxy-protocol.md#options-and-constants,
// docs/gssproxy-protocol.md#record-marking-and-rpc-header):
// program and procedure numbers, OIDs as DER content bytes (no 06 tag/length), GSS flags (RFC
// 2744) and the option names the daemon compares byte-exactly, trailing NUL included.

/** IANA "gss-proxy"; the vendored .x still says 412345, the daemon answers only to this. */
export const GSSPROXY_PROGRAM = 400112;
export const GSSPROXY_VERSION = 1;

export const Proc = {
  INDICATE_MECHS: 1,
  GET_CALL_CONTEXT: 2,
  IMPORT_AND_CANON_NAME: 3,
  EXPORT_CRED: 4,
  IMPORT_CRED: 5,
  ACQUIRE_CRED: 6,
  STORE_CRED: 7,
  INIT_SEC_CONTEXT: 8,
  ACCEPT_SEC_CONTEXT: 9,
  RELEASE_HANDLE: 10,
} as const;
export type ProcNumber = (typeof Proc)[keyof typeof Proc];

const procNames = new Map<number, string>(Object.entries(Proc).map(([k, v]) => [v, `GSSX_${k}`]));

/** "GSSX_INIT_SEC_CONTEXT" for 8 (the daemon's log uses the same names). */
export function procName(proc: number): string {
  return procNames.get(proc) ?? `GSSX_PROC_${proc}`;
}

function hex(s: string): Buffer {
  return Buffer.from(s, 'hex');
}

export const Oid = {
  /** 1.2.840.113554.1.2.2 — the only mech the daemon acquires default creds for */
  KRB5: hex('2a864886f712010202'),
  /** 1.3.5.1.5.2 */
  KRB5_OLD: hex('2b05010502'),
  /** 1.2.840.48018.1.2.2 — Microsoft's mistyped krb5 OID (sec=mskrb5 SPNEGO only, never to gssproxy) */
  KRB5_MS: hex('2a864882f712010202'),
  /** 1.3.6.1.5.5.2 */
  SPNEGO: hex('2b0601050502'),
  /** 1.3.6.1.5.2.5 */
  IAKERB: hex('2b0601050205'),
  /** 1.2.840.113554.1.2.1.1 */
  NT_USER_NAME: hex('2a864886f71201020101'),
  /** 1.2.840.113554.1.2.1.2 */
  NT_MACHINE_UID_NAME: hex('2a864886f71201020102'),
  /** 1.2.840.113554.1.2.1.3 — decimal uid followed by one NUL (the server runs atol on it) */
  NT_STRING_UID_NAME: hex('2a864886f71201020103'),
  /** 1.2.840.113554.1.2.1.4 — "service@host" */
  NT_HOSTBASED_SERVICE: hex('2a864886f71201020104'),
  /** 1.3.6.1.5.6.4 */
  NT_EXPORT_NAME: hex('2b0601050604'),
  /** 1.2.840.113554.1.2.2.1 */
  KRB5_NT_PRINCIPAL_NAME: hex('2a864886f71201020201'),
} as const;

export const CredUsage = { INITIATE: 1, ACCEPT: 2, BOTH: 3 } as const;

export const HandleType = { SEC_CTX: 0, CRED: 1 } as const;

/** C-string literals the daemon matches with sizeof(): the NUL is part of the bytes. */
function cstr(s: string): Buffer {
  return Buffer.from(`${s}\0`, 'latin1');
}

export const OptionName = {
  EXPORTED_CONTEXT_TYPE: cstr('exported_context_type'),
  ACQUIRE_TYPE: cstr('acquire_type'),
  LOCALNAME: cstr('localname'),
  SYNC_MODIFIED_CREDS: cstr('sync_modified_creds'),
  SYNC_CREDS: cstr('sync_creds'),
} as const;

export const OptionValue = {
  LINUX_LUCID_V1: cstr('linux_lucid_v1'),
  IMPERSONATE_NAME: cstr('impersonate_name'),
  DEFAULT: cstr('default'),
} as const;

/** Dotted form of DER OID content bytes, for messages ("1.2.840.113554.1.2.2"). */
export function oidToDotted(oid: Uint8Array): string {
  if (oid.length === 0) return '(no OID)';
  const arcs: string[] = [];
  let value = 0n;
  let first = true;
  for (const byte of oid) {
    value = (value << 7n) | BigInt(byte & 0x7f);
    if (byte & 0x80) continue;
    if (first) {
      const a = value < 40n ? 0n : value < 80n ? 1n : 2n;
      arcs.push(String(a), String(value - a * 40n));
      first = false;
    } else {
      arcs.push(String(value));
    }
    value = 0n;
  }
  if (oid[oid.length - 1]! & 0x80) arcs.push('(truncated)');
  return arcs.join('.');
}
