// RFC 4506 primitives (§4.1 unsigned int, §4.5 unsigned hyper, §4.4 bool, §4.10 variable-length
// opaque, §4.13 variable-length array, §4.19 optional-data) and the gssproxy structures built on
// them: round trips, and hostile input only ever raises XdrDecodeError with the field path.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeArgAcquireCred,
  decodeArgInitSecContext,
  decodeCred,
  decodeCtx,
  decodeName,
  decodeResAcquireCred,
  decodeResGetCallContext,
  decodeResImportAndCanonName,
  decodeResIndicateMechs,
  decodeResInitSecContext,
  decodeResReleaseHandle,
  decodeStatus,
  encodeArgAcquireCred,
  encodeArgInitSecContext,
  encodeCred,
  encodeCtx,
  encodeName,
  encodeStatus,
  type GssxCred,
  type GssxCtx,
  type GssxName,
} from '../../../src/gssproxy/protocol.ts';
import { XdrDecodeError, XdrEncodeError, XdrReader, XdrWriter } from '../../../src/gssproxy/xdr.ts';
import { vector } from './vectors.ts';

const bytes = (maxLength: number) => fc.uint8Array({ maxLength }).map((b) => Buffer.from(b));
const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });
const option = fc.record({ option: bytes(30), value: bytes(30) });
const name: fc.Arbitrary<GssxName> = fc.record({
  displayName: bytes(40),
  nameType: bytes(12),
  exportedName: bytes(40),
  exportedCompositeName: bytes(20),
  nameAttributes: fc.array(fc.record({ attr: bytes(10), value: bytes(10), extensions: fc.array(option, { maxLength: 2 }) }), {
    maxLength: 2,
  }),
  extensions: fc.array(option, { maxLength: 2 }),
});
const cred: fc.Arbitrary<GssxCred> = fc.record({
  desiredName: name,
  elements: fc.array(
    fc.record({
      mn: name,
      mech: bytes(11),
      credUsage: fc.integer({ min: 1, max: 3 }),
      initiatorTimeRec: u64,
      acceptorTimeRec: u64,
      options: fc.array(option, { maxLength: 2 }),
    }),
    { maxLength: 2 },
  ),
  credHandleReference: bytes(64),
  needsRelease: fc.boolean(),
});
const ctx: fc.Arbitrary<GssxCtx> = fc.record({
  exportedContextToken: bytes(100),
  state: bytes(8),
  needsRelease: fc.boolean(),
  mech: bytes(11),
  srcName: name,
  targName: name,
  lifetime: u64,
  ctxFlags: u64,
  locallyInitiated: fc.boolean(),
  open: fc.boolean(),
  options: fc.array(option, { maxLength: 2 }),
});

function encode(f: (w: XdrWriter) => void): Buffer {
  const w = new XdrWriter(4);
  f(w);
  return Buffer.from(w.finish());
}

function stripRaw<T extends { raw?: Buffer }>(v: T): T {
  const copy = { ...v };
  delete copy.raw;
  return copy;
}

describe('primitives (RFC 4506 §4)', () => {
  it('unsigned int, hyper and bool are big-endian words', () => {
    expect(encode((w) => w.u32(0x01020304).u64(0x0102030405060708n).bool(true).bool(false)).toString('hex')).toBe(
      '01020304' + '0102030405060708' + '00000001' + '00000000',
    );
  });

  it('opaque<> pads with zeros to a multiple of 4 (§4.10)', () => {
    for (let n = 0; n < 9; n++) {
      const b = encode((w) => w.opaque(Buffer.alloc(n, 0xaa)));
      expect(b.length).toBe(4 + n + ((4 - (n % 4)) % 4));
      expect(b.readUInt32BE(0)).toBe(n);
      expect(b.subarray(4 + n).every((x) => x === 0)).toBe(true);
      const r = new XdrReader(b);
      expect(r.opaque()).toEqual(Buffer.alloc(n, 0xaa));
      r.done();
    }
  });

  it('refuses values XDR cannot carry', () => {
    expect(() => encode((w) => w.u32(-1))).toThrow(XdrEncodeError);
    expect(() => encode((w) => w.u32(2 ** 32))).toThrow(XdrEncodeError);
    expect(() => encode((w) => w.u32(1.5))).toThrow(XdrEncodeError);
    expect(() => encode((w) => w.u64(-1n))).toThrow(XdrEncodeError);
    expect(() => encode((w) => w.u64(1n << 64n))).toThrow(XdrEncodeError);
  });

  it('bool other than 0/1 is an error', () => {
    expect(() => new XdrReader(Buffer.from('00000002', 'hex')).bool('flag')).toThrow(/flag at byte 0: bool must be 0 or 1/);
  });

  it('an opaque length beyond the buffer fails before allocating, naming the field', () => {
    const r = new XdrReader(Buffer.from('7fffffff00', 'hex'));
    expect(() => r.opaque('display_name')).toThrow(XdrDecodeError);
    let caught: unknown;
    try {
      new XdrReader(Buffer.from('0000000a616263', 'hex')).field('gssx_name', (x) => x.opaque('display_name'));
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(XdrDecodeError);
    expect((caught as XdrDecodeError).path).toBe('gssx_name.display_name');
    expect((caught as XdrDecodeError).offset).toBe(0);
    expect((caught as Error).message).toMatch(/length 10 exceeds the 3 bytes left/);
  });

  it('an array count is capped by the bytes left (4 billion options in 8 bytes)', () => {
    const r = new XdrReader(Buffer.from('ffffffff0000000000000000', 'hex'));
    expect(() => r.array('options', 8, (x) => x.opaque())).toThrow(/array count 4294967295 cannot fit in the 8 bytes left/);
  });

  it('trailing bytes are an error', () => {
    const r = new XdrReader(Buffer.from('0000000100', 'hex'));
    r.u32();
    expect(() => r.done()).toThrow(/1 unexpected trailing bytes/);
  });

  it('optional-data: presence word, then the value (§4.19)', () => {
    expect(encode((w) => w.optional(null, (ww, v: number) => ww.u32(v)).optional(7, (ww, v) => ww.u32(v))).toString('hex')).toBe(
      '00000000' + '00000001' + '00000007',
    );
  });
});

describe('round trips of the gssproxy structures', () => {
  it('gssx_name, gssx_status, gssx_cred, gssx_ctx', () => {
    fc.assert(
      fc.property(name, (n) => {
        const r = new XdrReader(encode((w) => encodeName(w, n)));
        expect(decodeName(r)).toEqual(n);
        r.done();
      }),
    );
    fc.assert(
      fc.property(cred, (c) => {
        const b = encode((w) => encodeCred(w, c));
        const back = decodeCred(new XdrReader(b));
        expect(stripRaw(back)).toEqual(c);
        expect(back.raw).toEqual(b);
        // a decoded cred is sent back byte for byte
        expect(encode((w) => encodeCred(w, back))).toEqual(b);
      }),
      { numRuns: 50 },
    );
    fc.assert(
      fc.property(ctx, (c) => {
        const b = encode((w) => encodeCtx(w, c));
        expect(stripRaw(decodeCtx(new XdrReader(b)))).toEqual(c);
      }),
      { numRuns: 50 },
    );
    fc.assert(
      fc.property(fc.nat({ max: 0xffffffff }), fc.nat({ max: 0xffffffff }), bytes(40), bytes(40), (major, minor, s1, s2) => {
        const st = {
          majorStatus: major,
          mech: Buffer.from('2a864886f712010202', 'hex'),
          minorStatus: minor,
          majorStatusString: s1,
          minorStatusString: s2,
          serverCtx: Buffer.alloc(0),
          options: [],
        };
        expect(decodeStatus(new XdrReader(encode((w) => encodeStatus(w, st))))).toEqual(st);
      }),
    );
  });

  it('ACQUIRE_CRED and INIT_SEC_CONTEXT arguments', () => {
    fc.assert(
      fc.property(
        fc.option(cred, { nil: null }),
        fc.option(name, { nil: null }),
        fc.array(bytes(11), { maxLength: 3 }),
        (inputCredHandle, desiredName, desiredMechs) => {
          const arg = { inputCredHandle, desiredName, desiredMechs, credUsage: 1 };
          const back = decodeArgAcquireCred(new XdrReader(encode((w) => encodeArgAcquireCred(w, arg))));
          expect(back.desiredName).toEqual(desiredName);
          expect(back.desiredMechs).toEqual(desiredMechs);
          expect(back.inputCredHandle ? stripRaw(back.inputCredHandle) : null).toEqual(inputCredHandle);
        },
      ),
      { numRuns: 50 },
    );
    fc.assert(
      fc.property(
        name.filter((n) => n.displayName.length > 0),
        u64,
        fc.option(bytes(50), { nil: null }),
        (targetName, reqFlags, inputToken) => {
          const arg = { targetName, mechType: Buffer.from('2a864886f712010202', 'hex'), reqFlags, inputToken };
          const back = decodeArgInitSecContext(new XdrReader(encode((w) => encodeArgInitSecContext(w, arg))));
          expect(back.targetName).toEqual(targetName);
          expect(back.reqFlags).toBe(reqFlags);
          expect(back.inputToken).toEqual(inputToken);
        },
      ),
      { numRuns: 50 },
    );
  });
});

describe('hostile input', () => {
  const decoders = [
    decodeResInitSecContext,
    decodeResAcquireCred,
    decodeResGetCallContext,
    decodeResImportAndCanonName,
    decodeResIndicateMechs,
    decodeResReleaseHandle,
  ];

  function onlyXdrErrors(input: Buffer): void {
    for (const decode of decoders) {
      try {
        const r = new XdrReader(input);
        decode(r);
        r.done();
      } catch (e) {
        if (!(e instanceof XdrDecodeError)) throw new Error(`${decode.name} threw ${String(e)} for ${input.toString('hex')}`);
      }
    }
  }

  it('random bytes', () => {
    fc.assert(
      fc.property(bytes(300), (b) => onlyXdrErrors(b)),
      { numRuns: 3000 },
    );
  });

  it('every truncation and single-byte corruption of the captured INIT_SEC_CONTEXT result', () => {
    const results = vector('init_reply_minimal_example').hex('body_hex').subarray(24);
    for (let n = 0; n < results.length; n += 3) onlyXdrErrors(results.subarray(0, n));
    fc.assert(
      fc.property(fc.nat({ max: results.length - 1 }), fc.integer({ min: 0, max: 255 }), (at, v) => {
        const bad = Buffer.from(results);
        bad[at] = v;
        onlyXdrErrors(bad);
      }),
      { numRuns: 3000 },
    );
  });

  it('truncation errors name the field they hit', () => {
    const results = vector('init_reply_minimal_example').hex('body_hex').subarray(24);
    const r = new XdrReader(results.subarray(0, 100));
    expect(() => decodeResInitSecContext(r)).toThrow(/gssx_res_init_sec_context\.context_handle\.exported_context_token/);
  });
});
