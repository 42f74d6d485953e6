import * as asn1js from 'asn1js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as enc from '../../../src/der/encode.ts';
import { parseDer } from '../../../src/der/decode.ts';
import { DecodeError } from '../../../src/der/errors.ts';

const hex = (b: Buffer) => b.toString('hex');
const h = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

describe('DER primitives for Kerberos (docs/kerberos.md#der-encoding)', () => {
  it("Int32 and UInt32 are minimal two's complement", () => {
    expect(hex(enc.toDer(enc.int32(5)))).toBe('020105');
    expect(hex(enc.toDer(enc.int32(0)))).toBe('020100');
    expect(hex(enc.toDer(enc.int32(-138)))).toBe('0202ff76');
    expect(hex(enc.toDer(enc.int32(0x8003)))).toBe('0203008003');
    expect(hex(enc.toDer(enc.int32(-0x80000000)))).toBe('020480000000');
    expect(hex(enc.toDer(enc.uint32(0xffffffff)))).toBe('020500ffffffff');
    expect(hex(enc.toDer(enc.uint32(128)))).toBe('02020080');
    expect(() => enc.int32(0x80000000)).toThrow(RangeError);
    expect(() => enc.uint32(-1)).toThrow(RangeError);
    expect(() => enc.int32(1.5)).toThrow(RangeError);
  });

  it('decodes Int32/UInt32, accepting non-minimal encodings and negative UInt32', () => {
    expect(parseDer(h('0202ff76'), 'x').int32()).toBe(-138);
    expect(parseDer(h('0203008003'), 'x').int32()).toBe(0x8003);
    expect(parseDer(h('020400008003'), 'x').int32()).toBe(0x8003);
    expect(parseDer(h('0204ffffffff'), 'x').uint32()).toBe(0xffffffff);
    expect(parseDer(h('020500ffffffff'), 'x').uint32()).toBe(0xffffffff);
    expect(() => parseDer(h('020500ffffffff'), 'x').int32()).toThrow(DecodeError);
    expect(() => parseDer(h('02050100000000'), 'x').uint32()).toThrow(/out of UInt32 range/);
    expect(() => parseDer(h('0200'), 'x').int32()).toThrow(/empty INTEGER/);
  });

  it('KerberosTime has whole seconds only', () => {
    const d = new Date(Date.UTC(2024, 1, 29, 13, 4, 5, 678));
    expect(enc.toDer(enc.kerberosTime(d)).toString('latin1')).toBe('\x18\x0f20240229130405Z');
    expect(
      parseDer(enc.toDer(enc.kerberosTime(d)), 't')
        .kerberosTime()
        .toISOString(),
    ).toBe('2024-02-29T13:04:05.000Z');
    expect(() => parseDer(Buffer.from('\x18\x1320240229130405.678Z', 'latin1'), 't').kerberosTime()).toThrow(DecodeError);
    expect(() => parseDer(Buffer.from('\x18\x0f20241329130405Z', 'latin1'), 't').kerberosTime()).toThrow(/not a valid date/);
    expect(() => parseDer(Buffer.from('\x18\x0d240229130405Z', 'latin1'), 't').kerberosTime()).toThrow(DecodeError);
    expect(() => enc.kerberosTime(new Date(NaN))).toThrow(RangeError);
  });

  it('KerberosString is a GeneralString; UTF-8 is accepted', () => {
    expect(hex(enc.toDer(enc.kerberosString('EXAMPLE.TEST')))).toBe('1b0c4558414d504c452e54455354');
    expect(parseDer(h('1b03c3a961'), 's').kerberosString()).toBe('éa');
    expect(parseDer(enc.toDer(enc.kerberosString('müller')), 's').kerberosString()).toBe('müller');
    expect(parseDer(h('1b02ff41'), 's').kerberosString()).toBe('\u00ffA');
    expect(() => parseDer(h('0c0141'), 's').kerberosString()).toThrow(/expected GeneralString/);
  });

  it('KerberosFlags are 32-bit BIT STRINGs; decoding is lenient about length', () => {
    expect(hex(enc.toDer(enc.kerberosFlags(0x40810010)))).toBe('03050040810010');
    expect(hex(enc.toDer(enc.kerberosFlags(0)))).toBe('03050000000000');
    expect(hex(enc.toDer(enc.kerberosFlags(0x80000000)))).toBe('03050080000000');
    expect(parseDer(h('03050040810010'), 'f').kerberosFlags()).toBe(0x40810010);
    expect(parseDer(h('03020740'), 'f').kerberosFlags()).toBe(0x40000000);
    expect(parseDer(h('030100'), 'f').kerberosFlags()).toBe(0);
    expect(parseDer(h('0307008000000001ff'), 'f').kerberosFlags()).toBe(0x80000000);
    expect(parseDer(h('030500ffffffff'), 'f').kerberosFlags()).toBe(0xffffffff);
  });

  it('explicit and APPLICATION tags', () => {
    expect(hex(enc.toDer(enc.explicit(0, enc.int32(5))))).toBe('a003020105');
    expect(hex(enc.toDer(enc.application(14, enc.sequence([]))))).toBe('6e023000');
    expect(hex(enc.toDer(enc.application(30, enc.sequence([]))))).toBe('7e023000');
    expect(
      hex(
        enc.toDer(
          enc.taggedSequence([
            [0, enc.int32(5)],
            [1, undefined],
            [2, enc.int32(14)],
          ]),
        ),
      ),
    ).toBe('300aa003020105a20302010e');
    expect(() =>
      enc.taggedSequence([
        [1, enc.int32(1)],
        [0, enc.int32(1)],
      ]),
    ).toThrow(RangeError);
  });

  it('long-form lengths are minimal on encode and accepted non-minimal on decode', () => {
    const big = enc.toDer(enc.octetString(Buffer.alloc(200, 1)));
    expect(hex(big.subarray(0, 3))).toBe('0481c8');
    const nonMinimal = h('04820003616263');
    expect(parseDer(nonMinimal, 'o').octetString().toString()).toBe('abc');
    const nonMinimalShort = h('048103616263');
    expect(parseDer(nonMinimalShort, 'o').octetString().toString()).toBe('abc');
  });

  it('pre-encoded DER is embedded verbatim, even non-minimal', () => {
    const raw = h('04820003616263');
    expect(hex(enc.toDer(enc.explicit(3, enc.preEncoded(raw))))).toBe('a30704820003616263');
    expect(hex(enc.toDer(enc.sequence([enc.int32(1), enc.preEncoded(raw), enc.int32(2)])))).toBe('300d02010104820003616263020102');
  });

  it('OIDs', () => {
    expect(hex(enc.toDer(enc.objectIdentifier('1.2.840.113554.1.2.2')))).toBe('06092a864886f712010202');
    expect(hex(enc.toDer(enc.objectIdentifier('1.2.840.48018.1.2.2')))).toBe('06092a864882f712010202');
    expect(parseDer(h('06062b0601050502'), 'o').objectIdentifier()).toBe('1.3.6.1.5.5.2');
    expect(parseDer(h('06092a864882f712010202'), 'o').objectIdentifier()).toBe('1.2.840.48018.1.2.2');
    expect(() => enc.objectIdentifier('1.2.x')).toThrow(RangeError);
  });

  describe('strict structure', () => {
    const bad: [string, string, RegExp][] = [
      ['child overruns its parent', '30020405414243444546', /do not match the length/],
      ['indefinite length', '30800201000000', /indefinite length/],
      ['trailing bytes', '02010500', /trailing bytes/],
      ['truncated', '300502', /malformed DER/],
      ['empty', '', /empty input/],
      ['constructed OCTET STRING', '24050403616263', /constructed encoding/],
      ['bad GeneralizedTime text', '1803414141', /malformed DER|KerberosTime/],
    ];
    it.each(bad)('%s', (_what, input, message) => {
      expect(() => parseDer(h(input), 'Thing')).toThrow(DecodeError);
      expect(() => parseDer(h(input), 'Thing')).toThrow(message);
    });

    it('fields: order, duplicates, wrong tag class, missing required field', () => {
      const names = { 0: 'a', 1: 'b' };
      expect(() => parseDer(h('300aa103020101a003020100'), 'S').fields(names)).toThrow(/S\.a: field \[0\] out of order/);
      expect(() => parseDer(h('300aa003020101a003020100'), 'S').fields(names)).toThrow(/out of order or repeated/);
      expect(() => parseDer(h('3003020101'), 'S').fields(names)).toThrow(/expected an explicit context tag/);
      expect(() => parseDer(h('3005a003020101'), 'S').fields(names).required(1)).toThrow(/S\.b: required field is missing/);
      expect(() => parseDer(h('3008a006020101020101'), 'S').fields(names)).toThrow(/exactly one element/);
      // unknown higher tags are skipped (extension markers)
      const f = parseDer(h('300aa003020101a503020102'), 'S').fields(names);
      expect(f.required(0).int32()).toBe(1);
      expect(f.optional(1)).toBeUndefined();
    });
  });
});

describe('the hand-written DER encoder agrees with asn1js (the library decode.ts reads with)', () => {
  const asn1 = (block: asn1js.BaseBlock) => Buffer.from(block.toBER(false)).toString('hex');
  const ours = (a: enc.Asn) => enc.toDer(a).toString('hex');

  it('INTEGER: minimal two’s complement over the whole safe range', () => {
    fc.assert(
      fc.property(fc.bigInt(-(2n ** 53n) + 1n, 2n ** 53n - 1n), (v) => {
        expect(ours(enc.integer(v))).toBe(asn1(asn1js.Integer.fromBigInt(v)));
        expect(ours(enc.integer(Number(v)))).toBe(asn1(asn1js.Integer.fromBigInt(v)));
      }),
      { numRuns: 2000 },
    );
    for (const v of [0, 1, 127, 128, 255, 256, 0x7fff, 0x8000, -1, -128, -129, -0x8000, -0x8001]) {
      expect(ours(enc.integer(v))).toBe(asn1(asn1js.Integer.fromBigInt(BigInt(v))));
    }
  });

  it('OCTET STRING and GeneralString lengths in the short and every long form', () => {
    for (const n of [0, 1, 127, 128, 255, 256, 65535, 65536, 70000]) {
      const bytes = new Uint8Array(n).fill(0x41);
      expect(ours(enc.octetString(bytes))).toBe(asn1(new asn1js.OctetString({ valueHex: bytes })));
    }
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 200 }), (text) => {
        const s = new asn1js.GeneralString();
        s.valueBlock.valueHexView = new Uint8Array(Buffer.from(text, 'utf8'));
        expect(ours(enc.kerberosString(text))).toBe(asn1(s));
      }),
    );
  });

  it('OBJECT IDENTIFIER, BOOLEAN, ENUMERATED, GeneralizedTime, BIT STRING', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 }),
        fc.integer({ min: 0, max: 39 }),
        fc.array(fc.nat({ max: 2 ** 40 }), { maxLength: 8 }),
        (a, b, rest) => {
          const dotted = [a, b, ...rest].join('.');
          expect(ours(enc.objectIdentifier(dotted))).toBe(asn1(new asn1js.ObjectIdentifier({ value: dotted })));
        },
      ),
    );
    for (const oid of ['1.2.840.113554.1.2.2', '1.2.840.48018.1.2.2', '1.3.6.1.5.5.2', '2.999.3']) {
      expect(ours(enc.objectIdentifier(oid))).toBe(asn1(new asn1js.ObjectIdentifier({ value: oid })));
    }
    expect(ours(enc.boolean(true))).toBe(asn1(new asn1js.Boolean({ value: true })));
    expect(ours(enc.boolean(false))).toBe(asn1(new asn1js.Boolean({ value: false })));
    for (const v of [0, 1, 2, 127, 128, 1000]) expect(ours(enc.enumerated(v))).toBe(asn1(new asn1js.Enumerated({ value: v })));
    const when = new Date(Date.UTC(2026, 11, 6, 12, 34, 56));
    expect(ours(enc.kerberosTime(when))).toBe(asn1(new asn1js.GeneralizedTime({ value: '20261206123456Z' })));
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), (flags) => {
        const bytes = new Uint8Array(4);
        new DataView(bytes.buffer).setUint32(0, flags);
        expect(ours(enc.kerberosFlags(flags))).toBe(asn1(new asn1js.BitString({ valueHex: bytes, unusedBits: 0 })));
      }),
    );
  });

  it('explicit, APPLICATION (short and long tag forms) and nested SEQUENCEs', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 20000 }), fc.array(fc.integer(), { maxLength: 40 }), (tag, values) => {
        const inner = values.map((v) => enc.int32(v));
        const asnInner = () => values.map((v) => asn1js.Integer.fromBigInt(BigInt(v)));
        expect(ours(enc.sequence(inner))).toBe(asn1(new asn1js.Sequence({ value: asnInner() })));
        expect(ours(enc.explicit(tag, enc.sequence(inner)))).toBe(
          asn1(new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber: tag }, value: [new asn1js.Sequence({ value: asnInner() })] })),
        );
        expect(ours(enc.application(tag, inner))).toBe(
          asn1(new asn1js.Constructed({ idBlock: { tagClass: 2, tagNumber: tag }, value: asnInner() })),
        );
      }),
      { numRuns: 500 },
    );
  });
});
