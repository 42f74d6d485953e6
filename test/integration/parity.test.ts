// Drop-in parity with the installed Debian cifs.upcall (its dpkg version is printed and named in
// the test titles): for the same key description and the same user state, both produce a payload
// a SPNEGO acceptor accepts with the same identity, with the same layout — version 2, flags 0, key
// length, one mech OID, mechToken only, no mutual authentication, C's 4 trailing zero bytes; and
// where the stock refuses, ours refuses too. The C program runs on a fake key through the keyutils
// LD_PRELOAD shim (test/harness/common/stock-upcall.ts); ours through --replay. The user-namespace rows
// follow docs/user-namespaces.md; the rows where we differ on purpose say so.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { decodeApReq } from '../../src/krb5/messages/index.ts';
import { decodeNegotiationToken, parseInitialContextToken, unframeKrb5ApReq } from '../../src/spnego/index.ts';
import { Acceptor } from '../harness/common/acceptor.ts';
import { clearGssproxyCache, kinit, type RealmUser } from '../harness/realm/realm.ts';
import { buildChassisBundles, type ChassisBundles } from '../harness/standin/build.ts';
import { vanishedPid } from '../harness/standin/harness.ts';
import {
  allOf,
  probedTitle,
  probeRootUserNamespace,
  probeUnprivilegedUserNamespace,
  reportProbeSkip,
  type ProbeFinding,
} from '../harness/common/host-probes.ts';
import { runStockUpcall, splitPayload, STOCK_FIXED_VERSION, stockPackage, type StockResult } from '../harness/common/stock-upcall.ts';
import {
  assertNoHostPasswd,
  CONTAINER_LAUNCHER,
  ensureHostUserInRange,
  startContainer,
  startUnmappedProcess,
  SUBID_BASE,
  SUBID_MAP,
  type ContainerProcess,
} from '../harness/common/userns.ts';

const env = inject('realm');
const acceptor = new Acceptor(env);
const apps: ChildProcess[] = [];
const containers: ContainerProcess[] = [];
const stock = stockPackage();
process.stderr.write(
  `[parity] comparing against cifs-utils ${stock.version} (/usr/sbin/cifs.upcall)${stock.mapsUserNamespaces ? '' : ', which predates the 2026 security update'}\n`,
);
let bundles: ChassisBundles;
let scratch: string;
/** the shim's output for stock runs inside a container (whose ccache directory is a private tmpfs) */
let shimDir: string;

beforeAll(async () => {
  bundles = await buildChassisBundles('parity');
  scratch = mkdtempSync(join(env.ccacheDir, 'parity-'));
  // cifs.upcall records its instantiate after setuid() to the user: the shim's file must be reachable
  chmodSync(scratch, 0o755);
  // cifs.upcall's behaviour is our "compat" strategy, the default: an empty configuration
  writeFileSync(join(scratch, 'compat.conf'), '[global]\nstrategy = compat\n', { mode: 0o644 });
  shimDir = mkdtempSync('/var/tmp/cifs-upcall-parity-');
  chmodSync(shimDir, 0o755);
}, 120_000);

afterAll(async () => {
  acceptor.close();
  for (const a of apps) a.kill();
  for (const c of containers) await c.stop();
  bundles?.remove();
  rmSync(scratch, { recursive: true, force: true });
  if (shimDir) rmSync(shimDir, { recursive: true, force: true });
});

function appProcess(user: Pick<RealmUser, 'uid' | 'gid'>, environment: Record<string, string>): number {
  const child = spawn('/bin/sleep', ['120'], { uid: user.uid, gid: user.gid, env: environment, stdio: 'ignore' });
  apps.push(child);
  return child.pid!;
}

interface Case {
  uid: number;
  pid: number;
  sec?: 'krb5' | 'mskrb5';
  ip?: string;
  user?: string;
}

function description(c: Case): string {
  const id = `0x${c.uid.toString(16)}`;
  const ip = c.ip ?? 'ip4=127.0.0.1';
  return `ver=0x2;host=fs1.example.test;${ip};sec=${c.sec ?? 'krb5'};uid=${id};creduid=${id};${c.user ? `user=${c.user};` : ''}pid=0x${c.pid.toString(16)};upcall_target=app`;
}

interface OurResult {
  status: number;
  payload: Buffer;
  /** with --verbose: the syslog lines as "<level> [replay] message" */
  stderr: string;
}

/** Ours: the production bundle with --replay; C's options where they have the same meaning. */
function runOurs(desc: string, args: string[]): OurResult {
  const out = join(scratch, `ours-${Date.now()}-${Math.random().toString(36).slice(2)}`);
  const r = spawnSync(
    process.execPath,
    [bundles.production, '--replay', desc, '--payload-out', out, '--verbose', '--config', join(scratch, 'compat.conf'), ...args],
    {
      env: { HOME: '/', PATH: '/sbin:/bin:/usr/sbin:/usr/bin' },
      encoding: 'utf8',
      timeout: 60_000,
    },
  );
  let payload = Buffer.alloc(0);
  try {
    payload = readFileSync(out);
  } catch {
    /* refused before the payload file was written */
  }
  return { status: r.status ?? -1, payload, stderr: r.stderr };
}

function ours(desc: string, args: string[]): Buffer {
  const r = runOurs(desc, args);
  if (r.status !== 0) throw new Error(`ours exited ${r.status}\n${r.stderr}`);
  return r.payload;
}

interface Shape {
  version: number;
  flags: number;
  keyLength: number;
  trailing: number;
  mechTypes: string[];
  onlyMechToken: boolean;
  innerOid: string;
  apOptions: number;
  ticketEtype: number;
}

async function accepted(payload: Buffer): Promise<{ shape: Shape; initiator: string | undefined }> {
  const msg = splitPayload(payload);
  const neg = decodeNegotiationToken(msg.blob);
  if (neg.kind !== 'negTokenInit') throw new Error('not a NegTokenInit');
  const inner = parseInitialContextToken(neg.mechToken!);
  const apReq = decodeApReq(unframeKrb5ApReq(neg.mechToken!));
  const a = await acceptor.accept(env.keytabs.fs1, msg.blob);
  expect(a.ok, a.error).toBe(true);
  expect(a.key).toBe(msg.sessionKey.toString('hex'));
  return {
    initiator: a.initiator,
    shape: {
      version: msg.version,
      flags: msg.flags,
      keyLength: msg.sessionKey.length,
      trailing: msg.trailing,
      mechTypes: neg.mechTypes,
      onlyMechToken: neg.reqFlags === undefined && neg.mechListMIC === undefined,
      innerOid: inner.mechOid,
      apOptions: apReq.apOptions,
      ticketEtype: apReq.ticket.encPart.etype,
    },
  };
}

function runStock(desc: string, options: { stockArgs?: string[]; stockEnv?: NodeJS.ProcessEnv; shimDir?: string } = {}): StockResult {
  return runStockUpcall(desc, {
    args: ['-k', env.krb5Conf, ...(options.stockArgs ?? [])],
    scratchDir: options.shimDir ?? scratch,
    ...(options.stockEnv ? { env: options.stockEnv } : {}),
  });
}

async function compare(
  c: Case,
  options: { ourArgs?: string[]; stockArgs?: string[]; stockEnv?: NodeJS.ProcessEnv; shimDir?: string } = {},
) {
  const desc = description(c);
  const stockRun = runStock(desc, options);
  expect(stockRun.payload, `cifs.upcall produced no payload:\n${stockRun.syslog.join('\n')}`).not.toBeNull();
  const c1 = await accepted(stockRun.payload!);
  const c2 = await accepted(ours(desc, ['-k', env.krb5Conf, ...(options.ourArgs ?? [])]));
  expect(c2.initiator).toBe(c1.initiator);
  expect(c2.shape).toEqual(c1.shape);
  return c1;
}

/** Both refuse: stock exits 1 with `stockLine` in its syslog and no key; ours exits `exit` saying the same. */
function bothRefuse(
  desc: string,
  expected: { stockLine: RegExp; ourExit: number; ourCause: RegExp },
  shim?: string,
): { stock: StockResult; ours: OurResult } {
  const s = runStock(desc, shim ? { shimDir: shim } : {});
  expect(s.payload, s.syslog.join('\n')).toBeNull();
  expect(s.status).not.toBe(0);
  expect(s.syslog.join('\n')).toMatch(expected.stockLine);
  const o = runOurs(desc, ['-k', env.krb5Conf]);
  expect(o.status, o.stderr).toBe(expected.ourExit);
  expect(o.payload.length).toBe(0);
  expect(o.stderr).toMatch(expected.ourCause);
  expect(o.stderr).toMatch(expected.stockLine);
  return { stock: s, ours: o };
}

describe(`parity with cifs.upcall (cifs-utils ${stock.version})`, () => {
  it('own ticket in a FILE cache (KRB5CCNAME from the caller)', async () => {
    const bob = env.users.bob!;
    const cc = `FILE:${env.ccacheDir}/parity_bob`;
    kinit(env, bob, cc);
    const pid = appProcess(bob, { KRB5CCNAME: cc });
    const r = await compare({ uid: bob.uid, pid });
    expect(r.initiator).toBe('bob@EXAMPLE.TEST');
    expect(r.shape).toMatchObject({
      version: 2,
      flags: 0,
      keyLength: 32,
      trailing: 4,
      mechTypes: ['1.2.840.113554.1.2.2'],
      onlyMechToken: true,
      apOptions: 0,
    });
  });

  it('sec=mskrb5: the MS OID in the mech list, the standard OID inside', async () => {
    const bob = env.users.bob!;
    const cc = `FILE:${env.ccacheDir}/parity_bob_ms`;
    kinit(env, bob, cc);
    const r = await compare({ uid: bob.uid, pid: appProcess(bob, { KRB5CCNAME: cc }), sec: 'mskrb5' });
    expect(r.shape.mechTypes).toEqual(['1.2.840.48018.1.2.2']);
    expect(r.shape.innerOid).toBe('1.2.840.113554.1.2.2');
  });

  it("IPv6 description (the kernel's expanded ip6= form)", async () => {
    const bob = env.users.bob!;
    const cc = `FILE:${env.ccacheDir}/parity_bob_v6`;
    kinit(env, bob, cc);
    await compare({
      uid: bob.uid,
      pid: appProcess(bob, { KRB5CCNAME: cc }),
      ip: 'ip6=0000:0000:0000:0000:0000:0000:0000:0001',
    });
  });

  it('no ticket: through gssproxy impersonation (C needs GSS_USE_PROXY in request-key.d, we talk to the socket)', async () => {
    const alice = env.users.alice!;
    clearGssproxyCache(env);
    const pid = appProcess(alice, { KRB5CCNAME: `FILE:${env.ccacheDir}/parity_absent_alice` });
    const r = await compare(
      { uid: alice.uid, pid, user: 'root' },
      {
        ourArgs: ['--gssproxy-socket', env.gssproxy.socket],
        stockEnv: { GSS_USE_PROXY: 'yes', GSSPROXY_SOCKET: env.gssproxy.socket, GSSPROXY_BEHAVIOR: 'REMOTE_ONLY' },
      },
    );
    expect(r.initiator).toBe('alice@EXAMPLE.TEST');
  });

  it("user= keytab fallback for the mount's own session (root, user=CLIENT$)", async () => {
    const r = await compare(
      { uid: 0, pid: appProcess({ uid: 0, gid: 0 }, {}), user: 'CLIENT$' },
      {
        ourArgs: ['-K', env.keytabs.machine],
        stockArgs: ['-K', env.keytabs.machine],
      },
    );
    expect(r.initiator).toBe('CLIENT$@EXAMPLE.TEST');
  });

  it('pid 0: refused by ours; by the stock too since its 2026 update (for every upcall_target)', () => {
    const desc = description({ uid: 0, pid: 0, user: 'CLIENT$' });
    if (stock.mapsUserNamespaces) {
      bothRefuse(desc, {
        stockLine: /map_id\(pid=0, map=uid_map, id=0\): No such file or directory/,
        ourExit: 6,
        ourCause: /pid=0 names no triggering process: refusing/,
      });
    } else {
      // an older stock serves it in the host's namespaces; ours refuses on purpose (README, differences)
      expect(runStock(desc, { stockArgs: ['-K', env.keytabs.machine] }).payload).not.toBeNull();
      expect(runOurs(desc, ['-k', env.krb5Conf, '-K', env.keytabs.machine]).status).toBe(6);
    }
  });
});

describe(`refusals shared with cifs.upcall (cifs-utils ${stock.version})`, () => {
  it("a vanished pid: both refuse, no key (neither runs in the host's namespaces instead)", () => {
    const bob = env.users.bob!;
    const gone = vanishedPid();
    const desc = description({ uid: bob.uid, pid: gone });
    const s = runStock(desc);
    expect(s.payload, s.syslog.join('\n')).toBeNull();
    if (stock.mapsUserNamespaces) expect(s.syslog.join('\n')).toMatch(/No such file or directory/);
    const o = runOurs(desc, ['-k', env.krb5Conf]);
    expect(o.status, o.stderr).toBe(6);
    expect(o.stderr).toMatch(new RegExp(`triggering thread ${gone} no longer exists`));
  });
});

/**
 * User-namespaced callers. Container ids 0–65535 are host ids 100000–165535 (SUBID_MAP); the
 * container's ccache directory (the realm's default_ccache_name directory) is its own tmpfs.
 */
const updatedStock: ProbeFinding = {
  available: stock.mapsUserNamespaces,
  finding: `installed cifs-utils ${stock.version} predates ${STOCK_FIXED_VERSION}, which first maps ids into user namespaces`,
};

/** The host must let root make user namespaces (the containers); some rows also need a plain user to. */
const rootUserns = probeRootUserNamespace(CONTAINER_LAUNCHER);

/** A user-namespace row: needs the updated stock and what the host must offer, skipped visibly otherwise. */
function nsRow(title: string, body: () => Promise<void>, ...more: ProbeFinding[]): void {
  const needs = allOf(updatedStock, rootUserns, ...more);
  reportProbeSkip('parity.test.ts', title, needs);
  it.skipIf(!needs.available)(probedTitle(title, needs), body);
}

describe(`parity in user namespaces (cifs-utils ${stock.version})`, () => {
  const containerUid = 2002;
  const hostUid = SUBID_BASE + containerUid;
  const hostGid = SUBID_BASE + 100;

  /** bob's (or another principal's) TGT, copied into the container as its user. */
  function ticketFile(user: RealmUser, tag: string): string {
    const cc = join(env.ccacheDir, `parity_ns_${tag}`);
    kinit(env, user, `FILE:${cc}`);
    const readable = join(shimDir, `ticket-${tag}`);
    copyFileSync(cc, readable);
    chmodSync(readable, 0o644);
    rmSync(cc, { force: true });
    return readable;
  }

  async function container(options: {
    uidMap: string | null;
    gidMap?: string;
    uid: number;
    gid: number;
    copy?: string[];
    ownCcacheDir?: boolean;
  }): Promise<number> {
    const { ownCcacheDir = true, ...rest } = options;
    const c = await startContainer({ ...rest, tmpfs: ownCcacheDir ? [env.ccacheDir] : [] });
    containers.push(c);
    return c.pid;
  }

  nsRow("a mapped container user: both use the cache at the container uid's default name, same identity", async () => {
    ensureHostUserInRange('cu-ct2002', hostUid, hostGid);
    const bob = env.users.bob!;
    const mine = ticketFile(bob, 'bob');
    // a decoy at the host uid's name: whoever looked there would authenticate as carol
    const decoy = ticketFile(env.users.carol!, 'decoy');
    const pid = await container({
      uidMap: SUBID_MAP,
      uid: containerUid,
      gid: 100,
      copy: [`${mine}=${env.ccacheDir}/krb5cc_${containerUid}`, `${decoy}=${env.ccacheDir}/krb5cc_${hostUid}`],
    });
    const desc = description({ uid: hostUid, pid });
    const r = await compare({ uid: hostUid, pid }, { shimDir });
    expect(r.initiator).toBe('bob@EXAMPLE.TEST');
    const s = runStock(desc, { shimDir });
    expect(s.syslog.join('\n')).toContain(`host ${hostUid}:${hostGid} -> NS ${containerUid}:100`);
    const o = runOurs(desc, ['-k', env.krb5Conf]);
    expect(o.stderr).toContain(`host ${hostUid}:${hostGid} -> NS ${containerUid}:100`);
  });

  nsRow(
    "a uid not mapped in the caller's namespace (a user namespace with no map): both refuse",
    async () => {
      const alice = env.users.alice!;
      const p = await startUnmappedProcess(alice);
      containers.push(p);
      bothRefuse(description({ uid: alice.uid, pid: p.pid }), {
        stockLine: new RegExp(`UID ${alice.uid} not mapped in this namespace \\(unsupported\\)`),
        ourExit: 5,
        ourCause: new RegExp(`uid ${alice.uid} is not mapped in the user namespace of thread ${p.pid}: refusing`),
      });
    },
    probeUnprivilegedUserNamespace(env.users.alice!.uid, env.users.alice!.gid),
  );

  nsRow('a mapped uid whose primary gid is not mapped: both refuse', async () => {
    const alice = env.users.alice!;
    // alice's uid maps to itself; her primary gid (100, users) is outside the gid map
    const pid = await container({ uidMap: `${alice.uid} ${alice.uid} 1`, gidMap: SUBID_MAP, uid: alice.uid, gid: 0, ownCcacheDir: false });
    bothRefuse(description({ uid: alice.uid, pid }), {
      stockLine: new RegExp(`GID ${alice.gid} not mapped in this namespace \\(unsupported\\)`),
      ourExit: 5,
      ourCause: new RegExp(`primary gid ${alice.gid} of uid ${alice.uid} is not mapped in the user namespace of thread ${pid}`),
    });
  });

  nsRow('a mapped container uid with no host passwd entry: stock refuses; ours takes the gid from the thread (on purpose)', async () => {
    const rootlessUid = SUBID_BASE + 2003;
    assertNoHostPasswd(rootlessUid);
    const bob = env.users.bob!;
    const mine = ticketFile(bob, 'rootless');
    const pid = await container({ uidMap: SUBID_MAP, uid: 2003, gid: 100, copy: [`${mine}=${env.ccacheDir}/krb5cc_2003`] });
    const desc = description({ uid: rootlessUid, pid });
    const s = runStock(desc, { shimDir });
    expect(s.payload).toBeNull();
    expect(s.syslog.join('\n')).toContain(`failed to retrieve GID from UID ${rootlessUid}`);
    const o = runOurs(desc, ['-k', env.krb5Conf]);
    expect(o.status, o.stderr).toBe(0);
    expect(o.stderr).toContain(`host ${rootlessUid}:${hostGid} -> NS 2003:100`);
    expect((await accepted(o.payload)).initiator).toBe('bob@EXAMPLE.TEST');
  });
});
