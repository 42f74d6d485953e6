import { describe, expect, it } from 'vitest';
import { msUsage, rc4 } from '../../../../src/krb5/crypto/rfc4757.ts';

describe('RC4 written in TypeScript (Node 20 refuses "rc4" without the legacy provider)', () => {
  // Classic published RC4 samples (e.g. the examples on the RC4 Wikipedia page).
  it.each([
    ['Key', 'Plaintext', 'bbf316e8d940af0ad3'],
    ['Wiki', 'pedia', '1021bf0420'],
    ['Secret', 'Attack at dawn', '45a01f645fc35b383552544b9bf5'],
  ])('key %s, plaintext %s', (key, plain, cipher) => {
    expect(rc4(Buffer.from(key), Buffer.from(plain)).toString('hex')).toBe(cipher);
    expect(rc4(Buffer.from(key), Buffer.from(cipher, 'hex')).toString()).toBe(plain);
  });

  it('RFC 6229 key 0102030405: keystream bytes 0..15', () => {
    expect(rc4(Buffer.from('0102030405', 'hex'), Buffer.alloc(16)).toString('hex')).toBe('b2396305f03dc027ccc3524a0a1118a8');
  });

  it('rejects an empty key', () => {
    expect(() => rc4(Buffer.alloc(0), Buffer.alloc(1))).toThrow(RangeError);
  });
});

describe('RFC 4757 key usage translation', () => {
  it('3 → 8, 9 → 8, 23 → 13, everything else unchanged', () => {
    expect([1, 2, 3, 6, 7, 8, 9, 11, 12, 22, 23, 24].map(msUsage)).toEqual([1, 2, 8, 6, 7, 8, 8, 11, 12, 22, 13, 24]);
  });
});
