// RFC 4757: The RC4-HMAC Kerberos Encryption Types Used by Microsoft Windows — enctype 23
// (arcfour-hmac) and checksum -138 (hmac-md5). RC4 is implemented here because Node 20's
// OpenSSL 3 refuses "rc4" without the legacy provider.
//
//   K1 = HMAC-MD5(K, u32le(ms_usage));  cksum = HMAC-MD5(K1, conf8 ‖ P)
//   K3 = HMAC-MD5(K1, cksum);           output = cksum(16) ‖ RC4(K3, conf8 ‖ P)
import { IntegrityError, InvalidKeyError } from './errors.ts';
import { cryptoPrimitives, sameBytes } from './primitives.ts';

const ETYPE = 23;
const KEY_LENGTH = 16;
const CONFOUNDER_LENGTH = 8;
const MAC_LENGTH = 16;

/** RC4 keystream XOR (KSA + PRGA). Symmetric: the same call encrypts and decrypts. */
export function rc4(key: Uint8Array, data: Uint8Array): Buffer {
  if (key.length === 0 || key.length > 256) throw new RangeError('RC4 key must be 1..256 bytes');
  const s = new Uint8Array(256);
  for (let i = 0; i < 256; i++) s[i] = i;
  for (let i = 0, j = 0; i < 256; i++) {
    j = (j + s[i] + key[i % key.length]) & 0xff;
    const t = s[i];
    s[i] = s[j];
    s[j] = t;
  }
  const out = Buffer.allocUnsafe(data.length);
  for (let n = 0, i = 0, j = 0; n < data.length; n++) {
    i = (i + 1) & 0xff;
    j = (j + s[i]) & 0xff;
    const t = s[i];
    s[i] = s[j];
    s[j] = t;
    out[n] = data[n] ^ s[(s[i] + s[j]) & 0xff];
  }
  return out;
}

/** Kerberos key usage → the message type number RC4-HMAC uses (RFC 4757 §3; MIT enc_rc4.c). */
export function msUsage(usage: number): number {
  switch (usage) {
    case 3:
      return 8; // AS-REP enc part: Windows uses the TGS-REP number
    case 9:
      return 8; // TGS-REP enc part with subkey
    case 23:
      return 13; // GSS acceptor sign
    default:
      return usage;
  }
}

function usageBytes(usage: number): Buffer {
  const t = Buffer.alloc(4);
  t.writeUInt32LE(msUsage(usage) >>> 0, 0);
  return t;
}

function hmacMd5(key: Uint8Array, ...data: Uint8Array[]): Buffer {
  return cryptoPrimitives().hmac('md5', key, data);
}

function checkKey(key: Uint8Array): void {
  if (key.length !== KEY_LENGTH) throw new InvalidKeyError(ETYPE, key.length, KEY_LENGTH);
}

export function rc4HmacEncrypt(key: Uint8Array, usage: number, plaintext: Uint8Array, confounder?: Uint8Array): Buffer {
  checkKey(key);
  const conf = confounder ?? cryptoPrimitives().randomBytes(CONFOUNDER_LENGTH);
  if (conf.length !== CONFOUNDER_LENGTH) throw new RangeError(`confounder must be ${CONFOUNDER_LENGTH} bytes`);
  const k1 = hmacMd5(key, usageBytes(usage));
  const data = Buffer.concat([conf, plaintext]);
  const cksum = hmacMd5(k1, data);
  const k3 = hmacMd5(k1, cksum);
  return Buffer.concat([cksum, rc4(k3, data)]);
}

export function rc4HmacDecrypt(key: Uint8Array, usage: number, ciphertext: Uint8Array): Buffer {
  checkKey(key);
  if (ciphertext.length < MAC_LENGTH + CONFOUNDER_LENGTH) {
    throw new IntegrityError(ETYPE, `ciphertext of ${ciphertext.length} bytes is too short`);
  }
  const k1 = hmacMd5(key, usageBytes(usage));
  const cksum = ciphertext.subarray(0, MAC_LENGTH);
  const k3 = hmacMd5(k1, cksum);
  const data = rc4(k3, ciphertext.subarray(MAC_LENGTH));
  if (!sameBytes(hmacMd5(k1, data), cksum)) {
    throw new IntegrityError(ETYPE, 'integrity check failed (wrong key or key usage, or modified data)');
  }
  return data.subarray(CONFOUNDER_LENGTH);
}

const SIGNATURE_KEY = Buffer.from('signaturekey\0', 'ascii');

/** Checksum type -138 (RFC 4757 §4): HMAC-MD5(HMAC-MD5(K, "signaturekey\0"), MD5(u32le(ms_usage) ‖ M)). */
export function hmacMd5Checksum(key: Uint8Array, usage: number, data: Uint8Array): Buffer {
  const ksign = hmacMd5(key, SIGNATURE_KEY);
  const tmp = cryptoPrimitives().digest('md5', [usageBytes(usage), data]);
  return hmacMd5(ksign, tmp);
}

/** PRF of enctype 23 as MIT and Heimdal implement it: HMAC-SHA1(K, input) (20 bytes). */
export function rc4HmacPrf(key: Uint8Array, input: Uint8Array): Buffer {
  checkKey(key);
  return cryptoPrimitives().hmac('sha1', key, [input]);
}

export const RC4_HMAC = { etype: ETYPE, keyLength: KEY_LENGTH, confounderLength: CONFOUNDER_LENGTH, macLength: MAC_LENGTH } as const;
