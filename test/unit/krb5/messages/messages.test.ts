import { describe, expect, it } from 'vitest';
import {
  DecodeError,
  KrbError,
  decodeApRep,
  decodeApReq,
  decodeAsReq,
  decodeAuthenticator,
  decodeEncApRepPart,
  decodeEncKdcRepPart,
  decodeEtypeInfo2,
  decodeKdcRep,
  decodeKrbError,
  decodePaEncTsEnc,
  decodePaPacRequest,
  decodeTgsRep,
  decodeTgsReq,
  decodeTicket,
  encodeApRep,
  encodeApReq,
  encodeAsRep,
  encodeAuthenticator,
  encodeEncApRepPart,
  encodeEncKdcRepPart,
  encodeEtypeInfo2,
  encodeKdcReqBody,
  encodeKrbError,
  encodePaEncTsEnc,
  encodePaPacRequest,
  encodeTgsRep,
  encodeTgsReq,
  encodeTicket,
  krbErrorPaData,
  encodeMethodData,
  type EncKdcRepPart,
  type KdcReqBody,
  type KrbErrorMessage,
} from '../../../../src/krb5/messages/index.ts';
import { ApOptions, KdcOptions, errorCodeInfo, flagNames, mitErrorNumber } from '../../../../src/krb5/iana/index.ts';

const h = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const R = 'EXAMPLE.TEST';
const alice = { nameType: 1, components: ['alice'], realm: R };
const cifs = { nameType: 0, components: ['cifs', 'fs1.example.test'], realm: R };
const t0 = new Date(Date.UTC(2025, 0, 2, 3, 4, 5));
const ticketDer = encodeTicket({ server: cifs, encPart: { etype: 18, kvno: 2, cipher: Buffer.alloc(40, 7) } });

describe('AP-REQ (RFC 4120 §5.5.1)', () => {
  it('ap-options 0 is 03 05 00 00000000 and the ticket is embedded verbatim', () => {
    const der = encodeApReq({ apOptions: 0, ticket: ticketDer, authenticator: { etype: 18, cipher: Buffer.alloc(3, 1) } });
    expect(der.subarray(0, 2).toString('hex')).toBe('6e81');
    expect(der.toString('hex')).toContain('a20703050000000000');
    expect(der.includes(ticketDer)).toBe(true);
    const ap = decodeApReq(der);
    expect(ap.ticket.der).toEqual(ticketDer);
    expect(ap.authenticator).toEqual({ etype: 18, cipher: Buffer.alloc(3, 1) });
    expect(decodeApReq(encodeApReq({ ...ap, apOptions: ApOptions.MUTUAL_REQUIRED })).apOptions).toBe(0x20000000);
  });

  it('forwards a ticket with non-minimal lengths byte for byte', () => {
    // same Ticket, outer length written in the long form 61 81 xx
    const longForm = Buffer.concat([h('6181'), ticketDer.subarray(1)]);
    const t = decodeTicket(longForm);
    expect(t.der).toEqual(longForm);
    const ap = encodeApReq({ apOptions: 0, ticket: t, authenticator: { etype: 18, cipher: Buffer.alloc(1) } });
    expect(ap.includes(longForm)).toBe(true);
    expect(decodeApReq(ap).ticket.der).toEqual(longForm);
  });

  it('refuses bytes that are not a Ticket', () => {
    expect(() => encodeApReq({ apOptions: 0, ticket: h('3000'), authenticator: { etype: 18, cipher: Buffer.alloc(1) } })).toThrow(
      /APPLICATION 1/,
    );
  });
});

describe('TGS-REQ (RFC 4120 §5.4.1; docs/kerberos.md#tgs-exchange)', () => {
  const body: KdcReqBody = {
    kdcOptions: KdcOptions.FORWARDABLE | KdcOptions.RENEWABLE | KdcOptions.CANONICALIZE,
    realm: R,
    sname: { nameType: 0, components: ['cifs', 'fs1.example.test'] },
    till: t0,
    nonce: 0x7fffffff,
    etype: [18, 17, 20, 19, 23],
  };

  it('embeds the req-body bytes that were checksummed', () => {
    const bodyDer = encodeKdcReqBody(body);
    expect(bodyDer.subarray(2, 11).toString('hex')).toBe('a00703050040810000'); // forwardable|renewable|canonicalize
    const req = encodeTgsReq({ padata: [{ padataType: 1, padataValue: h('6e00') }], reqBody: bodyDer });
    expect(req.subarray(req.length - bodyDer.length)).toEqual(bodyDer);
    const d = decodeTgsReq(req);
    expect(d.msgType).toBe(12);
    expect(d.reqBodyDer).toEqual(bodyDer);
    expect(d.reqBody).toEqual(body);
    expect(d.padata).toEqual([{ padataType: 1, padataValue: h('6e00') }]);
  });

  it('the etype list keeps its order, nonce is a UInt32, from/rtime/addresses are omitted', () => {
    const bodyDer = encodeKdcReqBody(body);
    expect(bodyDer.toString('hex')).toContain('a811300f020112020111020114020113020117');
    expect(bodyDer.toString('hex')).toContain('a706' + '02047fffffff');
    expect(bodyDer.toString('hex')).not.toMatch(/a4..18/);
    expect(bodyDer.toString('hex')).toContain('a511180f' + Buffer.from('20250102030405Z').toString('hex'));
  });

  it('type and msg-type mismatches name the field', () => {
    const req = encodeTgsReq({ reqBody: body });
    expect(() => decodeAsReq(req)).toThrow(/AS-REQ: expected \[APPLICATION 10\], found \[APPLICATION 12\]/);
    const lying = Buffer.from(req);
    const i = lying.indexOf(h('a20302010c'));
    lying[i + 4] = 10; // msg-type 10 inside [APPLICATION 12]
    expect(() => decodeTgsReq(lying)).toThrow(DecodeError);
    expect(() => decodeTgsReq(lying)).toThrow(/TGS-REQ\.msg-type: msg-type 10 does not match/);
    expect(() => encodeTgsReq({ reqBody: h('0400') })).toThrow(/not a SEQUENCE/);
  });
});

describe('KDC replies', () => {
  const part: EncKdcRepPart = {
    tag: 26,
    key: { keytype: 18, keyvalue: Buffer.alloc(32, 9) },
    lastReq: [{ lrType: 0, lrValue: t0 }],
    nonce: 12345,
    flags: 0x40e10000,
    authtime: t0,
    endtime: new Date(t0.getTime() + 36_000_000),
    server: cifs,
  };

  it('EncKDCRepPart: [APPLICATION 25] and [26] are both accepted, other tags are not', () => {
    expect(decodeEncKdcRepPart(encodeEncKdcRepPart(part))).toEqual(part);
    expect(decodeEncKdcRepPart(encodeEncKdcRepPart({ ...part, tag: 25 })).tag).toBe(25);
    const wrong = encodeEncKdcRepPart(part);
    wrong[0] = 0x7b;
    expect(() => decodeEncKdcRepPart(wrong)).toThrow(/expected \[APPLICATION 25 or 26\], found \[APPLICATION 27\]/);
    expect(flagNames({ FORWARDABLE: 0x40000000, RENEWABLE: 0x00800000, INITIAL: 0x00400000, PRE_AUTHENT: 0x00200000 }, part.flags)).toEqual(
      ['forwardable', 'renewable', 'initial', 'pre-authent'],
    );
  });

  it('AS-REP vs TGS-REP dispatch', () => {
    const fields = { client: alice, ticket: ticketDer, encPart: { etype: 18, cipher: Buffer.alloc(30) } };
    const tgsRep = encodeTgsRep(fields);
    expect(decodeKdcRep(tgsRep).msgType).toBe(13);
    expect(decodeKdcRep(encodeAsRep(fields)).msgType).toBe(11);
    expect(() => decodeTgsRep(encodeAsRep(fields))).toThrow(/TGS-REP: expected \[APPLICATION 13\]/);
    expect(decodeTgsRep(tgsRep).ticket.der).toEqual(ticketDer);
    expect(decodeTgsRep(tgsRep).client).toEqual(alice);
  });
});

describe('KRB-ERROR (RFC 4120 §5.9.1) and KrbError', () => {
  const e: KrbErrorMessage = {
    ctime: t0,
    cusec: 17,
    stime: t0,
    susec: 999999,
    errorCode: 37,
    client: alice,
    server: cifs,
    eText: 'clock skew',
    eData: encodeMethodData([{ padataType: 19, padataValue: encodeEtypeInfo2([{ etype: 18 }]) }]),
  };

  it('round-trips every field', () => {
    expect(decodeKrbError(encodeKrbError(e))).toEqual(e);
    const minimal: KrbErrorMessage = { stime: t0, susec: 0, errorCode: 60, server: { nameType: 2, components: ['krbtgt', R], realm: R } };
    expect(decodeKrbError(encodeKrbError(minimal))).toEqual(minimal);
  });

  it('a typed error with the code, its name and explanation', () => {
    const err = new KrbError(e);
    expect(err).toBeInstanceOf(Error);
    expect(err.code).toBe(37);
    expect(err.codeName).toBe('KRB_AP_ERR_SKEW');
    expect(err.message).toBe('clock skew too great (KRB_AP_ERR_SKEW, 37) for cifs/fs1.example.test@EXAMPLE.TEST: clock skew');
    expect(new KrbError(e, 'while getting cifs/x').message).toContain('(KRB_AP_ERR_SKEW, 37) while getting cifs/x: clock skew');
    expect(krbErrorPaData(e)).toEqual([{ padataType: 19, padataValue: encodeEtypeInfo2([{ etype: 18 }]) }]);
    expect(krbErrorPaData({ ...e, eData: h('0102') })).toBeUndefined();
    expect(krbErrorPaData({ ...e, eData: undefined })).toBeUndefined();
  });

  it('the error code table (RFC 4120 §7.5.9)', () => {
    expect(errorCodeInfo(7)).toEqual({ name: 'KDC_ERR_S_PRINCIPAL_UNKNOWN', explanation: 'server not found in Kerberos database' });
    expect(errorCodeInfo(13).explanation).toBe("KDC can't fulfill requested option");
    expect(errorCodeInfo(32).explanation).toBe('ticket expired');
    expect(errorCodeInfo(52).name).toBe('KRB_ERR_RESPONSE_TOO_BIG');
    expect(errorCodeInfo(1234)).toEqual({ name: 'KRB_ERROR_1234', explanation: 'unknown Kerberos error 1234' });
    expect(mitErrorNumber(7)).toBe(-1765328377);
  });

  it('missing required fields are named', () => {
    // [APPLICATION 30] SEQUENCE { pvno 5, msg-type 30 } and nothing else
    expect(() => decodeKrbError(h('7e0c300aa003020105a10302011e'))).toThrow(/KRB-ERROR\.stime: required field is missing/);
    expect(() => decodeKrbError(h('7e0c300aa003020104a10302011e'))).toThrow(/KRB-ERROR\.pvno: protocol version 4/);
  });
});

describe('Authenticator, AP-REP, EncAPRepPart', () => {
  it('Authenticator drops fractions of a second from ctime and checks cusec', () => {
    const a = {
      client: alice,
      cusec: 123456,
      ctime: new Date(t0.getTime() + 789),
      seqNumber: 0xfffffffe,
      subkey: { keytype: 17, keyvalue: Buffer.alloc(16, 1) },
    };
    const d = decodeAuthenticator(encodeAuthenticator(a));
    expect(d.ctime).toEqual(t0);
    expect(d.seqNumber).toBe(0xfffffffe);
    expect(d.cksum).toBeUndefined();
    expect(() => encodeAuthenticator({ ...a, cusec: 1_000_000 })).toThrow(RangeError);
  });

  it('a negative seq-number decodes as its UInt32 value (as MIT does)', () => {
    const der = encodeAuthenticator({ client: alice, cusec: 0, ctime: t0, seqNumber: 5 });
    const i = der.indexOf(h('a703020105'));
    const neg = Buffer.concat([der.subarray(0, i), h('a703020181'), der.subarray(i + 5)]);
    expect(decodeAuthenticator(neg).seqNumber).toBe(0xffffff81);
  });

  it('AP-REP and EncAPRepPart', () => {
    const rep = { encPart: { etype: 18, cipher: Buffer.alloc(50, 2) } };
    expect(decodeApRep(encodeApRep(rep))).toEqual(rep);
    const part = { ctime: t0, cusec: 5, subkey: { keytype: 18, keyvalue: Buffer.alloc(32, 3) }, seqNumber: 77 };
    expect(decodeEncApRepPart(encodeEncApRepPart(part))).toEqual(part);
    expect(decodeEncApRepPart(encodeEncApRepPart({ ctime: t0, cusec: 0 }))).toEqual({ ctime: t0, cusec: 0 });
  });
});

describe('pre-authentication data', () => {
  it('PA-ENC-TS-ENC', () => {
    expect(encodePaEncTsEnc({ patimestamp: t0, pausec: 5 }).toString('hex')).toBe(
      '3018a011180f' + Buffer.from('20250102030405Z').toString('hex') + 'a103020105',
    );
    expect(decodePaEncTsEnc(encodePaEncTsEnc({ patimestamp: t0 }))).toEqual({ patimestamp: t0 });
  });

  it('KERB-PA-PAC-REQUEST (MS-KILE §2.2.3)', () => {
    expect(encodePaPacRequest(true).toString('hex')).toBe('3005a0030101ff');
    expect(encodePaPacRequest(false).toString('hex')).toBe('3005a003010100');
    expect(decodePaPacRequest(h('3005a003010101'))).toBe(true);
    expect(decodePaPacRequest(h('3005a003010100'))).toBe(false);
  });

  it('ETYPE-INFO2 with salt and s2kparams', () => {
    const list = [{ etype: 18, salt: 'EXAMPLE.TESTalice', s2kparams: h('00001000') }, { etype: 23 }];
    expect(decodeEtypeInfo2(encodeEtypeInfo2(list))).toEqual(list);
  });
});
