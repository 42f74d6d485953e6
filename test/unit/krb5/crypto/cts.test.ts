import { describe, expect, it } from 'vitest';
import { aesCtsDecrypt, aesCtsEncrypt } from '../../../../src/krb5/crypto/cts.ts';
import { BACKENDS, useBackend } from './backends.ts';

// RFC 3962 Appendix B (docs/kerberos.md#crypto-test-vectors): key "chicken teriyaki", IV 0, prefixes of one sentence.
const key = Buffer.from('chicken teriyaki', 'ascii');
const text = Buffer.from("I would like the General Gau's Chicken, please, and wonton soup.", 'ascii');

const vectors: [number, string, string][] = [
  [17, 'c6353568f2bf8cb4d8a580362da7ff7f97', 'c6353568f2bf8cb4d8a580362da7ff7f'],
  [31, 'fc00783e0efdb2c1d445d4c8eff7ed2297687268d6ecccc0c07b25e25ecfe5', 'fc00783e0efdb2c1d445d4c8eff7ed22'],
  [32, '39312523a78662d5be7fcbcc98ebf5a897687268d6ecccc0c07b25e25ecfe584', '39312523a78662d5be7fcbcc98ebf5a8'],
  [
    47,
    '97687268d6ecccc0c07b25e25ecfe584b3fffd940c16a18c1b5549d2f838029e39312523a78662d5be7fcbcc98ebf5',
    'b3fffd940c16a18c1b5549d2f838029e',
  ],
  [
    48,
    '97687268d6ecccc0c07b25e25ecfe5849dad8bbb96c4cdc03bc103e1a194bbd839312523a78662d5be7fcbcc98ebf5a8',
    '9dad8bbb96c4cdc03bc103e1a194bbd8',
  ],
  [
    64,
    '97687268d6ecccc0c07b25e25ecfe58439312523a78662d5be7fcbcc98ebf5a84807efe836ee89a526730dbc2f7bc8409dad8bbb96c4cdc03bc103e1a194bbd8',
    '4807efe836ee89a526730dbc2f7bc840',
  ],
];

describe.each(BACKENDS)('%s back end', (backend) => {
  useBackend(backend);

  describe('AES-CTS (RFC 3962 Appendix B)', () => {
    it.each(vectors)('%i bytes', (n, expected, nextIv) => {
      const out = aesCtsEncrypt(key, text.subarray(0, n));
      expect(out.toString('hex')).toBe(expected);
      // The "next IV" is the last CBC block; after the swap it sits just before the stolen tail.
      const k = Math.ceil(n / 16);
      expect(out.subarray(16 * (k - 2), 16 * (k - 1)).toString('hex')).toBe(nextIv);
      expect(aesCtsDecrypt(key, out)).toEqual(text.subarray(0, n));
    });

    it('encrypts exactly one block as plain CBC', () => {
      const one = text.subarray(0, 16);
      const out = aesCtsEncrypt(key, one);
      expect(out.length).toBe(16);
      expect(aesCtsDecrypt(key, out)).toEqual(one);
    });

    it('round-trips every length from 16 to 80 with a 256-bit key', () => {
      const key256 = Buffer.alloc(32, 7);
      for (let n = 16; n <= 80; n++) {
        const p = Buffer.alloc(n, n);
        const c = aesCtsEncrypt(key256, p);
        expect(c.length).toBe(n);
        expect(aesCtsDecrypt(key256, c)).toEqual(p);
      }
    });

    it('rejects inputs shorter than a block and bad key sizes', () => {
      expect(() => aesCtsEncrypt(key, Buffer.alloc(15))).toThrow(RangeError);
      expect(() => aesCtsDecrypt(key, Buffer.alloc(3))).toThrow(RangeError);
      expect(() => aesCtsEncrypt(Buffer.alloc(24), Buffer.alloc(16))).toThrow(RangeError);
    });
  });
});
