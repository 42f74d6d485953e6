// Pre-authentication data types (IANA "Kerberos Pre-authentication and Typed Data";
// RFC 4120 §7.5.2, RFC 6113, MS-KILE).

export const PaType = {
  TGS_REQ: 1,
  ENC_TIMESTAMP: 2,
  PW_SALT: 3,
  ETYPE_INFO: 11,
  PK_AS_REQ: 16,
  PK_AS_REP: 17,
  ETYPE_INFO2: 19,
  SVR_REFERRAL_INFO: 20,
  PAC_REQUEST: 128,
  FOR_USER: 129,
  FX_COOKIE: 133,
  FX_FAST: 136,
  FX_ERROR: 137,
  ENCRYPTED_CHALLENGE: 138,
  REQ_ENC_PA_REP: 149,
  PAC_OPTIONS: 167,
} as const;
