import { describe, expect, it } from 'vitest';
import {
  GSS_CHECKSUM_TYPE,
  GssFlags,
  channelBindingsHash,
  decodeGssChecksum,
  encodeGssChecksum,
  gssAuthenticatorChecksum,
} from '../../../../src/krb5/gss/gss-checksum.ts';
import { DecodeError } from '../../../../src/der/errors.ts';
import { BACKENDS, useBackend } from '../crypto/backends.ts';

describe.each(BACKENDS)('%s back end', (backend) => {
  useBackend(backend);

  describe('RFC 4121 §4.1.1 authenticator checksum (type 0x8003)', () => {
    it("cifs.upcall's native value: Lgth 16, zero bindings, flags 0", () => {
      expect(encodeGssChecksum().toString('hex')).toBe('100000000000000000000000000000000000000000000000');
      expect(gssAuthenticatorChecksum()).toEqual({ cksumtype: 0x8003, checksum: encodeGssChecksum() });
      expect(GSS_CHECKSUM_TYPE).toBe(0x8003);
    });

    it("MIT's GSS path value with TRANS|INTEG|CONF = 0x130 (verified MIT token)", () => {
      const v = encodeGssChecksum({ flags: GssFlags.TRANS | GssFlags.INTEG | GssFlags.CONF });
      expect(v.toString('hex')).toBe('10000000' + '00'.repeat(16) + '30010000');
      expect(decodeGssChecksum(v)).toEqual({ bindingsHash: Buffer.alloc(16), flags: 0x130, extensions: Buffer.alloc(0) });
    });

    it('delegation and extensions round-trip', () => {
      const krbCred = Buffer.from('7603020100', 'hex');
      const v = encodeGssChecksum({
        flags: GssFlags.DELEG | GssFlags.MUTUAL,
        delegation: krbCred,
        extensions: Buffer.from('0000000200000000', 'hex'),
      });
      expect(v.subarray(24, 28).toString('hex')).toBe('01000500');
      const d = decodeGssChecksum(v);
      expect(d.flags).toBe(3);
      expect(d.delegation).toEqual(krbCred);
      expect(d.extensions.toString('hex')).toBe('0000000200000000');
      expect(() => encodeGssChecksum({ flags: GssFlags.DELEG })).toThrow(RangeError);
      expect(() => encodeGssChecksum({ delegation: krbCred })).toThrow(RangeError);
    });

    it('channel bindings hash: MD5 over the RFC 4121 §4.1.1.2 layout (expected values from Python hashlib)', () => {
      // no bindings: five zero u32 words
      expect(channelBindingsHash({}).toString('hex')).toBe('441018525208457705bf09a8ee3c1093');
      // IPv4 127.0.0.1 → 10.0.0.2 with application data "app"
      expect(
        channelBindingsHash({
          initiatorAddrType: 2,
          initiatorAddress: Buffer.from([127, 0, 0, 1]),
          acceptorAddrType: 2,
          acceptorAddress: Buffer.from([10, 0, 0, 2]),
          applicationData: Buffer.from('app'),
        }).toString('hex'),
      ).toBe('25618b14319de8e682da9d17ec44a1b1');
    });

    it('rejects malformed values with DecodeError', () => {
      expect(() => decodeGssChecksum(Buffer.alloc(23))).toThrow(DecodeError);
      const badLgth = encodeGssChecksum();
      badLgth[0] = 0x11;
      expect(() => decodeGssChecksum(badLgth)).toThrow(/Lgth 17/);
      const deleg = encodeGssChecksum({ flags: GssFlags.DELEG, delegation: Buffer.alloc(10) });
      expect(() => decodeGssChecksum(deleg.subarray(0, 30))).toThrow(/truncated/);
      expect(() => decodeGssChecksum(deleg.subarray(0, 26))).toThrow(/delegation header/);
    });
  });
});
