import { describe, expect, it } from 'vitest';
import { AesSha2Profile, kdfHmacSha2 } from '../../../../src/krb5/crypto/rfc8009.ts';
import { InvalidKeyError } from '../../../../src/krb5/crypto/errors.ts';
import { BACKENDS, useBackend } from './backends.ts';

const hex = (s: string) => Buffer.from(s, 'hex');

describe.each(BACKENDS)('%s back end', (backend) => {
  useBackend(backend);

  describe('RFC 8009 Appendix A key derivation (usage 2; docs/kerberos.md#crypto-test-vectors)', () => {
    it('aes128-cts-hmac-sha256-128 (19)', () => {
      const keys = new AesSha2Profile(19).deriveKeys(hex('3705d96080c17728a0e800eab6e0d23c'), 2);
      expect(keys.kc.toString('hex')).toBe('b31a018a48f54776f403e9a396325dc3');
      expect(keys.ke.toString('hex')).toBe('9b197dd1e8c5609d6e67c3e37c62c72e');
      expect(keys.ki.toString('hex')).toBe('9fda0e56ab2d85e1569a688696c26a6c');
    });

    it('aes256-cts-hmac-sha384-192 (20)', () => {
      const keys = new AesSha2Profile(20).deriveKeys(hex('6d404d37faf79f9df0d33568d320669800eb4836472ea8a026d16b7182460c52'), 2);
      expect(keys.kc.toString('hex')).toBe('ef5718be86cc84963d8bbb5031e9f5c4ba41f28faf69e73d');
      expect(keys.ke.toString('hex')).toBe('56ab22bee63d82d7bc5227f6773f8ea7a5eb1c825160c38312980c442e5c7e49');
      expect(keys.ki.toString('hex')).toBe('69b16514e3cd8e56b82010d5c73012b622c4d00ffc23ed1f');
    });

    it('KDF-HMAC-SHA2 takes k as HMAC input: a 256-bit output is not an extension of the 128-bit one', () => {
      const key = hex('3705d96080c17728a0e800eab6e0d23c');
      const label = hex('0000000299');
      expect(kdfHmacSha2('sha256', key, label, 128).toString('hex')).toBe('b31a018a48f54776f403e9a396325dc3');
      expect(kdfHmacSha2('sha256', key, label, 256).subarray(0, 16)).not.toEqual(kdfHmacSha2('sha256', key, label, 128));
    });

    it('rejects keys of the wrong length', () => {
      expect(() => new AesSha2Profile(20).deriveKeys(Buffer.alloc(16), 2)).toThrow(InvalidKeyError);
    });
  });
});
