import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  IntegrityError,
  InvalidKeyError,
  SUPPORTED_ENCTYPES,
  UnsupportedChecksumTypeError,
  UnsupportedEnctypeError,
  checksumType,
  encryptionType,
} from '../../../../src/krb5/crypto/index.ts';
import { aesCtsDecrypt } from '../../../../src/krb5/crypto/cts.ts';
import { KeyDerivationPurpose, usageConstant } from '../../../../src/krb5/crypto/rfc3961.ts';
import { aesSha1 } from '../../../../src/krb5/crypto/rfc3962.ts';
import { AesSha2Profile } from '../../../../src/krb5/crypto/rfc8009.ts';
import { msUsage, rc4 } from '../../../../src/krb5/crypto/rfc4757.ts';
import { checksumVectors, decryptVectors, type DecryptVector } from './vectors.ts';
import { BACKENDS, useBackend } from './backends.ts';

const hex = (s: string) => Buffer.from(s, 'hex');

/** Recover the confounder a vector was made with, using the enctype's raw primitives. */
function confounderOf(v: DecryptVector): Buffer {
  const key = hex(v.key);
  const c = hex(v.ciphertext);
  switch (v.etype) {
    case 17:
    case 18: {
      const ke = aesSha1(v.etype).deriveKey(key, usageConstant(v.usage, KeyDerivationPurpose.ENCRYPTION));
      return aesCtsDecrypt(ke, c.subarray(0, c.length - 12)).subarray(0, 16);
    }
    case 19:
    case 20: {
      const p = new AesSha2Profile(v.etype);
      return aesCtsDecrypt(p.deriveKeys(key, v.usage).ke, c.subarray(0, c.length - p.macLength)).subarray(0, 16);
    }
    case 23: {
      const t = Buffer.alloc(4);
      t.writeUInt32LE(msUsage(v.usage));
      const k1 = createHmac('md5', key).update(t).digest();
      const k3 = createHmac('md5', k1).update(c.subarray(0, 16)).digest();
      return rc4(k3, c.subarray(16)).subarray(0, 8);
    }
    default:
      throw new Error('no such etype');
  }
}

describe.each(BACKENDS)('%s back end', (backend) => {
  useBackend(backend);

  describe('decryption known answers (MIT t_decrypt.c; RFC 8009 Appendix A)', () => {
    it.each(decryptVectors)('etype $etype usage $usage plaintext "$plaintext"', (v) => {
      const plain = encryptionType(v.etype).decrypt(hex(v.key), v.usage, hex(v.ciphertext));
      expect(plain.toString('hex')).toBe(v.plaintext);
    });
  });

  describe('encryption with an injected confounder reproduces the published ciphertext', () => {
    it.each(decryptVectors)('etype $etype usage $usage plaintext "$plaintext"', (v) => {
      const conf = confounderOf(v);
      const out = encryptionType(v.etype).encrypt(hex(v.key), v.usage, hex(v.plaintext), conf);
      expect(out.toString('hex')).toBe(v.ciphertext);
    });

    it('recovers the confounder RFC 8009 Appendix A publishes for the first sample', () => {
      expect(confounderOf(decryptVectors.find((v) => v.etype === 19)!).toString('hex')).toBe('7e5895eaf2672435bad817f545a37148');
    });
  });

  describe('checksum known answers (MIT t_cksums.c; RFC 8009 Appendix A)', () => {
    it.each(checksumVectors)('cksumtype $cksumtype usage $usage', (v) => {
      const profile = checksumType(v.cksumtype);
      const key = v.key ? hex(v.key) : undefined;
      expect(profile.checksum(key, v.usage, v.data).toString('hex')).toBe(v.checksum);
      expect(profile.length).toBe(v.checksum.length / 2);
      expect(profile.verify(key, v.usage, v.data, hex(v.checksum))).toBe(true);
      const wrong = hex(v.checksum);
      wrong[0] ^= 1;
      expect(profile.verify(key, v.usage, v.data, wrong)).toBe(false);
    });

    it('the enctype profile computes its mandatory checksum type', () => {
      for (const v of checksumVectors.filter((c) => c.key)) {
        const etype = checksumType(v.cksumtype).etype!;
        const profile = encryptionType(etype);
        expect(profile.checksumType).toBe(v.cksumtype);
        expect(profile.checksum(hex(v.key!), v.usage, v.data).toString('hex')).toBe(v.checksum);
        expect(profile.verifyChecksum(hex(v.key!), v.usage, v.data, hex(v.checksum))).toBe(true);
        expect(profile.verifyChecksum(hex(v.key!), v.usage + 1, v.data, hex(v.checksum))).toBe(false);
      }
    });
  });

  describe('every supported enctype', () => {
    it.each(SUPPORTED_ENCTYPES.map((e) => [e]))('etype %i: round trip, key usage separation, tampering', (etype) => {
      const p = encryptionType(etype);
      const key = p.randomKey();
      expect(key.length).toBe(p.keyLength);
      for (const n of [0, 1, 15, 16, 17, 31, 32, 33, 100, 1000]) {
        const plain = Buffer.alloc(n, 0x5a);
        const c = p.encrypt(key, 11, plain);
        expect(p.decrypt(key, 11, c)).toEqual(plain);
        // two encryptions differ: the confounder is random
        expect(p.encrypt(key, 11, plain).equals(c)).toBe(false);
        expect(() => p.decrypt(key, 12, c)).toThrow(IntegrityError);
        for (const pos of [0, c.length >> 1, c.length - 1]) {
          const bad = Buffer.from(c);
          bad[pos] ^= 0x01;
          expect(() => p.decrypt(key, 11, bad)).toThrow(IntegrityError);
        }
      }
      expect(() => p.decrypt(key, 11, Buffer.alloc(5))).toThrow(IntegrityError);
      expect(() => p.encrypt(Buffer.alloc(p.keyLength + 1), 11, Buffer.alloc(1))).toThrow(InvalidKeyError);
      expect(() => p.decrypt(Buffer.alloc(3), 11, Buffer.alloc(64))).toThrow(InvalidKeyError);
    });

    it('names and lengths match docs/kerberos.md#enctypes-and-checksums', () => {
      const table = SUPPORTED_ENCTYPES.map((e) => {
        const p = encryptionType(e);
        return [p.etype, p.name, p.keyLength, p.checksumType];
      });
      expect(table).toEqual([
        [18, 'aes256-cts-hmac-sha1-96', 32, 16],
        [17, 'aes128-cts-hmac-sha1-96', 16, 15],
        [20, 'aes256-cts-hmac-sha384-192', 32, 20],
        [19, 'aes128-cts-hmac-sha256-128', 16, 19],
        [23, 'arcfour-hmac', 16, -138],
      ]);
    });

    it('ciphertext overhead: 16+12 (17/18), 16+16 (19), 16+24 (20), 16+8 (23)', () => {
      const overhead = (e: number) => {
        const p = encryptionType(e);
        return p.encrypt(p.randomKey(), 1, Buffer.alloc(10)).length - 10;
      };
      expect([17, 18, 19, 20, 23].map(overhead)).toEqual([28, 28, 32, 40, 24]);
    });
  });

  describe('typed errors', () => {
    it('unsupported enctypes and checksum types', () => {
      for (const e of [0, 1, 3, 16, 24, 25, 26, -1]) {
        expect(() => encryptionType(e)).toThrow(UnsupportedEnctypeError);
      }
      expect(() => encryptionType(16)).toThrow(/des3-cbc-sha1/);
      for (const c of [1, 12, 0x8003, 99]) expect(() => checksumType(c)).toThrow(UnsupportedChecksumTypeError);
    });

    it('a keyed checksum without a key, or with the wrong key length', () => {
      expect(() => checksumType(16).checksum(undefined, 6, Buffer.alloc(1))).toThrow(InvalidKeyError);
      expect(() => checksumType(16).checksum(Buffer.alloc(16), 6, Buffer.alloc(1))).toThrow(InvalidKeyError);
      expect(() => checksumType(-138).checksum(Buffer.alloc(32), 6, Buffer.alloc(1))).toThrow(InvalidKeyError);
    });
  });
});
