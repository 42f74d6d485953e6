// RFC 3961: Encryption and Checksum Specifications for Kerberos 5 — n-fold (§5.1), the key
// derivation functions DR/DK (§5.1) and the "simplified profile" (§5.3) that RFC 3962 plugs
// AES-CTS and HMAC-SHA1-96 into.
import { IntegrityError, InvalidKeyError } from './errors.ts';
import { cryptoPrimitives, sameBytes } from './primitives.ts';

/**
 * n-fold (RFC 3961 §5.1): stretch or shrink `input` to `outBits` bits. The input is repeated
 * lcm(outBits, inBits)/inBits times, copy i rotated right by 13·i bits, and the concatenation is
 * cut into outBits-sized pieces that are added with ones'-complement (end-around carry) addition.
 */
export function nfold(input: Uint8Array, outBits: number): Buffer {
  if (input.length === 0 || outBits <= 0 || outBits % 8 !== 0) {
    throw new RangeError('n-fold needs a non-empty input and a whole number of output bytes');
  }
  const inBytes = input.length;
  const inBits = inBytes * 8;
  const total = lcm(inBits, outBits);
  const outBytes = outBits / 8;

  // The replicated, rotated string, one byte at a time: byte m of copy i holds the 8 input bits
  // (cyclically) from bit position 8m − 13i, i.e. two neighbouring input bytes shifted.
  const wide = new Uint8Array(total / 8);
  for (let j = 0; j < wide.length; j++) {
    const copy = Math.floor(j / inBytes);
    const from = ((j % inBytes) * 8 - ((13 * copy) % inBits) + inBits) % inBits;
    const first = from >> 3;
    const pair = (input[first] << 8) | input[(first + 1) % inBytes];
    wide[j] = (pair >> (8 - (from & 7))) & 0xff;
  }

  // Ones'-complement sum of the outBytes-sized chunks.
  const sum = new Uint16Array(outBytes);
  for (let chunk = 0; chunk < wide.length; chunk += outBytes) {
    let carry = 0;
    for (let i = outBytes - 1; i >= 0; i--) {
      const v = sum[i] + wide[chunk + i] + carry;
      sum[i] = v & 0xff;
      carry = v >> 8;
    }
    while (carry) {
      for (let i = outBytes - 1; i >= 0 && carry; i--) {
        const v = sum[i] + carry;
        sum[i] = v & 0xff;
        carry = v >> 8;
      }
    }
  }
  return Buffer.from(Uint8Array.from(sum));
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

function lcm(a: number, b: number): number {
  return (a / gcd(a, b)) * b;
}

/** Encrypts one cipher block with the raw block cipher (AES-ECB for the AES enctypes). */
export type BlockEncrypt = (key: Uint8Array, block: Uint8Array) => Buffer;

/**
 * DR(Key, Constant) (RFC 3961 §5.1): n-fold the constant to the block size unless it already
 * has it, then encrypt it repeatedly, concatenating the outputs until `keyBytes` bytes exist.
 */
export function deriveRandom(
  encryptBlock: BlockEncrypt,
  blockSize: number,
  key: Uint8Array,
  constant: Uint8Array,
  keyBytes: number,
): Buffer {
  let block: Buffer = constant.length === blockSize ? Buffer.from(constant) : nfold(constant, blockSize * 8);
  const out: Buffer[] = [];
  let have = 0;
  while (have < keyBytes) {
    block = encryptBlock(key, block);
    out.push(block);
    have += block.length;
  }
  return Buffer.concat(out).subarray(0, keyBytes);
}

/** Well-known derivation constants (RFC 3961 §5.3): checksum, encryption, integrity keys. */
export const KeyDerivationPurpose = { CHECKSUM: 0x99, ENCRYPTION: 0xaa, INTEGRITY: 0x55 } as const;

/** The 5-byte derivation constant for a key usage: u32be(usage) ‖ purpose byte. */
export function usageConstant(usage: number, purpose: number): Buffer {
  const c = Buffer.alloc(5);
  c.writeUInt32BE(usage >>> 0, 0);
  c[4] = purpose;
  return c;
}

/** The pieces an RFC 3961 simplified-profile enctype is made of (RFC 3961 §5.3). */
export interface SimplifiedProfileSpec {
  etype: number;
  keyLength: number;
  blockSize: number;
  /** hash of the HMAC and its truncated output length in bytes (h) */
  hash: 'sha1';
  macLength: number;
  encryptBlock: BlockEncrypt;
  /** E(Ke, conf ‖ P): the cipher in its message mode (AES-CTS with a zero IV for RFC 3962) */
  encrypt(key: Uint8Array, data: Uint8Array): Buffer;
  decrypt(key: Uint8Array, data: Uint8Array): Buffer;
}

/** The operations of a simplified-profile enctype, built from its spec. */
export class SimplifiedProfile {
  constructor(readonly spec: SimplifiedProfileSpec) {}

  /** DK(Key, Constant) = random-to-key(DR(Key, Constant)); random-to-key is the identity for AES. */
  deriveKey(key: Uint8Array, constant: Uint8Array): Buffer {
    this.checkKey(key);
    return deriveRandom(this.spec.encryptBlock, this.spec.blockSize, key, constant, this.spec.keyLength);
  }

  encrypt(key: Uint8Array, usage: number, plaintext: Uint8Array, confounder?: Uint8Array): Buffer {
    const { spec } = this;
    const ke = this.deriveKey(key, usageConstant(usage, KeyDerivationPurpose.ENCRYPTION));
    const ki = this.deriveKey(key, usageConstant(usage, KeyDerivationPurpose.INTEGRITY));
    const conf = confounder ?? cryptoPrimitives().randomBytes(spec.blockSize);
    if (conf.length !== spec.blockSize) throw new RangeError(`confounder must be ${spec.blockSize} bytes`);
    const data = Buffer.concat([conf, plaintext]);
    const cipher = spec.encrypt(ke, data);
    const mac = cryptoPrimitives().hmac(spec.hash, ki, [data]).subarray(0, spec.macLength);
    return Buffer.concat([cipher, mac]);
  }

  decrypt(key: Uint8Array, usage: number, ciphertext: Uint8Array): Buffer {
    const { spec } = this;
    if (ciphertext.length < spec.blockSize + spec.macLength) {
      throw new IntegrityError(spec.etype, `ciphertext of ${ciphertext.length} bytes is too short`);
    }
    const ke = this.deriveKey(key, usageConstant(usage, KeyDerivationPurpose.ENCRYPTION));
    const ki = this.deriveKey(key, usageConstant(usage, KeyDerivationPurpose.INTEGRITY));
    const body = ciphertext.subarray(0, ciphertext.length - spec.macLength);
    const mac = ciphertext.subarray(ciphertext.length - spec.macLength);
    const data = spec.decrypt(ke, body);
    const expected = cryptoPrimitives().hmac(spec.hash, ki, [data]).subarray(0, spec.macLength);
    if (!sameBytes(expected, mac)) {
      throw new IntegrityError(spec.etype, 'integrity check failed (wrong key or key usage, or modified data)');
    }
    return data.subarray(spec.blockSize);
  }

  /** The enctype's keyed checksum: truncated HMAC with Kc = DK(Key, usage ‖ 0x99). */
  checksum(key: Uint8Array, usage: number, data: Uint8Array): Buffer {
    const kc = this.deriveKey(key, usageConstant(usage, KeyDerivationPurpose.CHECKSUM));
    return cryptoPrimitives().hmac(this.spec.hash, kc, [data]).subarray(0, this.spec.macLength);
  }

  private checkKey(key: Uint8Array): void {
    if (key.length !== this.spec.keyLength) {
      throw new InvalidKeyError(this.spec.etype, key.length, this.spec.keyLength);
    }
  }
}
