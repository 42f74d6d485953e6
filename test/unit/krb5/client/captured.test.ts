// Exchanges of our client with MIT krb5kdc 1.20.1 (fixtures/mit-krb5-1.20.1-exchanges.json, made
// by test/integration/krb5-capture.test.ts; provenance in its _source): every message round-trips
// through the codec byte for byte, and the whole key chain opens offline — TGT session key →
// our PA-TGS-REQ authenticator (usage 7, req-body checksum usage 6) → our subkey → MIT's TGS-REP
// (usage 9, checked by readTgsReply) → the service ticket's session key → our AP-REQ
// authenticator (usage 11) → the subkey we returned as the session key.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { classifyKdcReply } from '../../../../src/krb5/client/kdc-exchange.ts';
import { readAsReply, type AsRequest } from '../../../../src/krb5/client/as.ts';
import { readTgsReply } from '../../../../src/krb5/client/tgs.ts';
import { encryptionType, checksumType } from '../../../../src/krb5/crypto/index.ts';
import { ErrorCode, KdcOptions, KeyUsage, NameType, PaType } from '../../../../src/krb5/iana/index.ts';
import type { Keytab } from '../../../../src/krb5/keytab/keytab.ts';
import {
  decodeAsRep,
  decodeEncryptedData,
  decodeEtypeInfo2,
  decodeKdcReq,
  decodeKrbError,
  decodePaEncTsEnc,
  decodePaPacRequest,
  decodeTgsRep,
  decodeTicket,
  encodeAsRep,
  encodeAsReq,
  encodeKdcReqBody,
  encodeKrbError,
  encodeTgsRep,
  encodeTgsReq,
  krbErrorPaData,
  unparsePrincipal,
} from '../../../../src/krb5/messages/index.ts';
import { decodeGssChecksum } from '../../../../src/krb5/gss/gss-checksum.ts';
import type { Credential } from '../../../../src/krb5/ccache/model.ts';
import { hex, openTgsReq, openToken } from './helpers.ts';

interface Key {
  etype: number;
  key: string;
}
interface Exchange {
  realm: string;
  kind: string;
  subject: string;
  request: string;
  reply: string;
}
interface Fixture {
  realm: string;
  tgs: { client: string; tgtKey: Key; exchange: Exchange; token: string; sessionKey: string; serviceKey: Key & { kvno: number } };
  tgsSha2: Fixture['tgs'];
  unknownService: { client: string; tgtKey: Key; exchanges: Exchange[] };
  skew: { client: string; tgtKey: Key; cacheOffsetSeconds: number; exchanges: Exchange[]; token: string; sessionKey: string };
  referral: { client: string; tgtKey: Key; exchanges: Exchange[]; token: string; sessionKey: string; serviceKey: Key & { kvno: number } };
  as: {
    client: string;
    keys: Array<Key & { kvno: number }>;
    exchanges: Exchange[];
    token: string;
    sessionKey: string;
    serviceKey: Key & { kvno: number };
  };
}

const fx = JSON.parse(readFileSync(new URL('./fixtures/mit-krb5-1.20.1-exchanges.json', import.meta.url), 'utf8')) as Fixture;
const key = (k: Key) => ({ etype: k.etype, key: hex(k.key) });

/** The TGT as readTgsReply needs it: client and session key. */
function tgtOf(client: string, k: Key, realm: string): Credential {
  const [name, crealm] = client.split('@') as [string, string];
  return {
    client: { nameType: NameType.PRINCIPAL, components: [name], realm: crealm },
    server: { nameType: NameType.SRV_INST, components: ['krbtgt', realm], realm: crealm },
    key: { enctype: k.etype, value: hex(k.key) },
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
}

const allExchanges = (): Exchange[] => [
  fx.tgs.exchange,
  fx.tgsSha2.exchange,
  ...fx.unknownService.exchanges,
  ...fx.skew.exchanges,
  ...fx.referral.exchanges,
  ...fx.as.exchanges,
];

describe('DER round trips of the captured messages', () => {
  it('requests (ours): AS-REQ and TGS-REQ re-encode from their decoded form, req-body included', () => {
    for (const x of allExchanges()) {
      const der = hex(x.request);
      const req = decodeKdcReq(der);
      expect(encodeKdcReqBody(req.reqBody as Parameters<typeof encodeKdcReqBody>[0])).toEqual(req.reqBodyDer);
      expect(
        (req.msgType === 10 ? encodeAsReq : encodeTgsReq)({
          padata: req.padata,
          reqBody: req.reqBody as Parameters<typeof encodeKdcReqBody>[0],
        }),
      ).toEqual(der);
    }
  });

  it("replies (MIT's): TGS-REP, AS-REP (ticket re-encoded from its fields) and KRB-ERROR", () => {
    let reps = 0;
    let errors = 0;
    for (const x of allExchanges()) {
      const der = hex(x.reply);
      if (der[0] === 0x7e) {
        expect(encodeKrbError(decodeKrbError(der))).toEqual(der);
        errors++;
        continue;
      }
      const rep = der[0] === 0x6b ? decodeAsRep(der) : decodeTgsRep(der);
      const ticket = decodeTicket(rep.ticket.der);
      const encode = der[0] === 0x6b ? encodeAsRep : encodeTgsRep;
      expect(
        encode({
          padata: rep.padata,
          client: rep.client,
          ticket: { server: ticket.server, encPart: ticket.encPart },
          encPart: rep.encPart,
        }),
      ).toEqual(der);
      reps++;
    }
    expect([reps, errors]).toEqual([7, 4]);
  });

  it('the transport classifier calls every captured reply final', () => {
    for (const x of allExchanges()) expect(classifyKdcReply(hex(x.reply), 'udp')).toBe('final');
  });
});

describe.each([
  ['aes256-cts-hmac-sha1-96 session key (cifs/fs1)', () => fx.tgs, 18],
  ['aes256-cts-hmac-sha384-192 session key (cifs/e20)', () => fx.tgsSha2, 20],
] as const)('TGS exchange, %s', (_name, get, sessionEnctype) => {
  it('our TGS-REQ as the KDC sees it (docs/kerberos.md#tgs-exchange)', () => {
    const t = get();
    const { req, apReq, authenticator } = openTgsReq(hex(t.exchange.request), key(t.tgtKey));
    expect(req.padata.map((p) => p.padataType)).toEqual([PaType.TGS_REQ]);
    expect(apReq.apOptions).toBe(0);
    expect(apReq.authenticator.etype).toBe(t.tgtKey.etype);
    expect(apReq.authenticator.kvno).toBeUndefined();
    // kdc-options: forwardable | renewable copied from the TGT (kinit forwardable = true), canonicalize
    expect(req.reqBody.kdcOptions).toBe(KdcOptions.FORWARDABLE | KdcOptions.RENEWABLE | KdcOptions.CANONICALIZE);
    expect(req.reqBody.sname).toEqual({
      nameType: NameType.UNKNOWN,
      components: ['cifs', t === fx.tgs ? 'fs1.example.test' : 'e20.example.test'],
    });
    expect(req.reqBody.realm).toBe('EXAMPLE.TEST');
    expect(req.reqBody.cname).toBeUndefined();
    expect(req.reqBody.nonce).toBeLessThan(2 ** 31);
    expect(unparsePrincipal(authenticator.client)).toBe(t.client);
    expect(authenticator.seqNumber).toBeUndefined();
    expect(authenticator.subkey?.keytype).toBe(t.tgtKey.etype);
    // the req-body checksum: the TGT enctype's mandatory checksum, usage 6, over the exact bytes
    const ck = authenticator.cksum!;
    expect(ck.cksumtype).toBe(encryptionType(t.tgtKey.etype).checksumType);
    expect(
      checksumType(ck.cksumtype).verify(hex(t.tgtKey.key), KeyUsage.TGS_REQ_PA_AUTHENTICATOR_CHECKSUM, req.reqBodyDer, ck.checksum),
    ).toBe(true);
  });

  it("MIT's TGS-REP opens with our subkey (usage 9) and passes every check of readTgsReply", () => {
    const t = get();
    const opened = openTgsReq(hex(t.exchange.request), key(t.tgtKey));
    const reply = readTgsReply(hex(t.exchange.reply), opened.request, tgtOf(t.client, t.tgtKey, 'EXAMPLE.TEST'), 300);
    expect(reply.usage).toBe(9);
    expect(reply.part.tag).toBe(26);
    expect(unparsePrincipal(reply.part.server)).toBe(`${opened.req.reqBody.sname!.components.join('/')}@EXAMPLE.TEST`);
    expect(reply.part.key.keytype).toBe(sessionEnctype);
    expect(reply.part.nonce).toBe(opened.req.reqBody.nonce);
  });

  it("our AP-REQ token: the ticket carries that session key, the authenticator is cifs.upcall's", () => {
    const t = get();
    const opened = openTgsReq(hex(t.exchange.request), key(t.tgtKey));
    const reply = readTgsReply(hex(t.exchange.reply), opened.request, tgtOf(t.client, t.tgtKey, 'EXAMPLE.TEST'), 300);
    const tok = openToken(hex(t.token), key(t.serviceKey));
    expect(tok.apReq.ticket.der).toEqual(decodeTgsRep(hex(t.exchange.reply)).ticket.der);
    expect(tok.ticket.key).toEqual(reply.part.key);
    expect(tok.apReq.apOptions).toBe(0);
    expect(unparsePrincipal(tok.authenticator.client)).toBe(t.client);
    expect(tok.authenticator.cksum).toEqual({ cksumtype: 0x8003, checksum: hex('100000000000000000000000000000000000000000000000') });
    expect(decodeGssChecksum(tok.authenticator.cksum!.checksum).flags).toBe(0);
    expect(tok.authenticator.seqNumber).toBeUndefined();
    expect(tok.authenticator.authorizationData).toBeUndefined();
    expect(tok.authenticator.subkey).toEqual({ keytype: sessionEnctype, keyvalue: hex(t.sessionKey) });
  });
});

describe('KRB-ERRORs', () => {
  it('KDC_ERR_S_PRINCIPAL_UNKNOWN for cifs/nosuch.example.test, then the plain retry without canonicalize', () => {
    const [first, second] = fx.unknownService.exchanges;
    const e1 = decodeKrbError(hex(first!.reply));
    expect(e1.errorCode).toBe(ErrorCode.KDC_ERR_S_PRINCIPAL_UNKNOWN);
    expect(unparsePrincipal(e1.server)).toBe('cifs/nosuch.example.test@EXAMPLE.TEST');
    expect(decodeKdcReq(hex(first!.request)).reqBody.kdcOptions & KdcOptions.CANONICALIZE).toBe(KdcOptions.CANONICALIZE);
    expect(decodeKdcReq(hex(second!.request)).reqBody.kdcOptions & KdcOptions.CANONICALIZE).toBe(0);
    expect(decodeKrbError(hex(second!.reply)).errorCode).toBe(ErrorCode.KDC_ERR_S_PRINCIPAL_UNKNOWN);
  });

  it("KRB_AP_ERR_SKEW: our authenticator time was the cache offset (−3600 s) away from the KDC's stime; the retry was on time", () => {
    const [skewed, retry] = fx.skew.exchanges;
    const e = decodeKrbError(hex(skewed!.reply));
    expect(e.errorCode).toBe(ErrorCode.KRB_AP_ERR_SKEW);
    const ours = openTgsReq(hex(skewed!.request), key(fx.skew.tgtKey)).authenticator.ctime.getTime() / 1000;
    const kdc = e.stime.getTime() / 1000;
    expect(kdc - ours).toBeGreaterThan(3590);
    expect(kdc - ours).toBeLessThan(3610);
    const corrected = openTgsReq(hex(retry!.request), key(fx.skew.tgtKey)).authenticator.ctime.getTime() / 1000;
    expect(Math.abs(corrected - kdc)).toBeLessThan(5);
    expect(decodeTgsRep(hex(retry!.reply)).client.components).toEqual(['alice']);
  });
});

describe('referral: oscar@OTHER.TEST → cifs/fs1.example.test@ (no [domain_realm])', () => {
  it('OTHER.TEST answers the canonicalize request with krbtgt/EXAMPLE.TEST@OTHER.TEST; its key opens the next hop', () => {
    const [hop1, hop2] = fx.referral.exchanges;
    const tgt = tgtOf(fx.referral.client, fx.referral.tgtKey, 'OTHER.TEST');
    const o1 = openTgsReq(hex(hop1!.request), key(fx.referral.tgtKey));
    expect(o1.req.reqBody.realm).toBe('OTHER.TEST');
    const r1 = readTgsReply(hex(hop1!.reply), o1.request, tgt, 300);
    expect(unparsePrincipal(r1.part.server)).toBe('krbtgt/EXAMPLE.TEST@OTHER.TEST');
    const referralTgt: Credential = { ...tgt, key: { enctype: r1.part.key.keytype, value: r1.part.key.keyvalue } };
    const o2 = openTgsReq(hex(hop2!.request), { etype: r1.part.key.keytype, key: r1.part.key.keyvalue });
    expect(o2.apReq.ticket.der).toEqual(decodeTgsRep(hex(hop1!.reply)).ticket.der);
    expect(o2.req.reqBody.realm).toBe('EXAMPLE.TEST');
    const r2 = readTgsReply(hex(hop2!.reply), o2.request, referralTgt, 300);
    expect(unparsePrincipal(r2.part.server)).toBe('cifs/fs1.example.test@EXAMPLE.TEST');
    const tok = openToken(hex(fx.referral.token), key(fx.referral.serviceKey));
    expect(tok.ticket.key).toEqual(r2.part.key);
    expect(unparsePrincipal(tok.ticket.client)).toBe('oscar@OTHER.TEST');
    expect(tok.authenticator.subkey?.keyvalue).toEqual(hex(fx.referral.sessionKey));
  });
});

describe('AS exchange with keytab keys (K5CAP$, +requires_preauth)', () => {
  const keytab: Keytab = {
    name: 'fixture',
    version: 2,
    truncatedAt: null,
    entries: fx.as.keys.map((k, i) => ({
      principal: { nameType: 1, components: ['K5CAP$'], realm: 'EXAMPLE.TEST' },
      timestamp: 0,
      kvno: k.kvno,
      key: { enctype: k.etype, value: hex(k.key) },
      offset: i,
    })),
  };
  const client = { nameType: NameType.PRINCIPAL, components: ['K5CAP$'], realm: 'EXAMPLE.TEST' };

  it('first AS-REQ: PA-PAC-REQUEST only; MIT answers PREAUTH_REQUIRED with ETYPE-INFO2 (salt REALM + name)', () => {
    const [first] = fx.as.exchanges;
    const req = decodeKdcReq(hex(first!.request));
    expect(req.padata.map((p) => p.padataType)).toEqual([PaType.PAC_REQUEST]);
    expect(decodePaPacRequest(req.padata[0]!.padataValue)).toBe(true);
    expect(req.reqBody.cname).toEqual({ nameType: 1, components: ['K5CAP$'] });
    expect(req.reqBody.sname).toEqual({ nameType: 2, components: ['krbtgt', 'EXAMPLE.TEST'] });
    const e = decodeKrbError(hex(first!.reply));
    expect(e.errorCode).toBe(ErrorCode.KDC_ERR_PREAUTH_REQUIRED);
    const info = krbErrorPaData(e)!.find((p) => p.padataType === PaType.ETYPE_INFO2)!;
    expect(decodeEtypeInfo2(info.padataValue)[0]).toEqual({ etype: 18, salt: 'EXAMPLE.TESTK5CAP$' });
  });

  it('second AS-REQ: PA-ENC-TIMESTAMP with the aes256 keytab key (usage 1); the AS-REP opens with it (usage 3)', () => {
    const [, second] = fx.as.exchanges;
    const req = decodeKdcReq(hex(second!.request));
    expect(req.padata.map((p) => p.padataType)).toEqual([PaType.ENC_TIMESTAMP, PaType.PAC_REQUEST, PaType.FX_COOKIE]);
    const ed = decodeEncryptedData(req.padata[0]!.padataValue);
    const k18 = keytab.entries.find((x) => x.key.enctype === 18)!;
    expect(ed.etype).toBe(18);
    const ts = decodePaEncTsEnc(encryptionType(18).decrypt(k18.key.value, KeyUsage.AS_REQ_PA_ENC_TIMESTAMP, ed.cipher));
    expect(ts.pausec).toBeGreaterThanOrEqual(0);
    const request: AsRequest = { der: hex(second!.request), body: req.reqBody as AsRequest['body'] };
    const { rep, part, key: used } = readAsReply(hex(second!.reply), request, client, keytab);
    expect(used.key.enctype).toBe(18);
    expect(unparsePrincipal(rep.client)).toBe('K5CAP$@EXAMPLE.TEST');
    expect(unparsePrincipal(part.server)).toBe('krbtgt/EXAMPLE.TEST@EXAMPLE.TEST');
    expect(Math.abs(part.authtime.getTime() - ts.patimestamp.getTime())).toBeLessThan(5000);
  });

  it('the TGT from the AS-REP opens our TGS-REQ, and the chain ends in the session key we returned', () => {
    const [, second, tgsX] = fx.as.exchanges;
    const req = decodeKdcReq(hex(second!.request));
    const { part } = readAsReply(hex(second!.reply), { der: hex(second!.request), body: req.reqBody as AsRequest['body'] }, client, keytab);
    const tgtKey = { etype: part.key.keytype, key: part.key.keyvalue };
    const opened = openTgsReq(hex(tgsX!.request), tgtKey);
    expect(opened.apReq.ticket.der).toEqual(decodeAsRep(hex(second!.reply)).ticket.der);
    const tgt: Credential = { ...tgtOf('K5CAP$@EXAMPLE.TEST', { etype: tgtKey.etype, key: tgtKey.key.toString('hex') }, 'EXAMPLE.TEST') };
    const reply = readTgsReply(hex(tgsX!.reply), opened.request, tgt, 300);
    const tok = openToken(hex(fx.as.token), key(fx.as.serviceKey));
    expect(tok.ticket.key).toEqual(reply.part.key);
    expect(unparsePrincipal(tok.ticket.client)).toBe('K5CAP$@EXAMPLE.TEST');
    expect(tok.authenticator.subkey?.keyvalue).toEqual(hex(fx.as.sessionKey));
  });
});
