// Property tests (fast-check): every message survives encode → decode, and no input — random
// bytes or mutated valid encodings — makes a decoder throw anything but DecodeError.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as m from '../../../../src/krb5/messages/index.ts';
import { DecodeError } from '../../../../src/der/errors.ts';
import {
  authData,
  bytes,
  checksum,
  encryptedData,
  encryptionKey,
  hostAddress,
  int32,
  ktime,
  nameParts,
  paData,
  principal,
  ticketFields,
  uint32,
  usec,
  kstring,
} from './arbitraries.ts';

const opt = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });
const runs = { numRuns: 150 };

/** Drop keys whose value is undefined so toEqual compares what the decoder can reproduce. */
function defined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

const ticketDer = ticketFields.map((t) => m.encodeTicket(t));

const kdcReqBody = fc.record({
  kdcOptions: uint32,
  cname: opt(nameParts),
  realm: kstring,
  sname: opt(nameParts),
  from: opt(ktime),
  till: ktime,
  rtime: opt(ktime),
  nonce: uint32,
  etype: fc.array(int32, { maxLength: 6 }),
  addresses: opt(fc.array(hostAddress, { maxLength: 2 })),
  encAuthorizationData: opt(encryptedData),
  additionalTickets: opt(fc.array(ticketDer, { maxLength: 2 })),
});

const encKdcRepPart = fc.record({
  tag: fc.constantFrom(25 as const, 26 as const),
  key: encryptionKey,
  lastReq: fc.array(fc.record({ lrType: int32, lrValue: ktime }), { maxLength: 2 }),
  nonce: uint32,
  keyExpiration: opt(ktime),
  flags: uint32,
  authtime: ktime,
  starttime: opt(ktime),
  endtime: ktime,
  renewTill: opt(ktime),
  server: principal,
  caddr: opt(fc.array(hostAddress, { maxLength: 2 })),
  encryptedPaData: opt(fc.array(paData, { maxLength: 2 })),
});

const krbError = fc.record({
  ctime: opt(ktime),
  cusec: opt(usec),
  stime: ktime,
  susec: usec,
  errorCode: int32,
  client: opt(principal),
  server: principal,
  eText: opt(kstring),
  eData: opt(bytes(40)),
});

const authenticator = fc.record({
  client: principal,
  cksum: opt(checksum),
  cusec: usec,
  ctime: ktime,
  subkey: opt(encryptionKey),
  seqNumber: opt(uint32),
  authorizationData: opt(fc.array(authData, { maxLength: 2 })),
});

const encTicketPart = fc.record({
  flags: uint32,
  key: encryptionKey,
  client: principal,
  transited: fc.record({ trType: int32, contents: bytes(8) }),
  authtime: ktime,
  starttime: opt(ktime),
  endtime: ktime,
  renewTill: opt(ktime),
  caddr: opt(fc.array(hostAddress, { maxLength: 2 })),
  authorizationData: opt(fc.array(authData, { maxLength: 2 })),
});

describe('encode → decode round trips', () => {
  it('Ticket (and its DER is kept)', () => {
    fc.assert(
      fc.property(ticketFields, (t) => {
        const der = m.encodeTicket(t);
        const d = m.decodeTicket(der);
        expect(d.server).toEqual(t.server);
        expect(d.encPart).toEqual(defined(t.encPart));
        expect(d.der).toEqual(der);
      }),
      runs,
    );
  });

  it('small types', () => {
    fc.assert(
      fc.property(
        encryptionKey,
        encryptedData,
        checksum,
        fc.array(paData, { maxLength: 3 }),
        fc.array(authData, { maxLength: 3 }),
        (key, ed, ck, pa, ad) => {
          expect(m.decodeEncryptionKey(m.encodeEncryptionKey(key))).toEqual(key);
          expect(m.decodeEncryptedData(m.encodeEncryptedData(ed))).toEqual(defined(ed));
          expect(m.decodeChecksum(m.encodeChecksum(ck))).toEqual(ck);
          expect(m.decodeMethodData(m.encodeMethodData(pa))).toEqual(pa);
          expect(m.decodeAuthorizationData(m.encodeAuthorizationData(ad))).toEqual(ad);
        },
      ),
      runs,
    );
  });

  it('AS-REQ / TGS-REQ with the body as fields or as pre-encoded bytes', () => {
    fc.assert(
      fc.property(kdcReqBody, fc.array(paData, { maxLength: 2 }), fc.boolean(), (body, padata, tgs) => {
        const bodyDer = m.encodeKdcReqBody(body);
        const encode = tgs ? m.encodeTgsReq : m.encodeAsReq;
        const der = encode({ padata, reqBody: bodyDer });
        expect(encode({ padata, reqBody: body })).toEqual(der);
        const d = m.decodeKdcReq(der);
        expect(d.msgType).toBe(tgs ? 12 : 10);
        expect(d.padata).toEqual(padata);
        expect(d.reqBodyDer).toEqual(bodyDer);
        const expected = defined({ ...body, encAuthorizationData: body.encAuthorizationData && defined(body.encAuthorizationData) });
        const got = { ...d.reqBody, additionalTickets: d.reqBody.additionalTickets?.map((t) => t.der) };
        expect(defined(got)).toEqual(expected);
      }),
      runs,
    );
  });

  it('AS-REP / TGS-REP', () => {
    fc.assert(
      fc.property(
        principal,
        ticketDer,
        encryptedData,
        fc.array(paData, { maxLength: 2 }),
        fc.boolean(),
        (client, ticket, encPart, padata, tgs) => {
          const der = (tgs ? m.encodeTgsRep : m.encodeAsRep)({ padata, client, ticket, encPart });
          const d = m.decodeKdcRep(der);
          expect(d.msgType).toBe(tgs ? 13 : 11);
          expect(d.client).toEqual(client);
          expect(d.ticket.der).toEqual(ticket);
          expect(d.encPart).toEqual(defined(encPart));
          expect(d.padata).toEqual(padata);
        },
      ),
      runs,
    );
  });

  it('EncKDCRepPart, EncTicketPart, KRB-ERROR, Authenticator', () => {
    fc.assert(
      fc.property(encKdcRepPart, encTicketPart, krbError, authenticator, (rep, etp, err, auth) => {
        expect(m.decodeEncKdcRepPart(m.encodeEncKdcRepPart(rep))).toEqual(defined(rep));
        expect(m.decodeEncTicketPart(m.encodeEncTicketPart(etp))).toEqual(defined(etp));
        expect(m.decodeKrbError(m.encodeKrbError(err))).toEqual(defined(err));
        expect(m.decodeAuthenticator(m.encodeAuthenticator(auth))).toEqual(defined(auth));
      }),
      runs,
    );
  });

  it('AP-REQ, AP-REP, EncAPRepPart, PA-ENC-TS-ENC, ETYPE-INFO2, PA-PAC-REQUEST', () => {
    const info2 = fc.array(fc.record({ etype: int32, salt: kstring, s2kparams: bytes(8) }, { requiredKeys: ['etype'] }), { maxLength: 3 });
    fc.assert(
      fc.property(
        uint32,
        ticketDer,
        encryptedData,
        fc.record({ ctime: ktime, cusec: usec, subkey: opt(encryptionKey), seqNumber: opt(uint32) }),
        fc.record({ patimestamp: ktime, pausec: opt(usec) }),
        info2,
        fc.boolean(),
        (apOptions, ticket, ed, repPart, ts, etypeInfo, pac) => {
          const ap = m.decodeApReq(m.encodeApReq({ apOptions, ticket, authenticator: ed }));
          expect(ap.apOptions).toBe(apOptions);
          expect(ap.ticket.der).toEqual(ticket);
          expect(ap.authenticator).toEqual(defined(ed));
          expect(m.decodeApRep(m.encodeApRep({ encPart: ed }))).toEqual({ encPart: defined(ed) });
          expect(m.decodeEncApRepPart(m.encodeEncApRepPart(repPart))).toEqual(defined(repPart));
          expect(m.decodePaEncTsEnc(m.encodePaEncTsEnc(ts))).toEqual(defined(ts));
          expect(m.decodeEtypeInfo2(m.encodeEtypeInfo2(etypeInfo))).toEqual(etypeInfo);
          expect(m.decodePaPacRequest(m.encodePaPacRequest(pac))).toBe(pac);
        },
      ),
      runs,
    );
  });
});

/** Every decoder, by name. */
const decoders: Record<string, (b: Uint8Array) => unknown> = {
  Ticket: m.decodeTicket,
  KdcReq: m.decodeKdcReq,
  AsReq: m.decodeAsReq,
  TgsReq: m.decodeTgsReq,
  KdcRep: m.decodeKdcRep,
  AsRep: m.decodeAsRep,
  TgsRep: m.decodeTgsRep,
  EncKdcRepPart: m.decodeEncKdcRepPart,
  EncTicketPart: m.decodeEncTicketPart,
  KrbError: m.decodeKrbError,
  ApReq: m.decodeApReq,
  Authenticator: m.decodeAuthenticator,
  ApRep: m.decodeApRep,
  EncApRepPart: m.decodeEncApRepPart,
  PaEncTsEnc: m.decodePaEncTsEnc,
  EtypeInfo2: m.decodeEtypeInfo2,
  PaPacRequest: m.decodePaPacRequest,
  MethodData: m.decodeMethodData,
  EncryptionKey: m.decodeEncryptionKey,
  EncryptedData: m.decodeEncryptedData,
  Checksum: m.decodeChecksum,
  AuthorizationData: m.decodeAuthorizationData,
};

function onlyDecodeErrors(input: Uint8Array): void {
  for (const [name, decode] of Object.entries(decoders)) {
    try {
      decode(input);
    } catch (e) {
      if (!(e instanceof DecodeError)) throw new Error(`${name} threw ${String(e)} for ${Buffer.from(input).toString('hex')}`);
    }
  }
}

/** Valid encodings of many message types, each with the decoders that read that type. */
const tagged = (der: Buffer, names: string[]): [Buffer, string[]] => [der, names];
const validMessage: fc.Arbitrary<[Buffer, string[]]> = fc.oneof(
  ticketDer.map((d) => tagged(d, ['Ticket'])),
  fc
    .tuple(kdcReqBody, fc.array(paData, { maxLength: 2 }))
    .map(([b, p]) => tagged(m.encodeTgsReq({ padata: p, reqBody: b }), ['TgsReq', 'KdcReq'])),
  encKdcRepPart.map((p) => tagged(m.encodeEncKdcRepPart(p), ['EncKdcRepPart'])),
  encTicketPart.map((p) => tagged(m.encodeEncTicketPart(p), ['EncTicketPart'])),
  krbError.map((e) => tagged(m.encodeKrbError(e), ['KrbError'])),
  authenticator.map((a) => tagged(m.encodeAuthenticator(a), ['Authenticator'])),
  fc
    .tuple(principal, ticketDer, encryptedData)
    .map(([c, t, e]) => tagged(m.encodeTgsRep({ client: c, ticket: t, encPart: e }), ['TgsRep', 'KdcRep'])),
  fc
    .tuple(uint32, ticketDer, encryptedData)
    .map(([o, t, e]) => tagged(m.encodeApReq({ apOptions: o, ticket: t, authenticator: e }), ['ApReq'])),
);

function onlyDecodeErrorsFrom(names: string[], input: Uint8Array): void {
  for (const name of names) {
    try {
      decoders[name](input);
    } catch (e) {
      if (!(e instanceof DecodeError)) throw new Error(`${name} threw ${String(e)} for ${Buffer.from(input).toString('hex')}`);
    }
  }
}

describe('hostile input only ever raises DecodeError', () => {
  it('random bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), onlyDecodeErrors), { numRuns: 400 });
  });

  it('random bytes behind a plausible header', () => {
    const header = fc.constantFrom(0x30, 0x61, 0x62, 0x6c, 0x6d, 0x6e, 0x7a, 0x7e, 0xa0, 0x18, 0x1b, 0x02, 0x03);
    fc.assert(
      fc.property(header, fc.uint8Array({ maxLength: 200 }), (tag, rest) => {
        onlyDecodeErrors(Buffer.concat([Buffer.from([tag, rest.length & 0x7f]), rest]));
        onlyDecodeErrors(Buffer.concat([Buffer.from([tag, 0x81, rest.length & 0xff]), rest]));
      }),
      { numRuns: 300 },
    );
  });

  it('valid messages with one byte changed, truncated, or extended', () => {
    fc.assert(
      fc.property(validMessage, fc.nat(), fc.integer({ min: 0, max: 255 }), ([der, names], pos, value) => {
        const i = pos % der.length;
        const flipped = Buffer.from(der);
        flipped[i] = value;
        for (const mutant of [
          flipped,
          der.subarray(0, i),
          Buffer.concat([der, Buffer.from([value])]),
          Buffer.concat([der.subarray(0, i), Buffer.from([value]), der.subarray(i)]),
        ]) {
          onlyDecodeErrorsFrom(names, mutant);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('pathological nesting and huge declared lengths fail fast', () => {
    const deep = Buffer.concat([Buffer.alloc(20000, 0x30).map((_, i) => (i % 2 === 0 ? 0x30 : 0x80))]);
    const nestedDefinite = Buffer.alloc(4000);
    for (let i = 0; i < 4000; i += 2) {
      nestedDefinite[i] = 0xa0;
      nestedDefinite[i + 1] = 0x7f;
    }
    const inputs = [
      deep,
      nestedDefinite,
      Buffer.from('3084ffffffff', 'hex'),
      Buffer.from('308800000000000000ff', 'hex'),
      Buffer.from('6e84000fffff3000', 'hex'),
      Buffer.from('1f8080808080808080808001', 'hex'),
    ];
    const start = process.hrtime.bigint();
    for (const input of inputs) {
      for (const decode of Object.values(decoders)) expect(() => decode(input)).toThrow(DecodeError);
    }
    expect(Number(process.hrtime.bigint() - start) / 1e6).toBeLessThan(2000);
  });
});
