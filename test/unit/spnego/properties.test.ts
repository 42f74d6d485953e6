// Property tests (fast-check) for the GSS/SPNEGO codecs: round trips, and hostile input only
// ever raises DecodeError.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeGssChecksum,
  decodeNegotiationToken,
  encodeGssChecksum,
  encodeNegTokenInit,
  encodeNegTokenResp,
  frameInitialContextToken,
  frameKrb5ApReq,
  parseInitialContextToken,
  parseKrb5Token,
  unframeKrb5ApReq,
} from '../../../src/spnego/index.ts';
import { DecodeError } from '../../../src/der/errors.ts';

const oid = fc
  .tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 39 }), fc.array(fc.nat({ max: 2 ** 40 }), { maxLength: 8 }))
  .map(([a, b, rest]) => [a, b, ...rest].join('.'));
const bytes = (maxLength: number) => fc.uint8Array({ maxLength }).map((b) => Buffer.from(b));
const opt = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });
const defined = <T extends object>(o: T): T => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;

describe('round trips', () => {
  it('InitialContextToken framing for any OID and inner token (all length forms)', () => {
    fc.assert(
      fc.property(oid, bytes(400), (mech, inner) => {
        expect(parseInitialContextToken(frameInitialContextToken(mech, inner))).toEqual({ mechOid: mech, innerToken: inner });
      }),
    );
    fc.assert(
      fc.property(bytes(70000), (apReq) => {
        expect(unframeKrb5ApReq(frameKrb5ApReq(apReq))).toEqual(apReq);
      }),
      { numRuns: 20 },
    );
  });

  it('NegTokenInit and NegTokenResp', () => {
    const init = fc.record({
      mechTypes: fc.array(oid, { maxLength: 4 }),
      reqFlags: opt(fc.integer({ min: 0, max: 0xffffffff })),
      mechToken: opt(bytes(300)),
      mechListMIC: opt(bytes(40)),
    });
    const resp = fc.record({
      negState: opt(fc.integer({ min: 0, max: 3 })),
      supportedMech: opt(oid),
      responseToken: opt(bytes(300)),
      mechListMIC: opt(bytes(40)),
    });
    fc.assert(
      fc.property(init, resp, (i, r) => {
        expect(decodeNegotiationToken(encodeNegTokenInit(i))).toEqual(defined({ kind: 'negTokenInit', ...i }));
        expect(decodeNegotiationToken(encodeNegTokenResp(r))).toEqual(defined({ kind: 'negTokenResp', ...r }));
      }),
    );
  });

  it('GSS checksum', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => Buffer.from(b)),
        fc.integer({ min: 0, max: 0xffffffff }),
        bytes(100),
        bytes(12),
        (bindingsHash, rawFlags, cred, extensions) => {
          const flags = cred.length > 0 ? rawFlags | 1 : rawFlags & ~1;
          const value = encodeGssChecksum({ bindingsHash, flags, delegation: cred.length > 0 ? cred : undefined, extensions });
          expect(decodeGssChecksum(value)).toEqual(
            defined({
              bindingsHash,
              flags: flags >>> 0,
              delegation: cred.length > 0 ? cred : undefined,
              extensions,
            }),
          );
        },
      ),
    );
  });
});

function onlyDecodeErrors(input: Uint8Array): void {
  for (const decode of [decodeNegotiationToken, parseInitialContextToken, parseKrb5Token, unframeKrb5ApReq, decodeGssChecksum]) {
    try {
      decode(input);
    } catch (e) {
      if (!(e instanceof DecodeError)) throw new Error(`${decode.name} threw ${String(e)} for ${Buffer.from(input).toString('hex')}`);
    }
  }
}

describe('hostile input only ever raises DecodeError', () => {
  it('random bytes, and random bytes behind 60/a0/a1 headers', () => {
    fc.assert(fc.property(bytes(200), onlyDecodeErrors), { numRuns: 300 });
    fc.assert(
      fc.property(fc.constantFrom(0x60, 0xa0, 0xa1), bytes(200), (tag, rest) => {
        onlyDecodeErrors(Buffer.concat([Buffer.from([tag, rest.length & 0x7f]), rest]));
      }),
      { numRuns: 300 },
    );
  });

  it('mutated valid tokens', () => {
    const valid = fc.oneof(
      bytes(200).map((b) => encodeNegTokenInit({ mechTypes: ['1.2.840.113554.1.2.2'], mechToken: frameKrb5ApReq(b) })),
      bytes(50).map((b) => encodeNegTokenResp({ negState: 1, supportedMech: '1.2.840.48018.1.2.2', responseToken: b })),
    );
    fc.assert(
      fc.property(valid, fc.nat(), fc.integer({ min: 0, max: 255 }), (der, pos, value) => {
        const i = pos % der.length;
        const flipped = Buffer.from(der);
        flipped[i] = value;
        onlyDecodeErrors(flipped);
        onlyDecodeErrors(der.subarray(0, i));
        onlyDecodeErrors(Buffer.concat([der, Buffer.from([value])]));
      }),
      { numRuns: 300 },
    );
  });
});
