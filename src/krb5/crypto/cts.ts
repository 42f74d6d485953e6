// AES in CBC mode with ciphertext stealing as RFC 3962 §5 defines it for Kerberos (the "CS3"
// variant: the last two blocks are always swapped, also when the input is block aligned), built
// from AES-CBC and AES-ECB of the selected back end (primitives.ts) since OpenSSL has no CTS
// mode. IV = 0 unless given.
//
//   n == 16:  plain CBC of one block
//   n  > 16:  CBC over the zero-padded input → E1 … E(k-1) E(k); output
//             E1 … E(k-2) ‖ E(k) ‖ first m bytes of E(k-1)   (m = n − 16(k−1), 1..16)
import { cryptoPrimitives } from './primitives.ts';

const BLOCK = 16;
const ZERO_IV = Buffer.alloc(BLOCK);

function cbcEncrypt(key: Uint8Array, iv: Uint8Array, data: Uint8Array): Buffer {
  return cryptoPrimitives().aesCbcEncrypt(key, iv, data);
}

function cbcDecrypt(key: Uint8Array, iv: Uint8Array, data: Uint8Array): Buffer {
  return cryptoPrimitives().aesCbcDecrypt(key, iv, data);
}

/** The raw AES block function (one 16-byte block, ECB): E(K, block). */
export function aesEncryptBlock(key: Uint8Array, block: Uint8Array): Buffer {
  if (block.length !== BLOCK) throw new RangeError(`AES block must be ${BLOCK} bytes, got ${block.length}`);
  return cryptoPrimitives().aesEcbEncrypt(key, block);
}

function aesDecryptBlock(key: Uint8Array, block: Uint8Array): Buffer {
  return cryptoPrimitives().aesEcbDecrypt(key, block);
}

/** AES-CTS encryption (RFC 3962 §5); the input must be at least one block long. */
export function aesCtsEncrypt(key: Uint8Array, plaintext: Uint8Array, iv: Uint8Array = ZERO_IV): Buffer {
  const n = plaintext.length;
  if (n < BLOCK) throw new RangeError(`AES-CTS needs at least ${BLOCK} bytes, got ${n}`);
  if (n === BLOCK) return cbcEncrypt(key, iv, plaintext);
  const k = Math.ceil(n / BLOCK);
  const m = n - BLOCK * (k - 1);
  const padded = Buffer.alloc(BLOCK * k);
  padded.set(plaintext);
  const e = cbcEncrypt(key, iv, padded);
  return Buffer.concat([e.subarray(0, BLOCK * (k - 2)), e.subarray(BLOCK * (k - 1)), e.subarray(BLOCK * (k - 2), BLOCK * (k - 2) + m)]);
}

/** AES-CTS decryption (RFC 3962 §5), the inverse of aesCtsEncrypt. */
export function aesCtsDecrypt(key: Uint8Array, ciphertext: Uint8Array, iv: Uint8Array = ZERO_IV): Buffer {
  const n = ciphertext.length;
  if (n < BLOCK) throw new RangeError(`AES-CTS needs at least ${BLOCK} bytes, got ${n}`);
  if (n === BLOCK) return cbcDecrypt(key, iv, ciphertext);
  const k = Math.ceil(n / BLOCK);
  const m = n - BLOCK * (k - 1);
  const penultimate = ciphertext.subarray(BLOCK * (k - 2), BLOCK * (k - 1)); // this is E(k)
  const last = ciphertext.subarray(BLOCK * (k - 1)); // first m bytes of E(k-1)
  const d = aesDecryptBlock(key, penultimate); // P(k) (zero padded) XOR E(k-1)
  const ekMinus1 = Buffer.concat([last, d.subarray(m)]);
  const standard = Buffer.concat([ciphertext.subarray(0, BLOCK * (k - 2)), ekMinus1, penultimate]);
  return cbcDecrypt(key, iv, standard).subarray(0, n);
}
