// The crypto primitives everything Kerberos is built from, with two back ends:
//
//   native  the addon (native/src/crypto.cc) calling the OpenSSL the node binary exports
//   node    node:crypto (the same OpenSSL, through Node's JS layer)
//
// Both compute the same functions. The addon is the default because loading node:crypto costs an
// upcall ~4 ms of CPU and ~2 MiB (Node's stream classes come with it); node:crypto is the
// fallback when the addon does not load (or predates these functions). The production bundle
// binds node:crypto lazily (scripts/build.mjs), so it is loaded only if the node back end is used.
// Importing this module does no work: the back end is chosen on the first call.
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  pbkdf2Sync,
  randomBytes as nodeRandomBytes,
  timingSafeEqual as nodeTimingSafeEqual,
} from 'node:crypto';
import { type CryptoHashName, native } from '../../os/native.ts';

export type HashName = CryptoHashName;

export interface CryptoPrimitives {
  readonly name: 'native' | 'node';
  /** AES-128/256 (by key length) in CBC mode without padding; data is whole 16-byte blocks. */
  aesCbcEncrypt(key: Uint8Array, iv: Uint8Array, data: Uint8Array): Buffer;
  aesCbcDecrypt(key: Uint8Array, iv: Uint8Array, data: Uint8Array): Buffer;
  /** The raw AES block function, ECB over whole blocks. */
  aesEcbEncrypt(key: Uint8Array, data: Uint8Array): Buffer;
  aesEcbDecrypt(key: Uint8Array, data: Uint8Array): Buffer;
  /** HMAC over the concatenation of `data`. */
  hmac(hash: HashName, key: Uint8Array, data: readonly Uint8Array[]): Buffer;
  /** Unkeyed hash over the concatenation of `data`. */
  digest(hash: HashName, data: readonly Uint8Array[]): Buffer;
  /** PBKDF2-HMAC (RFC 8018 §5.2). */
  pbkdf2(hash: HashName, password: Uint8Array, salt: Uint8Array, iterations: number, length: number): Buffer;
  /** Bytes from OpenSSL's CSPRNG. */
  randomBytes(length: number): Buffer;
  /** Constant-time comparison of equal-length inputs; throws RangeError for different lengths. */
  timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean;
}

/** The addon back end. Every call goes through native(): loaded on first use, then cached there. */
export const nativePrimitives: CryptoPrimitives = {
  name: 'native',
  aesCbcEncrypt: (key, iv, data) => native().aesCbc(true, key, iv, data),
  aesCbcDecrypt: (key, iv, data) => native().aesCbc(false, key, iv, data),
  aesEcbEncrypt: (key, data) => native().aesEcb(true, key, data),
  aesEcbDecrypt: (key, data) => native().aesEcb(false, key, data),
  hmac: (hash, key, data) => native().hmac(hash, key, data),
  digest: (hash, data) => native().digest(hash, data),
  pbkdf2: (hash, password, salt, iterations, length) => native().pbkdf2(hash, password, salt, iterations, length),
  randomBytes: (length) => native().randomBytes(length),
  timingSafeEqual: (a, b) => native().timingSafeEqual(a, b),
};

function aesName(key: Uint8Array, mode: 'cbc' | 'ecb'): string {
  if (key.length === 16) return `aes-128-${mode}`;
  if (key.length === 32) return `aes-256-${mode}`;
  throw new RangeError(`AES key must be 16 or 32 bytes, got ${key.length}`);
}

function wholeBlocks(data: Uint8Array): void {
  if (data.length % 16 !== 0) throw new RangeError(`AES data must be whole 16-byte blocks, got ${data.length} bytes`);
}

function nodeAes(encrypt: boolean, key: Uint8Array, mode: 'cbc' | 'ecb', iv: Uint8Array | null, data: Uint8Array): Buffer {
  wholeBlocks(data);
  const name = aesName(key, mode);
  const c = (encrypt ? createCipheriv(name, key, iv) : createDecipheriv(name, key, iv)).setAutoPadding(false);
  return Buffer.concat([c.update(data), c.final()]);
}

/** The node:crypto back end. */
export const nodePrimitives: CryptoPrimitives = {
  name: 'node',
  aesCbcEncrypt: (key, iv, data) => nodeAes(true, key, 'cbc', iv, data),
  aesCbcDecrypt: (key, iv, data) => nodeAes(false, key, 'cbc', iv, data),
  aesEcbEncrypt: (key, data) => nodeAes(true, key, 'ecb', null, data),
  aesEcbDecrypt: (key, data) => nodeAes(false, key, 'ecb', null, data),
  hmac(hash, key, data) {
    const h = createHmac(hash, key);
    for (const d of data) h.update(d);
    return h.digest();
  },
  digest(hash, data) {
    const h = createHash(hash);
    for (const d of data) h.update(d);
    return h.digest();
  },
  pbkdf2: (hash, password, salt, iterations, length) => pbkdf2Sync(password, salt, iterations, length, hash),
  randomBytes: (length) => nodeRandomBytes(length),
  timingSafeEqual: (a, b) => nodeTimingSafeEqual(a, b),
};

let selected: CryptoPrimitives | undefined;

/** True when the addon loads and has the crypto functions (an addon built before them has not). */
function nativeAvailable(): boolean {
  try {
    return typeof native().aesCbc === 'function';
  } catch {
    return false;
  }
}

/** The selected back end: on first use, the addon if it loads, else node:crypto. */
export function cryptoPrimitives(): CryptoPrimitives {
  selected ??= nativeAvailable() ? nativePrimitives : nodePrimitives;
  return selected;
}

/**
 * Choose the back end explicitly (tests, measurements); undefined returns to the default choice
 * on the next call. 'native' throws here, not later, when the addon cannot provide it.
 */
export function selectCryptoPrimitives(which: 'native' | 'node' | CryptoPrimitives | undefined): void {
  if (which === 'native' && !nativeAvailable()) throw new Error('the native addon has no crypto functions (run npm ci)');
  selected = which === 'native' ? nativePrimitives : which === 'node' ? nodePrimitives : which;
}

/** Constant-time equality that also accepts different lengths (which are simply unequal). */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && cryptoPrimitives().timingSafeEqual(a, b);
}

/** A string password or salt as UTF-8 bytes (what node:crypto's pbkdf2Sync made of a string). */
export function utf8(s: string | Uint8Array): Uint8Array {
  return typeof s === 'string' ? Buffer.from(s, 'utf8') : s;
}

/**
 * A uniformly random integer in [min, max) from the CSPRNG (max − min ≤ 2^32), by rejection
 * sampling of 32-bit values: what node:crypto's randomInt gives, without loading node:crypto.
 */
export function randomInt(min: number, max: number): number {
  const range = max - min;
  if (!Number.isSafeInteger(min) || !Number.isSafeInteger(max) || range <= 0 || range > 0x1_0000_0000) {
    throw new RangeError(`randomInt needs integers min < max with max - min <= 2^32, got ${min}, ${max}`);
  }
  // the largest multiple of range that fits in 2^32: values at or above it would bias the result
  const limit = 0x1_0000_0000 - (0x1_0000_0000 % range);
  for (;;) {
    const v = cryptoPrimitives().randomBytes(4).readUInt32BE(0);
    if (v < limit) return min + (v % range);
  }
}
