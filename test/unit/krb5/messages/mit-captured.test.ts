// Messages captured from MIT krb5 1.20.1 (fixtures/mit-krb5-1.20.1.json, see its _source): the
// decoders read what MIT sends, and re-encoding MIT's DER with our encoders reproduces it byte
// for byte (MIT encodes canonical DER, so any difference would be an encoder bug).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { encryptionType, stringToKey } from '../../../../src/krb5/crypto/index.ts';
import {
  KrbError,
  decodeApRep,
  decodeApReq,
  decodeEncApRepPart,
  encodeApRep,
  encodeEncApRepPart,
  decodeAsRep,
  decodeAsReq,
  decodeAuthenticator,
  decodeEncKdcRepPart,
  decodeEncTicketPart,
  decodeEtypeInfo2,
  decodeKrbError,
  decodeTgsRep,
  decodeTgsReq,
  encodeApReq,
  encodeAsRep,
  encodeAuthenticator,
  encodeEncKdcRepPart,
  encodeEncTicketPart,
  encodeKrbError,
  encodeTgsRep,
  encodeTicket,
  krbErrorPaData,
  unparsePrincipal,
  type EncKdcRepPart,
} from '../../../../src/krb5/messages/index.ts';
import { ErrorCode, KeyUsage, PaType, TicketFlags } from '../../../../src/krb5/iana/index.ts';
import {
  Krb5TokenId,
  decodeGssChecksum,
  decodeNegotiationToken,
  parseKrb5Token,
  unframeKrb5ApReq,
  KRB5_MECH_OID,
} from '../../../../src/spnego/index.ts';

interface Fixture {
  realm: string;
  userPassword: string;
  userKey: { etype: number; key: string };
  serviceKeys: Record<string, string>;
  preauthRequired: string;
  asReq: string;
  asRep: string;
  tgs: { etype: number; tgsReq: string; tgsRep: string; subkey: string; apReq: string }[];
  unknownService: string;
  clockSkew: string;
  mitTokens: { etype: number; token: string }[];
  mutual: { apReqToken: string; apRepToken: string; sessionKey: string };
}

const fx = JSON.parse(readFileSync(new URL('./fixtures/mit-krb5-1.20.1.json', import.meta.url), 'utf8')) as Fixture;
const h = (s: string) => Buffer.from(s, 'hex');

function asExchange() {
  const rep = decodeAsRep(h(fx.asRep));
  const userKey = h(fx.userKey.key);
  const plain = encryptionType(rep.encPart.etype).decrypt(userKey, KeyUsage.AS_REP_ENC_PART, rep.encPart.cipher);
  return { rep, plain, part: decodeEncKdcRepPart(plain) };
}

describe('KRB-ERROR from MIT', () => {
  it('KDC_ERR_PREAUTH_REQUIRED with METHOD-DATA and ETYPE-INFO2', () => {
    const der = h(fx.preauthRequired);
    const e = decodeKrbError(der);
    expect(e.errorCode).toBe(ErrorCode.KDC_ERR_PREAUTH_REQUIRED);
    expect(e.eText).toBe('NEEDED_PREAUTH');
    expect(unparsePrincipal(e.server)).toBe('krbtgt/CODEC.TEST@CODEC.TEST');
    expect(e.client).toEqual({ nameType: 1, components: ['user'], realm: 'CODEC.TEST' });
    const pa = krbErrorPaData(e)!;
    expect(pa.map((p) => p.padataType)).toEqual([PaType.FX_FAST, PaType.ETYPE_INFO2, PaType.ENC_TIMESTAMP, PaType.FX_COOKIE]);
    expect(decodeEtypeInfo2(pa[1].padataValue)).toEqual([{ etype: 18, salt: 'CODEC.TESTuser' }]);
    expect(encodeKrbError(e)).toEqual(der);
  });

  it('KDC_ERR_S_PRINCIPAL_UNKNOWN and KRB_AP_ERR_SKEW as typed KrbError', () => {
    const unknown = KrbError.fromDer(h(fx.unknownService));
    expect(unknown.code).toBe(7);
    expect(unknown.codeName).toBe('KDC_ERR_S_PRINCIPAL_UNKNOWN');
    expect(unknown.message).toBe(
      'server not found in Kerberos database (KDC_ERR_S_PRINCIPAL_UNKNOWN, 7) for cifs/nosuch.codec.test@CODEC.TEST: LOOKING_UP_SERVER',
    );
    const skew = KrbError.fromDer(h(fx.clockSkew));
    expect(skew.code).toBe(ErrorCode.KRB_AP_ERR_SKEW);
    expect(skew.explanation).toBe('clock skew too great');
    expect(skew.krbError.stime.getUTCMilliseconds()).toBe(0);
    for (const der of [fx.unknownService, fx.clockSkew]) expect(encodeKrbError(decodeKrbError(h(der)))).toEqual(h(der));
  });
});

describe('AS exchange with PA-ENC-TIMESTAMP', () => {
  it('the user key is string-to-key(password, ETYPE-INFO2 salt)', () => {
    expect(stringToKey(fx.userKey.etype, fx.userPassword, 'CODEC.TESTuser').toString('hex')).toBe(fx.userKey.key);
  });

  it('AS-REP decodes, decrypts with usage 3, and re-encodes byte for byte', () => {
    const req = decodeAsReq(h(fx.asReq));
    const { rep, plain, part } = asExchange();
    expect(unparsePrincipal(rep.client)).toBe('user@CODEC.TEST');
    expect(unparsePrincipal(rep.ticket.server)).toBe('krbtgt/CODEC.TEST@CODEC.TEST');
    // MIT 1.20 labels the AS-REP enc-part [APPLICATION 26] (EncTGSRepPart), not 25.
    expect(part.tag).toBe(26);
    expect(part.nonce).toBe(req.reqBody.nonce);
    expect(part.key.keytype).toBe(18);
    expect(part.flags & TicketFlags.INITIAL).toBeTruthy();
    expect(part.flags & TicketFlags.PRE_AUTHENT).toBeTruthy();
    expect(unparsePrincipal(part.server)).toBe('krbtgt/CODEC.TEST@CODEC.TEST');
    expect(encodeEncKdcRepPart(part)).toEqual(plain);
    expect(encodeTicket(rep.ticket)).toEqual(rep.ticket.der);
    expect(encodeAsRep(rep)).toEqual(h(fx.asRep));
    expect(encodeAsRep({ ...rep, ticket: rep.ticket.der })).toEqual(h(fx.asRep));
  });

  it('the AS-REQ carried PA-ENC-TIMESTAMP encrypted with usage 1', () => {
    const req = decodeAsReq(h(fx.asReq));
    expect(req.padata.map((p) => p.padataType)).toEqual([PaType.ENC_TIMESTAMP, PaType.PAC_REQUEST]);
    expect(req.reqBody.cname).toEqual({ nameType: 1, components: ['user'] });
  });
});

describe.each(fx.tgs.map((t) => [t.etype, t] as const))('TGS exchange for a service with etype %i', (etype, t) => {
  const tgt = asExchange();
  const tgtKey = tgt.part.key;

  it('the TGS-REQ authenticator checksums exactly req-body (usage 6) and is encrypted with usage 7', () => {
    const req = decodeTgsReq(h(t.tgsReq));
    expect(req.padata[0].padataType).toBe(PaType.TGS_REQ);
    const ap = decodeApReq(req.padata[0].padataValue);
    expect(ap.ticket.der).toEqual(tgt.rep.ticket.der);
    const p = encryptionType(tgtKey.keytype);
    const auth = decodeAuthenticator(p.decrypt(tgtKey.keyvalue, KeyUsage.TGS_REQ_PA_AUTHENTICATOR, ap.authenticator.cipher));
    expect(auth.cksum!.cksumtype).toBe(p.checksumType);
    expect(p.verifyChecksum(tgtKey.keyvalue, KeyUsage.TGS_REQ_PA_AUTHENTICATOR_CHECKSUM, req.reqBodyDer, auth.cksum!.checksum)).toBe(true);
    expect(auth.subkey!.keyvalue.toString('hex')).toBe(t.subkey);
  });

  it('TGS-REP: enc-part (subkey, usage 9) and the ticket (service key, usage 2) agree', () => {
    const der = h(t.tgsRep);
    const rep = decodeTgsRep(der);
    const plain = encryptionType(tgtKey.keytype).decrypt(h(t.subkey), KeyUsage.TGS_REP_ENC_PART_SUBKEY, rep.encPart.cipher);
    const part: EncKdcRepPart = decodeEncKdcRepPart(plain);
    expect(part.tag).toBe(26);
    expect(part.key.keytype).toBe(etype);
    expect(unparsePrincipal(part.server)).toBe(`cifs/e${etype}.codec.test@CODEC.TEST`);
    expect(encodeEncKdcRepPart(part)).toEqual(plain);
    expect(encodeTgsRep(rep)).toEqual(der);

    expect(rep.ticket.encPart.etype).toBe(etype);
    expect(rep.ticket.encPart.kvno).toBe(2);
    const ticketPlain = encryptionType(etype).decrypt(h(fx.serviceKeys[etype]), KeyUsage.KDC_REP_TICKET, rep.ticket.encPart.cipher);
    const etp = decodeEncTicketPart(ticketPlain);
    expect(etp.key).toEqual(part.key);
    expect(unparsePrincipal(etp.client)).toBe('user@CODEC.TEST');
    expect(etp.flags).toBe(part.flags);
    expect(encodeEncTicketPart(etp)).toEqual(ticketPlain);
  });

  it('the AP-REQ that MIT accepted carries the native cifs.upcall authenticator', () => {
    const rep = decodeTgsRep(h(t.tgsRep));
    const session = decodeEncKdcRepPart(
      encryptionType(tgtKey.keytype).decrypt(h(t.subkey), KeyUsage.TGS_REP_ENC_PART_SUBKEY, rep.encPart.cipher),
    ).key;
    const ap = decodeApReq(h(t.apReq));
    expect(ap.apOptions).toBe(0);
    expect(ap.ticket.der).toEqual(rep.ticket.der);
    const auth = decodeAuthenticator(
      encryptionType(session.keytype).decrypt(session.keyvalue, KeyUsage.AP_REQ_AUTHENTICATOR, ap.authenticator.cipher),
    );
    expect(auth.cksum).toEqual({ cksumtype: 0x8003, checksum: h('10000000' + '00'.repeat(20)) });
    expect(auth.seqNumber).toBeUndefined();
    expect(auth.subkey!.keytype).toBe(session.keytype);
    expect(h(t.apReq).subarray(0, 40).toString('hex')).toContain('a20703050000000000'); // ap-options 03 05 00 00000000
  });
});

describe.each(fx.mitTokens.map((t) => [t.etype, t.token] as const))("MIT's own SPNEGO/GSS token for cifs@e%i", (etype, token) => {
  it('decodes down to the authenticator, and re-encodes to the same bytes', () => {
    const spnego = decodeNegotiationToken(h(token));
    if (spnego.kind !== 'negTokenInit') throw new Error('expected NegTokenInit');
    expect(spnego.mechTypes[0]).toBe(KRB5_MECH_OID);
    const apDer = unframeKrb5ApReq(spnego.mechToken!);
    const ap = decodeApReq(apDer);
    expect(encodeApReq(ap)).toEqual(apDer);
    expect(unparsePrincipal(ap.ticket.server)).toBe(`cifs/e${etype}.codec.test@CODEC.TEST`);
    // MIT's GSS path uses name type NT-SRV-HST (docs/kerberos.md#ap-req-and-the-gss-checksum)
    expect(ap.ticket.server.nameType).toBe(3);
    const tkt = ap.ticket.encPart;
    const etp = decodeEncTicketPart(encryptionType(tkt.etype).decrypt(h(fx.serviceKeys[tkt.etype]), KeyUsage.KDC_REP_TICKET, tkt.cipher));
    const authPlain = encryptionType(etp.key.keytype).decrypt(etp.key.keyvalue, KeyUsage.AP_REQ_AUTHENTICATOR, ap.authenticator.cipher);
    const auth = decodeAuthenticator(authPlain);
    expect(encodeAuthenticator(auth)).toEqual(authPlain);
    expect(auth.cksum!.cksumtype).toBe(0x8003);
    const gss = decodeGssChecksum(auth.cksum!.checksum);
    expect(gss.flags).toBe(0x130); // TRANS | INTEG | CONF added by MIT (docs/kerberos.md#scope)
    expect(gss.bindingsHash).toEqual(Buffer.alloc(16));
    expect(auth.seqNumber).toBeDefined();
    expect(auth.subkey!.keytype).toBe(etp.key.keytype);
    expect(unparsePrincipal(auth.client)).toBe('user@CODEC.TEST');
  });
});

describe('mutual authentication: MIT AP-REP (RFC 4120 §5.5.2)', () => {
  it('AP-REP enc-part (session key, usage 12) echoes ctime/cusec and carries the acceptor subkey', () => {
    const ap = decodeApReq(unframeKrb5ApReq(h(fx.mutual.apReqToken)));
    expect(ap.apOptions).toBe(0x20000000); // mutual-required
    const tkt = ap.ticket.encPart;
    const session = decodeEncTicketPart(
      encryptionType(tkt.etype).decrypt(h(fx.serviceKeys[tkt.etype]), KeyUsage.KDC_REP_TICKET, tkt.cipher),
    ).key;
    const p = encryptionType(session.keytype);
    const auth = decodeAuthenticator(p.decrypt(session.keyvalue, KeyUsage.AP_REQ_AUTHENTICATOR, ap.authenticator.cipher));
    expect(decodeGssChecksum(auth.cksum!.checksum).flags & 0x2).toBe(0x2); // GSS MUTUAL

    const token = parseKrb5Token(h(fx.mutual.apRepToken));
    expect(token.tokenId).toBe(Krb5TokenId.AP_REP);
    const rep = decodeApRep(token.message);
    expect(encodeApRep(rep)).toEqual(token.message);
    const plain = p.decrypt(session.keyvalue, KeyUsage.AP_REP_ENC_PART, rep.encPart.cipher);
    const part = decodeEncApRepPart(plain);
    expect(encodeEncApRepPart(part)).toEqual(plain);
    expect(part.ctime).toEqual(auth.ctime);
    expect(part.cusec).toBe(auth.cusec);
    // the SMB/SSPI key after mutual auth is the acceptor subkey, not the authenticator subkey (docs/kerberos.md#session-key)
    expect(part.subkey!.keyvalue.toString('hex')).toBe(fx.mutual.sessionKey);
    expect(auth.subkey!.keyvalue.toString('hex')).not.toBe(fx.mutual.sessionKey);
    expect(part.seqNumber).toBeDefined();
  });
});
