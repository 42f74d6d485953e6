// Principal name types (RFC 4120 §6.2, RFC 6111 for WELLKNOWN, MS-KILE for the negative ones).
// Principal comparison ignores the name type; it is a hint to the KDC.

export const NameType = {
  UNKNOWN: 0,
  PRINCIPAL: 1,
  SRV_INST: 2,
  SRV_HST: 3,
  SRV_XHST: 4,
  UID: 5,
  X500_PRINCIPAL: 6,
  SMTP_NAME: 7,
  ENTERPRISE: 10,
  WELLKNOWN: 11,
  MS_PRINCIPAL: -128,
  MS_PRINCIPAL_AND_ID: -129,
  ENT_PRINCIPAL_AND_ID: -130,
} as const;
