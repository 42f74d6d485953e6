// RFC 8009: AES Encryption with HMAC-SHA2 for Kerberos 5 — enctypes 19/20
// (aes128-cts-hmac-sha256-128, aes256-cts-hmac-sha384-192) and checksums 19/20: keys from
// KDF-HMAC-SHA2 (SP 800-108 counter mode, one block), AES-CTS, encrypt-then-MAC.
import { aesCtsDecrypt, aesCtsEncrypt } from './cts.ts';
import { IntegrityError, InvalidKeyError } from './errors.ts';
import { cryptoPrimitives, sameBytes, utf8 } from './primitives.ts';
import { KeyDerivationPurpose, usageConstant } from './rfc3961.ts';

interface Params {
  etype: 19 | 20;
  name: string;
  hash: 'sha256' | 'sha384';
  keyLength: number;
  /** bits of Kc and Ki, and the truncated MAC length (RFC 8009 §5) */
  macBits: number;
  /** PRF output bits (§5: 256 for 19, 384 for 20) */
  prfBits: number;
}

const PARAMS: Record<19 | 20, Params> = {
  19: { etype: 19, name: 'aes128-cts-hmac-sha256-128', hash: 'sha256', keyLength: 16, macBits: 128, prfBits: 256 },
  20: { etype: 20, name: 'aes256-cts-hmac-sha384-192', hash: 'sha384', keyLength: 32, macBits: 192, prfBits: 384 },
};

const ZERO_IV = Buffer.alloc(16);

/**
 * KDF-HMAC-SHA2(key, label, context, k) (RFC 8009 §3): the first k bits of
 * HMAC(key, u32be(1) ‖ label ‖ 0x00 ‖ context ‖ u32be(k)). One HMAC block is always enough here.
 */
export function kdfHmacSha2(
  hash: 'sha256' | 'sha384',
  key: Uint8Array,
  label: Uint8Array,
  bits: number,
  context: Uint8Array = Buffer.alloc(0),
): Buffer {
  const counter = Buffer.from([0, 0, 0, 1]);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bits, 0);
  const out = cryptoPrimitives().hmac(hash, key, [counter, label, Buffer.from([0]), context, length]);
  return out.subarray(0, bits / 8);
}

/** The RFC 8009 enctype 19 or 20. */
export class AesSha2Profile {
  private readonly p: Params;
  constructor(etype: 19 | 20) {
    this.p = PARAMS[etype];
  }

  get keyLength(): number {
    return this.p.keyLength;
  }

  get macLength(): number {
    return this.p.macBits / 8;
  }

  /** Kc, Ke, Ki for a key usage (RFC 8009 §5). */
  deriveKeys(key: Uint8Array, usage: number): { kc: Buffer; ke: Buffer; ki: Buffer } {
    this.checkKey(key);
    const { hash, keyLength, macBits } = this.p;
    return {
      kc: kdfHmacSha2(hash, key, usageConstant(usage, KeyDerivationPurpose.CHECKSUM), macBits),
      ke: kdfHmacSha2(hash, key, usageConstant(usage, KeyDerivationPurpose.ENCRYPTION), keyLength * 8),
      ki: kdfHmacSha2(hash, key, usageConstant(usage, KeyDerivationPurpose.INTEGRITY), macBits),
    };
  }

  /** C = AES-CTS(Ke, conf ‖ P); H = HMAC(Ki, IV ‖ C) truncated; output C ‖ H. */
  encrypt(key: Uint8Array, usage: number, plaintext: Uint8Array, confounder?: Uint8Array): Buffer {
    const { ke, ki } = this.deriveKeys(key, usage);
    const conf = confounder ?? cryptoPrimitives().randomBytes(16);
    if (conf.length !== 16) throw new RangeError('confounder must be 16 bytes');
    const cipher = aesCtsEncrypt(ke, Buffer.concat([conf, plaintext]));
    const mac = cryptoPrimitives().hmac(this.p.hash, ki, [ZERO_IV, cipher]).subarray(0, this.macLength);
    return Buffer.concat([cipher, mac]);
  }

  /** Verify the MAC over IV ‖ C first, then decrypt and drop the confounder. */
  decrypt(key: Uint8Array, usage: number, ciphertext: Uint8Array): Buffer {
    if (ciphertext.length < 16 + this.macLength) {
      throw new IntegrityError(this.p.etype, `ciphertext of ${ciphertext.length} bytes is too short`);
    }
    const { ke, ki } = this.deriveKeys(key, usage);
    const cipher = ciphertext.subarray(0, ciphertext.length - this.macLength);
    const mac = ciphertext.subarray(ciphertext.length - this.macLength);
    const expected = cryptoPrimitives().hmac(this.p.hash, ki, [ZERO_IV, cipher]).subarray(0, this.macLength);
    if (!sameBytes(expected, mac)) {
      throw new IntegrityError(this.p.etype, 'integrity check failed (wrong key or key usage, or modified data)');
    }
    return aesCtsDecrypt(ke, cipher).subarray(16);
  }

  checksum(key: Uint8Array, usage: number, data: Uint8Array): Buffer {
    const { kc } = this.deriveKeys(key, usage);
    return cryptoPrimitives().hmac(this.p.hash, kc, [data]).subarray(0, this.macLength);
  }

  /** PRF (RFC 8009 §5): KDF-HMAC-SHA2(key, "prf", input, 256 | 384). */
  prf(key: Uint8Array, input: Uint8Array): Buffer {
    this.checkKey(key);
    return kdfHmacSha2(this.p.hash, key, Buffer.from('prf', 'ascii'), this.p.prfBits, input);
  }

  /**
   * string-to-key (RFC 8009 §4): saltp = enctype-name ‖ 0x00 ‖ salt;
   * tkey = PBKDF2-HMAC-SHA2(password, saltp, iterations, keyLength);
   * key = KDF-HMAC-SHA2(tkey, "kerberos", keyLength·8).
   */
  stringToKey(password: string | Uint8Array, salt: string | Uint8Array, iterations = AES_SHA2_DEFAULT_ITERATIONS): Buffer {
    const saltp = Buffer.concat([Buffer.from(this.p.name, 'ascii'), Buffer.from([0]), Buffer.from(salt)]);
    const tkey = cryptoPrimitives().pbkdf2(this.p.hash, utf8(password), saltp, iterations, this.p.keyLength);
    return kdfHmacSha2(this.p.hash, tkey, Buffer.from('kerberos', 'ascii'), this.p.keyLength * 8);
  }

  private checkKey(key: Uint8Array): void {
    if (key.length !== this.p.keyLength) throw new InvalidKeyError(this.p.etype, key.length, this.p.keyLength);
  }
}

/** Default PBKDF2 iteration count of RFC 8009 §4. */
export const AES_SHA2_DEFAULT_ITERATIONS = 32768;
