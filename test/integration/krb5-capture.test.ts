// Captures the Kerberos messages of our own exchanges with the real KDCs of the test realm (MIT
// krb5kdc 1.20.1, EXAMPLE.TEST on LDAP and OTHER.TEST on DB2) together with the keys needed to
// decrypt them, for the offline unit tests in test/unit/krb5/client/captured.test.ts.
//
//   CIFS_UPCALL_WRITE_FIXTURES=1 npx vitest run --project integration test/integration/krb5-capture.test.ts
//
// rewrites test/unit/krb5/client/fixtures/mit-krb5-1.20.1-exchanges.json; without the variable
// the test captures the same exchanges and checks that every message decodes and re-encodes to
// the same bytes (so a codec regression against the live KDC shows here too). The realm is
// thrown away after the run, so its keys may be published in the fixture.
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { bundleKrb5Initiator, runKrb5InitiatorAs, type BundledInitiator, type Krb5ChildResult } from '../harness/realm/krb5-run-as.ts';
import { krb5ConfVariant, workDir } from '../harness/realm/krb5-test-users.ts';
import { kadminLocal, kinit, type RealmUser } from '../harness/realm/realm.ts';
import { FileCredentialCache } from '../../src/krb5/ccache/file.ts';
import { unparsePrincipal } from '../../src/krb5/ccache/model.ts';
import { readKeytab } from '../../src/krb5/keytab/keytab.ts';
import {
  decodeAsRep,
  decodeKdcReq,
  decodeKrbError,
  decodeTgsRep,
  decodeTicket,
  encodeAsRep,
  encodeAsReq,
  encodeKrbError,
  encodeTgsRep,
  encodeTgsReq,
} from '../../src/krb5/messages/index.ts';
import { unframeKrb5ApReq } from '../../src/krb5/gss/gss-token.ts';
import { decodeApReq } from '../../src/krb5/messages/ap-req.ts';

const env = inject('realm');
const repo = resolve(import.meta.dirname, '..', '..');
const fixturePath = join(repo, 'test', 'unit', 'krb5', 'client', 'fixtures', 'mit-krb5-1.20.1-exchanges.json');
let bundle: BundledInitiator;
let dir: string;
const rand = (): string => Math.random().toString(36).slice(2, 8);

beforeAll(async () => {
  dir = workDir(env, 'krb5-capture');
  bundle = await bundleKrb5Initiator();
}, 60_000);
afterAll(() => bundle?.dispose());

type Ok = Extract<Krb5ChildResult, { ok: true }>;

interface Exchange {
  realm: string;
  kind: string;
  subject: string;
  request: string;
  reply: string;
}

function exchangesOf(r: Krb5ChildResult): Exchange[] {
  return r.exchanges.map((x) => ({ realm: x.realm, kind: x.kind, subject: x.subject, request: x.request!, reply: x.reply! }));
}

/** The TGT (or any credential) session key, read from the cache as root. */
function cacheKey(path: string, server: string): { etype: number; key: string } {
  const c = new FileCredentialCache(path, { expectedOwner: null }).readSync();
  const cred = c.credentials.find((x) => unparsePrincipal(x.server) === server);
  if (!cred) throw new Error(`${server} not in ${path}`);
  return { etype: cred.key.enctype, key: cred.key.value.toString('hex') };
}

/** The service key that encrypts the ticket of `token` (its etype and kvno), from `keytab`. */
function serviceKeyOf(token: string, keytab: string): { etype: number; kvno: number; key: string } {
  const apReq = decodeApReq(unframeKrb5ApReq(Buffer.from(token, 'hex')));
  const { etype, kvno } = apReq.ticket.encPart;
  const entry = readKeytab(keytab).entries.find((e) => e.key.enctype === etype && (kvno === undefined || e.kvno === kvno));
  if (!entry) throw new Error(`no ${etype} key in ${keytab}`);
  return { etype, kvno: entry.kvno, key: entry.key.value.toString('hex') };
}

async function runAs(
  user: { uid: number; gid: number; name: string },
  request: Parameters<typeof runKrb5InitiatorAs>[2],
  conf = env.krb5Conf,
): Promise<Krb5ChildResult[]> {
  return (await runKrb5InitiatorAs(bundle, user, { ...request, capture: true }, { krb5Conf: conf })).results;
}

function ok(r: Krb5ChildResult): Ok {
  if (!r.ok) throw new Error(`${r.kind}: ${r.message}`);
  return r;
}

/** Every captured message decodes and re-encodes to the same bytes. */
function roundTrips(x: Exchange): void {
  const req = Buffer.from(x.request, 'hex');
  const k = decodeKdcReq(req);
  expect((k.msgType === 10 ? encodeAsReq : encodeTgsReq)({ padata: k.padata, reqBody: k.reqBodyDer })).toEqual(req);
  const rep = Buffer.from(x.reply, 'hex');
  if (rep[0] === 0x7e) {
    expect(encodeKrbError(decodeKrbError(rep))).toEqual(rep);
  } else {
    const d = rep[0] === 0x6b ? decodeAsRep(rep) : decodeTgsRep(rep);
    const ticket = decodeTicket(d.ticket.der);
    const encode = rep[0] === 0x6b ? encodeAsRep : encodeTgsRep;
    expect(
      encode({ padata: d.padata, client: d.client, ticket: { server: ticket.server, encPart: ticket.encPart }, encPart: d.encPart }),
    ).toEqual(rep);
  }
}

it('captures TGS, referral, AS and KRB-ERROR exchanges with the real KDCs', async () => {
  const alice = env.users.alice!;
  const oscar = env.users.oscar!;
  const root = { uid: 0, gid: 0, name: 'root' };

  // 1. alice → cifs/fs1 (aes256 session key), and an unknown service (KDC_ERR_S_PRINCIPAL_UNKNOWN)
  const alicePath = join(env.ccacheDir, `k5cap_alice_${rand()}`);
  kinit(env, alice, `FILE:${alicePath}`);
  const aliceTgt = cacheKey(alicePath, 'krbtgt/EXAMPLE.TEST@EXAMPLE.TEST');
  const [fs1, unknown] = await runAs(alice, {
    source: 'ccache',
    hosts: [env.hosts.fs1, 'nosuch.example.test'],
    probedCcacheName: `FILE:${alicePath}`,
  });
  const tgs = ok(fs1!);

  // 2. an aes256-sha384 session key (cifs/e20 with default_tgs_enctypes = aes256-sha2 aes256-cts)
  const e20conf = krb5ConfVariant(env.krb5Conf, join(dir, 'krb5-e20.conf'), [
    'default_tgs_enctypes = aes256-cts-hmac-sha384-192 aes256-cts-hmac-sha1-96',
  ]);
  const sha2 = ok(
    (
      await runAs(alice, {
        source: 'ccache',
        hosts: [{ host: env.hosts.byEnctype['20']!, krb5ConfigFile: e20conf }],
        probedCcacheName: `FILE:${alicePath}`,
      })
    )[0]!,
  );

  // 3. clock skew: the cache's KDC time offset says −3600 s; the KDC answers KRB_AP_ERR_SKEW
  const skewPath = join(env.ccacheDir, `k5cap_skew_${rand()}`);
  kinit(env, alice, `FILE:${skewPath}`);
  const skewBytes = readFileSync(skewPath);
  skewBytes.writeInt32BE(-3600, 8);
  writeFileSync(skewPath, skewBytes);
  const skewTgt = cacheKey(skewPath, 'krbtgt/EXAMPLE.TEST@EXAMPLE.TEST');
  const skew = ok((await runAs(alice, { source: 'ccache', hosts: [env.hosts.fs1], probedCcacheName: `FILE:${skewPath}` }))[0]!);

  // 4. oscar@OTHER.TEST through a referral (no [domain_realm])
  const oscarPath = join(env.ccacheDir, `k5cap_oscar_${rand()}`);
  kinit(env, oscar as RealmUser, `FILE:${oscarPath}`, { krb5Conf: env.krb5ConfReferrals });
  const oscarTgt = cacheKey(oscarPath, 'krbtgt/OTHER.TEST@OTHER.TEST');
  const referral = ok(
    (await runAs(oscar, { source: 'ccache', hosts: [env.hosts.fs1], probedCcacheName: `FILE:${oscarPath}` }, env.krb5ConfReferrals))[0]!,
  );

  // 5. AS with a keytab key for a principal that requires pre-authentication
  const keytab = join(dir, 'k5cap.keytab');
  kadminLocal(env, ['addprinc -randkey +requires_preauth K5CAP$', `ktadd -k ${keytab} -norandkey K5CAP$`]);
  const as = ok(
    (await runAs(root, { source: 'keytab', hosts: [env.hosts.fs1], mountUser: 'K5CAP$', isMountSession: true, keytabName: keytab }))[0]!,
  );

  const captured = {
    _source:
      'Captured by test/integration/krb5-capture.test.ts on Debian 12 (Node ' +
      process.version +
      ') from our own ' +
      'src/krb5/initiator.ts exchanges with MIT krb5kdc 1.20.1-2+deb12u5: EXAMPLE.TEST (LDAP back end) and OTHER.TEST ' +
      '(DB2, cross-realm krbtgt/EXAMPLE.TEST@OTHER.TEST, host_based_services = cifs) on 127.0.0.1. Requests are ours, ' +
      "replies and errors are MIT's. tgtKey = the TGT session key read from the kinit-made cache; serviceKey = the " +
      "ticket's key from the service keytab (kadmin ktadd -norandkey); as.keys = the client's keytab keys. The realm " +
      'was thrown away after the run.',
    capturedAt: new Date().toISOString(),
    realm: env.realm,
    tgs: {
      client: alice.principal,
      tgtKey: aliceTgt,
      exchange: exchangesOf(tgs)[0],
      token: tgs.token,
      sessionKey: tgs.key,
      serviceKey: serviceKeyOf(tgs.token, env.keytabs.fs1),
    },
    tgsSha2: {
      client: alice.principal,
      tgtKey: aliceTgt,
      exchange: exchangesOf(sha2)[0],
      token: sha2.token,
      sessionKey: sha2.key,
      serviceKey: serviceKeyOf(sha2.token, env.keytabs.byEnctype['20']!),
    },
    unknownService: { client: alice.principal, tgtKey: aliceTgt, exchanges: exchangesOf(unknown!) },
    skew: {
      client: alice.principal,
      tgtKey: skewTgt,
      cacheOffsetSeconds: -3600,
      exchanges: exchangesOf(skew),
      token: skew.token,
      sessionKey: skew.key,
    },
    referral: {
      client: 'oscar@OTHER.TEST',
      tgtKey: oscarTgt,
      exchanges: exchangesOf(referral),
      token: referral.token,
      sessionKey: referral.key,
      serviceKey: serviceKeyOf(referral.token, env.keytabs.fs1),
    },
    as: {
      client: 'K5CAP$@EXAMPLE.TEST',
      keys: readKeytab(keytab).entries.map((e) => ({ etype: e.key.enctype, kvno: e.kvno, key: e.key.value.toString('hex') })),
      exchanges: exchangesOf(as),
      token: as.token,
      sessionKey: as.key,
      serviceKey: serviceKeyOf(as.token, env.keytabs.fs1),
    },
  };

  // what the unit tests rely on
  expect(captured.unknownService.exchanges.map((x) => Buffer.from(x.reply, 'hex')[0])).toEqual([0x7e, 0x7e]);
  expect(captured.skew.exchanges.map((x) => Buffer.from(x.reply, 'hex')[0])).toEqual([0x7e, 0x6d]);
  expect(captured.referral.exchanges.map((x) => x.realm)).toEqual(['OTHER.TEST', 'EXAMPLE.TEST']);
  expect(captured.as.exchanges.map((x) => [x.kind, Buffer.from(x.reply, 'hex')[0]])).toEqual([
    ['AS-REQ', 0x7e],
    ['AS-REQ', 0x6b],
    ['TGS-REQ', 0x6d],
  ]);
  const all = [
    captured.tgs.exchange!,
    captured.tgsSha2.exchange!,
    ...captured.unknownService.exchanges,
    ...captured.skew.exchanges,
    ...captured.referral.exchanges,
    ...captured.as.exchanges,
  ];
  for (const x of all) roundTrips(x);

  if (process.env.CIFS_UPCALL_WRITE_FIXTURES === '1') {
    writeFileSync(fixturePath, JSON.stringify(captured, null, 1) + '\n');
    process.stderr.write(`[krb5-capture] wrote ${fixturePath}\n`);
  }
});
