// fast-check properties of what the client parses and builds:
//  * classifyKdcReply never throws, whatever a "KDC" sends;
//  * readTgsReply / readAsReply on arbitrary bytes and on mutated genuine MIT replies (captured
//    fixture) either accept or throw Krb5ClientError('bad-reply') — never another exception;
//  * buildTgsRequest for arbitrary names, flags, enctype lists and times decodes back to what was
//    asked, and its authenticator opens with the TGT key and checksums the exact req-body bytes.
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readAsReply } from '../../../../src/krb5/client/as.ts';
import { KdcClock } from '../../../../src/krb5/client/clock.ts';
import { Krb5ClientError } from '../../../../src/krb5/client/errors.ts';
import { classifyKdcReply } from '../../../../src/krb5/client/kdc-exchange.ts';
import { buildTgsRequest, readTgsReply, TGT_FLAGS_TO_KDC_OPTIONS } from '../../../../src/krb5/client/tgs.ts';
import { checksumType, encryptionType } from '../../../../src/krb5/crypto/index.ts';
import { KdcOptions, KeyUsage, NameType } from '../../../../src/krb5/iana/index.ts';
import type { Keytab } from '../../../../src/krb5/keytab/keytab.ts';
import { decodeKdcReq, encodeTicket } from '../../../../src/krb5/messages/index.ts';
import type { Credential } from '../../../../src/krb5/ccache/model.ts';
import { hex, openTgsReq } from './helpers.ts';

interface Fx {
  tgs: { client: string; tgtKey: { etype: number; key: string }; exchange: { request: string; reply: string } };
  as: { keys: Array<{ etype: number; kvno: number; key: string }>; exchanges: Array<{ request: string; reply: string }> };
}
const fx = JSON.parse(readFileSync(new URL('./fixtures/mit-krb5-1.20.1-exchanges.json', import.meta.url), 'utf8')) as Fx;

const alice = { nameType: NameType.PRINCIPAL, components: ['alice'], realm: 'EXAMPLE.TEST' };
const tgsTgt: Credential = {
  client: alice,
  server: { nameType: 2, components: ['krbtgt', 'EXAMPLE.TEST'], realm: 'EXAMPLE.TEST' },
  key: { enctype: fx.tgs.tgtKey.etype, value: hex(fx.tgs.tgtKey.key) },
  authTime: 0,
  startTime: 0,
  endTime: 0,
  renewTill: 0,
  isSkey: false,
  flags: 0,
  addresses: [],
  authData: [],
  ticket: Buffer.alloc(0),
  secondTicket: Buffer.alloc(0),
};
const tgsRequest = openTgsReq(hex(fx.tgs.exchange.request), { etype: fx.tgs.tgtKey.etype, key: hex(fx.tgs.tgtKey.key) }).request;
const asClient = { nameType: 1, components: ['K5CAP$'], realm: 'EXAMPLE.TEST' };
const asKeytab: Keytab = {
  name: 'fixture',
  version: 2,
  truncatedAt: null,
  entries: fx.as.keys.map((k, i) => ({
    principal: asClient,
    timestamp: 0,
    kvno: k.kvno,
    key: { enctype: k.etype, value: hex(k.key) },
    offset: i,
  })),
};
const asReq = fx.as.exchanges[1]!;
const asRequest = { der: hex(asReq.request), body: decodeKdcReq(hex(asReq.request)).reqBody as Parameters<typeof readAsReply>[1]['body'] };

/** A genuine reply with a few bytes changed, cut short, or grown. */
function mutated(genuine: Buffer): fc.Arbitrary<Buffer> {
  return fc.oneof(
    fc.array(fc.tuple(fc.nat(genuine.length - 1), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 }).map((flips) => {
      const b = Buffer.from(genuine);
      for (const [at, x] of flips) b[at] = b[at]! ^ x;
      return b;
    }),
    fc.nat(genuine.length - 1).map((n) => genuine.subarray(0, n)),
    fc.uint8Array({ minLength: 1, maxLength: 16 }).map((tail) => Buffer.concat([genuine, tail])),
  );
}

/** Accepts or refuses with a bad-reply Krb5ClientError; anything else fails the property. */
function acceptsOrRefuses(f: () => unknown): void {
  try {
    f();
  } catch (e) {
    if (!(e instanceof Krb5ClientError) || e.kind !== 'bad-reply') throw e;
  }
}

describe('parsers of KDC replies', () => {
  it('classifyKdcReply: one of the four classes for any bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.constantFrom('udp' as const, 'tcp' as const), (b, t) => {
        expect(['final', 'svc-unavailable', 'too-big', 'invalid']).toContain(classifyKdcReply(Buffer.from(b), t));
      }),
      { numRuns: 500 },
    );
    fc.assert(
      fc.property(mutated(hex(fx.as.exchanges[0]!.reply)), (b) => {
        expect(['final', 'svc-unavailable', 'too-big', 'invalid']).toContain(classifyKdcReply(b, 'udp'));
      }),
      { numRuns: 300 },
    );
  });

  it('readTgsReply: arbitrary bytes and mutated MIT TGS-REPs are accepted or refused as bad replies', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (b) => acceptsOrRefuses(() => readTgsReply(Buffer.from(b), tgsRequest, tgsTgt, 300))),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(mutated(hex(fx.tgs.exchange.reply)), (b) => acceptsOrRefuses(() => readTgsReply(b, tgsRequest, tgsTgt, 300))),
      { numRuns: 300 },
    );
  });

  it('readAsReply: the same for mutated MIT AS-REPs', () => {
    fc.assert(
      fc.property(mutated(hex(asReq.reply)), (b) => acceptsOrRefuses(() => readAsReply(b, asRequest, asClient, asKeytab))),
      { numRuns: 300 },
    );
  });

  it('a change inside the encrypted part is always refused (integrity)', () => {
    const genuine = hex(fx.tgs.exchange.reply);
    // the enc-part cipher is the reply's tail: flip a byte in its last 40 bytes
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 255 }), (back, x) => {
        const b = Buffer.from(genuine);
        b[b.length - back] = b[b.length - back]! ^ x;
        expect(() => readTgsReply(b, tgsRequest, tgsTgt, 300)).toThrow(/decrypts with neither/);
      }),
      { numRuns: 60 },
    );
  });
});

describe('buildTgsRequest', () => {
  const component = fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 20 });
  it('decodes back to what was asked; the checksum covers the exact req-body bytes', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(17, 18, 19, 20, 23),
        fc.array(component, { minLength: 1, maxLength: 3 }),
        fc.string({ unit: 'grapheme-ascii', maxLength: 20 }),
        fc.integer({ min: -0x80000000, max: 0x7fffffff }),
        fc.nat(0xffffffff),
        fc.boolean(),
        fc.uniqueArray(fc.constantFrom(17, 18, 19, 20, 23), { minLength: 1, maxLength: 5 }),
        fc.integer({ min: 946_684_800, max: 4_102_444_800 }),
        fc.nat(0x7fffffff),
        (enctype, components, realm, nameType, flags, canonicalize, enctypes, endTime, nonce) => {
          const server = { nameType, components, realm };
          const tgt: Credential = {
            client: alice,
            server: { nameType: 2, components: ['krbtgt', 'EXAMPLE.TEST'], realm: 'EXAMPLE.TEST' },
            key: { enctype, value: encryptionType(enctype).randomKey() },
            authTime: 0,
            startTime: 0,
            endTime,
            renewTill: 0,
            isSkey: false,
            flags,
            addresses: [],
            authData: [],
            secondTicket: Buffer.alloc(0),
            ticket: encodeTicket({
              server: { nameType: 2, components: ['krbtgt', 'EXAMPLE.TEST'], realm: 'EXAMPLE.TEST' },
              encPart: { etype: 18, cipher: Buffer.alloc(20) },
            }),
          };
          const built = buildTgsRequest({ tgt, server, canonicalize, enctypes, now: new KdcClock(null).now(), nonce });
          const { req, authenticator } = openTgsReq(built.der, { etype: enctype, key: tgt.key.value });
          expect(req.reqBody.sname).toEqual({ nameType, components });
          expect(req.reqBody.realm).toBe(realm);
          expect(req.reqBody.kdcOptions).toBe(((flags & TGT_FLAGS_TO_KDC_OPTIONS) | (canonicalize ? KdcOptions.CANONICALIZE : 0)) >>> 0);
          expect(req.reqBody.till.getTime()).toBe(endTime * 1000);
          expect(req.reqBody.etype).toEqual(enctypes);
          expect(req.reqBody.nonce).toBe(nonce);
          expect(
            checksumType(authenticator.cksum!.cksumtype).verify(
              tgt.key.value,
              KeyUsage.TGS_REQ_PA_AUTHENTICATOR_CHECKSUM,
              built.reqBodyDer,
              authenticator.cksum!.checksum,
            ),
          ).toBe(true);
        },
      ),
      { numRuns: 150 },
    );
  });
});
