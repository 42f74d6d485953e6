// The enctype and checksum registries: one typed profile per supported Kerberos encryption type
// (17, 18, 19, 20, 23) and per checksum type (15, 16, 19, 20, -138, and unkeyed MD5 = 7).
// Profiles are built on first use; importing this module does no work.
import { enctypeName } from '../iana/etype.ts';
import { checksumTypeName } from '../iana/checksum-type.ts';
import { InvalidKeyError, UnsupportedChecksumTypeError, UnsupportedEnctypeError } from './errors.ts';
import { cryptoPrimitives, sameBytes } from './primitives.ts';
import { aesSha1, aesSha1Prf, aesSha1StringToKey } from './rfc3962.ts';
import { AesSha2Profile } from './rfc8009.ts';
import { hmacMd5Checksum, rc4HmacDecrypt, rc4HmacEncrypt, rc4HmacPrf } from './rfc4757.ts';

export {
  IntegrityError,
  InvalidKeyError,
  Krb5CryptoError,
  UnsupportedChecksumTypeError,
  UnsupportedEnctypeError,
} from './errors.ts';

/** What the rest of the code needs from an encryption type. Keys are raw key bytes. */
export interface EncryptionProfile {
  readonly etype: number;
  /** MIT's name, e.g. "aes256-cts-hmac-sha1-96" */
  readonly name: string;
  /** key length in bytes (random-to-key is the identity for every supported enctype) */
  readonly keyLength: number;
  /** the enctype's mandatory checksum type (RFC 3961 §4), e.g. 16 for enctype 18 */
  readonly checksumType: number;
  /** PRF output length in bytes */
  readonly prfLength: number;
  /** Encrypt for a key usage. `confounder` is for known-answer tests only; normally random. */
  encrypt(key: Uint8Array, usage: number, plaintext: Uint8Array, confounder?: Uint8Array): Buffer;
  /** Decrypt and verify; throws IntegrityError on a wrong key/usage or modified data. */
  decrypt(key: Uint8Array, usage: number, ciphertext: Uint8Array): Buffer;
  /** The enctype's mandatory keyed checksum over `data`. */
  checksum(key: Uint8Array, usage: number, data: Uint8Array): Buffer;
  /** Constant-time check of a mandatory-type checksum. */
  verifyChecksum(key: Uint8Array, usage: number, data: Uint8Array, checksum: Uint8Array): boolean;
  /** A fresh random key of this enctype (session keys, subkeys). */
  randomKey(): Buffer;
  /** The enctype's pseudo-random function (RFC 3961 §3). */
  prf(key: Uint8Array, input: Uint8Array): Buffer;
}

/** A checksum type. Keyed types name the enctype whose keys they take. */
export interface ChecksumProfile {
  readonly cksumtype: number;
  readonly name: string;
  /** checksum length in bytes */
  readonly length: number;
  /** the enctype whose keys this checksum uses; undefined for unkeyed checksums */
  readonly etype: number | undefined;
  /** `key` is ignored for unkeyed checksums (pass undefined). */
  checksum(key: Uint8Array | undefined, usage: number, data: Uint8Array): Buffer;
  verify(key: Uint8Array | undefined, usage: number, data: Uint8Array, checksum: Uint8Array): boolean;
}

type Ops = Pick<EncryptionProfile, 'encrypt' | 'decrypt' | 'checksum' | 'prf'>;

function makeProfile(etype: number, keyLength: number, checksumType: number, prfLength: number, ops: Ops): EncryptionProfile {
  return {
    etype,
    name: enctypeName(etype),
    keyLength,
    checksumType,
    prfLength,
    ...ops,
    verifyChecksum(key, usage, data, checksum) {
      return sameBytes(ops.checksum(key, usage, data), checksum);
    },
    randomKey: () => cryptoPrimitives().randomBytes(keyLength),
  };
}

function buildEnctype(etype: number): EncryptionProfile | undefined {
  switch (etype) {
    case 17:
    case 18: {
      const p = aesSha1(etype);
      return makeProfile(etype, p.spec.keyLength, etype === 17 ? 15 : 16, 16, {
        encrypt: (k, u, d, c) => p.encrypt(k, u, d, c),
        decrypt: (k, u, d) => p.decrypt(k, u, d),
        checksum: (k, u, d) => p.checksum(k, u, d),
        prf: (k, d) => aesSha1Prf(etype, k, d),
      });
    }
    case 19:
    case 20: {
      const p = new AesSha2Profile(etype);
      return makeProfile(etype, p.keyLength, etype, etype === 19 ? 32 : 48, {
        encrypt: (k, u, d, c) => p.encrypt(k, u, d, c),
        decrypt: (k, u, d) => p.decrypt(k, u, d),
        checksum: (k, u, d) => p.checksum(k, u, d),
        prf: (k, d) => p.prf(k, d),
      });
    }
    case 23:
      return makeProfile(23, 16, -138, 20, {
        encrypt: rc4HmacEncrypt,
        decrypt: rc4HmacDecrypt,
        checksum: (k, u, d) => {
          if (k.length !== 16) throw new InvalidKeyError(23, k.length, 16);
          return hmacMd5Checksum(k, u, d);
        },
        prf: rc4HmacPrf,
      });
    default:
      return undefined;
  }
}

const enctypes = new Map<number, EncryptionProfile>();

/** The profile of a supported enctype; throws UnsupportedEnctypeError otherwise. */
export function encryptionType(etype: number): EncryptionProfile {
  let p = enctypes.get(etype);
  if (!p) {
    p = buildEnctype(etype);
    if (!p) throw new UnsupportedEnctypeError(etype);
    enctypes.set(etype, p);
  }
  return p;
}

/** Enctypes this implementation supports, strongest first (MIT's default preference order). */
export const SUPPORTED_ENCTYPES: readonly number[] = [18, 17, 20, 19, 23];

export function isSupportedEnctype(etype: number): boolean {
  return SUPPORTED_ENCTYPES.includes(etype);
}

function keyedChecksum(cksumtype: number, etype: number, length: number): ChecksumProfile {
  return {
    cksumtype,
    name: checksumTypeName(cksumtype),
    length,
    etype,
    checksum(key, usage, data) {
      if (!key) throw new InvalidKeyError(etype, 0, encryptionType(etype).keyLength);
      return encryptionType(etype).checksum(key, usage, data);
    },
    verify(key, usage, data, checksum) {
      return sameBytes(this.checksum(key, usage, data), checksum);
    },
  };
}

const md5Checksum: ChecksumProfile = {
  cksumtype: 7,
  name: checksumTypeName(7),
  length: 16,
  etype: undefined,
  checksum: (_key, _usage, data) => cryptoPrimitives().digest('md5', [data]),
  verify(_key, _usage, data, checksum) {
    return sameBytes(cryptoPrimitives().digest('md5', [data]), checksum);
  },
};

/** The profile of a supported checksum type; throws UnsupportedChecksumTypeError otherwise. */
export function checksumType(cksumtype: number): ChecksumProfile {
  switch (cksumtype) {
    case 7:
      return md5Checksum;
    case 15:
      return keyedChecksum(15, 17, 12);
    case 16:
      return keyedChecksum(16, 18, 12);
    case 19:
      return keyedChecksum(19, 19, 16);
    case 20:
      return keyedChecksum(20, 20, 24);
    case -138:
      return keyedChecksum(-138, 23, 16);
    default:
      throw new UnsupportedChecksumTypeError(cksumtype);
  }
}

/**
 * PRF+(K, s) (RFC 6113 §5.1): PRF(K, 1 ‖ s) ‖ PRF(K, 2 ‖ s) ‖ … truncated to `length` bytes.
 */
export function prfPlus(etype: number, key: Uint8Array, input: Uint8Array, length: number): Buffer {
  const profile = encryptionType(etype);
  const parts: Buffer[] = [];
  let have = 0;
  for (let i = 1; have < length; i++) {
    if (i > 255) throw new RangeError('PRF+ output too long');
    const block = profile.prf(key, Buffer.concat([Buffer.from([i]), input]));
    parts.push(block);
    have += block.length;
  }
  return Buffer.concat(parts).subarray(0, length);
}

/**
 * KRB-FX-CF2(K1, pepper1, K2, pepper2) (RFC 6113 §5.1): random-to-key(PRF+(K1, pepper1) XOR
 * PRF+(K2, pepper2)), a key of K1's enctype (used for FAST armor keys).
 */
export function krbFxCf2(
  etype1: number,
  key1: Uint8Array,
  pepper1: string | Uint8Array,
  etype2: number,
  key2: Uint8Array,
  pepper2: string | Uint8Array,
): Buffer {
  const length = encryptionType(etype1).keyLength;
  const a = prfPlus(etype1, key1, Buffer.from(pepper1), length);
  const b = prfPlus(etype2, key2, Buffer.from(pepper2), length);
  for (let i = 0; i < length; i++) a[i] ^= b[i];
  return a;
}

/**
 * string-to-key for the AES enctypes (RFC 3962 §4, RFC 8009 §4); `iterations` defaults to the
 * RFC default (4096, resp. 32768). RC4's string-to-key needs MD4 and is not provided.
 */
export function stringToKey(etype: number, password: string | Uint8Array, salt: string | Uint8Array, iterations?: number): Buffer {
  switch (etype) {
    case 17:
    case 18:
      return aesSha1StringToKey(etype, password, salt, iterations);
    case 19:
    case 20:
      return new AesSha2Profile(etype).stringToKey(password, salt, iterations);
    default:
      throw new UnsupportedEnctypeError(etype);
  }
}
