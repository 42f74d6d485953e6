// RFC 3962: Advanced Encryption Standard (AES) Encryption for Kerberos 5 — enctypes 17/18
// (aes128/aes256-cts-hmac-sha1-96) and checksums 15/16 on the RFC 3961 simplified profile, plus
// the PRF (§6) and string-to-key (§4, PBKDF2-HMAC-SHA1).
import { aesCtsDecrypt, aesCtsEncrypt, aesEncryptBlock } from './cts.ts';
import { cryptoPrimitives, utf8 } from './primitives.ts';
import { SimplifiedProfile } from './rfc3961.ts';

function aesSha1Profile(etype: 17 | 18): SimplifiedProfile {
  return new SimplifiedProfile({
    etype,
    keyLength: etype === 17 ? 16 : 32,
    blockSize: 16,
    hash: 'sha1',
    macLength: 12,
    encryptBlock: aesEncryptBlock,
    encrypt: (key, data) => aesCtsEncrypt(key, data),
    decrypt: (key, data) => aesCtsDecrypt(key, data),
  });
}

let profiles: Map<number, SimplifiedProfile> | undefined;

/** The simplified profile of enctype 17 or 18 (built on first use). */
export function aesSha1(etype: 17 | 18): SimplifiedProfile {
  profiles ??= new Map([
    [17, aesSha1Profile(17)],
    [18, aesSha1Profile(18)],
  ]);
  return profiles.get(etype)!;
}

const PRF_CONSTANT = Buffer.from('prf', 'ascii');
const KERBEROS_CONSTANT = Buffer.from('kerberos', 'ascii');

/**
 * PRF (RFC 3962 §6): tmp = SHA-1(input) truncated to one AES block; output =
 * AES-CBC(DK(Key, "prf"), IV 0, tmp) — 16 bytes.
 */
export function aesSha1Prf(etype: 17 | 18, key: Uint8Array, input: Uint8Array): Buffer {
  const profile = aesSha1(etype);
  const tmp = cryptoPrimitives().digest('sha1', [input]).subarray(0, 16);
  return aesEncryptBlock(profile.deriveKey(key, PRF_CONSTANT), tmp);
}

/** Default PBKDF2 iteration count of RFC 3962 §4 (s2kparams absent). */
export const AES_SHA1_DEFAULT_ITERATIONS = 4096;

/**
 * string-to-key (RFC 3962 §4): tkey = PBKDF2-HMAC-SHA1(password, salt, iterations, keyLength),
 * key = DK(tkey, "kerberos").
 */
export function aesSha1StringToKey(
  etype: 17 | 18,
  password: string | Uint8Array,
  salt: string | Uint8Array,
  iterations: number = AES_SHA1_DEFAULT_ITERATIONS,
): Buffer {
  const profile = aesSha1(etype);
  const tkey = cryptoPrimitives().pbkdf2('sha1', utf8(password), utf8(salt), iterations, profile.spec.keyLength);
  return profile.deriveKey(tkey, KERBEROS_CONSTANT);
}
