// What an operator meets running the production bundle: option values refused before anything
// else (also under --replay), a non-root --replay told to use root, the one-line cause of a failed
// run with a key serial on stderr, a JSON trace on stderr that is never mixed with plain text, the
// first syslog debug line naming the program and its version, and trace_file records with their
// wall-clock time and label, trace_level = failures, and the size bound (trace_max_size).
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { clearGssproxyCache, type RealmEnv, type RealmUser } from '../harness/realm/realm.ts';

const env: RealmEnv = inject('realm');
const repo = resolve(import.meta.dirname, '..', '..');
let scratch: string;
let bundle: string;
const version = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')).version as string;

beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'cu-cli-ops-'));
  chmodSync(scratch, 0o755);
  const dist = join(scratch, 'dist');
  const b = spawnSync(process.execPath, [join(repo, 'scripts', 'build.mjs'), '--outdir', dist], { encoding: 'utf8', timeout: 120_000 });
  if (b.status !== 0) throw new Error(`build failed: ${b.stderr}`);
  bundle = join(dist, 'cifs-upcall.mjs');
}, 120_000);

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function cli(args: string[], options: { uid?: number; gid?: number } = {}): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [bundle, ...args], {
    encoding: 'utf8',
    timeout: 60_000,
    env: { HOME: '/', PATH: '/usr/sbin:/usr/bin:/sbin:/bin' },
    ...options,
  });
}

function description(user: RealmUser, pid: number): string {
  const id = `0x${user.uid.toString(16)}`;
  return `ver=0x2;host=fs1.example.test;ip4=127.0.0.1;sec=krb5;uid=${id};creduid=${id};pid=0x${pid.toString(16)};upcall_target=app`;
}

/** A process of `user` without a ticket, for the upcall to enter; killed by the caller. */
function appOf(user: RealmUser) {
  return spawn('/bin/sleep', ['60'], { uid: user.uid, gid: user.gid, env: {}, stdio: 'ignore' });
}

function writeConfig(name: string, extra: string): string {
  const path = join(scratch, name);
  writeFileSync(path, `[global]\nstrategy = local-first\ngssproxy_socket = ${env.gssproxy.socket}\nkrb5_conf = ${env.krb5Conf}\n${extra}`, {
    mode: 0o644,
  });
  return path;
}

describe('command-line misfires', () => {
  it('a bad option value exits 1 with one message naming the option, before any key or replay', () => {
    const r = cli(['--strategy=foo', '--replay', 'ver=0x2;host=fs1.example.test;sec=krb5;uid=0x0;creduid=0x0;pid=0x1']);
    expect(r.status).toBe(1);
    expect(r.stderr.split('\n')[0]).toBe(
      'cifs-upcall: --strategy: expected one of compat, local-first, local-only, proxy-first, proxy-only, got "foo"',
    );
    // a key serial that does not exist is never touched: the option is refused first
    const k = cli(['--negative-timeout=-1', '999999']);
    expect(k.status).toBe(1);
    expect(k.stderr).toMatch(/^cifs-upcall: --negative-timeout: expected a whole number of seconds from 0 to 86400, got "-1"$/m);
  });

  it('a non-root --replay says it must run as root', () => {
    const alice = env.users.alice!;
    const r = cli(['--replay', description(alice, 1)], { uid: alice.uid, gid: alice.gid });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^cifs-upcall: --replay must run as root/);
  });

  it('a failing run with a key serial prints its one-line cause on stderr', () => {
    // a serial no key has: describing it fails (exit 2), and stderr says why in one line
    const r = cli(['2147483000']);
    expect(r.status).toBe(2);
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^cifs-upcall: .*2147483000/);
  });

  it('--help shows the request-key line the installer writes', () => {
    const r = cli(['--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('  create cifs.spnego ver=0x2;* * /usr/sbin/cifs-upcall %k\n');
  });
});

describe('operations', () => {
  it('--trace-format=json on stderr: every line is a JSON object, even with --verbose and a failure; the first syslog line names program and version', () => {
    const dave = env.users.dave!;
    const app = appOf(dave);
    try {
      const config = writeConfig('json.conf', '');
      clearGssproxyCache(env);
      const r = cli([
        '--replay',
        description(dave, app.pid!),
        '--config',
        config,
        '--trace',
        '--trace-format=json',
        '--verbose',
        '--payload-out',
        '/dev/null',
      ]);
      expect(r.status).toBe(8);
      const lines = r.stderr.trimEnd().split('\n');
      expect(lines.length).toBeGreaterThan(5);
      const records = lines.map((l) => {
        try {
          return JSON.parse(l) as Record<string, unknown>;
        } catch {
          throw new Error(`not JSON on stderr: ${l}`);
        }
      });
      const syslog = records.filter((x) => 'syslog' in x);
      expect(syslog[0]).toEqual({ syslog: 'debug', message: `[replay] cifs-upcall ${version} (node ${process.versions.node})` });
      expect(syslog.some((x) => x['syslog'] === 'err')).toBe(true);
      expect(records.some((x) => x['area'] === 'result' && String(x['message']).startsWith('failed (no-credentials)'))).toBe(true);
    } finally {
      app.kill();
    }
  });

  it('--verbose with a text trace: the first syslog line names program and version', () => {
    const r = cli([
      '--verbose',
      '--replay',
      'ver=0x2;host=fs1.example.test;sec=krb5;uid=0x0;creduid=0x0;pid=0x0',
      '--payload-out',
      '/dev/null',
    ]);
    const first = r.stderr.split('\n').find((l) => l.startsWith('cifs.upcall: <'));
    expect(first).toBe(`cifs.upcall: <debug> [replay] cifs-upcall ${version} (node ${process.versions.node})`);
  });

  it('trace_file: ISO-8601 time and label on every record; trace_level = failures keeps only failed upcalls', () => {
    const traceFile = join(scratch, 'failures.trace');
    const config = writeConfig('failures.conf', `trace_file = ${traceFile}\ntrace_level = failures\n`);
    const alice = env.users.alice!;
    const dave = env.users.dave!;
    const a = appOf(alice);
    const d = appOf(dave);
    try {
      clearGssproxyCache(env);
      const ok = cli(['--replay', description(alice, a.pid!), '--config', config, '--payload-out', '/dev/null']);
      expect(ok.status, ok.stderr).toBe(0);
      expect(existsSync(traceFile) ? readFileSync(traceFile, 'utf8') : '').toBe('');
      const failed = cli(['--replay', description(dave, d.pid!), '--config', config, '--payload-out', '/dev/null']);
      expect(failed.status).toBe(8);
      const text = readFileSync(traceFile, 'utf8');
      const lines = text.trimEnd().split('\n');
      expect(lines.length).toBeGreaterThan(5);
      for (const line of lines) {
        expect(line).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \[replay \d+\] |^ {24}/);
      }
      expect(text).toContain('exit status 8');
      expect(text).not.toContain('alice');
      // wall-clock times are the upcall's: within the last minute, in order
      const times = lines.filter((l) => /^\d{4}-/.test(l)).map((l) => Date.parse(l.slice(0, 24)));
      expect(Date.now() - times[0]!).toBeLessThan(60_000);
      expect([...times].sort((x, y) => x - y)).toEqual(times);
    } finally {
      a.kill();
      d.kill();
    }
  });

  it('trace_file in JSON: time and replay fields; trace_max_size moves a full file to FILE.1 first', () => {
    const traceFile = join(scratch, 'bounded.trace');
    const old = `${'x'.repeat(100)}\n`.repeat(50); // 5050 bytes: over 4K
    writeFileSync(traceFile, old, { mode: 0o600 });
    const config = writeConfig('bounded.conf', `trace_file = ${traceFile}\ntrace_format = json\ntrace_max_size = 4K\n`);
    const dave = env.users.dave!;
    const d = appOf(dave);
    try {
      const r = cli(['--replay', description(dave, d.pid!), '--config', config, '--payload-out', '/dev/null']);
      expect(r.status).toBe(8);
    } finally {
      d.kill();
    }
    expect(readFileSync(`${traceFile}.1`, 'utf8')).toBe(old);
    const records = readFileSync(traceFile, 'utf8')
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(records.length).toBeGreaterThan(5);
    for (const rec of records) {
      expect(rec['time']).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      expect(typeof rec['replay']).toBe('number');
    }
    // the fresh file holds this upcall only (every line above parsed as JSON: none of the old lines)
    expect(statSync(`${traceFile}.1`).size).toBe(old.length);
  });
});
