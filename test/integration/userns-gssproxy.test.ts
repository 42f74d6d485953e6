// Who a container's own gssproxy sees (docs/user-namespaces.md, "Who gssproxy and KCM see"): a
// real gssproxy runs as root of a container (its own user and mount namespaces, container ids
// 0–65535 = host 100000–165535) with its own /etc/passwd, where uid 2002 is "alice". A caller in
// the same container as uid 2002 (host 102002) gets a ticket: we connect as host 102002, the
// kernel translates SO_PEERCRED into the daemon's namespace, gssproxy sees uid 2002 and
// impersonates the container's alice (the KDC logs S4U2Self for alice@EXAMPLE.TEST; on the host,
// 2002 is bob). A description naming a host uid the container does not map is refused before any
// connection: the daemon logs no client.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Acceptor } from '../harness/common/acceptor.ts';
import { probedTitle, probeRootUserNamespace, reportProbeSkip } from '../harness/common/host-probes.ts';
import { isAlive, waitFor } from '../harness/common/processes.ts';
import { buildChassisBundles, type ChassisBundles } from '../harness/standin/build.ts';
import { readJsonTrace } from '../harness/standin/harness.ts';
import { splitPayload } from '../harness/common/stock-upcall.ts';
import { CONTAINER_LAUNCHER, startContainer, SUBID_BASE, SUBID_MAP, type ContainerProcess } from '../harness/common/userns.ts';

const env = inject('realm');
const acceptor = new Acceptor(env);
const CONTAINER_UID = 2002;
const HOST_UID = SUBID_BASE + CONTAINER_UID;
/** inside the container */
const SOCKET = '/run/gssproxy-container.sock';

let bundles: ChassisBundles;
let dir: string;
let daemon: ContainerProcess;
let caller: ChildProcess;
let callerPid: number;
/** the same container user, with KRB5CCNAME naming a kernel keyring cache */
let keyringCaller: ChildProcess;
let keyringCallerPid: number;
let gssproxyLog: string;

function log(): string {
  return existsSync(gssproxyLog) ? readFileSync(gssproxyLog, 'utf8') : '';
}

/** Containers need a host that lets root make user namespaces: probed, skipped visibly otherwise. */
const userns = probeRootUserNamespace(CONTAINER_LAUNCHER);

beforeAll(async () => {
  if (!userns.available) return;
  bundles = await buildChassisBundles('userns-gp');
  dir = mkdtempSync(join(env.stateDir, 'userns-gp-'));
  chmodSync(dir, 0o1777); // the container's root (host 100000) writes its log here
  gssproxyLog = join(dir, 'gssproxy.log');
  // what the container's root reads, copied in as that root (host 100000): mode 0600 there
  const keytab = join(dir, 'client.keytab');
  copyFileSync(env.keytabs.client, keytab);
  chmodSync(keytab, 0o644);
  writeFileSync(
    join(dir, 'gssproxy.conf'),
    `[gssproxy]
  debug_level = 2
  worker threads = 2

[service/container-cifs]
  mechs = krb5
  socket = ${SOCKET}
  cred_store = keytab:/run/client.keytab
  cred_store = ccache:FILE:/run/krb5cc_gp_%U
  cred_usage = initiate
  allow_any_uid = yes
  trusted = yes
  impersonate = true
  euid = 0
`,
    { mode: 0o644 },
  );
  // the container's own user database: its uid 2002 is alice (on the host, 2002 is bob)
  writeFileSync(join(dir, 'passwd'), 'root:x:0:0:root:/root:/bin/sh\nalice:x:2002:100:container alice:/:/usr/sbin/nologin\n', {
    mode: 0o644,
  });
  daemon = await startContainer({
    uidMap: SUBID_MAP,
    uid: 0,
    gid: 0,
    tmpfs: ['/run'],
    passwd: join(dir, 'passwd'),
    copy: [`${keytab}=/run/client.keytab`, `${join(dir, 'gssproxy.conf')}=/run/gssproxy.conf`],
    command: ['/bin/sh', '-c', `exec /usr/sbin/gssproxy -i -d -c /run/gssproxy.conf -s /run/gssproxy-default.sock > ${gssproxyLog} 2>&1`],
    environment: { KRB5_CONFIG: env.krb5Conf, KRB5RCACHEDIR: '/run', LANG: 'C' },
  });
  rmSync(keytab, { force: true });
  await waitFor("the container's gssproxy", () => log().includes('Initialization complete'), { timeoutMs: 20_000, log: gssproxyLog });
  // the caller: uid 2002 of the same container (same user and mount namespaces)
  caller = spawn(
    'nsenter',
    [`--target=${daemon.pid}`, '--user', '--mount', `--setuid=${CONTAINER_UID}`, '--setgid=100', '--', '/bin/sleep', '300'],
    {
      stdio: 'ignore',
      env: { PATH: '/usr/bin:/bin' },
    },
  );
  callerPid = caller.pid!;
  keyringCaller = spawn(
    'nsenter',
    [`--target=${daemon.pid}`, '--user', '--mount', `--setuid=${CONTAINER_UID}`, '--setgid=100', '--', '/bin/sleep', '300'],
    {
      stdio: 'ignore',
      env: { PATH: '/usr/bin:/bin', KRB5CCNAME: `KEYRING:persistent:${CONTAINER_UID}` },
    },
  );
  keyringCallerPid = keyringCaller.pid!;
  for (const pid of [callerPid, keyringCallerPid]) {
    await waitFor(
      `caller ${pid} in the container`,
      () => {
        try {
          return (
            readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'sleep' &&
            /^Uid:\s+102002\b/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'))
          );
        } catch {
          return false;
        }
      },
      { timeoutMs: 10_000 },
    );
  }
}, 120_000);

afterAll(async () => {
  acceptor.close();
  for (const pid of [callerPid, keyringCallerPid]) if (pid && isAlive(pid)) process.kill(pid, 'SIGKILL');
  await daemon?.stop();
  bundles?.remove();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function upcall(
  uid: number,
  pid: number,
  tag: string,
  settings = 'strategy = proxy-only',
): { status: number; stderr: string; payload: Buffer; trace: ReturnType<typeof readJsonTrace> } {
  const conf = join(dir, `cifs-upcall-${tag}.conf`);
  writeFileSync(conf, `[global]\n${settings}\ngssproxy_socket = ${SOCKET}\n`, { mode: 0o644 });
  const out = join(dir, `payload-${tag}`);
  const trace = join(dir, `trace-${tag}.jsonl`);
  const id = `0x${uid.toString(16)}`;
  const desc = `ver=0x2;host=${env.hosts.fs1};ip4=127.0.0.1;sec=krb5;uid=${id};creduid=${id};pid=0x${pid.toString(16)};upcall_target=app`;
  const r = spawnSync(
    process.execPath,
    [
      bundles.production,
      '--replay',
      desc,
      '--config',
      conf,
      '-k',
      env.krb5Conf,
      '--payload-out',
      out,
      `--trace=${trace}`,
      '--trace-format=json',
      '--verbose',
    ],
    {
      env: { HOME: '/', PATH: '/sbin:/bin:/usr/sbin:/usr/bin' },
      encoding: 'utf8',
      timeout: 60_000,
    },
  );
  const payload = existsSync(out) ? readFileSync(out) : Buffer.alloc(0);
  return { status: r.status ?? -1, stderr: r.stderr, payload, trace: readJsonTrace(trace) };
}

reportProbeSkip('userns-gssproxy.test.ts', 'a gssproxy inside a container, euid naming', userns);
describe.skipIf(!userns.available)(probedTitle('a gssproxy inside a container, euid naming', userns), () => {
  it("container uid 2002 (host 102002) is impersonated as the container's user 2002, alice", async () => {
    const kdcBefore = readFileSync(env.kdc.log, 'utf8').length;
    const r = upcall(HOST_UID, callerPid, 'mapped');
    expect(r.status, r.stderr).toBe(0);
    const messages = r.trace.map((t) => t.message);
    expect(
      messages.some((m) => m.startsWith(`host ${HOST_UID}:${SUBID_BASE + 100} is ${CONTAINER_UID}:100 in the caller's user namespace`)),
      messages.join('\n'),
    ).toBe(true);
    // the daemon saw the translated id, and impersonated the name its own passwd gives it
    await waitFor("the daemon's log of the client", () => /\(uid = 2002\)/.test(log()), { timeoutMs: 5000, log: gssproxyLog });
    // every client connection shows as "Client [...]" (counted by the refusal row below)
    expect(log().match(/Client \[[^\n]*\(uid = 2002\)/g)?.length ?? 0).toBeGreaterThan(0);
    const kdc = readFileSync(env.kdc.log, 'utf8').slice(kdcBefore);
    expect(kdc).toMatch(/PROTOCOL-TRANSITION s4u-client=alice@EXAMPLE\.TEST/);
    expect(kdc).not.toMatch(/s4u-client=bob@/);
    const msg = splitPayload(r.payload);
    const a = await acceptor.accept(env.keytabs.fs1, msg.blob);
    expect(a.ok, a.error).toBe(true);
    expect(a.initiator).toBe('alice@EXAMPLE.TEST');
    expect(a.key).toBe(msg.sessionKey.toString('hex'));
  });

  it("a host uid the container does not map (alice's host uid 2001) with the container's pid: refused, nothing connects", () => {
    const connections = (log().match(/Client \[/g) ?? []).length;
    const r = upcall(2001, callerPid, 'unmapped');
    expect(r.status, r.stderr).toBe(5);
    expect(r.stderr).toContain('UID 2001 not mapped in this namespace (unsupported)');
    expect(r.stderr).toMatch(new RegExp(`uid 2001 is not mapped in the user namespace of thread ${callerPid}: refusing`));
    expect(r.trace.some((t) => t.area === 'gssproxy' || t.area === 'strategy')).toBe(false);
    expect(r.payload.length).toBe(0);
    expect((log().match(/Client \[/g) ?? []).length).toBe(connections);
  });

  it("uid-name naming is refused for a user-namespaced caller (the daemon's namespace cannot be told from the socket)", () => {
    const r = upcall(HOST_UID, callerPid, 'uid-name', 'strategy = proxy-only\ngssproxy_naming = uid-name');
    expect(r.status, r.stderr).toBe(8);
    expect(r.stderr).toMatch(/gssproxy naming "uid-name" names the user by number/);
    expect(r.payload.length).toBe(0);
  });
});

reportProbeSkip('userns-gssproxy.test.ts', 'a KEYRING cache named by a user-namespaced caller', userns);
describe.skipIf(!userns.available)(probedTitle('a KEYRING cache named by a user-namespaced caller', userns), () => {
  it("is reported unreachable (keyrings are per user namespace), and local-first falls back to the container's gssproxy", async () => {
    const r = upcall(HOST_UID, keyringCallerPid, 'keyring', 'strategy = local-first');
    expect(r.status, r.stderr).toBe(0);
    const messages = r.trace.map((t) => t.message);
    expect(
      messages.some((m) => m.startsWith(`KRB5CCNAME=KEYRING:persistent:${CONTAINER_UID} found in /proc/${keyringCallerPid}/environ`)),
      messages.join('\n'),
    ).toBe(true);
    expect(
      messages.some((m) =>
        m.includes(`credential cache KEYRING:persistent:${CONTAINER_UID} is a kernel keyring of the caller's user namespace`),
      ),
    ).toBe(true);
    const msg = splitPayload(r.payload);
    const a = await acceptor.accept(env.keytabs.fs1, msg.blob);
    expect(a.ok, a.error).toBe(true);
    expect(a.initiator).toBe('alice@EXAMPLE.TEST');
  });
});
