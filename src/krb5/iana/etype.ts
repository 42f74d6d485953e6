// Kerberos encryption type numbers (IANA "Kerberos Encryption Type Numbers"; RFC 3961 §8,
// RFC 3962, RFC 4757, RFC 8009). Only the ones this project meets on the wire are named.

export const EncryptionType = {
  DES_CBC_CRC: 1,
  DES_CBC_MD5: 3,
  DES3_CBC_SHA1: 16,
  AES128_CTS_HMAC_SHA1_96: 17,
  AES256_CTS_HMAC_SHA1_96: 18,
  AES128_CTS_HMAC_SHA256_128: 19,
  AES256_CTS_HMAC_SHA384_192: 20,
  RC4_HMAC: 23,
  RC4_HMAC_EXP: 24,
  CAMELLIA128_CTS_CMAC: 25,
  CAMELLIA256_CTS_CMAC: 26,
} as const;

const names: Record<number, string> = {
  1: 'des-cbc-crc',
  3: 'des-cbc-md5',
  16: 'des3-cbc-sha1',
  17: 'aes128-cts-hmac-sha1-96',
  18: 'aes256-cts-hmac-sha1-96',
  19: 'aes128-cts-hmac-sha256-128',
  20: 'aes256-cts-hmac-sha384-192',
  23: 'arcfour-hmac',
  24: 'arcfour-hmac-exp',
  25: 'camellia128-cts-cmac',
  26: 'camellia256-cts-cmac',
};

/** MIT's name for an enctype ("aes256-cts-hmac-sha1-96"), or "etype <n>" when unknown. */
export function enctypeName(etype: number): string {
  return names[etype] ?? `etype ${etype}`;
}
