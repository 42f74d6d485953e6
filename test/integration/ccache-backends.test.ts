// Credential-cache back ends against the real components: caches written by the real MIT kinit
// (FILE, DIR, KEYRING persistent and user anchors in the kernel keyring, KCM in a private
// sssd-kcm) are read by our code running as that user (a bundled probe run through setpriv), must
// match `klist -e -f -C`, and a real service ticket (kvno into a scratch cache) stored back by our
// store() must show in klist and be used by MIT kvno without a TGS request (KDC log).
import { chmodSync, copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { execSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startKcm, type KcmDaemon } from '../harness/realm/kcm.ts';
import { kadminLocal, kinit, logMark, logSince, runAs, userEnv, type RealmUser } from '../harness/realm/realm.ts';
import { ensureLocalUser } from '../harness/common/users.ts';
import { KcmError } from '../../src/krb5/ccache/errors.ts';
import { isUnsupportedKcmCode, KcmConnection, KcmOp, KrbCcacheCode } from '../../src/krb5/ccache/kcm.ts';
import { parseKlist, type KlistOutput } from '../unit/krb5/ccache/klist.ts';

const env = inject('realm');
const repo = resolve(import.meta.dirname, '..', '..');
const workDir = join(env.stateDir, 'cctest');
const probePath = join(workDir, 'probe', 'probe.mjs');
const rand = (): string => Math.random().toString(36).slice(2, 10);

// The probe: our ccache code, run as the test user; one JSON request in argv, one JSON answer out.
const PROBE_SOURCE = `
import { openCredentialCache, listCredentialCaches, unparsePrincipal, KcmCredentialCache } from ${JSON.stringify(join(repo, 'src/krb5/ccache/index.ts'))};
const req = JSON.parse(process.argv[2]);
const cred = (c) => ({
  client: unparsePrincipal(c.client), server: unparsePrincipal(c.server), serverNameType: c.server.nameType,
  enctype: c.key.enctype, keyLength: c.key.value.length, authTime: c.authTime, startTime: c.startTime,
  endTime: c.endTime, renewTill: c.renewTill, flags: c.flags, isSkey: c.isSkey, ticketLength: c.ticket.length,
  ticketHead: c.ticket.subarray(0, 4).toString('hex'), addresses: c.addresses.length, authData: c.authData.length,
});
async function run() {
  const options = req.options ?? {};
  if (req.op === 'read') {
    const cache = await openCredentialCache(req.name, options);
    const c = await cache.read();
    const out = { name: cache.name, type: cache.type, principal: unparsePrincipal(c.principal),
      credentials: c.credentials.map(cred), kdcTimeOffset: c.kdcTimeOffset,
      config: c.config.map((e) => ({ key: e.key, principal: e.principal, value: e.value.toString('latin1') })) };
    if (cache instanceof KcmCredentialCache) {
      out.byUuid = (await cache.recordsByUuid()).map(cred);
      out.byList = (await cache.records()).map(cred);
      cache.close();
    }
    return out;
  }
  if (req.op === 'store') {
    const from = await openCredentialCache(req.from, options);
    const wanted = (await from.read()).credentials.filter((c) => unparsePrincipal(c.server) === req.server);
    if (wanted.length !== 1) throw new Error('expected one ' + req.server + ' ticket in ' + req.from + ', found ' + wanted.length);
    const cache = await openCredentialCache(req.name, options);
    await cache.store(wanted[0]);
    cache.close?.();
    return { name: cache.name, stored: cred(wanted[0]) };
  }
  if (req.op === 'list') {
    const caches = await listCredentialCaches(req.name, options);
    const out = [];
    for (const c of caches) { out.push({ name: c.name, principal: unparsePrincipal(await c.principal()) }); c.close?.(); }
    return out;
  }
  throw new Error('unknown op ' + req.op);
}
run().then((r) => process.stdout.write(JSON.stringify({ ok: r })), (e) =>
  process.stdout.write(JSON.stringify({ error: { name: e.name, kind: e.kind, message: e.message } })));
`;

interface ProbeCred {
  client: string;
  server: string;
  serverNameType: number;
  enctype: number;
  keyLength: number;
  authTime: number;
  startTime: number;
  endTime: number;
  renewTill: number;
  flags: number;
  isSkey: boolean;
  ticketLength: number;
  ticketHead: string;
}

interface ProbeRead {
  name: string;
  type: string;
  principal: string;
  credentials: ProbeCred[];
  config: { key: string; principal: string | null; value: string }[];
  kdcTimeOffset: { seconds: number; microseconds: number } | null;
  byUuid?: ProbeCred[];
  byList?: ProbeCred[];
}

interface ProbeError {
  name: string;
  kind?: string;
  message: string;
}

function probe<T>(user: RealmUser, request: object, krb5Conf = env.krb5Conf): { ok?: T; error?: ProbeError } {
  const r = runAs(user, '/usr/bin/node', [probePath, JSON.stringify(request)], {
    env: userEnv(env, { KRB5_CONFIG: krb5Conf }),
    allowFail: true,
  });
  if (r.status !== 0) throw new Error(`probe exited ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout) as { ok?: T; error?: ProbeError };
}

function read(user: RealmUser, name: string, options: object = {}, krb5Conf?: string): ProbeRead {
  const r = probe<ProbeRead>(user, { op: 'read', name, options }, krb5Conf);
  if (!r.ok) throw new Error(`probe read ${name}: ${JSON.stringify(r.error)}`);
  return r.ok;
}

function klistFull(user: RealmUser, cache: string, krb5Conf = env.krb5Conf): KlistOutput & { raw: string } {
  const r = runAs(user, '/usr/bin/klist', ['-e', '-f', '-C', '-c', cache], {
    env: userEnv(env, { KRB5CCNAME: cache, KRB5_CONFIG: krb5Conf, TZ: 'UTC' }),
    allowFail: true,
  });
  return { ...parseKlist(r.stdout), raw: r.stdout + r.stderr };
}

function klistTime(seconds: number): string {
  const d = new Date(seconds * 1000);
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${p(d.getUTCMonth() + 1)}/${p(d.getUTCDate())}/${p(d.getUTCFullYear() % 100)} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}`;
}

const FLAG_LETTERS: [number, string][] = [
  [0x40000000, 'F'],
  [0x20000000, 'f'],
  [0x10000000, 'P'],
  [0x08000000, 'p'],
  [0x04000000, 'D'],
  [0x02000000, 'd'],
  [0x01000000, 'i'],
  [0x00800000, 'R'],
  [0x00400000, 'I'],
  [0x00100000, 'H'],
  [0x00200000, 'A'],
  [0x00080000, 'T'],
  [0x00040000, 'O'],
  [0x00008000, 'a'],
];
const ETYPES: Record<number, string> = {
  17: 'aes128-cts-hmac-sha1-96',
  18: 'aes256-cts-hmac-sha1-96',
  19: 'aes128-cts-hmac-sha256-128',
  20: 'aes256-cts-hmac-sha384-192',
  23: 'DEPRECATED:arcfour-hmac',
};

/** Our reading must say exactly what MIT klist says about the same cache. */
function expectSameAsKlist(ours: ProbeRead, k: KlistOutput): void {
  expect(`${ours.principal}`).toBe(k.principal);
  expect(
    ours.credentials.map((c) => ({
      start: klistTime(c.startTime || c.authTime),
      expires: klistTime(c.endTime),
      server: c.server,
      renewUntil: c.renewTill ? klistTime(c.renewTill) : null,
      flags: FLAG_LETTERS.filter(([b]) => (c.flags & b) !== 0)
        .map(([, l]) => l)
        .join(''),
      skey: ETYPES[c.enctype],
    })),
  ).toEqual(
    k.tickets.map((t) => ({
      start: t.start,
      expires: t.expires,
      server: t.server,
      renewUntil: t.renewUntil,
      flags: t.flags,
      skey: t.etypes?.[0],
    })),
  );
  expect(ours.config).toEqual(k.config);
}

/** A real cifs/fs1 service ticket: kinit + kvno into a scratch FILE cache, as the user. */
/** scratch caches made in the realm's shared cache directory; removed when the file ends */
const scratchCaches: string[] = [];

function serviceTicketCache(user: RealmUser): string {
  const scratch = `FILE:${env.ccacheDir}/cctest_scratch_${user.name}_${rand()}`;
  scratchCaches.push(scratch.slice('FILE:'.length));
  kinit(env, user, scratch);
  runAs(user, '/usr/bin/kvno', ['cifs/fs1.example.test'], { env: userEnv(env, { KRB5CCNAME: scratch }) });
  return scratch;
}

/**
 * store() of the kvno-obtained ticket into `target`, then: klist shows it, and MIT kvno with
 * `target` finds it in the cache (no TGS-REQ in the KDC log).
 */
function expectStoreVisibleToMit(user: RealmUser, target: string, krb5Conf = env.krb5Conf, options: object = {}): void {
  const scratch = serviceTicketCache(user);
  const stored = probe<{ name: string; stored: ProbeCred }>(
    user,
    { op: 'store', name: target, from: scratch, server: 'cifs/fs1.example.test@EXAMPLE.TEST', options },
    krb5Conf,
  );
  expect(stored.error).toBeUndefined();
  const k = klistFull(user, target, krb5Conf);
  const shown = k.tickets.find((t) => t.server === 'cifs/fs1.example.test@EXAMPLE.TEST');
  expect(shown, k.raw).toBeDefined();
  expect(shown!.expires).toBe(klistTime(stored.ok!.stored.endTime));
  const mark = logMark(env.kdc.log);
  const kvno = runAs(user, '/usr/bin/kvno', ['cifs/fs1.example.test'], {
    env: userEnv(env, { KRB5CCNAME: target, KRB5_CONFIG: krb5Conf }),
  });
  expect(kvno.stdout).toMatch(/cifs\/fs1.example.test@EXAMPLE.TEST: kvno = \d+/);
  expect(logSince(env.kdc.log, mark)).not.toMatch(new RegExp(`TGS_REQ.*${user.principal} for cifs/fs1.example.test`));
}

let users: RealmUser[] = [];

beforeAll(async () => {
  mkdirSync(join(workDir, 'probe'), { recursive: true, mode: 0o755 });
  chmodSync(workDir, 0o755);
  chmodSync(join(workDir, 'probe'), 0o755);
  await build({
    stdin: { contents: PROBE_SOURCE, resolveDir: repo, loader: 'js', sourcefile: 'ccache-probe.mjs' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile: probePath,
    logLevel: 'error',
  });
  chmodSync(probePath, 0o644);
  const addon = join(workDir, 'probe', 'cifs_upcall_native.node');
  copyFileSync(join(repo, 'native', 'build', 'Release', 'cifs_upcall_native.node'), addon);
  chmodSync(addon, 0o755);
  // dedicated users: the persistent and user keyrings are per uid and machine-wide
  users = [2301, 2302].map((uid, i) => {
    const name = `cu-ccache${i + 1}`;
    const local = ensureLocalUser(name, uid);
    return { name, uid: local.uid, gid: local.gid, principal: `${name}@${env.realm}`, password: `${name}-secret-1` };
  });
  kadminLocal(
    env,
    users.map((u) => `addprinc -pw ${u.password} ${u.name}`),
  );
}, 120_000);

afterAll(() => {
  // other files assert that a user has no cache in this directory
  for (const f of scratchCaches) rmSync(f, { force: true });
});

describe('FILE', () => {
  it('a cache written by MIT kinit reads as klist shows it, as the user', () => {
    const alice = env.users.alice!;
    const name = `FILE:${env.ccacheDir}/cctest_file_${rand()}`;
    kinit(env, alice, name);
    const ours = read(alice, name);
    expect(ours.name).toBe(name);
    expectSameAsKlist(ours, klistFull(alice, name));
    const tgt = ours.credentials[0]!;
    expect(tgt.server).toBe('krbtgt/EXAMPLE.TEST@EXAMPLE.TEST');
    expect(tgt.ticketHead.slice(0, 2)).toBe('61');
    expect(ours.kdcTimeOffset).not.toBeNull();
  });

  it('store() appends a real service ticket that klist shows and kvno uses without the KDC', () => {
    const alice = env.users.alice!;
    const name = `FILE:${env.ccacheDir}/cctest_file_${rand()}`;
    kinit(env, alice, name);
    expectStoreVisibleToMit(alice, name);
  });

  it('another user cannot read it (the kernel says EACCES: mode 0600)', () => {
    const alice = env.users.alice!;
    const name = `FILE:${env.ccacheDir}/cctest_file_${rand()}`;
    kinit(env, alice, name);
    const r = probe(env.users.bob!, { op: 'read', name });
    expect(r.error?.kind).toBe('permission');
  });

  it("a cache planted by another user under the victim's name is refused (owner check), also through a symlink", () => {
    const alice = env.users.alice!;
    const bob = env.users.bob!;
    // bob pre-creates a world-readable cache of his own where alice's cache name points
    const planted = `${env.ccacheDir}/krb5cc_cctest_${rand()}`;
    kinit(env, bob, `FILE:${planted}`);
    chmodSync(planted, 0o644);
    const r = probe(alice, { op: 'read', name: `FILE:${planted}` });
    expect(r.error?.kind).toBe('unsafe');
    expect(r.error?.message).toMatch(new RegExp(`owned by uid ${bob.uid}, not by uid ${alice.uid}`));
    // a symlink in a directory of bob's (not sticky, so fs.protected_symlinks does not apply)
    const bobsDir = `${env.ccacheDir}/cctest_bobdir_${rand()}`;
    runAs(bob, '/bin/mkdir', ['-m', '0755', bobsDir], { env: userEnv(env) });
    runAs(bob, '/bin/ln', ['-s', planted, `${bobsDir}/krb5cc`], { env: userEnv(env) });
    const viaLink = probe(alice, { op: 'read', name: `FILE:${bobsDir}/krb5cc` });
    expect(viaLink.error?.kind).toBe('unsafe');
    expect(viaLink.error?.message).toMatch(new RegExp(`owned by uid ${bob.uid}`));
  });
});

describe('DIR', () => {
  it('reads the primary of a kinit-made collection, stores into it, lists the collection', () => {
    const erin = env.users.erin!;
    const dir = `${env.ccacheDir}/cctest_dir_${rand()}`;
    kinit(env, erin, `DIR:${dir}`);
    expect(readFileSync(join(dir, 'primary'), 'utf8')).toBe('tkt\n');
    const ours = read(erin, `DIR:${dir}`);
    expect(ours.name).toBe(`DIR::${dir}/tkt`);
    expect(ours.type).toBe('DIR');
    expectSameAsKlist(ours, klistFull(erin, `DIR:${dir}`));
    expectStoreVisibleToMit(erin, `DIR:${dir}`);

    // a second cache in the collection, made primary with kswitch
    kinit(env, erin, `DIR::${dir}/tktsecond`, { lifetime: '2h' });
    runAs(erin, '/usr/bin/kswitch', ['-c', `DIR::${dir}/tktsecond`], { env: userEnv(env) });
    expect(read(erin, `DIR:${dir}`).name).toBe(`DIR::${dir}/tktsecond`);
    const listed = probe<{ name: string; principal: string }[]>(erin, { op: 'list', name: `DIR:${dir}` });
    expect(listed.ok).toEqual([
      { name: `DIR::${dir}/tktsecond`, principal: 'erin@EXAMPLE.TEST' },
      { name: `DIR::${dir}/tkt`, principal: 'erin@EXAMPLE.TEST' },
    ]);
  });
});

describe('KEYRING (kernel keyring through the native addon)', () => {
  function procKeys(user: RealmUser): string[] {
    return runAs(user, '/bin/cat', ['/proc/keys'], { env: userEnv(env) })
      .stdout.split('\n')
      .filter(Boolean);
  }

  it('persistent:<uid>: reads what kinit wrote, stores like krcc_store (user key, timeouts), resolves the primary', () => {
    const u = users[0]!;
    const sub = `cctest_${rand()}`;
    const name = `KEYRING:persistent:${u.uid}:${sub}`;
    try {
      kinit(env, u, name);
      const ours = read(u, name);
      expect(ours.name).toBe(name);
      expect(ours.type).toBe('KEYRING');
      expectSameAsKlist(ours, klistFull(u, name));
      expect(ours.kdcTimeOffset).toEqual({ seconds: 0, microseconds: 0 });
      expectStoreVisibleToMit(u, name);

      // the key we added: type user (no big_key on this kernel), named by the server, with a timeout
      const line = procKeys(u).find((l) => / user +cifs\/fs1\.example\.test@EXAMPLE\.TEST:/.test(l));
      expect(line, procKeys(u).join('\n')).toBeDefined();
      const timeout = line!.trim().split(/\s+/)[3]!;
      expect(timeout).not.toBe('perm');
      expect(timeout).toMatch(/^\d+[smhdw]$/);
      const cacheLine = procKeys(u).find((l) => new RegExp(` keyring +${sub}:`).test(l));
      expect(cacheLine!.trim().split(/\s+/)[3]).toMatch(/^\d+[smhdw]$/);

      // the collection's primary (kswitch writes krb_ccache:primary)
      runAs(u, '/usr/bin/kswitch', ['-c', name], { env: userEnv(env) });
      expect(read(u, `KEYRING:persistent:${u.uid}`).name).toBe(name);
      // an empty collection means the euid; MIT keeps it empty in the name (klist: 'persistent::<primary>')
      expect(read(u, 'KEYRING:persistent:').name).toBe(`KEYRING:persistent::${sub}`);
      const listed = probe<{ name: string }[]>(u, { op: 'list', name: `KEYRING:persistent:${u.uid}` });
      expect(listed.ok![0]!.name).toBe(name);
    } finally {
      runAs(u, '/usr/bin/kdestroy', ['-c', name], { env: userEnv(env), allowFail: true });
    }
  });

  it('user:<collection>: reads and stores through the user keyring', () => {
    const u = users[1]!;
    const coll = `cctest_${rand()}`;
    const name = `KEYRING:user:${coll}`;
    try {
      kinit(env, u, name);
      const ours = read(u, name);
      expect(ours.name).toBe(`KEYRING:user:${coll}:${coll}`);
      expectSameAsKlist(ours, klistFull(u, name));
      expectStoreVisibleToMit(u, name);

      // a key that vanishes (expires) while still listed in the cache keyring is skipped
      const before = read(u, name).credentials;
      const script = [
        'keyctl link @u @s >/dev/null',
        `c=$(keyctl search @s keyring _krb_${coll})`,
        `k=$(keyctl search $c keyring ${coll})`,
        'id=$(keyctl add user vanishing not-a-credential $k)',
        'keyctl timeout $id 1',
      ].join(' && ');
      runAs(u, '/bin/keyctl', ['session', '-', '/bin/sh', '-c', script], { env: userEnv(env) });
      execSync('sleep 1.5');
      const after = read(u, name);
      expect(after.credentials).toEqual(before);
      const klistAfter = klistFull(u, name);
      expect(procKeys(u).some((l) => / user +vanishing: /.test(l))).toBe(true);
      // MIT 1.20 skips only ENOKEY/EACCES: an expired key (EKEYEXPIRED until the kernel's key GC
      // runs, gc_delay = 300 s) makes its whole cache unreadable; we skip it like a vanished key.
      expect(klistAfter.raw, 'documents MIT 1.20 behaviour').toMatch(/No credentials cache found while retrieving a ticket/);
    } finally {
      runAs(u, '/usr/bin/kdestroy', ['-c', name], { env: userEnv(env), allowFail: true });
      // the collection keyring stays in the uid keyring (kept until reboot): unlink it too
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
    }
  });

  it('another uid cannot reach it, and a missing cache is not-found', () => {
    const u = users[0]!;
    const r = probe(env.users.bob!, { op: 'read', name: `KEYRING:persistent:${u.uid}:whatever` });
    expect(r.error?.kind).toBe('permission');
    expect(r.error?.message).toMatch(new RegExp(`persistent keyring of uid ${u.uid}: EPERM`));
    expect(probe(u, { op: 'read', name: `KEYRING:persistent:${u.uid}:cctest_absent` }).error?.kind).toBe('not-found');
  });

  it("in the helper, session/process/thread/legacy anchors are refused as not the user's", () => {
    const u = users[0]!;
    for (const name of ['KEYRING:session:x', 'KEYRING:process:x', 'KEYRING:thread:x:y', 'KEYRING:legacyname']) {
      const r = probe(u, { op: 'read', name, options: { helperProcess: true } });
      expect(r.error?.kind, name).toBe('not-users-keyring');
      expect(r.error?.message).toMatch(/helper's own/);
    }
  });
});

describe('KCM (private sssd-kcm 2.8)', () => {
  let kcm: KcmDaemon;
  let kcmConf: string;

  beforeAll(async () => {
    // sssd's minimum idle timeout, so that the reconnect test below waits as little as possible
    kcm = await startKcm(workDir, ['client_idle_timeout = 10']);
    kcmConf = join(workDir, 'krb5-kcm.conf');
    writeFileSync(kcmConf, readFileSync(env.krb5Conf, 'utf8').replace('[libdefaults]', `[libdefaults]\n  kcm_socket = ${kcm.socket}`));
    chmodSync(kcmConf, 0o644);
  }, 60_000);
  afterAll(async () => {
    await kcm?.stop();
  });

  it('reads the default cache kinit wrote (GET_DEFAULT_CACHE, GET_PRINCIPAL, GET_CRED_LIST = the UUID walk) as klist shows it', () => {
    const u = env.users.frank!;
    kinit(env, u, 'KCM:', { krb5Conf: kcmConf });
    const ours = read(u, 'KCM:', { kcmSocket: kcm.socket }, kcmConf);
    expect(ours.name).toBe(`KCM:${u.uid}`);
    expect(ours.type).toBe('KCM');
    expectSameAsKlist(ours, klistFull(u, 'KCM:', kcmConf));
    expect(ours.byUuid).toEqual(ours.byList);
    expect(ours.byList!.length).toBeGreaterThan(ours.credentials.length - 1);
    expect(ours.kdcTimeOffset).toEqual({ seconds: 0, microseconds: 0 });
  });

  it('store() (KCM STORE) is visible to klist and used by kvno without a TGS request', () => {
    const u = env.users.frank!;
    kinit(env, u, 'KCM:', { krb5Conf: kcmConf });
    expectStoreVisibleToMit(u, 'KCM:', kcmConf, { kcmSocket: kcm.socket });
    expect(
      read(u, `KCM:${u.uid}`, { kcmSocket: kcm.socket }, kcmConf).credentials.some(
        (c) => c.server === 'cifs/fs1.example.test@EXAMPLE.TEST',
      ),
    ).toBe(true);
  });

  it('the daemon keeps users apart (SO_PEERCRED), and unknown caches are not-found', () => {
    const u = env.users.frank!;
    kinit(env, u, 'KCM:', { krb5Conf: kcmConf });
    const other = probe(env.users.grace!, { op: 'read', name: `KCM:${u.uid}`, options: { kcmSocket: kcm.socket } }, kcmConf);
    expect(other.error?.kind).toBe('not-found');
    expect(probe(u, { op: 'read', name: 'KCM:nonexistent', options: { kcmSocket: kcm.socket } }, kcmConf).error?.kind).toBe('not-found');
  });

  it("lists the caller's caches, default first", () => {
    const u = env.users.heidi!;
    kinit(env, u, 'KCM:', { krb5Conf: kcmConf });
    kinit(env, u, `KCM:${u.uid}:second`, { krb5Conf: kcmConf });
    // sssd-kcm answers GET_DEFAULT_CACHE with whichever cache its database lists first until
    // a default is set: set it as a user would
    runAs(u, '/usr/bin/kswitch', ['-c', `KCM:${u.uid}`], { env: userEnv(env, { KRB5_CONFIG: kcmConf }) });
    const listed = probe<{ name: string; principal: string }[]>(
      u,
      { op: 'list', name: 'KCM:', options: { kcmSocket: kcm.socket } },
      kcmConf,
    );
    expect(listed.ok?.[0]?.name).toBe(`KCM:${u.uid}`);
    expect(listed.ok?.map((c) => c.name)).toContain(`KCM:${u.uid}:second`);
  });

  it('sssd answers unimplemented operations with KRB5_FCC_INTERNAL in the status word: "unsupported"', async () => {
    const conn = new KcmConnection({ socketPath: kcm.socket });
    try {
      const e = await conn.call(KcmOp.RETRIEVE, Buffer.from('0\0')).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(KcmError);
      expect((e as KcmError).code).toBe(KrbCcacheCode.KRB5_FCC_INTERNAL);
      expect(isUnsupportedKcmCode((e as KcmError).code)).toBe(true);
      // and the connection is usable again afterwards
      expect((await conn.call(KcmOp.GET_DEFAULT_CACHE, Buffer.alloc(0))).toString()).toBe('0\0');
    } finally {
      conn.close();
    }
  });

  it('re-opens the connection sssd closed after client_idle_timeout', async () => {
    const conn = new KcmConnection({ socketPath: kcm.socket });
    try {
      expect((await conn.call(KcmOp.GET_DEFAULT_CACHE, Buffer.alloc(0))).toString()).toBe('0\0');
      // sssd checks idle clients periodically: it closed ours after ~15 s here
      const until = Date.now() + 40_000;
      while (conn.isOpen && Date.now() < until) await new Promise((r) => setTimeout(r, 250));
      expect(conn.isOpen).toBe(false);
      expect((await conn.call(KcmOp.GET_DEFAULT_CACHE, Buffer.alloc(0))).toString()).toBe('0\0');
      expect(conn.connections).toBe(2);
    } finally {
      conn.close();
    }
  }, 60_000);

  it('a missing KCM socket is reported as unreachable', () => {
    const r = probe(env.users.frank!, { op: 'read', name: 'KCM:', options: { kcmSocket: join(workDir, 'no-such.sock') } });
    expect(r.error?.kind).toBe('unreachable');
  });
});
