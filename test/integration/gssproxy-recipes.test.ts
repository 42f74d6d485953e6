// The three gssproxy recipes of cifs-upcall(8) (GSSPROXY RECIPES), taken from the man page as
// written, on one socket the way an administrator would stack them (per-user sections first, the
// general impersonating one last), served by a real gssproxy, each driven by a real upcall
// (--replay of the production bundle) and each payload accepted by MIT's acceptor:
//   per-user client keytab  alice, uid-specific section: her own key from her client keytab
//                            (an AS exchange for alice, no impersonation)
//   krb5_principal          local dave (no principal of his own) is bob in the directory:
//                            S4U2Self for bob with the host keytab
//   impersonate every user  bob: S4U2Self + S4U2Proxy (the installer's drop-in, same text)
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { gssproxyDropIn } from '../../src/install/installer.ts';
import { Acceptor } from '../harness/common/acceptor.ts';
import { startDaemon, stopDaemon, waitFor, type Daemon } from '../harness/common/processes.ts';
import { logMark, logSince, type RealmEnv, type RealmUser } from '../harness/realm/realm.ts';

const env: RealmEnv = inject('realm');
const repo = resolve(import.meta.dirname, '..', '..');
let scratch: string;
let bundle: string;
let gp: Daemon | undefined;
let socket: string;
let acceptor: Acceptor;

/** The man page's recipe blocks (after `.\" gssproxy recipe: NAME`), unescaped. */
function recipes(): Map<string, string> {
  const lines = readFileSync(join(repo, 'docs', 'cifs-upcall.8'), 'utf8').split('\n');
  const out = new Map<string, string>();
  for (let i = 0; i < lines.length; i++) {
    const m = /^\.\\" gssproxy recipe: (.*)$/.exec(lines[i]!);
    if (!m) continue;
    while (lines[i] !== '.nf') i++;
    const start = i + 1;
    while (lines[i + 1] !== '.fi') i++;
    out.set(
      m[1]!,
      lines
        .slice(start, i + 1)
        .join('\n')
        .replace(/\\-/g, '-') + '\n',
    );
  }
  return out;
}

function run(cmd: string, args: string[], input?: string): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, { encoding: 'utf8', timeout: 60_000, ...(input !== undefined ? { input } : {}) });
}

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'cu-recipes-'));
  chmodSync(scratch, 0o755);
  const dist = join(scratch, 'dist');
  const b = spawnSync(process.execPath, [join(repo, 'scripts', 'build.mjs'), '--outdir', dist], { encoding: 'utf8', timeout: 120_000 });
  if (b.status !== 0) throw new Error(`build failed: ${b.stderr}`);
  bundle = join(dist, 'cifs-upcall.mjs');
  acceptor = new Acceptor(env);

  const gpDir = join(scratch, 'gp');
  const clients = join(gpDir, 'clients');
  mkdirSync(join(clients, 'cifs-upcall'), { recursive: true, mode: 0o700 });
  chmodSync(gpDir, 0o755);
  socket = join(gpDir, 'cifs-upcall.sock');
  // alice's client keytab, made from her password (kvno 1, the realm's normal salt)
  const alice = env.users.alice!;
  const keytab = join(clients, `${alice.uid}.keytab`);
  const kt = run(
    '/usr/bin/ktutil',
    [],
    `addent -password -p alice@${env.realm} -k 1 -e aes256-cts-hmac-sha1-96\n${alice.password}\nwkt ${keytab}\nquit\n`,
  );
  if (!existsSync(keytab)) throw new Error(`ktutil: ${kt.stdout}${kt.stderr}`);
  chmodSync(keytab, 0o600);

  const r = recipes();
  const text = [r.get('per-user client keytab'), r.get('krb5_principal with impersonation'), r.get('impersonate every user')]
    .join('\n')
    .replaceAll('/var/lib/gssproxy/cifs-upcall.sock', socket)
    .replaceAll('/var/lib/gssproxy/clients/', `${clients}/`)
    .replaceAll('/etc/krb5.keytab', env.keytabs.client)
    .replace('euid = 1001', `euid = ${alice.uid}`)
    .replace('euid = 1002', `euid = ${env.users.dave!.uid}`)
    .replace('aduser@EXAMPLE.COM', `bob@${env.realm}`);
  const conf = join(gpDir, 'gssproxy.conf');
  writeFileSync(conf, `[gssproxy]\n  debug_level = 2\n\n${text}`, { mode: 0o600 });
  const log = join(gpDir, 'gssproxy.out');
  gp = startDaemon(
    'gssproxy-recipes',
    '/usr/bin/unshare',
    [
      '--mount',
      '--propagation',
      'private',
      '/bin/sh',
      '-c',
      'mount -t tmpfs -o mode=755,size=1m cu-gssproxy-recipes-run /run && exec /usr/sbin/gssproxy -i -d -c "$0" -s "$1"',
      conf,
      join(gpDir, 'default.sock'),
    ],
    {
      env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C', KRB5_CONFIG: env.krb5Conf, KRB5RCACHEDIR: env.rcacheDir },
      log,
      marker: conf,
      cwd: gpDir,
    },
  );
  await waitFor(
    'recipes gssproxy',
    () => existsSync(socket) && existsSync(log) && readFileSync(log, 'utf8').includes('Initialization complete'),
    { daemon: gp },
  );
}, 180_000);

afterAll(async () => {
  if (gp) await stopDaemon(gp);
  acceptor?.close();
  rmSync(scratch, { recursive: true, force: true });
});

async function upcallAs(user: RealmUser): Promise<{ initiator: string | undefined; kdcLog: string; trace: string }> {
  const config = join(scratch, 'cifs-upcall.conf');
  writeFileSync(config, `[global]\nstrategy = proxy-only\ngssproxy_socket = ${socket}\nkrb5_conf = ${env.krb5Conf}\n`, { mode: 0o644 });
  const app = spawn('/bin/sleep', ['60'], { uid: user.uid, gid: user.gid, env: {}, stdio: 'ignore' });
  const id = `0x${user.uid.toString(16)}`;
  const desc = `ver=0x2;host=fs1.example.test;ip4=127.0.0.1;sec=krb5;uid=${id};creduid=${id};pid=0x${app.pid!.toString(16)};upcall_target=app`;
  const payloadFile = join(scratch, `payload-${user.name}`);
  const mark = logMark(env.kdc.log);
  let r: SpawnSyncReturns<string>;
  try {
    r = spawnSync(process.execPath, [bundle, '--replay', desc, '--config', config, '--trace', '--payload-out', payloadFile], {
      encoding: 'utf8',
      timeout: 60_000,
      env: { HOME: '/', PATH: '/usr/sbin:/usr/bin:/sbin:/bin' },
    });
  } finally {
    app.kill();
  }
  expect(r.status, r.stderr).toBe(0);
  const payload = readFileSync(payloadFile);
  const keyLen = payload.readUInt32LE(8);
  const blob = payload.subarray(16 + keyLen, 16 + keyLen + payload.readUInt32LE(12));
  const a = await acceptor.accept(env.keytabs.fs1, blob);
  expect(a.ok, a.error).toBe(true);
  expect(a.key).toBe(payload.subarray(16, 16 + keyLen).toString('hex'));
  return { initiator: a.initiator, kdcLog: logSince(env.kdc.log, mark), trace: r.stderr };
}

describe('gssproxy recipes of cifs-upcall(8), stacked on one socket', () => {
  it('the general recipe is what cifs-upcall-install --gssproxy yes writes', () => {
    const section = (text: string) =>
      text
        .split('\n')
        .filter((l) => l !== '' && !l.startsWith('#'))
        .join('\n');
    expect(section(recipes().get('impersonate every user')!)).toBe(section(gssproxyDropIn()));
  });

  it('per-user client keytab: alice gets her own ticket (AS with her key, no impersonation)', async () => {
    const r = await upcallAs(env.users.alice!);
    expect(r.initiator).toBe(`alice@${env.realm}`);
    expect(r.kdcLog).toMatch(new RegExp(`AS_REQ .*ISSUE: .*alice@${env.realm} for krbtgt/`));
    expect(r.kdcLog).not.toContain('PROTOCOL-TRANSITION');
  });

  it('krb5_principal with impersonation: local dave authenticates as bob', async () => {
    const r = await upcallAs(env.users.dave!);
    expect(r.initiator).toBe(`bob@${env.realm}`);
    expect(r.kdcLog).toContain(`PROTOCOL-TRANSITION s4u-client=bob@${env.realm}`);
  });

  it('impersonate every user: bob, who has no section of his own, is impersonated', async () => {
    const r = await upcallAs(env.users.bob!);
    expect(r.initiator).toBe(`bob@${env.realm}`);
    expect(r.kdcLog).toContain(`PROTOCOL-TRANSITION s4u-client=bob@${env.realm}`);
    expect(r.kdcLog).toContain(`CONSTRAINED-DELEGATION s4u-client=bob@${env.realm}`);
  });
});
