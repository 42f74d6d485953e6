// Property tests (fast-check) for the enctypes: decrypt ∘ encrypt = id for any key, usage and
// plaintext; any modification is an IntegrityError; garbage never raises anything else.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IntegrityError, SUPPORTED_ENCTYPES, encryptionType } from '../../../../src/krb5/crypto/index.ts';
import { msUsage } from '../../../../src/krb5/crypto/rfc4757.ts';
import { BACKENDS, useBackend } from './backends.ts';

/** A usage whose key differs from u's: RC4-HMAC maps 3 and 9 to 8, and 23 to 13 (RFC 4757 §3). */
function otherUsage(e: number, u: number): number {
  let v = (u + 1) >>> 0;
  while (e === 23 && msUsage(v) === msUsage(u)) v = (v + 1) >>> 0;
  return v;
}

const etype = fc.constantFrom(...SUPPORTED_ENCTYPES);
const usage = fc.integer({ min: 0, max: 0xffffffff });

describe.each(BACKENDS)('%s back end', (backend) => {
  useBackend(backend);

  describe('enctype properties', () => {
    it('decrypt(encrypt(p)) = p; a changed byte or another usage fails integrity', () => {
      fc.assert(
        fc.property(etype, usage, fc.uint8Array({ maxLength: 300 }), fc.nat(), (e, u, p, pos) => {
          const profile = encryptionType(e);
          const key = profile.randomKey();
          const c = profile.encrypt(key, u, p);
          expect(profile.decrypt(key, u, c)).toEqual(Buffer.from(p));
          const bad = Buffer.from(c);
          bad[pos % bad.length] ^= 0x80;
          expect(() => profile.decrypt(key, u, bad)).toThrow(IntegrityError);
          expect(() => profile.decrypt(key, otherUsage(e, u), c)).toThrow(IntegrityError);
        }),
        { numRuns: 200 },
      );
      // the collision itself, as RFC 4757 specifies it: usage 9 decrypts what usage 8 encrypted
      const rc4 = encryptionType(23);
      const k = rc4.randomKey();
      expect(rc4.decrypt(k, 9, rc4.encrypt(k, 8, Buffer.from('x')))).toEqual(Buffer.from('x'));
    });

    it('random ciphertext only ever raises IntegrityError', () => {
      fc.assert(
        fc.property(etype, usage, fc.uint8Array({ maxLength: 120 }), (e, u, c) => {
          const profile = encryptionType(e);
          expect(() => profile.decrypt(Buffer.alloc(profile.keyLength, 1), u, c)).toThrow(IntegrityError);
        }),
        { numRuns: 300 },
      );
    });

    it('checksums verify only for the same key, usage and data', () => {
      fc.assert(
        fc.property(etype, usage, fc.uint8Array({ maxLength: 100 }), (e, u, data) => {
          const profile = encryptionType(e);
          const key = profile.randomKey();
          const sum = profile.checksum(key, u, data);
          expect(profile.verifyChecksum(key, u, data, sum)).toBe(true);
          expect(profile.verifyChecksum(profile.randomKey(), u, data, sum)).toBe(false);
          expect(profile.verifyChecksum(key, u, Buffer.concat([data, Buffer.from([0])]), sum)).toBe(false);
        }),
        { numRuns: 150 },
      );
    });
  });
});
