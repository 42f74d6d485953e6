// The TGS-REQ we build (docs/kerberos.md#tgs-exchange, RFC 4120 §5.4.1 / §7.5.1 key usages 6 and 7) for every
// TGT session-key enctype, and the checks readTgsReply makes on a reply (docs/kerberos.md#reading-the-tgs-rep, MIT
// gc_via_tkt.c). The replies below are built by the test with the codec — including ones a
// correct KDC never sends (wrong nonce, wrong client, …), which is the point: each check must
// refuse them. Genuine MIT replies are in captured.test.ts.
import { describe, expect, it } from 'vitest';
import { KdcClock } from '../../../../src/krb5/client/clock.ts';
import { Krb5ClientError } from '../../../../src/krb5/client/errors.ts';
import { buildTgsRequest, readTgsReply, TGT_FLAGS_TO_KDC_OPTIONS, type TgsRequest } from '../../../../src/krb5/client/tgs.ts';
import { checksumType, encryptionType } from '../../../../src/krb5/crypto/index.ts';
import { KdcOptions, KeyUsage, NameType, PaType, TicketFlags } from '../../../../src/krb5/iana/index.ts';
import {
  encodeEncKdcRepPart,
  encodeTgsRep,
  encodeAsRep,
  encodeTicket,
  type EncKdcRepPart,
  type PrincipalName,
} from '../../../../src/krb5/messages/index.ts';
import type { Credential, Principal } from '../../../../src/krb5/ccache/model.ts';
import { openTgsReq } from './helpers.ts';

const ENCTYPES = [17, 18, 19, 20, 23] as const;
/** docs/kerberos.md#tgs-exchange step 5: the mandatory checksum of each enctype */
const MANDATORY_CHECKSUM: Record<number, number> = { 17: 15, 18: 16, 19: 19, 20: 20, 23: -138 };

const alice = { nameType: NameType.PRINCIPAL, components: ['alice'], realm: 'EXAMPLE.TEST' };
const krbtgt = { nameType: NameType.SRV_INST, components: ['krbtgt', 'EXAMPLE.TEST'], realm: 'EXAMPLE.TEST' };
const cifs: Principal = { nameType: NameType.UNKNOWN, components: ['cifs', 'fs1.example.test'], realm: 'EXAMPLE.TEST' };

function tgt(
  enctype: number,
  flags = TicketFlags.FORWARDABLE | TicketFlags.RENEWABLE | TicketFlags.INITIAL | TicketFlags.PRE_AUTHENT,
): Credential {
  const now = Math.floor(Date.now() / 1000);
  return {
    client: alice,
    server: krbtgt,
    key: { enctype, value: encryptionType(enctype).randomKey() },
    authTime: now,
    startTime: now,
    endTime: now + 36000,
    renewTill: 0,
    isSkey: false,
    flags,
    addresses: [],
    authData: [],
    ticket: encodeTicket({ server: krbtgt, encPart: { etype: 18, kvno: 2, cipher: Buffer.alloc(64, 7) } }),
    secondTicket: Buffer.alloc(0),
  };
}

describe.each(ENCTYPES)('TGS-REQ with a TGT session key of enctype %i', (enctype) => {
  it('PA-TGS-REQ = AP-REQ(TGT, authenticator usage 7, checksum usage 6 over the req-body bytes, subkey, no seq)', () => {
    const t = tgt(enctype);
    const now = new KdcClock({ seconds: 5, microseconds: 250_000 }, () => 1_800_000_000_123_456).now();
    const built = buildTgsRequest({ tgt: t, server: cifs, canonicalize: true, enctypes: [18, 17, 20, 19, 23], now, nonce: 12345 });
    const { req, apReq, authenticator } = openTgsReq(built.der, { etype: enctype, key: t.key.value });
    expect(req.msgType).toBe(12);
    expect(req.padata.map((p) => p.padataType)).toEqual([PaType.TGS_REQ]);
    expect(req.reqBodyDer).toEqual(built.reqBodyDer);
    expect(apReq.apOptions).toBe(0);
    expect(apReq.ticket.der).toEqual(t.ticket);
    expect(apReq.authenticator.etype).toBe(enctype);
    expect(authenticator.client).toEqual(alice);
    expect(authenticator.ctime.getTime()).toBe(1_800_000_005_000);
    expect(authenticator.cusec).toBe(373_456);
    expect(authenticator.seqNumber).toBeUndefined();
    expect(authenticator.subkey).toEqual({ keytype: enctype, keyvalue: built.subkey.value });
    expect(built.subkey.value).toHaveLength(encryptionType(enctype).keyLength);
    expect(authenticator.cksum?.cksumtype).toBe(MANDATORY_CHECKSUM[enctype]);
    expect(
      checksumType(authenticator.cksum!.cksumtype).verify(
        t.key.value,
        KeyUsage.TGS_REQ_PA_AUTHENTICATOR_CHECKSUM,
        req.reqBodyDer,
        authenticator.cksum!.checksum,
      ),
    ).toBe(true);
    expect(built.requestTime).toBe(1_800_000_005);
  });
});

describe('TGS-REQ body', () => {
  it("kdc-options: the TGT's forwardable/proxiable/may-postdate/renewable flags, plus canonicalize on referral requests", () => {
    const all = 0xffffffff;
    const withAll = buildTgsRequest({ tgt: tgt(18, all), server: cifs, canonicalize: true, enctypes: [18], now: new KdcClock(null).now() });
    expect(withAll.body.kdcOptions).toBe((TGT_FLAGS_TO_KDC_OPTIONS | KdcOptions.CANONICALIZE) >>> 0);
    expect(TGT_FLAGS_TO_KDC_OPTIONS).toBe(KdcOptions.FORWARDABLE | KdcOptions.PROXIABLE | KdcOptions.ALLOW_POSTDATE | KdcOptions.RENEWABLE);
    const plain = buildTgsRequest({
      tgt: tgt(18, TicketFlags.INITIAL | TicketFlags.PRE_AUTHENT),
      server: cifs,
      canonicalize: false,
      enctypes: [18],
      now: new KdcClock(null).now(),
    });
    expect(plain.body.kdcOptions).toBe(0);
  });

  it('realm and sname from the server asked (name type kept), till = TGT endtime, etype list in order, no cname', () => {
    const t = tgt(18);
    const built = buildTgsRequest({ tgt: t, server: cifs, canonicalize: false, enctypes: [20, 18, 23], now: new KdcClock(null).now() });
    const req = openTgsReq(built.der, { etype: 18, key: t.key.value }).req;
    expect(req.reqBody.realm).toBe('EXAMPLE.TEST');
    expect(req.reqBody.sname).toEqual({ nameType: 0, components: ['cifs', 'fs1.example.test'] });
    expect(req.reqBody.till.getTime()).toBe(t.endTime * 1000);
    expect(req.reqBody.etype).toEqual([20, 18, 23]);
    expect(req.reqBody.cname).toBeUndefined();
    expect(req.reqBody.addresses).toBeUndefined();
    expect(req.reqBody.nonce).toBeGreaterThanOrEqual(0);
    expect(req.reqBody.nonce).toBeLessThan(2 ** 31);
  });

  it('a TGT with addresses passes them on', () => {
    const t = { ...tgt(18), addresses: [{ type: 2, data: Buffer.from([127, 0, 0, 1]) }] };
    const built = buildTgsRequest({ tgt: t, server: cifs, canonicalize: false, enctypes: [18], now: new KdcClock(null).now() });
    expect(built.body.addresses).toEqual([{ addrType: 2, address: Buffer.from([127, 0, 0, 1]) }]);
  });

  it('a cached TGT whose ticket is not DER, or whose enctype we lack, is refused before anything is sent', () => {
    const bad = { ...tgt(18), ticket: Buffer.from('junk') };
    expect(() => buildTgsRequest({ tgt: bad, server: cifs, canonicalize: true, enctypes: [18], now: new KdcClock(null).now() })).toThrow(
      expect.objectContaining({ kind: 'bad-cache' }),
    );
    const des3 = { ...tgt(18), key: { enctype: 16, value: Buffer.alloc(24) } };
    expect(() => buildTgsRequest({ tgt: des3, server: cifs, canonicalize: true, enctypes: [18], now: new KdcClock(null).now() })).toThrow(
      /has a session key of des3-cbc-sha1, which this client does not implement/,
    );
  });
});

// ---- readTgsReply ------------------------------------------------------------------------------

interface ReplyOverrides {
  part?: Partial<EncKdcRepPart>;
  client?: PrincipalName;
  ticketServer?: PrincipalName;
  /** encrypt with the TGT session key, usage 8, instead of the subkey */
  withSessionKey?: boolean;
  key?: Buffer;
  as?: boolean;
}

function request(t: Credential, canonicalize = false, server = cifs): TgsRequest {
  return buildTgsRequest({ tgt: t, server, canonicalize, enctypes: [18, 17], now: new KdcClock(null).now() });
}

/** A TGS-REP for `req`, as a KDC would make it, then bent by `o`. */
function reply(t: Credential, req: TgsRequest, o: ReplyOverrides = {}): Buffer {
  const now = new Date(req.requestTime * 1000);
  const server = { ...(req.body.sname as PrincipalName), realm: req.body.realm };
  const part: EncKdcRepPart = {
    tag: 26,
    key: { keytype: 17, keyvalue: encryptionType(17).randomKey() },
    lastReq: [],
    nonce: req.body.nonce,
    flags: TicketFlags.FORWARDABLE,
    authtime: now,
    starttime: now,
    endtime: req.body.till,
    server,
    ...o.part,
  };
  const sessionKey = o.withSessionKey;
  const etype = sessionKey ? t.key.enctype : req.subkey.enctype;
  const key = o.key ?? (sessionKey ? t.key.value : req.subkey.value);
  const usage = sessionKey ? KeyUsage.TGS_REP_ENC_PART_SESSION_KEY : KeyUsage.TGS_REP_ENC_PART_SUBKEY;
  const encode = o.as ? encodeAsRep : encodeTgsRep;
  return encode({
    client: o.client ?? t.client,
    ticket: { server: o.ticketServer ?? part.server, encPart: { etype: 17, kvno: 3, cipher: Buffer.alloc(48, 1) } },
    encPart: { etype, cipher: encryptionType(etype).encrypt(key, usage, encodeEncKdcRepPart(part)) },
  });
}

function refusal(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(Krb5ClientError);
    expect((e as Krb5ClientError).kind).toBe('bad-reply');
    return (e as Error).message;
  }
  throw new Error('accepted');
}

describe('readTgsReply', () => {
  const t = tgt(18);

  it('accepts a reply encrypted with our subkey (usage 9)', () => {
    const req = request(t);
    const r = readTgsReply(reply(t, req), req, t, 300);
    expect(r.usage).toBe(9);
    expect(r.part.server.components).toEqual(['cifs', 'fs1.example.test']);
  });

  it('accepts one encrypted with the TGT session key (usage 8, old Heimdal), and the [APPLICATION 25] tag', () => {
    const req = request(t);
    expect(readTgsReply(reply(t, req, { withSessionKey: true }), req, t, 300).usage).toBe(8);
    expect(readTgsReply(reply(t, req, { part: { tag: 25 } }), req, t, 300).part.tag).toBe(25);
  });

  it('refuses an enc-part that opens with neither key', () => {
    const req = request(t);
    expect(refusal(() => readTgsReply(reply(t, req, { key: encryptionType(18).randomKey() }), req, t, 300))).toMatch(
      /decrypts with neither the subkey \(usage 9\) nor the TGT session key \(usage 8\)/,
    );
  });

  it('refuses another nonce, another client, a ticket for another server than the enc-part says', () => {
    const req = request(t);
    expect(refusal(() => readTgsReply(reply(t, req, { part: { nonce: (req.body.nonce + 1) >>> 0 } }), req, t, 300))).toMatch(
      /nonce \d+ is not ours/,
    );
    expect(refusal(() => readTgsReply(reply(t, req, { client: { ...alice, components: ['mallory'] } }), req, t, 300))).toMatch(
      /names client mallory@EXAMPLE\.TEST, but the TGT is alice@EXAMPLE\.TEST's/,
    );
    expect(refusal(() => readTgsReply(reply(t, req, { ticketServer: { ...cifs, components: ['cifs', 'other'] } }), req, t, 300))).toMatch(
      /ticket is for cifs\/other@EXAMPLE\.TEST but the enc-part says cifs\/fs1\.example\.test@EXAMPLE\.TEST/,
    );
  });

  it('a different server name only with canonicalize, or krbtgt for krbtgt (a referral)', () => {
    const other = { part: { server: { nameType: 3, components: ['cifs', 'fs1'], realm: 'EXAMPLE.TEST' } } };
    const plain = request(t, false);
    expect(refusal(() => readTgsReply(reply(t, plain, other), plain, t, 300))).toMatch(
      /asked for cifs\/fs1\.example\.test@EXAMPLE\.TEST, got a ticket for cifs\/fs1@EXAMPLE\.TEST/,
    );
    const canon = request(t, true);
    expect(readTgsReply(reply(t, canon, other), canon, t, 300).part.server.components).toEqual(['cifs', 'fs1']);
    const tgsReq = request(t, false, { nameType: 2, components: ['krbtgt', 'OTHER.TEST'], realm: 'EXAMPLE.TEST' });
    const referral = { part: { server: { nameType: 2, components: ['krbtgt', 'MIDDLE.TEST'], realm: 'EXAMPLE.TEST' } } };
    expect(readTgsReply(reply(t, tgsReq, referral), tgsReq, t, 300).part.server.components).toEqual(['krbtgt', 'MIDDLE.TEST']);
  });

  it('refuses an endtime past the requested till, and a starttime further than clockskew from our request', () => {
    const req = request(t);
    expect(
      refusal(() => readTgsReply(reply(t, req, { part: { endtime: new Date(req.body.till.getTime() + 1000) } }), req, t, 300)),
    ).toMatch(/endtime .* is later than the requested till/);
    const late = new Date((req.requestTime + 301) * 1000);
    expect(refusal(() => readTgsReply(reply(t, req, { part: { starttime: late } }), req, t, 300))).toMatch(/more than clockskew 300 s/);
    expect(readTgsReply(reply(t, req, { part: { starttime: late } }), req, t, 600).usage).toBe(9);
  });

  it('refuses what is not a TGS-REP', () => {
    const req = request(t);
    expect(refusal(() => readTgsReply(reply(t, req, { as: true }), req, t, 300))).toMatch(
      /expected a TGS-REP \(\[APPLICATION 13\]\), got tag 0x6b/,
    );
    expect(refusal(() => readTgsReply(Buffer.from('6d03020100', 'hex'), req, t, 300))).toMatch(/undecodable/);
  });
});
