// cifs.upcall's native AP-REQ (src/krb5/client/ap-req.ts) against MIT's acceptor for every
// enctype's session key and subkey, rc4 included. The realm's KDC never issues rc4 session keys
// (Debian krb5 1.20.1-2+deb12u5 carries the allow_rc4 = false default), so the service tickets
// here are minted with the real service keys from the per-enctype keytabs (EncTicketPart
// encrypted with key usage 2): the acceptor decrypts them with its keytab, then verifies our
// authenticator (usage 11, 0x8003 checksum, flags 0, no sequence number) and reports the SSPI
// session key, which must be our subkey. Also through the SPNEGO framing the pipeline adds
// (sec=krb5 and sec=mskrb5).
import { afterAll, describe, expect, inject, it } from 'vitest';
import { Acceptor } from '../harness/common/acceptor.ts';
import { ENCTYPES } from '../harness/realm/realm.ts';
import { buildCifsApReq } from '../../src/krb5/client/ap-req.ts';
import { KdcClock } from '../../src/krb5/client/clock.ts';
import { encryptionType } from '../../src/krb5/crypto/index.ts';
import { KeyUsage, TicketFlags } from '../../src/krb5/iana/index.ts';
import { readKeytab } from '../../src/krb5/keytab/keytab.ts';
import { encodeEncTicketPart, encodeTicket } from '../../src/krb5/messages/index.ts';
import { cifsSpnegoInitToken } from '../../src/spnego/spnego.ts';
import type { Credential } from '../../src/krb5/ccache/model.ts';

const env = inject('realm');
const acceptor = new Acceptor(env);
afterAll(() => acceptor.close());

/** A service ticket for alice, minted with the service's long-term key (what a KDC would issue). */
function mintedCredential(enctype: number, host: string, keytab: string): Credential {
  const entry = readKeytab(keytab).entries.find((e) => e.key.enctype === enctype);
  if (!entry) throw new Error(`${keytab} has no ${enctype} key`);
  const profile = encryptionType(enctype);
  const sessionKey = profile.randomKey();
  const now = Math.floor(Date.now() / 1000);
  const client = { nameType: 1, components: ['alice'], realm: 'EXAMPLE.TEST' };
  const server = { nameType: 2, components: ['cifs', host], realm: 'EXAMPLE.TEST' };
  const encPart = encodeEncTicketPart({
    flags: TicketFlags.PRE_AUTHENT,
    key: { keytype: enctype, keyvalue: sessionKey },
    client,
    transited: { trType: 1, contents: Buffer.alloc(0) },
    authtime: new Date(now * 1000),
    endtime: new Date((now + 3600) * 1000),
  });
  const ticket = encodeTicket({
    server,
    encPart: { etype: enctype, kvno: entry.kvno, cipher: profile.encrypt(entry.key.value, KeyUsage.KDC_REP_TICKET, encPart) },
  });
  return {
    client,
    server,
    key: { enctype, value: sessionKey },
    authTime: now,
    startTime: now,
    endTime: now + 3600,
    renewTill: 0,
    isSkey: false,
    flags: TicketFlags.PRE_AUTHENT,
    addresses: [],
    authData: [],
    ticket,
    secondTicket: Buffer.alloc(0),
  };
}

describe.each([...ENCTYPES])('session key of enctype %i', (enctype) => {
  const host = env.hosts.byEnctype[String(enctype)]!;
  const keytab = env.keytabs.byEnctype[String(enctype)]!;

  it('raw krb5 token: accepted as alice for the service, SSPI key = our subkey', async () => {
    const ap = buildCifsApReq(mintedCredential(enctype, host, keytab), new KdcClock(null).now());
    expect(ap.subkey.enctype).toBe(enctype);
    const a = await acceptor.accept(keytab, ap.gssToken, 'krb5');
    expect(a.ok, a.error).toBe(true);
    expect(a.initiator).toBe('alice@EXAMPLE.TEST');
    expect(a.target).toBe(`cifs/${host}@EXAMPLE.TEST`);
    expect(a.complete).toBe(true);
    expect(a.replyToken).toBeNull(); // no mutual authentication: nothing to send back
    expect(a.key).toBe(ap.subkey.value.toString('hex'));
  });

  it.each(['krb5', 'mskrb5'] as const)('SPNEGO NegTokenInit (sec=%s): accepted, same key', async (mech) => {
    const ap = buildCifsApReq(mintedCredential(enctype, host, keytab), new KdcClock(null).now());
    const a = await acceptor.accept(keytab, cifsSpnegoInitToken(ap.gssToken, mech), 'spnego');
    expect(a.ok, a.error).toBe(true);
    expect(a.initiator).toBe('alice@EXAMPLE.TEST');
    expect(a.key).toBe(ap.subkey.value.toString('hex'));
  });
});

describe('the acceptor checks what we claim', () => {
  it('a ctime one hour off (a wrong KDC offset) is refused as clock skew', async () => {
    const keytab = env.keytabs.byEnctype['18']!;
    const clock = new KdcClock({ seconds: -3600, microseconds: 0 });
    const ap = buildCifsApReq(mintedCredential(18, env.hosts.byEnctype['18']!, keytab), clock.now());
    const a = await acceptor.accept(keytab, ap.gssToken, 'krb5');
    expect(a.ok).toBe(false);
    expect(a.error).toMatch(/skew/i);
  });

  it('a ticket for another service key is refused', async () => {
    const ap = buildCifsApReq(mintedCredential(17, env.hosts.byEnctype['17']!, env.keytabs.byEnctype['17']!), new KdcClock(null).now());
    const a = await acceptor.accept(env.keytabs.byEnctype['18']!, ap.gssToken, 'krb5');
    expect(a.ok).toBe(false);
  });
});
