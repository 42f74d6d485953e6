// Kerberos checksum type numbers (IANA "Kerberos Checksum Type Numbers"; RFC 3961 §8,
// RFC 3962, RFC 4757, RFC 8009, RFC 4121 §4.1.1 for the GSS authenticator checksum).

export const ChecksumType = {
  CRC32: 1,
  RSA_MD5: 7,
  HMAC_SHA1_DES3_KD: 12,
  HMAC_SHA1_96_AES128: 15,
  HMAC_SHA1_96_AES256: 16,
  HMAC_SHA256_128_AES128: 19,
  HMAC_SHA384_192_AES256: 20,
  /** RFC 4121 §4.1.1: the GSS-API authenticator "checksum" (not a checksum: a flags structure) */
  GSSAPI: 0x8003,
  /** RFC 4757 (negative on the wire: 02 02 ff 76) */
  HMAC_MD5_ARCFOUR: -138,
} as const;

const names: Record<number, string> = {
  1: 'crc32',
  7: 'md5',
  12: 'hmac-sha1-des3-kd',
  15: 'hmac-sha1-96-aes128',
  16: 'hmac-sha1-96-aes256',
  19: 'hmac-sha256-128-aes128',
  20: 'hmac-sha384-192-aes256',
  32771: 'gssapi (0x8003)',
  [-138]: 'hmac-md5-arcfour',
};

export function checksumTypeName(cksumtype: number): string {
  return names[cksumtype] ?? `cksumtype ${cksumtype}`;
}
