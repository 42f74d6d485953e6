// cifs-upcall --doctor against a real host set-up: the loopback realm (KDC, keytabs, krb5.conf),
// the realm's running gssproxy (an impersonating service on its default socket), a second private
// gssproxy with a per-user service on a socket cifs-upcall does not use, this machine's
// request-key configuration (cifs-utils' line, then ours from the installer) and the installed
// /usr/sbin/cifs-upcall running the doctor itself. Checks the verdicts, the fixes, the exit status
// and that nothing was changed.
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startDaemon, stopDaemon, waitFor, type Daemon } from '../harness/common/processes.ts';
import type { RealmEnv } from '../harness/realm/realm.ts';

const env: RealmEnv = inject('realm');
const repo = resolve(import.meta.dirname, '..', '..');
let scratch: string;
let dist: string;
let perUser: { daemon: Daemon; socket: string; conf: string } | undefined;

interface Check {
  check: string;
  status: 'ok' | 'warn' | 'fail' | 'info';
  message: string;
  fix?: string;
}

function run(cmd: string, args: string[]): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, { encoding: 'utf8', timeout: 60_000, env: { HOME: '/', PATH: '/usr/sbin:/usr/bin:/sbin:/bin' } });
}

function doctor(bin: string[], config: string): { status: number; checks: Check[]; stdout: string } {
  const [cmd, ...pre] = bin;
  const r = run(cmd!, [...pre, '--doctor', '--config', config, '--json']);
  const checks = r.stdout
    .trimEnd()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Check);
  return { status: r.status ?? -1, checks, stdout: r.stdout + r.stderr };
}

const find = (checks: Check[], name: string): Check[] => checks.filter((c) => c.check === name);

function writeConfig(name: string, text: string): string {
  const path = join(scratch, name);
  writeFileSync(path, text, { mode: 0o644 });
  return path;
}

/** Everything the doctor could conceivably touch, to prove it touched nothing. */
function snapshot(paths: string[]): string {
  return paths
    .map((p) => {
      if (!existsSync(p)) return `${p}: absent`;
      const st = statSync(p);
      if (st.isDirectory()) return `${p}: ${readdirSync(p).sort().join(',')} ${st.mtimeMs}`;
      return `${p}: ${st.size} ${st.mtimeMs} ${st.mode}`;
    })
    .join('\n');
}

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'cu-doctor-'));
  chmodSync(scratch, 0o755);
  dist = join(scratch, 'dist');
  const b = spawnSync(process.execPath, [join(repo, 'scripts', 'build.mjs'), '--outdir', dist], { encoding: 'utf8', timeout: 120_000 });
  if (b.status !== 0) throw new Error(`build failed: ${b.stderr}`);
  // a per-user gssproxy recipe (gssproxy.conf(5): euid = <uid>, client_keytab per %U) on its own socket
  const dir = join(scratch, 'gp');
  mkdirSync(dir, { mode: 0o755 });
  const socket = join(dir, 'per-user.sock');
  const conf = join(dir, 'gssproxy.conf');
  writeFileSync(
    conf,
    `[gssproxy]
  debug_level = 1
[service/alice-client-keytab]
  mechs = krb5
  socket = ${socket}
  cred_store = client_keytab:${dir}/%U.keytab
  cred_usage = initiate
  euid = ${env.users.alice!.uid}
`,
    { mode: 0o600 },
  );
  const log = join(dir, 'gssproxy.out');
  const daemon = startDaemon(
    'gssproxy-per-user',
    '/usr/bin/unshare',
    [
      '--mount',
      '--propagation',
      'private',
      '/bin/sh',
      '-c',
      'mount -t tmpfs -o mode=755,size=1m cu-gssproxy-doctor-run /run && exec /usr/sbin/gssproxy -i -d -c "$0" -s "$1"',
      conf,
      join(dir, 'default.sock'),
    ],
    { env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C', KRB5_CONFIG: env.krb5Conf }, log, marker: conf, cwd: dir },
  );
  perUser = { daemon, socket, conf };
  await waitFor(
    'per-user gssproxy',
    () => existsSync(socket) && existsSync(log) && readFileSync(log, 'utf8').includes('Initialization complete'),
    { daemon },
  );
}, 120_000);

afterAll(async () => {
  if (perUser) await stopDaemon(perUser.daemon);
  rmSync(scratch, { recursive: true, force: true });
});

describe('cifs-upcall --doctor', () => {
  it('on a host with the realm: every check in order, per-user services on another socket warned about, nothing changed; exit 1 while cifs.upcall serves the kernel, 0 once ours does', () => {
    const bundle = join(dist, 'cifs-upcall.mjs');
    const config = writeConfig(
      'impersonating.conf',
      `[global]
strategy = local-first
gssproxy_socket = ${env.gssproxy.socket}
krb5_conf = ${env.krb5Conf}
keytab = FILE:${env.keytabs.machine}
`,
    );
    const touched = [
      '/etc/request-key.d',
      '/etc/request-key.conf',
      '/etc/cifs-upcall.conf',
      '/usr/sbin/cifs-upcall',
      '/etc/gssproxy',
      config,
      env.krb5Conf,
      env.keytabs.machine,
      env.gssproxy.socket,
      perUser!.conf,
    ];
    for (const p of ['/usr/sbin/cifs-upcall', '/etc/request-key.d/cifs-upcall.conf'])
      expect(existsSync(p), `${p} exists before the test`).toBe(false);
    const before = snapshot(touched);

    // before installing: the bundle from the build directory, and request-key still picks cifs-utils' line (if installed)
    const pre = doctor([process.execPath, bundle], config);
    expect(snapshot(touched)).toBe(before);
    expect(pre.checks.map((c) => c.check).slice(0, 4)).toEqual(['configuration', 'request-key', 'helper', 'addon']);
    const rk = find(pre.checks, 'request-key')[0]!;
    expect(rk.status).toBe('fail');
    if (existsSync('/etc/request-key.d/cifs.spnego.conf')) {
      expect(rk.message).toMatch(
        /^the kernel runs cifs.upcall, not cifs-upcall: \/etc\/request-key.d\/cifs.spnego.conf:\d+ \("\*" skips \d+ characters/,
      );
    }
    expect(rk.fix).toBeDefined();
    expect(find(pre.checks, 'helper')[0]).toMatchObject({ status: 'fail', message: '/usr/sbin/cifs-upcall does not exist' });
    expect(pre.status).toBe(1);

    const install = run(process.execPath, [join(dist, 'cifs-upcall-install.mjs'), '--dist', dist]);
    expect(install.status, install.stderr).toBe(0);
    const installed = snapshot(touched);
    try {
      const after = doctor(['/usr/sbin/cifs-upcall'], config);
      const line = (name: string): Check => {
        const c = find(after.checks, name);
        expect(c.length, `${name} in\n${after.stdout}`).toBeGreaterThan(0);
        return c[0]!;
      };
      expect(line('configuration')).toMatchObject({ status: 'ok' });
      const rkOurs = line('request-key');
      expect(rkOurs.status).toBe('ok');
      expect(rkOurs.message).toMatch(
        /^the kernel runs \/usr\/sbin\/cifs-upcall for cifs.spnego: \/etc\/request-key.d\/cifs-upcall.conf:1 \("ver=0x2;\*" skips \d+ characters of the description\) wins/,
      );
      if (existsSync('/etc/request-key.d/cifs.spnego.conf'))
        expect(rkOurs.message).toMatch(/skips fewer characters than \/etc\/request-key.d\/cifs.spnego.conf/);
      expect(line('helper').message).toMatch(/this doctor is that program, so it starts/);
      expect(line('addon')).toMatchObject({ status: 'ok' });
      expect(line('addon').message).toContain('/usr/lib/cifs-upcall/cifs_upcall_native.node loads too');
      expect(line('code cache').status).toBe('ok');
      expect(line('krb5.conf')).toMatchObject({ status: 'ok', message: `${env.krb5Conf}: default realm ${env.realm}` });
      expect(line('kdc').status).toBe('ok');
      expect(line('kdc').message).toContain(`KDC 127.0.0.1:${env.kdc.port} answers`);
      expect(line('keytab').status).toBe('ok');
      expect(line('keytab').message).toMatch(/CLIENT\$@EXAMPLE.TEST \(aes/);
      const gp = find(after.checks, 'gssproxy');
      const ours = gp.find((c) => c.status === 'ok')!;
      expect(ours.message).toMatch(
        /\[service\/cifs-client\] \(.*gssproxy.conf\): impersonate yes, trusted yes, allow_any_uid yes, euid 0, keytab .*client.keytab/,
      );
      expect(ours.message).toMatch(/impersonation is on/);
      const warned = gp.find((c) => c.status === 'warn')!;
      expect(warned.message).toContain(
        `per-user service [service/alice-client-keytab] (${perUser!.conf}, euid ${env.users.alice!.uid}) listens on ${perUser!.socket}`,
      );
      expect(warned.fix).toContain(`socket = ${env.gssproxy.socket}`);
      expect(line('gssproxy keytab')).toMatchObject({ status: 'ok' });
      expect(line('gssproxy keytab').message).toMatch(
        /^\[service\/cifs-client\] impersonates with .*client.keytab: host\/client.example.test@EXAMPLE.TEST \(aes/,
      );
      expect(line('forwardable')).toMatchObject({ status: 'ok' });
      expect(['ok', 'warn']).toContain(line('cifs.ko').status);
      expect(after.status, after.stdout).toBe(0);
      // what an administrator reads (kept in the run's output)
      const healthy = run('/usr/sbin/cifs-upcall', ['--doctor', '--config', config]);
      process.stderr.write(`[doctor] a healthy test host (--config ${config}):\n${healthy.stdout}`);
      expect(healthy.status).toBe(0);
      expect(
        healthy.stdout
          .trimEnd()
          .split('\n')
          .filter((l) => /^(ok|OK|WARN|FAIL|INFO)/i.test(l)).length,
      ).toBe(after.checks.length);

      // a strategy that needs gssproxy, on a socket nothing listens on: FAIL with the opt-in step as fix
      const noSocket = writeConfig(
        'no-socket.conf',
        `[global]\nstrategy = proxy-first\ngssproxy_socket = ${join(scratch, 'absent.sock')}\nkrb5_conf = ${env.krb5Conf}\n`,
      );
      const ns = doctor(['/usr/sbin/cifs-upcall'], noSocket);
      const gpFail = find(ns.checks, 'gssproxy').find((c) => c.status === 'fail')!;
      expect(gpFail.message).toContain('it does not exist');
      expect(gpFail.fix).toMatch(/cifs-upcall-install --gssproxy yes/);
      expect(ns.status).toBe(1);
      const missing = run('/usr/sbin/cifs-upcall', ['--doctor', '--config', noSocket]);
      process.stderr.write(`[doctor] the same host, gssproxy socket missing (--config ${noSocket}):\n${missing.stdout}`);
      expect(missing.status).toBe(1);

      // the installed default (compat, our socket absent): impersonation off is fine
      const safe = writeConfig(
        'safe.conf',
        `[global]\nstrategy = compat\ngssproxy_socket = ${join(scratch, 'absent.sock')}\nkrb5_conf = ${env.krb5Conf}\nkeytab = FILE:${env.keytabs.machine}\n`,
      );
      const sd = doctor(['/usr/sbin/cifs-upcall'], safe);
      expect(find(sd.checks, 'gssproxy').find((c) => c.message.includes('impersonation is off (the installed default)'))?.status).toBe(
        'ok',
      );
      expect(find(sd.checks, 'forwardable')).toEqual([]);

      // a broken configuration names its line
      const broken = writeConfig('broken.conf', '[global]\nstrategy = sometimes\n');
      const bd = doctor(['/usr/sbin/cifs-upcall'], broken);
      expect(find(bd.checks, 'configuration')[0]).toMatchObject({ status: 'fail' });
      expect(find(bd.checks, 'configuration')[0]!.message).toContain(`${broken}:2: strategy: expected one of`);
      expect(bd.status).toBe(1);

      // text output: one line per check, the fix on the same line
      const text = run('/usr/sbin/cifs-upcall', ['--doctor', '--config', broken]);
      expect(text.stdout).toMatch(/^FAIL {2}configuration .*:2: strategy: .*; fix: /m);
      expect(text.stdout).toMatch(/^cifs-upcall --doctor: \d+ checks? failed; nothing was changed$/m);
      // five doctor runs later, nothing it could touch has changed
      expect(snapshot(touched)).toBe(installed);
    } finally {
      const un = run(process.execPath, [join(dist, 'cifs-upcall-install.mjs'), '--uninstall', '--purge']);
      expect(un.status, un.stderr).toBe(0);
    }
  }, 120_000);
});
