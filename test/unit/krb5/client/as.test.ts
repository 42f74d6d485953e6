// The AS-REQ with keytab keys (RFC 4120 §5.4.1, §5.2.7.2 PA-ENC-TIMESTAMP key usage 1; MS-KILE
// §2.2.3 PA-PAC-REQUEST) and the checks on an AS-REP (usage 3). The replies are built by the
// test with the codec, including ones a correct KDC never sends; MIT's real AS exchange is in
// captured.test.ts.
import { describe, expect, it } from 'vitest';
import { buildAsRequest, encTimestampPadata, readAsReply } from '../../../../src/krb5/client/as.ts';
import { KdcClock } from '../../../../src/krb5/client/clock.ts';
import { Krb5ClientError } from '../../../../src/krb5/client/errors.ts';
import { encryptionType } from '../../../../src/krb5/crypto/index.ts';
import { KdcOptions, KeyUsage, NameType, PaType } from '../../../../src/krb5/iana/index.ts';
import type { Keytab, KeytabEntry } from '../../../../src/krb5/keytab/keytab.ts';
import {
  decodeAsReq,
  decodeEncryptedData,
  decodePaEncTsEnc,
  decodePaPacRequest,
  encodeAsRep,
  encodeEncKdcRepPart,
  encodePaPacRequest,
  type EncKdcRepPart,
} from '../../../../src/krb5/messages/index.ts';

const client = { nameType: NameType.PRINCIPAL, components: ['CLIENT$'], realm: 'EXAMPLE.TEST' };
const krbtgt = { nameType: NameType.SRV_INST, components: ['krbtgt', 'EXAMPLE.TEST'], realm: 'EXAMPLE.TEST' };

function entry(enctype: number, kvno = 2): KeytabEntry {
  return { principal: client, timestamp: 0, kvno, key: { enctype, value: encryptionType(enctype).randomKey() }, offset: 0 };
}
const keytab: Keytab = { name: 'FILE:/test.keytab', version: 2, truncatedAt: null, entries: [entry(18), entry(17), entry(23)] };
const pac = { padataType: PaType.PAC_REQUEST, padataValue: encodePaPacRequest(true) };

describe('AS-REQ', () => {
  it('cname, krbtgt/<realm>, till = now + lifetime, enctypes in order, padata as given', () => {
    const now = new KdcClock(null, () => 1_800_000_000_000_000).now();
    const built = buildAsRequest({
      client,
      enctypes: [18, 17],
      kdcOptions: KdcOptions.FORWARDABLE,
      now,
      lifetimeSeconds: 86400,
      padata: [pac],
      nonce: 77,
    });
    const req = decodeAsReq(built.der);
    expect(req.padata.map((p) => p.padataType)).toEqual([PaType.PAC_REQUEST]);
    expect(decodePaPacRequest(req.padata[0]!.padataValue)).toBe(true);
    expect(req.reqBody).toMatchObject({
      kdcOptions: KdcOptions.FORWARDABLE,
      realm: 'EXAMPLE.TEST',
      nonce: 77,
      etype: [18, 17],
      cname: { nameType: 1, components: ['CLIENT$'] },
      sname: { nameType: 2, components: ['krbtgt', 'EXAMPLE.TEST'] },
    });
    expect(req.reqBody.till.getTime()).toBe((1_800_000_000 + 86400) * 1000);
  });

  it.each([17, 18, 19, 20, 23])('PA-ENC-TIMESTAMP with a %i key decrypts with that key, usage 1', (enctype) => {
    const e = entry(enctype);
    const now = new KdcClock(null, () => 1_800_000_000_654_321).now();
    const pa = encTimestampPadata(e, now);
    expect(pa.padataType).toBe(PaType.ENC_TIMESTAMP);
    const ed = decodeEncryptedData(pa.padataValue);
    expect(ed.etype).toBe(enctype);
    const ts = decodePaEncTsEnc(encryptionType(enctype).decrypt(e.key.value, KeyUsage.AS_REQ_PA_ENC_TIMESTAMP, ed.cipher));
    expect(ts).toEqual({ patimestamp: new Date(1_800_000_000_000), pausec: 654_321 });
  });
});

describe('readAsReply', () => {
  const now = new KdcClock(null).now();
  const request = buildAsRequest({ client, enctypes: [18, 17], kdcOptions: 0, now, lifetimeSeconds: 3600, padata: [pac] });

  function reply(o: { part?: Partial<EncKdcRepPart>; key?: KeytabEntry; kvno?: number; client?: typeof client } = {}): Buffer {
    const k = o.key ?? keytab.entries[0]!;
    const part: EncKdcRepPart = {
      tag: 25,
      key: { keytype: 18, keyvalue: encryptionType(18).randomKey() },
      lastReq: [],
      nonce: request.body.nonce,
      flags: 0,
      authtime: now.time,
      endtime: new Date(now.time.getTime() + 3600_000),
      server: krbtgt,
      ...o.part,
    };
    return encodeAsRep({
      client: o.client ?? client,
      ticket: { server: part.server, encPart: { etype: 18, kvno: 1, cipher: Buffer.alloc(40, 2) } },
      encPart: {
        etype: k.key.enctype,
        kvno: o.kvno ?? k.kvno,
        cipher: encryptionType(k.key.enctype).encrypt(k.key.value, KeyUsage.AS_REP_ENC_PART, encodeEncKdcRepPart(part)),
      },
    });
  }

  const refusal = (der: Buffer): string => {
    try {
      readAsReply(der, request, client, keytab);
    } catch (e) {
      expect(e).toBeInstanceOf(Krb5ClientError);
      expect((e as Krb5ClientError).kind).toBe('bad-reply');
      return (e as Error).message;
    }
    throw new Error('accepted');
  };

  it("opens with the keytab key of the reply's etype and kvno", () => {
    const r = readAsReply(reply({ key: keytab.entries[1] }), request, client, keytab);
    expect(r.key.key.enctype).toBe(17);
    expect(r.part.server).toEqual(krbtgt);
  });

  it('refuses a key version we do not hold, another nonce, another server, another client', () => {
    expect(refusal(reply({ kvno: 9 }))).toMatch(
      /encrypted with aes256-cts-hmac-sha1-96 kvno 9, and FILE:\/test\.keytab has no such key for CLIENT\$@EXAMPLE\.TEST/,
    );
    expect(refusal(reply({ part: { nonce: (request.body.nonce + 1) >>> 0 } }))).toMatch(/nonce \d+ is not ours/);
    expect(refusal(reply({ part: { server: { ...krbtgt, components: ['krbtgt', 'OTHER.TEST'] } } }))).toMatch(
      /asked for krbtgt\/EXAMPLE\.TEST@EXAMPLE\.TEST, got krbtgt\/OTHER\.TEST@EXAMPLE\.TEST/,
    );
    expect(refusal(reply({ client: { ...client, components: ['ROOT$'] } }))).toMatch(/names client ROOT\$@EXAMPLE\.TEST/);
  });

  it('refuses an enc-part that does not open with the keytab key (a stale keytab)', () => {
    const stale = { ...keytab.entries[0]!, key: { enctype: 18, value: encryptionType(18).randomKey() } };
    expect(refusal(reply({ key: stale }))).toMatch(/does not decrypt with the keytab's aes256-cts-hmac-sha1-96 key \(kvno 2\)/);
  });
});
