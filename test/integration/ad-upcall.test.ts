// cifs-upcall against an Active Directory domain (Samba 4.22 AD DC, test/harness/
// ad/samba-ad.ts) through every path, each run through the production bundle with --replay as
// request-key would run it (test/harness/ad/ad-upcall.ts), each SPNEGO blob accepted by MIT's
// acceptor holding the server's keytab exported from the directory, with equal session keys, the
// right user, and the PAC facts that tell the paths apart:
//   own ticket   users kinit'd against the DC into FILE and KEYRING (persistent) caches, AES256
//                and RC4 accounts, tickets with PACs (the TGS-REQ carrying one exceeds UDP;
//                with UDP allowed the DC answers RESPONSE_TOO_BIG and we retry over TCP),
//                upper-case and enterprise (UPN) client names, a short host name (referral realm)
//   keytab       user=CLIENT$ with the machine account's keytab (AS with PA-PAC-REQUEST)
//   gssproxy     impersonation by CLIENT$: v1 protocol transition (fs1, fsrc4), v2 RBCD (fs2)
//   local-first  a missing or expired cache falls back to impersonation
//   FAST         the DC with FAST on (Samba's default) still answers our unarmored requests
// Each test adds its row to docs/ad-interop.md's table; the last test checks the document.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeAsReq } from '../../src/krb5/messages/kdc-req.ts';
import { decodePaPacRequest } from '../../src/krb5/messages/pa-pac-request.ts';
import { enctypeName } from '../../src/krb5/iana/etype.ts';
import { PaType } from '../../src/krb5/iana/pa-type.ts';
import { KdcSession } from '../../src/krb5/client/kdc-exchange.ts';
import { KdcClock } from '../../src/krb5/client/clock.ts';
import { buildAsRequest, encTimestampPadata, readAsReply } from '../../src/krb5/client/as.ts';
import { credentialFromReply } from '../../src/krb5/client/credential.ts';
import { TgsClient } from '../../src/krb5/client/tgs.ts';
import { buildCifsApReq } from '../../src/krb5/client/ap-req.ts';
import { MemoryCredentialCache } from '../../src/krb5/ccache/index.ts';
import { loadKrb5Config } from '../../src/krb5/config/krb5-config.ts';
import { findKeytabEntry, readKeytab } from '../../src/krb5/keytab/keytab.ts';
import { encodePaPacRequest } from '../../src/krb5/messages/pa-pac-request.ts';
import { KdcOptions } from '../../src/krb5/iana/flags.ts';
import { NameType } from '../../src/krb5/iana/name-type.ts';
import { MemoryTrace } from '../../src/trace.ts';
import { cifsSpnegoInitToken } from '../../src/spnego/index.ts';
import { acceptPayload, AdUpcallRunner, dcLogLine, traceOf, traceText, type AdUpcallResult } from '../harness/ad/ad-upcall.ts';
import { InteropTable } from '../harness/ad/ad-interop-table.ts';
import { logMark } from '../harness/realm/realm.ts';
import {
  acceptWithPac,
  adKinit,
  adUserEnv,
  ROOT,
  runAsUser,
  startAdDomain,
  writeKrb5Conf,
  type AdAcceptance,
  type AdDomain,
  type AdEnv,
  type AdUser,
} from '../harness/ad/samba-ad.ts';
import { startKdcTap, type KdcTap } from '../harness/ad/samba-ad-kdc-tap.ts';
import {
  assertedIdentity,
  AUTHENTICATION_AUTHORITY_ASSERTED_IDENTITY,
  PAC_DELEGATION_INFO,
  parsePac,
  SERVICE_ASSERTED_IDENTITY,
  upnDnsInfo,
  utf16Strings,
  type Pac,
} from '../harness/ad/samba-ad-pac.ts';

let ad: AdDomain;
let env: AdEnv;
let runner: AdUpcallRunner;
const table = new InteropTable('ad-upcall.test.ts');
const rand = (): string => Math.random().toString(36).slice(2, 8);

beforeAll(async () => {
  ad = await startAdDomain();
  env = ad.env;
  runner = await AdUpcallRunner.create(env, 'ad-upcall');
}, 180_000);

afterAll(async () => {
  await runner?.close();
  await ad?.stop();
});

const user = (name: string): AdUser => {
  const u = env.users[name];
  if (!u) throw new Error(`no test user ${name}`);
  return u;
};

function fileCache(u: AdUser, what: string): string {
  return `FILE:${env.ccacheDir}/adup_${u.name}_${what}_${rand()}`;
}

function kinit(u: AdUser, ccache: string, options: { lifetime?: string } = {}): void {
  const r = adKinit(env, u, ccache, options);
  expect(r.status, r.stderr).toBe(0);
}

/** Which source produced the token ("ccache", "keytab", "gssproxy"), from the trace. */
function answeredBy(r: AdUpcallResult): string {
  const m = r.trace.map((t) => /^(\w+) succeeded: /.exec(t.message)).find((x) => x !== null);
  return m?.[1] ?? '(none)';
}

interface Accepted {
  acceptance: AdAcceptance;
  pac: Pac | null;
  enctype: number;
  summary: string;
}

/** Accepted by `keytab`'s acceptor as `initiator` for `target`, with the payload's session key. */
function accepted(r: AdUpcallResult, keytab: string, initiator: string, target: string): Accepted {
  expect(r.status, `${r.errors.join('\n')}\n${traceText(r)}`).toBe(0);
  expect(r.payload?.version).toBe(2);
  const a = acceptPayload(env, keytab, r);
  expect(a.ok, a.error).toBe(true);
  expect(a.initiator).toBe(initiator);
  expect(a.target).toBe(target);
  expect(a.key).toBe(r.payload!.sessionKey.toString('hex'));
  // GSS_KRB5_SESSION_KEY_ENCTYPE_OID 1.2.840.113554.1.2.2.4 + the enctype
  expect(a.keyOid?.startsWith('2a864886f712010202')).toBe(true);
  const enctype = parseInt(a.keyOid!.slice(-2), 16);
  const pac = a.pac ? parsePac(Buffer.from(a.pac, 'hex')) : null;
  if (pac) expect(a.pacVerified).toBe(true);
  const summary = `accepted by ${target.split('@')[0]}'s keytab as \`${initiator}\`; ${enctypeName(enctype)} session keys equal`;
  return { acceptance: a, pac, enctype, summary };
}

/** The PAC facts of an own (or keytab) ticket: S-1-18-1 and the account's UPN_DNS_INFO. */
function ownPac(x: Accepted, account: AdUser | { name: string; sid: string | null; upn: string }): string {
  expect(x.pac, 'the ticket carries a PAC').not.toBeNull();
  expect(assertedIdentity(x.pac!)).toBe(AUTHENTICATION_AUTHORITY_ASSERTED_IDENTITY);
  const upn = upnDnsInfo(x.pac!);
  expect(upn?.samName).toBe(account.name);
  expect(upn?.sid).toBe(account.sid);
  expect(x.pac!.buffers.has(PAC_DELEGATION_INFO)).toBe(false);
  return `PAC verified: ${AUTHENTICATION_AUTHORITY_ASSERTED_IDENTITY}, UPN_DNS_INFO ${upn!.upn} / ${upn!.samName} with the account's SID`;
}

/** The PAC facts of an impersonated ticket: S-1-18-2 and S4U_DELEGATION_INFO naming CLIENT$. */
function s4uPac(x: Accepted, who: AdUser, host: string): string {
  expect(x.pac).not.toBeNull();
  expect(assertedIdentity(x.pac!)).toBe(SERVICE_ASSERTED_IDENTITY);
  expect(upnDnsInfo(x.pac!)?.sid).toBe(who.sid);
  const delegation = utf16Strings(x.pac!.buffers.get(PAC_DELEGATION_INFO)!);
  expect(delegation).toEqual([`cifs/${host}`, 'CLIENT$@AD.TEST']);
  return `PAC verified: ${SERVICE_ASSERTED_IDENTITY}, S4U_DELEGATION_INFO [${delegation.join(', ')}]`;
}

describe("own ticket (users kinit'd against the DC)", () => {
  it('AES user, FILE cache: TGS over TCP (the PAC makes the request > 1465 bytes); the ticket is stored and reused', async () => {
    const alice = user('ad-alice');
    const cc = fileCache(alice, 'file');
    kinit(alice, cc);
    const r = await runner.upcall({ as: alice, host: env.hosts.fs1, strategy: 'compat', app: { KRB5CCNAME: cc } });
    expect(answeredBy(r)).toBe('ccache');
    const x = accepted(r, env.keytabs.fs1, 'ad-alice@AD.TEST', env.principals.fs1);
    expect(x.enctype).toBe(18);
    const pac = ownPac(x, alice);
    const kdc = traceOf(r, 'kdc');
    expect(kdc).toMatch(/sending \d{4}-byte request to AD\.TEST: TCP first \(> 1465\)/);
    expect(kdc).toMatch(/TGS-REQ for cifs\/fs1\.ad\.test@AD\.TEST \(canonicalize\) → AD\.TEST KDC .* over TCP: \d+-byte TGS-REP/);
    expect(traceOf(r, 'ccache')).toContain(`stored cifs/fs1.ad.test@AD.TEST in ${cc}`);
    expect(r.kdc.join('\n')).toMatch(/TGS-REQ SUCCESS .* ad-alice@AD\.TEST cifs\/fs1\.ad\.test@AD\.TEST/);
    table.add(
      "own ticket: AES user (ad-alice), FILE cache named by the application's KRB5CCNAME → cifs/fs1",
      `compat → ${answeredBy(r)}`,
      `${x.summary}; ${pac}; TGS-REQ with the PAC-bearing TGT is > 1465 bytes: TCP`,
    );

    // the PAC-bearing service ticket now in the cache: used without KDC traffic
    const again = await runner.upcall({ as: alice, host: env.hosts.fs1, strategy: 'compat', app: { KRB5CCNAME: cc } });
    const y = accepted(again, env.keytabs.fs1, 'ad-alice@AD.TEST', env.principals.fs1);
    expect(traceOf(again, 'tgs')).toMatch(/cached ticket cifs\/fs1\.ad\.test@AD\.TEST valid until .*: no KDC traffic/);
    expect(again.trace.some((t) => t.area === 'kdc')).toBe(false);
    expect(again.kdc).toEqual([]);
    table.add(
      'own ticket: the same cache again (the PAC-bearing cifs/fs1 ticket stored by the first upcall)',
      `compat → ${answeredBy(again)}`,
      `${y.summary}; cached ticket used, no KDC traffic`,
    );
  });

  it('UDP allowed (udp_preference_limit 4096): the DC answers RESPONSE_TOO_BIG, the same request goes over TCP', async () => {
    const bob = user('ad-bob');
    const cc = fileCache(bob, 'udp');
    kinit(bob, cc);
    const udpConf = writeKrb5Conf(env, 'udp4096');
    // writeKrb5Conf keeps 1465; this variant lets the ~1.5 kB TGS-REQ go over UDP first
    runAsUser(ROOT, '/bin/sed', ['-i', 's/udp_preference_limit = 1465/udp_preference_limit = 4096/', udpConf], { env: adUserEnv(env) });
    const r = await runner.upcall({ as: bob, host: env.hosts.fs1, strategy: 'compat', app: { KRB5CCNAME: cc }, krb5Conf: udpConf });
    const x = accepted(r, env.keytabs.fs1, 'ad-bob@AD.TEST', env.principals.fs1);
    const kdc = traceOf(r, 'kdc');
    expect(kdc).toMatch(/sending \d+-byte request to AD\.TEST: UDP first \(≤ 4096\)/);
    expect(kdc).toMatch(/udp: RESPONSE_TOO_BIG/);
    expect(kdc).toMatch(/answered RESPONSE_TOO_BIG over UDP; sending the same request over TCP only/);
    expect(kdc).toMatch(/TGS-REQ for cifs\/fs1\.ad\.test@AD\.TEST \(canonicalize\) → .* over TCP: \d+-byte TGS-REP/);
    // the DC's own account of it
    expect(r.kdc.join('\n')).toMatch(/TGS-REQ KRB5KRB_ERR_RESPONSE_TOO_BIG .* ad-bob@AD\.TEST cifs\/fs1\.ad\.test@AD\.TEST/);
    table.add(
      'own ticket, UDP allowed for the TGS-REQ (udp_preference_limit = 4096)',
      `compat → ${answeredBy(r)}`,
      `${x.summary}; DC: KRB5KRB_ERR_RESPONSE_TOO_BIG over UDP → same request over TCP → TGS-REP`,
    );
  });

  it('KEYRING persistent cache: the PAC-bearing tickets live in the kernel keyring', async () => {
    const bob = user('ad-bob');
    const cc = `KEYRING:persistent:${bob.uid}:adup_${rand()}`;
    kinit(bob, cc);
    try {
      const r = await runner.upcall({ as: bob, host: env.hosts.fs2, strategy: 'compat', app: { KRB5CCNAME: cc } });
      const x = accepted(r, env.keytabs.fs2, 'ad-bob@AD.TEST', env.principals.fs2);
      const pac = ownPac(x, bob);
      expect(traceOf(r, 'ccache')).toContain(`stored cifs/fs2.ad.test@AD.TEST in ${cc}`);
      // MIT sees our stored ticket in the keyring
      const klist = runAsUser(bob, '/usr/bin/klist', ['-c', cc], { env: adUserEnv(env) }).stdout;
      expect(klist).toContain('cifs/fs2.ad.test@AD.TEST');
      table.add(
        'own ticket: AES user (ad-bob), KEYRING:persistent:<uid>:<name> cache → cifs/fs2',
        `compat → ${answeredBy(r)}`,
        `${x.summary}; ${pac}; the new ticket stored in the keyring, klist lists it`,
      );
    } finally {
      runAsUser(bob, '/usr/bin/kdestroy', ['-c', cc], { env: adUserEnv(env), allowFail: true });
    }
  });

  it('RC4 account: AES ticket and key from an AES service, RC4 ticket and 16-byte key from the RC4-only service', async () => {
    const rc4 = user('ad-rc4');
    const cc = fileCache(rc4, 'rc4');
    const mark = logMark(env.dc.log);
    kinit(rc4, cc);
    // the account has no AES keys: the AS reply was encrypted with RC4
    expect(await dcLogLine(env, mark, /AS-REQ SUCCESS .* ad-rc4@AD\.TEST krbtgt\/AD\.TEST@AD\.TEST .*pa-etype=23/)).toBeDefined();
    const aes = await runner.upcall({ as: rc4, host: env.hosts.fs1, strategy: 'compat', app: { KRB5CCNAME: cc } });
    const a = accepted(aes, env.keytabs.fs1, 'ad-rc4@AD.TEST', env.principals.fs1);
    expect(a.enctype).toBe(18);
    const pacA = ownPac(a, rc4);
    const r = await runner.upcall({ as: rc4, host: env.hosts.fsRc4, strategy: 'compat', app: { KRB5CCNAME: cc } });
    const b = accepted(r, env.keytabs.fsRc4, 'ad-rc4@AD.TEST', env.principals.fsRc4);
    expect(b.enctype).toBe(23);
    expect(r.payload!.sessionKey.length).toBe(16);
    expect(traceOf(r, 'tgs')).toMatch(/got cifs\/fsrc4\.ad\.test@AD\.TEST from AD\.TEST: arcfour-hmac session key/);
    ownPac(b, rc4);
    table.add(
      'own ticket: RC4-only account (ad-rc4: AS reply key RC4) → cifs/fs1 (AES service)',
      `compat → ${answeredBy(aes)}`,
      `${a.summary}; ${pacA}`,
    );
    table.add(
      'own ticket: RC4-only account → cifs/fsrc4 (msDS-SupportedEncryptionTypes = RC4)',
      `compat → ${answeredBy(r)}`,
      `${b.summary} (16 bytes); PAC verified`,
    );
  });

  it('client-name canonicalisation: an upper-case name and an enterprise (UPN) name in the cache', async () => {
    const alice = user('ad-alice');
    for (const variant of [
      { args: ['AD-ALICE@AD.TEST'], cname: 'AD-ALICE@AD.TEST', what: 'kinit AD-ALICE@AD.TEST (the name as typed stays in the ticket)' },
      {
        args: ['-E', 'ad-alice@ad.test'],
        cname: 'ad-alice\\@ad.test@AD.TEST',
        what: 'kinit -E ad-alice@ad.test (enterprise name, the UPN)',
      },
      { args: ['-C', '-E', 'ad-alice@ad.test'], cname: 'ad-alice@AD.TEST', what: 'kinit -C -E ad-alice@ad.test (canonicalised by the DC)' },
    ]) {
      const cc = fileCache(alice, 'canon');
      const k = runAsUser(alice, '/usr/bin/kinit', variant.args, {
        env: adUserEnv(env, { KRB5CCNAME: cc }),
        input: `${alice.password}\n`,
        allowFail: true,
      });
      expect(k.status, k.stderr).toBe(0);
      const r = await runner.upcall({ as: alice, host: env.hosts.fs1, strategy: 'compat', app: { KRB5CCNAME: cc } });
      const x = accepted(r, env.keytabs.fs1, variant.cname, env.principals.fs1);
      // whatever the client name, the PAC names the account
      const pac = ownPac(x, alice);
      table.add(`own ticket: ${variant.what}`, `compat → ${answeredBy(r)}`, `${x.summary}; ${pac}`);
    }
  });

  it('short host name: no [domain_realm] entry, so the referral realm; the DC resolves cifs/fs1 by canonicalize', async () => {
    const alice = user('ad-alice');
    const cc = fileCache(alice, 'short');
    kinit(alice, cc);
    const r = await runner.upcall({ as: alice, host: 'fs1', strategy: 'compat', app: { KRB5CCNAME: cc } });
    // MIT's acceptor reports the keytab entry whose key fits: cifs/fs1 is an SPN of the same account
    const x = accepted(r, env.keytabs.fs1, 'ad-alice@AD.TEST', env.principals.fs1);
    expect(traceOf(r, 'tgs')).toMatch(/service principal cifs\/fs1@ \(.*referral realm/);
    expect(traceOf(r, 'tgs')).toMatch(/asking for cifs\/fs1@: referral realm, so starting at AD\.TEST .* with canonicalize/);
    expect(traceOf(r, 'tgs')).toMatch(/got cifs\/fs1@AD\.TEST from AD\.TEST/);
    expect(r.kdc.join('\n')).toMatch(/TGS-REQ SUCCESS .* ad-alice@AD\.TEST cifs\/fs1@AD\.TEST .*flags=canonicalize/);
    table.add(
      'own ticket, host=fs1 (short name: referral realm, canonicalize)',
      `compat → ${answeredBy(r)}`,
      `the DC issues cifs/fs1@AD.TEST (an SPN of FS1$) in one TGS exchange; ${x.summary}`,
    );
  });

  it('Protected Users member: own ticket (4-hour TGT) works', async () => {
    const p = user('ad-protected');
    const cc = fileCache(p, 'own');
    kinit(p, cc);
    const r = await runner.upcall({ as: p, host: env.hosts.fs1, strategy: 'compat', app: { KRB5CCNAME: cc } });
    const x = accepted(r, env.keytabs.fs1, 'ad-protected@AD.TEST', env.principals.fs1);
    const pac = ownPac(x, p);
    expect(traceOf(r, 'ccache')).toMatch(/accepted: TGT krbtgt\/AD\.TEST@AD\.TEST valid for (3|4) h more/);
    table.add(
      'own ticket: Protected Users member (ad-protected)',
      `compat → ${answeredBy(r)}`,
      `${x.summary}; ${pac}; the TGT lasts 4 h (Protected Users)`,
    );
  });
});

describe('keytab: the machine account (user=CLIENT$, uid 0)', () => {
  let tap: KdcTap;
  beforeAll(async () => {
    tap = await startKdcTap(env.kdc.port);
  });
  afterAll(async () => {
    await tap?.close();
  });

  it("AS with CLIENT$'s exported keytab (AD salt, RESPONSE_TOO_BIG → TCP), PA-PAC-REQUEST: the ticket carries CLIENT$'s PAC", async () => {
    const r = await runner.upcall({
      as: ROOT,
      host: env.hosts.fs1,
      strategy: 'compat',
      mountUser: 'CLIENT$',
      app: null,
      keytab: env.keytabs.machine,
    });
    expect(answeredBy(r)).toBe('keytab');
    const x = accepted(r, env.keytabs.fs1, 'CLIENT$@AD.TEST', env.principals.fs1);
    const pac = ownPac(x, { name: 'CLIENT$', sid: env.sids['CLIENT$'] ?? null, upn: '' });
    const as = traceOf(r, 'as', 'kdc');
    // AD salts a computer's keys with host/<name>.<domain>, not with the principal name
    expect(as).toContain('KDC salt "AD.TESThostclient.ad.test"');
    expect(as).toMatch(/AS-REQ for krbtgt\/AD\.TEST@AD\.TEST as CLIENT\$@AD\.TEST → .* over UDP: KDC_ERR_PREAUTH_REQUIRED/);
    expect(as).toMatch(/answered RESPONSE_TOO_BIG over UDP; sending the same request over TCP only/);
    // the DC recorded that the PAC was asked for (PAC_ATTRIBUTES: 1 = PAC_WAS_REQUESTED, 2 = implicit)
    expect(r.kdc.join('\n')).toMatch(/AS-REQ SUCCESS .* CLIENT\$@AD\.TEST krbtgt\/AD\.TEST@AD\.TEST .*pac_attributes=1/);
    table.add(
      "keytab: user=CLIENT$ (uid 0, upcall_target=mount), -K the machine account's exported keytab → cifs/fs1",
      `compat → ${answeredBy(r)}`,
      `${x.summary}; ${pac}; AS-REQ salt AD.TESThostclient.ad.test, AS-REP too big for UDP → TCP; DC: pac_attributes=1 (PAC requested)`,
    );
  });

  it('PA-PAC-REQUEST matters: include-pac FALSE gives a cifs ticket without a PAC (what we send is TRUE)', async () => {
    // our own AS-REQ, recorded by the tap: PA-PAC-REQUEST include-pac TRUE
    const tapConf = writeKrb5Conf(env, 'tap-upcall', { kdcPort: tap.port, tcpOnly: true });
    const from = tap.exchanges.length;
    const r = await runner.upcall({
      as: ROOT,
      host: env.hosts.fs2,
      strategy: 'local-only',
      mountUser: 'CLIENT$',
      app: null,
      keytab: env.keytabs.machine,
      krb5Conf: tapConf,
    });
    accepted(r, env.keytabs.fs2, 'CLIENT$@AD.TEST', env.principals.fs2);
    const asReqs = tap.exchanges
      .slice(from)
      .filter((e) => e.requestType === 10)
      .map((e) => decodeAsReq(e.request));
    expect(asReqs.length).toBeGreaterThanOrEqual(2);
    for (const req of asReqs) {
      const pac = req.padata.find((p) => p.padataType === PaType.PAC_REQUEST);
      expect(pac, 'PA-PAC-REQUEST in every AS-REQ').toBeDefined();
      expect(decodePaPacRequest(pac!.padataValue)).toBe(true);
    }

    // the counter-proof, with the product's own AS/TGS/AP-REQ code and include-pac FALSE
    const trace = new MemoryTrace();
    const config = loadKrb5Config({ configFile: env.krb5Conf, env: {}, trace });
    const keytab = readKeytab(env.keytabs.machine);
    const client = { nameType: NameType.PRINCIPAL, components: ['CLIENT$'], realm: 'AD.TEST' };
    const session = new KdcSession({ config, trace, signal: AbortSignal.timeout(20_000) });
    const clock = new KdcClock(null);
    const key = findKeytabEntry(keytab, client, { enctype: 18 })!;
    const req = buildAsRequest({
      client,
      enctypes: [18],
      kdcOptions: KdcOptions.FORWARDABLE,
      now: clock.now(),
      lifetimeSeconds: 3600,
      padata: [encTimestampPadata(key, clock.now()), { padataType: PaType.PAC_REQUEST, padataValue: encodePaPacRequest(false) }],
    });
    const answer = await session.send('AD.TEST', req.der, 'AS-REQ', 'krbtgt/AD.TEST as CLIENT$ (include-pac FALSE)');
    if (answer.kind !== 'reply') throw answer.error;
    const { rep, part } = readAsReply(answer.der, req, client, keytab);
    const memory = MemoryCredentialCache.create(rep.client, {});
    await memory.store(credentialFromReply(rep, part));
    const tgs = new TgsClient({ session, clock, config, trace, contents: await memory.read(), cache: null });
    const got = await tgs.getServiceTicket({ nameType: NameType.UNKNOWN, components: ['cifs', env.hosts.fs1], realm: 'AD.TEST' });
    const ap = buildCifsApReq(got.credential, clock.now());
    const blob = cifsSpnegoInitToken(ap.gssToken, 'krb5');
    const a = acceptWithPac(env, env.keytabs.fs1, blob.toString('hex'));
    expect(a.ok, a.error).toBe(true);
    expect(a.key).toBe(ap.subkey.value.toString('hex'));
    expect(a.pac, 'no PAC when it was declined').toBeNull();
    memory.destroy();
    table.add(
      'counter-proof: the same AS exchange with PA-PAC-REQUEST include-pac FALSE (product code, test-only request)',
      'AS + TGS + AP-REQ',
      'accepted, but the cifs/fs1 ticket has no PAC (a file server would have no groups for the user): the PA-PAC-REQUEST TRUE we send matters',
    );
  });
});

describe('gssproxy impersonation by CLIENT$ (the user has no ticket)', () => {
  const cases = [
    {
      host: (): string => env.hosts.fs1,
      keytab: (): string => env.keytabs.fs1,
      model: "v1 protocol transition (cifs/fs1 in CLIENT$'s msDS-AllowedToDelegateTo)",
      who: 'ad-alice',
    },
    {
      host: (): string => env.hosts.fs2,
      keytab: (): string => env.keytabs.fs2,
      model: "v2 RBCD (FS2$'s msDS-AllowedToActOnBehalfOfOtherIdentity names CLIENT$)",
      who: 'ad-bob',
    },
    {
      host: (): string => env.hosts.fsRc4,
      keytab: (): string => env.keytabs.fsRc4,
      model: 'v1 to the RC4-only service cifs/fsrc4',
      who: 'ad-alice',
    },
  ];
  for (const c of cases) {
    it(`${c.model}`, async () => {
      const who = user(c.who);
      const host = c.host();
      const r = await runner.upcall({ as: who, host, strategy: 'proxy-only', app: {} });
      expect(answeredBy(r)).toBe('gssproxy');
      const x = accepted(r, c.keytab(), `${who.name}@AD.TEST`, `cifs/${host}@AD.TEST`);
      const pac = s4uPac(x, who, host);
      expect(traceOf(r, 'gssproxy')).toMatch(/connected to .* as euid \d+ egid \d+ \(the identity gssproxy sees\)/);
      // the DC did S4U2Proxy for this user to this service (gssproxy may have cached S4U2Self)
      const log = r.kdc.join('\n');
      expect(log).toMatch(
        new RegExp(
          `TGS-REQ SUCCESS .* ${who.name}@AD\\.TEST cifs/${host.replace(/\./g, '\\.')}@AD\\.TEST .*impersonatee=${who.name}@AD\\.TEST`,
        ),
      );
      table.add(
        `gssproxy: ${c.model}, ${who.name} without a ticket`,
        `proxy-only → ${answeredBy(r)}`,
        `${x.summary}; ${pac}; DC: S4U2Proxy impersonatee=${who.name}`,
      );
    });
  }

  it('local-first: no cache → impersonation (v1); expired cache (kinit -l 2s) → impersonation (v2)', async () => {
    const alice = user('ad-alice');
    const none = await runner.upcall({
      as: alice,
      host: env.hosts.fs1,
      strategy: 'local-first',
      app: { KRB5CCNAME: fileCache(alice, 'absent') },
    });
    expect(traceOf(none, 'strategy')).toMatch(/ccache failed \(no-credentials\)/);
    expect(traceOf(none, 'ccache')).toMatch(/rejected: credential cache FILE:.* does not exist/);
    const a = accepted(none, env.keytabs.fs1, 'ad-alice@AD.TEST', env.principals.fs1);
    s4uPac(a, alice, env.hosts.fs1);
    table.add(
      'local-first: KRB5CCNAME names a cache that does not exist → cifs/fs1',
      `local-first → ccache failed → ${answeredBy(none)}`,
      `${a.summary}; PAC ${SERVICE_ASSERTED_IDENTITY} (impersonated)`,
    );

    const bob = user('ad-bob');
    const cc = fileCache(bob, 'short');
    kinit(bob, cc, { lifetime: '2s' });
    await new Promise((res) => setTimeout(res, 3000));
    const expired = await runner.upcall({ as: bob, host: env.hosts.fs2, strategy: 'local-first', app: { KRB5CCNAME: cc } });
    expect(traceOf(expired, 'ccache')).toMatch(/rejected: TGT krbtgt\/AD\.TEST@AD\.TEST in FILE:.* expired \d+ s ago/);
    const b = accepted(expired, env.keytabs.fs2, 'ad-bob@AD.TEST', env.principals.fs2);
    s4uPac(b, bob, env.hosts.fs2);
    table.add(
      "local-first: the cache's TGT expired (kinit -l 2s) → cifs/fs2",
      `local-first → ccache failed → ${answeredBy(expired)}`,
      `${b.summary}; PAC ${SERVICE_ASSERTED_IDENTITY} (impersonated, RBCD)`,
    );
  }, 60_000);
});

describe("FAST on (Samba's default; restartDc({ kdcFast: true }))", () => {
  it("our unarmored TGS-REQ and AS-REQ are answered; gssproxy's MIT armors and works too", async () => {
    await ad.restartDc({ kdcFast: true });
    expect(env.kdc.fast).toBe(true);
    const alice = user('ad-alice');
    const cc = fileCache(alice, 'fast');
    kinit(alice, cc);
    const own = await runner.upcall({ as: alice, host: env.hosts.fs1, strategy: 'compat', app: { KRB5CCNAME: cc } });
    const a = accepted(own, env.keytabs.fs1, 'ad-alice@AD.TEST', env.principals.fs1);
    const ownLine = own.kdc.find((l) => /TGS-REQ SUCCESS .* ad-alice@AD\.TEST cifs\/fs1\.ad\.test@AD\.TEST/.test(l));
    expect(ownLine).toBeDefined();
    expect(ownLine).not.toMatch(/armor_client_name/);
    table.add(
      'FAST on: own ticket (ad-alice) → cifs/fs1',
      `compat → ${answeredBy(own)}`,
      `${a.summary}; our TGS-REQ is not armored and the DC answers it`,
    );

    const k = await runner.upcall({
      as: ROOT,
      host: env.hosts.fs2,
      strategy: 'compat',
      mountUser: 'CLIENT$',
      app: null,
      keytab: env.keytabs.machine,
    });
    const b = accepted(k, env.keytabs.fs2, 'CLIENT$@AD.TEST', env.principals.fs2);
    expect(k.kdc.join('\n')).toMatch(/AS-REQ SUCCESS .* CLIENT\$@AD\.TEST krbtgt\/AD\.TEST@AD\.TEST/);
    table.add('FAST on: keytab, user=CLIENT$ → cifs/fs2', `compat → ${answeredBy(k)}`, `${b.summary}; unarmored AS-REQ (ENC-TS) accepted`);

    const bob = user('ad-bob');
    const g = await runner.upcall({ as: bob, host: env.hosts.fs2, strategy: 'proxy-only', app: {} });
    const c = accepted(g, env.keytabs.fs2, 'ad-bob@AD.TEST', env.principals.fs2);
    s4uPac(c, bob, env.hosts.fs2);
    // gssproxy's MIT library armors its S4U requests with the TGT once the DC offers FAST
    expect(g.kdc.join('\n')).toMatch(
      /TGS-REQ SUCCESS .* cifs\/fs2\.ad\.test@AD\.TEST .*impersonatee=ad-bob@AD\.TEST.*armor_client_name=CLIENT\$@AD\.TEST/,
    );
    table.add(
      'FAST on: gssproxy v2 RBCD, ad-bob → cifs/fs2',
      `proxy-only → ${answeredBy(g)}`,
      `${c.summary}; gssproxy's S4U2Proxy armored with CLIENT$'s TGT (DC: armor_client_name=CLIENT$@AD.TEST)`,
    );
  });
});

describe('docs/ad-interop.md', () => {
  it('shows the results of this file (CIFS_UPCALL_UPDATE_AD_DOC=1 rewrites the section)', () => {
    expect(table.size).toBeGreaterThanOrEqual(19);
    const { documented, rendered } = table.syncOrExpected();
    expect(documented, "the document's table differs from what the tests proved; rerun with CIFS_UPCALL_UPDATE_AD_DOC=1").toBe(rendered);
  });
});
