// cifs.upcall's native AP-REQ (docs/cifs-upcall-behaviour.md#native-krb5-path, docs/kerberos.md#ap-req-and-the-gss-checksum "native" profile),
// opened the way an acceptor opens it: for every session-key enctype the token is RFC 2743
// framed, ap-options 0, the authenticator (usage 11) carries the fixed 24-byte 0x8003 checksum,
// no sequence number, no authorization data, and a fresh subkey of the session key's enctype —
// the key we hand back.
import { describe, expect, it } from 'vitest';
import { buildCifsApReq } from '../../../../src/krb5/client/ap-req.ts';
import { KdcClock } from '../../../../src/krb5/client/clock.ts';
import { encryptionType } from '../../../../src/krb5/crypto/index.ts';
import { NameType } from '../../../../src/krb5/iana/index.ts';
import { parseInitialContextToken } from '../../../../src/krb5/gss/gss-token.ts';
import { mintedCredential, openToken } from './helpers.ts';

const client = { nameType: NameType.PRINCIPAL, components: ['alice'], realm: 'EXAMPLE.TEST' };
const server = { nameType: NameType.SRV_INST, components: ['cifs', 'fs1.example.test'], realm: 'EXAMPLE.TEST' };
/** docs/kerberos.md#ap-req-and-the-gss-checksum: Lgth 16 LE, 16 zero bytes (no bindings), Flags 0 */
const CIFS_GSS_CHECKSUM = '100000000000000000000000000000000000000000000000';

describe.each([17, 18, 19, 20, 23])('session key of enctype %i', (enctype) => {
  const serviceKey = { etype: 18, key: encryptionType(18).randomKey() };

  it("the acceptor's view of our token", () => {
    const cred = mintedCredential({ client, server, sessionEnctype: enctype, serviceKey });
    const clock = new KdcClock({ seconds: -7, microseconds: -500_000 }, () => 1_800_000_000_250_000);
    const ap = buildCifsApReq(cred, clock.now());
    const framing = parseInitialContextToken(ap.gssToken);
    expect(framing.mechOid).toBe('1.2.840.113554.1.2.2');
    expect(framing.innerToken.subarray(0, 2).toString('hex')).toBe('0100');
    expect(framing.innerToken.subarray(2)).toEqual(ap.apReq);
    const tok = openToken(ap.gssToken, serviceKey);
    expect(tok.apReq.apOptions).toBe(0);
    expect(tok.apReq.ticket.der).toEqual(cred.ticket);
    expect(tok.apReq.authenticator.etype).toBe(enctype);
    expect(tok.apReq.authenticator.kvno).toBeUndefined();
    const a = tok.authenticator;
    expect(a.client).toEqual(client);
    expect(a.cksum).toEqual({ cksumtype: 0x8003, checksum: Buffer.from(CIFS_GSS_CHECKSUM, 'hex') });
    expect(a.seqNumber).toBeUndefined();
    expect(a.authorizationData).toBeUndefined();
    expect(a.ctime.getTime()).toBe(1_799_999_992_000);
    expect(a.cusec).toBe(750_000);
    expect(a.subkey).toEqual({ keytype: enctype, keyvalue: ap.subkey.value });
    expect(ap.subkey.value).toHaveLength(encryptionType(enctype).keyLength);
    expect(ap.subkey.value.equals(cred.key.value)).toBe(false);
  });

  it('a fresh subkey every time', () => {
    const cred = mintedCredential({ client, server, sessionEnctype: enctype, serviceKey });
    const a = buildCifsApReq(cred, new KdcClock(null).now());
    const b = buildCifsApReq(cred, new KdcClock(null).now());
    expect(a.subkey.value.equals(b.subkey.value)).toBe(false);
  });
});

describe('refusals', () => {
  const serviceKey = { etype: 18, key: encryptionType(18).randomKey() };

  it('a credential whose ticket is not DER', () => {
    const cred = { ...mintedCredential({ client, server, sessionEnctype: 18, serviceKey }), ticket: Buffer.from('xx') };
    expect(() => buildCifsApReq(cred, new KdcClock(null).now())).toThrow(expect.objectContaining({ kind: 'bad-cache' }));
  });

  it('a session key of an enctype we do not implement', () => {
    const cred = { ...mintedCredential({ client, server, sessionEnctype: 18, serviceKey }), key: { enctype: 16, value: Buffer.alloc(24) } };
    expect(() => buildCifsApReq(cred, new KdcClock(null).now())).toThrow(/des3-cbc-sha1 session key, which this client does not implement/);
  });
});
