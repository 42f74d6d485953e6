// The own-ticket sources (src/krb5/initiator.ts) against the real components, running as the
// user in a child process (setpriv), as the upcall does after its privilege drop:
//  * for each cache type (FILE, DIR, KEYRING persistent and user anchors, KCM in a private
//    sssd-kcm) and each enctype (cifs/e17 … cifs/e23.example.test, whose only key is of that
//    enctype, asked with default_tgs_enctypes = "<that enctype> aes256-cts" so that the KDC picks
//    it for the session key too, and our subkey with it): MIT's acceptor (python3-gssapi) accepts
//    our token as that user for that service and its SSPI session key equals ours; `klist` as the
//    user shows the cifs/ ticket we stored; a second acquisition in a new process sends no
//    TGS-REQ (KDC log). MIT's default_tgs_enctypes also filters the cached TGT, hence aes256 in
//    every list. The realm's KDC never issues rc4 *session* keys (Debian's 1.20.1 has the
//    backported allow_rc4 = false), so cifs/e23 is an rc4 ticket with an aes256 session key here;
//    rc4 subkeys are shown against the acceptor in krb5-ap-req.test.ts;
//  * cross-realm: oscar@OTHER.TEST reaches cifs/fs1.example.test@EXAMPLE.TEST with [domain_realm]
//    (a cross-realm TGT along the realm path) and through referrals (no [domain_realm]);
//  * keytab fallback: CLIENT$ from the machine keytab, as root (the mount's own session).
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { join } from 'node:path';
import { Acceptor } from '../harness/common/acceptor.ts';
import { startKcm, type KcmDaemon } from '../harness/realm/kcm.ts';
import { bundleKrb5Initiator, runKrb5InitiatorAs, type BundledInitiator, type Krb5ChildResult } from '../harness/realm/krb5-run-as.ts';
import {
  CONF_ENCTYPE,
  KLIST_ENCTYPE,
  klistAs,
  krb5ConfVariant,
  krb5TestUsers,
  tgsLines,
  workDir,
} from '../harness/realm/krb5-test-users.ts';
import { kadminLocal, kinit, logMark, logSince, runAs, userEnv, ENCTYPES, type RealmUser } from '../harness/realm/realm.ts';

const env = inject('realm');
const acceptor = new Acceptor(env);
let bundle: BundledInitiator;
let kcm: KcmDaemon;
let dir: string;
let users: Record<string, RealmUser>;
/** per-enctype krb5.conf variants: [base conf][enctype] */
const confs = new Map<string, Record<number, string>>();
/** wall times of the child runs, reported at the end */
const figures: string[] = [];

type Ok = Extract<Krb5ChildResult, { ok: true }>;

function ok(r: Krb5ChildResult): Ok {
  if (!r.ok) throw new Error(`${r.host}: ${r.kind}: ${r.message}\n${r.trace.join('\n')}`);
  return r;
}

function variantsOf(base: string, tag: string): Record<number, string> {
  const out: Record<number, string> = {};
  for (const e of ENCTYPES)
    out[e] = krb5ConfVariant(base, join(dir, `krb5-${tag}-e${e}.conf`), [
      `default_tgs_enctypes = ${CONF_ENCTYPE[e]}${e === 18 ? '' : ' aes256-cts-hmac-sha1-96'}`,
    ]);
  confs.set(base, out);
  return out;
}

beforeAll(async () => {
  dir = workDir(env, 'krb5-initiator');
  bundle = await bundleKrb5Initiator();
  users = krb5TestUsers(env, ['file', 'dir', 'krp', 'kru', 'kcm'], 2401);
  kcm = await startKcm(dir);
  variantsOf(env.krb5Conf, 'main');
}, 120_000);

afterAll(async () => {
  acceptor.close();
  bundle?.dispose();
  await kcm?.stop();
  // figures for the report (measured here, on this machine)
  process.stderr.write(`[krb5-initiator figures]\n${figures.join('\n')}\n`);
});

interface CacheCase {
  type: string;
  user: () => RealmUser;
  /** the cache name kinit writes to (also the probed KRB5CCNAME), or undefined for the krb5.conf default */
  cache: (u: RealmUser) => string;
  /** krb5.conf of this case (KCM needs kcm_socket) */
  conf: () => string;
  cleanup?: (u: RealmUser, cache: string) => void;
}

const rand = (): string => Math.random().toString(36).slice(2, 8);

const CASES: CacheCase[] = [
  { type: 'FILE', user: () => users.file!, cache: () => `FILE:${env.ccacheDir}/k5_file_${rand()}`, conf: () => env.krb5Conf },
  { type: 'DIR', user: () => users.dir!, cache: () => `DIR:${env.ccacheDir}/k5_dir_${rand()}`, conf: () => env.krb5Conf },
  {
    type: 'KEYRING persistent',
    user: () => users.krp!,
    cache: (u) => `KEYRING:persistent:${u.uid}:k5_${rand()}`,
    conf: () => env.krb5Conf,
    cleanup: (u, c) => {
      runAs(u, '/usr/bin/kdestroy', ['-c', c], { env: userEnv(env), allowFail: true });
    },
  },
  {
    type: 'KEYRING user',
    user: () => users.kru!,
    cache: () => `KEYRING:user:k5_${rand()}`,
    conf: () => env.krb5Conf,
    cleanup: (u, c) => {
      runAs(u, '/usr/bin/kdestroy', ['-c', c], { env: userEnv(env), allowFail: true });
      const coll = c.split(':')[2]!;
      runAs(
        u,
        '/bin/keyctl',
        [
          'session',
          '-',
          '/bin/sh',
          '-c',
          `keyctl link @u @s >/dev/null && id=$(keyctl search @s keyring _krb_${coll}) && keyctl unlink $id @u`,
        ],
        { env: userEnv(env), allowFail: true },
      );
    },
  },
  {
    type: 'KCM',
    user: () => users.kcm!,
    cache: () => 'KCM:',
    conf: () => {
      const path = join(dir, 'krb5-kcm.conf');
      if (!confs.has(path)) {
        krb5ConfVariant(env.krb5Conf, path, [`kcm_socket = ${kcm.socket}`]);
        variantsOf(path, 'kcm');
      }
      return path;
    },
  },
];

describe.each(CASES)('$type cache', (c) => {
  it('every enctype: accepted by MIT as the user, same session key, stored (klist), reused without a TGS-REQ', async () => {
    const user = c.user();
    const conf = c.conf();
    const perEnctype = confs.get(conf)!;
    const cache = c.cache(user);
    try {
      kinit(env, user, cache, { krb5Conf: conf });
      const hosts = [
        ...ENCTYPES.map((e) => ({ host: env.hosts.byEnctype[String(e)]!, krb5ConfigFile: perEnctype[e]! })),
        { host: env.hosts.fs1, krb5ConfigFile: conf },
      ];
      const keytabOf = (host: string): string => (host === env.hosts.fs1 ? env.keytabs.fs1 : env.keytabs.byEnctype[host.slice(1, 3)]!);

      // 1. first acquisition: one TGS exchange per service, the ticket stored back
      const mark = logMark(env.kdc.log);
      const first = await runKrb5InitiatorAs(bundle, user, { source: 'ccache', hosts, probedCcacheName: cache }, { krb5Conf: conf });
      expect(first.euid).toBe(user.uid);
      const log = logSince(env.kdc.log, mark);
      for (const [i, r] of first.results.map(ok).entries()) {
        // the session key's (and so the subkey's) enctype; rc4 only for the ticket (see above)
        const wanted: number = i < ENCTYPES.length && ENCTYPES[i] !== 23 ? ENCTYPES[i]! : 18;
        expect(r.client).toBe(user.principal);
        expect(r.service).toBe(`cifs/${r.host}@EXAMPLE.TEST`);
        expect(r.enctype, r.host).toBe(wanted);
        expect(r.key).toHaveLength(wanted === 17 || wanted === 19 ? 32 : 64);
        expect(r.ticketFrom).toBe('kdc');
        expect(r.kdcExchanges).toBe(1);
        expect(r.stored).toMatch(/^stored cifs\//);
        const a = await acceptor.accept(keytabOf(r.host), Buffer.from(r.token, 'hex'), 'krb5');
        expect(a.ok, a.error).toBe(true);
        expect(a.initiator).toBe(user.principal);
        expect(a.target).toBe(`cifs/${r.host}@EXAMPLE.TEST`);
        expect(a.key).toBe(r.key);
        expect(
          tgsLines(log, user.principal!).filter((l) => l.includes(` for cifs/${r.host}@EXAMPLE.TEST`)),
          log,
        ).toHaveLength(1);
      }
      figures.push(
        `${c.type}: first process (6 acquisitions, 1 TGS each) ${first.wallMs.toFixed(0)} ms wall; per acquisition ${first.results.map((r) => r.ms.toFixed(1)).join(', ')} ms`,
      );

      // 2. klist as the user shows every ticket we stored, with the enctypes we asked for
      const k = klistAs(env, user, cache, conf);
      for (const [i, e] of [...ENCTYPES, 18].entries()) {
        const host = hosts[i]!.host;
        const t = k.tickets.find((x) => x.server === `cifs/${host}@EXAMPLE.TEST`);
        expect(t, k.raw).toBeDefined();
        expect(t!.sessionEnctype).toBe(KLIST_ENCTYPE[e === 23 ? 18 : e]);
        if (host !== env.hosts.fs1) expect(t!.ticketEnctype).toBe(KLIST_ENCTYPE[e]);
      }

      // 3. a second upcall (new process) finds every ticket in the cache: no TGS-REQ at all
      const mark2 = logMark(env.kdc.log);
      const second = await runKrb5InitiatorAs(bundle, user, { source: 'ccache', hosts, probedCcacheName: cache }, { krb5Conf: conf });
      for (const r of second.results.map(ok)) {
        expect(r.ticketFrom).toBe('cache');
        expect(r.kdcExchanges).toBe(0);
        expect(r.trace.some((l) => /cached ticket cifs\/.* no KDC traffic/.test(l))).toBe(true);
        const a = await acceptor.accept(keytabOf(r.host), Buffer.from(r.token, 'hex'), 'krb5');
        expect(a.ok, a.error).toBe(true);
        expect(a.initiator).toBe(user.principal);
        expect(a.key).toBe(r.key);
      }
      expect(tgsLines(logSince(env.kdc.log, mark2), user.principal!)).toEqual([]);
      figures.push(
        `${c.type}: second process (6 cached tickets, 0 KDC round trips) ${second.wallMs.toFixed(0)} ms wall; per acquisition ${second.results.map((r) => r.ms.toFixed(1)).join(', ')} ms`,
      );
    } finally {
      c.cleanup?.(user, cache);
    }
  });
});

describe('the default cache name when nothing was probed', () => {
  it('FILE:<state>/ccache/krb5cc_%{uid} from default_ccache_name', async () => {
    const user = users.file!;
    const cache = `FILE:${env.ccacheDir}/krb5cc_${user.uid}`;
    kinit(env, user, cache);
    const r = await runKrb5InitiatorAs(bundle, user, { source: 'ccache', hosts: [env.hosts.fs2] }, { krb5Conf: env.krb5Conf });
    const t = ok(r.results[0]!);
    expect(t.cache).toBe(cache);
    expect(
      t.trace.some((l) => l.includes(`default_ccache_name FILE:${env.stateDir}/ccache/krb5cc_%{uid} of krb5.conf for uid ${user.uid}`)),
    ).toBe(true);
    const a = await acceptor.accept(env.keytabs.fs2, Buffer.from(t.token, 'hex'), 'krb5');
    expect(a.ok, a.error).toBe(true);
    expect(a.key).toBe(t.key);
  });
});

describe('cross-realm: oscar@OTHER.TEST → cifs/fs1.example.test@EXAMPLE.TEST', () => {
  it('with [domain_realm]: a cross-realm TGT krbtgt/EXAMPLE.TEST@OTHER.TEST, then the service ticket', async () => {
    const oscar = env.users.oscar!;
    const cache = `FILE:${env.ccacheDir}/k5_oscar_dr_${rand()}`;
    kinit(env, oscar, cache);
    const m1 = logMark(env.kdc.log);
    const m2 = logMark(env.otherKdc.log);
    const run = await runKrb5InitiatorAs(
      bundle,
      oscar,
      { source: 'ccache', hosts: [env.hosts.fs1], probedCcacheName: cache },
      { krb5Conf: env.krb5Conf },
    );
    const r = ok(run.results[0]!);
    expect(r.client).toBe('oscar@OTHER.TEST');
    expect(r.service).toBe('cifs/fs1.example.test@EXAMPLE.TEST');
    expect(r.realms).toEqual(['OTHER.TEST', 'EXAMPLE.TEST']);
    expect(r.kdcExchanges).toBe(2);
    expect(r.trace.some((l) => l.includes('realm path OTHER.TEST → TEST → EXAMPLE.TEST (hierarchical)'))).toBe(true);
    expect(tgsLines(logSince(env.otherKdc.log, m2), 'oscar@OTHER.TEST').join('\n')).toContain('for krbtgt/EXAMPLE.TEST@OTHER.TEST');
    expect(tgsLines(logSince(env.kdc.log, m1), 'oscar@OTHER.TEST').join('\n')).toContain('for cifs/fs1.example.test@EXAMPLE.TEST');
    const a = await acceptor.accept(env.keytabs.fs1, Buffer.from(r.token, 'hex'), 'krb5');
    expect(a.ok, a.error).toBe(true);
    expect(a.initiator).toBe('oscar@OTHER.TEST');
    expect(a.key).toBe(r.key);
    // the explicitly requested cross-realm TGT and the service ticket are in the cache
    const servers = klistAs(env, oscar, cache, env.krb5Conf).tickets.map((t) => t.server);
    expect(servers).toEqual(['krbtgt/OTHER.TEST@OTHER.TEST', 'krbtgt/EXAMPLE.TEST@OTHER.TEST', 'cifs/fs1.example.test@EXAMPLE.TEST']);
    figures.push(`cross-realm via [domain_realm]: 2 KDC round trips, ${r.ms.toFixed(1)} ms in process, ${run.wallMs.toFixed(0)} ms wall`);
  });

  it('through referrals (no [domain_realm]): OTHER.TEST refers us to EXAMPLE.TEST; stored under cifs/fs1.example.test@', async () => {
    const oscar = env.users.oscar!;
    const conf = env.krb5ConfReferrals;
    const cache = `FILE:${env.ccacheDir}/k5_oscar_ref_${rand()}`;
    kinit(env, oscar, cache, { krb5Conf: conf });
    const m2 = logMark(env.otherKdc.log);
    const run = await runKrb5InitiatorAs(
      bundle,
      oscar,
      { source: 'ccache', hosts: [env.hosts.fs1, env.hosts.fs1], probedCcacheName: cache },
      { krb5Conf: conf },
    );
    const r = ok(run.results[0]!);
    expect(r.service).toBe('cifs/fs1.example.test@EXAMPLE.TEST');
    expect(r.realms).toEqual(['OTHER.TEST', 'EXAMPLE.TEST']);
    expect(r.kdcExchanges).toBe(2);
    expect(r.trace.some((l) => l.includes("referral: OTHER.TEST's KDC says cifs/fs1.example.test is in realm EXAMPLE.TEST"))).toBe(true);
    // the first request named the service in the client's realm, with canonicalize
    expect(r.exchanges[0]).toMatchObject({ realm: 'OTHER.TEST', subject: 'cifs/fs1.example.test@OTHER.TEST (canonicalize)' });
    expect(r.exchanges[1]).toMatchObject({ realm: 'EXAMPLE.TEST', subject: 'cifs/fs1.example.test@EXAMPLE.TEST (canonicalize)' });
    expect(r.stored).toMatch(/^stored cifs\/fs1\.example\.test@ in /);
    expect(logSince(env.otherKdc.log, m2)).toMatch(/TGS_REQ.*oscar@OTHER\.TEST for krbtgt\/EXAMPLE\.TEST@OTHER\.TEST/);
    const a = await acceptor.accept(env.keytabs.fs1, Buffer.from(r.token, 'hex'), 'krb5');
    expect(a.ok, a.error).toBe(true);
    expect(a.initiator).toBe('oscar@OTHER.TEST');
    expect(a.target).toBe('cifs/fs1.example.test@EXAMPLE.TEST');
    expect(a.key).toBe(r.key);
    // MIT stores referral results under the requested (empty-realm) name, and so do we
    const k = klistAs(env, oscar, cache, conf);
    expect(k.tickets.map((t) => t.server)).toEqual(['krbtgt/OTHER.TEST@OTHER.TEST', 'cifs/fs1.example.test@']);
    expect(k.raw).toContain('Ticket server: cifs/fs1.example.test@EXAMPLE.TEST');
    // the second acquisition (same process, fresh source) uses it: the 7.2+ shortcut on the empty realm
    const again = ok(run.results[1]!);
    expect(again.ticketFrom).toBe('cache');
    expect(again.kdcExchanges).toBe(0);
    figures.push(`cross-realm via referrals: 2 KDC round trips, ${r.ms.toFixed(1)} ms; cached: ${again.ms.toFixed(1)} ms`);
  });

  it('MIT kvno uses the ticket we stored under the referral name (no TGS-REQ)', async () => {
    const oscar = env.users.oscar!;
    const conf = env.krb5ConfReferrals;
    const cache = `FILE:${env.ccacheDir}/k5_oscar_kvno_${rand()}`;
    kinit(env, oscar, cache, { krb5Conf: conf });
    ok(
      (await runKrb5InitiatorAs(bundle, oscar, { source: 'ccache', hosts: [env.hosts.fs1], probedCcacheName: cache }, { krb5Conf: conf }))
        .results[0]!,
    );
    const m1 = logMark(env.kdc.log);
    const m2 = logMark(env.otherKdc.log);
    const kvno = runAs(oscar, '/usr/bin/kvno', ['-S', 'cifs', 'fs1.example.test'], {
      env: userEnv(env, { KRB5CCNAME: cache, KRB5_CONFIG: conf }),
    });
    expect(kvno.stdout).toMatch(/cifs\/fs1\.example\.test@: kvno = \d+/);
    expect(tgsLines(logSince(env.kdc.log, m1) + logSince(env.otherKdc.log, m2), 'oscar@OTHER.TEST')).toEqual([]);
  });
});

describe("keytab fallback (the mount's own session)", () => {
  it('CLIENT$ from the machine keytab, as root: accepted as CLIENT$@EXAMPLE.TEST', async () => {
    const m = logMark(env.kdc.log);
    const run = await runKrb5InitiatorAs(
      bundle,
      { uid: 0, gid: 0, name: 'root' },
      {
        source: 'keytab',
        hosts: [env.hosts.fs1],
        mountUser: 'CLIENT$',
        isMountSession: true,
        keytabName: env.keytabs.machine,
      },
      { krb5Conf: env.krb5Conf },
    );
    expect(run.euid).toBe(0);
    const r = ok(run.results[0]!);
    expect(r.client).toBe('CLIENT$@EXAMPLE.TEST');
    expect(r.cache).toMatch(/^MEMORY:/);
    const log = logSince(env.kdc.log, m);
    expect(log).toMatch(/AS_REQ .* CLIENT\$@EXAMPLE\.TEST for krbtgt\/EXAMPLE\.TEST@EXAMPLE\.TEST/);
    expect(log).toMatch(/TGS_REQ .* CLIENT\$@EXAMPLE\.TEST for cifs\/fs1\.example\.test@EXAMPLE\.TEST/);
    const a = await acceptor.accept(env.keytabs.fs1, Buffer.from(r.token, 'hex'), 'krb5');
    expect(a.ok, a.error).toBe(true);
    expect(a.initiator).toBe('CLIENT$@EXAMPLE.TEST');
    expect(a.key).toBe(r.key);
    figures.push(
      `keytab (CLIENT$, no pre-auth required by this KDC): ${r.kdcExchanges} KDC round trips (AS + TGS), ${r.ms.toFixed(1)} ms in process, ${run.wallMs.toFixed(0)} ms wall`,
    );
  });

  it('a principal that requires pre-authentication: PREAUTH_REQUIRED → PA-ENC-TIMESTAMP with the ETYPE-INFO2 enctype', async () => {
    const keytab = join(dir, 'preauth.keytab');
    kadminLocal(env, ['addprinc -randkey +requires_preauth K5PRE$', `ktadd -k ${keytab} -norandkey K5PRE$`]);
    const run = await runKrb5InitiatorAs(
      bundle,
      { uid: 0, gid: 0, name: 'root' },
      {
        source: 'keytab',
        hosts: [env.hosts.fs1],
        mountUser: 'K5PRE$@EXAMPLE.TEST',
        isMountSession: true,
        keytabName: keytab,
      },
      { krb5Conf: env.krb5Conf },
    );
    const r = ok(run.results[0]!);
    expect(r.exchanges.map((x) => [x.kind, x.errorCode])).toEqual([
      ['AS-REQ', 25],
      ['AS-REQ', undefined],
      ['TGS-REQ', undefined],
    ]);
    expect(
      r.trace.some((l) =>
        /requires pre-authentication: PA-ENC-TIMESTAMP with the aes256-cts-hmac-sha1-96 key \(kvno \d+\), KDC salt "EXAMPLE.TESTK5PRE\$"/.test(
          l,
        ),
      ),
    ).toBe(true);
    const a = await acceptor.accept(env.keytabs.fs1, Buffer.from(r.token, 'hex'), 'krb5');
    expect(a.ok, a.error).toBe(true);
    expect(a.initiator).toBe('K5PRE$@EXAMPLE.TEST');
    expect(a.key).toBe(r.key);
    figures.push(`keytab with pre-authentication: 3 KDC round trips (AS, AS, TGS), ${r.ms.toFixed(1)} ms in process`);
  });

  it("refuses for a session that is not the mount's own, without reading the keytab or asking the KDC", async () => {
    const m = logMark(env.kdc.log);
    const run = await runKrb5InitiatorAs(
      bundle,
      env.users.alice!,
      {
        source: 'keytab',
        hosts: [env.hosts.fs1],
        mountUser: 'CLIENT$',
        isMountSession: false,
        keytabName: env.keytabs.machine,
      },
      { krb5Conf: env.krb5Conf },
    );
    const r = run.results[0]!;
    expect(r.ok).toBe(false);
    expect(r.ok ? '' : r.kind).toBe('no-credentials');
    expect(r.ok ? '' : r.message).toMatch(/not the mount's own session/);
    expect(r.exchanges).toEqual([]);
    expect(logSince(env.kdc.log, m)).not.toMatch(/CLIENT\$/);
  });

  it('no key for the principal, and an unreadable default keytab: no-credentials with the reason', async () => {
    const run = await runKrb5InitiatorAs(
      bundle,
      { uid: 0, gid: 0, name: 'root' },
      {
        source: 'keytab',
        hosts: [env.hosts.fs1],
        mountUser: 'CLIENT$',
        isMountSession: true,
        keytabName: env.keytabs.fs1,
      },
      { krb5Conf: env.krb5Conf },
    );
    const r = run.results[0]!;
    expect(r.ok ? '' : `${r.kind}: ${r.message}`).toMatch(
      new RegExp(`^no-credentials: keytab ${env.keytabs.fs1} holds no key for CLIENT\\$@EXAMPLE\\.TEST`),
    );
    // krb5.conf's default_keytab_name is FILE:<state>/keytabs/none.keytab, which does not exist
    const def = (
      await runKrb5InitiatorAs(
        bundle,
        { uid: 0, gid: 0, name: 'root' },
        {
          source: 'keytab',
          hosts: [env.hosts.fs1],
          mountUser: 'CLIENT$',
          isMountSession: true,
        },
        { krb5Conf: env.krb5Conf },
      )
    ).results[0]!;
    expect(def.ok ? '' : `${def.kind}: ${def.message}`).toMatch(/^no-credentials: keytab FILE:.*none\.keytab: .*ENOENT/);
  });
});
