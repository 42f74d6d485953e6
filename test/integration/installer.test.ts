// The installer: idempotent, reversible, refuses without root, says what it wrote and what to do
// next, --dry-run changes nothing; its default changes nothing about who can authenticate (no
// impersonating gssproxy service, strategy compat) and impersonation is an explicit opt-in. On
// this machine the request-key path reaches the installed bin (the `user` key type stands in for
// cifs.spnego, whose type only exists when cifs.ko is loaded), and --uninstall restores the
// previous state.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Acceptor } from '../harness/common/acceptor.ts';
import { clearGssproxyCache } from '../harness/realm/realm.ts';

const env = inject('realm');
const repo = resolve(import.meta.dirname, '..', '..');
let dist: string;
let scratch: string;
const apps: ChildProcess[] = [];

function installer(args: string[], options: { uid?: number } = {}): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(dist, 'cifs-upcall-install.mjs'), '--dist', dist, ...args], {
    encoding: 'utf8',
    timeout: 60_000,
    ...(options.uid !== undefined ? { uid: options.uid, gid: 100 } : {}),
  });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'cu-install-'));
  chmodSync(scratch, 0o755); // the not-root case runs the installer as a test user
  dist = join(scratch, 'dist');
  const b = spawnSync(process.execPath, [join(repo, 'scripts', 'build.mjs'), '--outdir', dist], { encoding: 'utf8' });
  if (b.status !== 0) throw new Error(`build failed: ${b.stderr}`);
  copyFileSync(join(repo, 'docs', 'cifs-upcall.8'), join(dist, 'cifs-upcall.8'));
}, 120_000);

afterAll(() => {
  for (const a of apps) a.kill();
  rmSync(scratch, { recursive: true, force: true });
});

describe('cifs-upcall-install in a staging root', () => {
  it('installs the safe default, is idempotent, and uninstalls exactly what it wrote', () => {
    const root = join(scratch, 'root');
    mkdirSync(join(root, 'etc', 'gssproxy'), { recursive: true });
    mkdirSync(join(root, 'etc', 'request-key.d'), { recursive: true });
    writeFileSync(join(root, 'etc', 'request-key.d', 'cifs.spnego.conf'), 'create cifs.spnego * * /usr/sbin/cifs.upcall %k\n');

    const first = installer(['--root', root, '--node', '/usr/bin/node', '--node-options=--max-semi-space-size=1']);
    expect(first.status, first.stderr).toBe(0);
    expect(first.stdout).toMatch(
      /^wrote +\/etc\/request-key.d\/cifs-upcall.conf +\(request-key now runs \/usr\/sbin\/cifs-upcall for cifs.spnego keys/m,
    );
    expect(first.stdout).toMatch(/^skipped +\/etc\/gssproxy\/80-cifs-upcall.conf \(impersonation is opt-in: --gssproxy yes\)$/m);
    expect(first.stdout).toContain('next steps:');
    expect(first.stdout).toContain('cifs-upcall --doctor');
    expect(readFileSync(join(root, 'etc/request-key.d/cifs-upcall.conf'), 'utf8')).toBe(
      'create\tcifs.spnego\tver=0x2;*\t*\t/usr/sbin/cifs-upcall %k\n',
    );
    expect(lstatSync(join(root, 'usr/sbin/cifs-upcall')).isSymbolicLink()).toBe(true);
    expect(readlinkSync(join(root, 'usr/sbin/cifs-upcall'))).toBe('/usr/lib/cifs-upcall/cifs-upcall.mjs');
    const bundle = readFileSync(join(root, 'usr/lib/cifs-upcall/cifs-upcall.mjs'), 'utf8');
    expect(bundle.split('\n')[0]).toBe('#!/usr/bin/node --max-semi-space-size=1');
    expect(existsSync(join(root, 'usr/lib/cifs-upcall/cifs_upcall_native.node'))).toBe(true);
    expect(existsSync(join(root, 'usr/lib/cifs-upcall/cifs-upcall-install.mjs'))).toBe(false);
    // the safe default: no live impersonating service, cifs.upcall's strategy
    expect(existsSync(join(root, 'etc/gssproxy/80-cifs-upcall.conf'))).toBe(false);
    expect(readFileSync(join(root, 'usr/share/cifs-upcall/gssproxy-impersonation.conf'), 'utf8')).toContain('impersonate = true');
    const config = readFileSync(join(root, 'etc/cifs-upcall.conf'), 'utf8');
    expect(config).toMatch(/^strategy = compat$/m);
    expect(readFileSync(join(root, 'etc/logrotate.d/cifs-upcall'), 'utf8')).toContain('/var/log/cifs-upcall.trace');
    expect(existsSync(join(root, 'usr/share/man/man8/cifs-upcall.8'))).toBe(true);

    const second = installer(['--root', root, '--node', '/usr/bin/node', '--node-options=--max-semi-space-size=1']);
    expect(second.status).toBe(0);
    expect(second.stdout).not.toMatch(/^wrote/m);
    expect(second.stdout).toMatch(/^unchanged +\/usr\/sbin\/cifs-upcall/m);

    // opt-in step 1: the impersonating service; a later default run keeps it; --gssproxy no removes it
    const optIn = installer(['--root', root, '--node', '/usr/bin/node', '--node-options=--max-semi-space-size=1', '--gssproxy', 'yes']);
    expect(optIn.status, optIn.stderr).toBe(0);
    expect(optIn.stdout).toMatch(/^wrote +\/etc\/gssproxy\/80-cifs-upcall.conf +\(gssproxy may now impersonate/m);
    expect(optIn.stdout).toContain('systemctl reload gssproxy');
    const dropIn = readFileSync(join(root, 'etc/gssproxy/80-cifs-upcall.conf'), 'utf8');
    expect(dropIn).toContain('socket = /var/lib/gssproxy/cifs-upcall.sock');
    expect(dropIn).toContain('impersonate = true');
    expect(installer(['--root', root, '--node', '/usr/bin/node', '--node-options=--max-semi-space-size=1']).stdout).toMatch(
      /^unchanged \/etc\/gssproxy\/80-cifs-upcall.conf$/m,
    );
    const optOut = installer(['--root', root, '--node', '/usr/bin/node', '--node-options=--max-semi-space-size=1', '--gssproxy', 'no']);
    expect(optOut.stdout).toMatch(/^removed +\/etc\/gssproxy\/80-cifs-upcall.conf/m);
    expect(existsSync(join(root, 'etc/gssproxy/80-cifs-upcall.conf'))).toBe(false);

    // the administrator's config is never overwritten, and kept by a plain uninstall
    writeFileSync(join(root, 'etc/cifs-upcall.conf'), '[global]\nstrategy = compat\n');
    expect(installer(['--root', root]).stdout).toMatch(/unchanged|wrote/);
    expect(readFileSync(join(root, 'etc/cifs-upcall.conf'), 'utf8')).toBe('[global]\nstrategy = compat\n');

    // --dry-run of the uninstall says what it would remove and removes nothing
    const dryUn = installer(['--root', root, '--uninstall', '--dry-run']);
    expect(dryUn.status, dryUn.stderr).toBe(0);
    expect(dryUn.stdout).toMatch(/^would remove \/etc\/request-key.d\/cifs-upcall.conf$/m);
    expect(existsSync(join(root, 'etc/request-key.d/cifs-upcall.conf'))).toBe(true);

    const un = installer(['--root', root, '--uninstall']);
    expect(un.status, un.stderr).toBe(0);
    expect(un.stdout).toContain('request-key hands cifs.spnego keys to cifs.upcall again');
    expect(existsSync(join(root, 'usr/sbin/cifs-upcall'))).toBe(false);
    expect(existsSync(join(root, 'usr/lib/cifs-upcall'))).toBe(false);
    expect(existsSync(join(root, 'etc/request-key.d/cifs-upcall.conf'))).toBe(false);
    expect(existsSync(join(root, 'etc/gssproxy/80-cifs-upcall.conf'))).toBe(false);
    expect(readdirSync(join(root, 'etc/request-key.d'))).toEqual(['cifs.spnego.conf']);
    expect(existsSync(join(root, 'etc/cifs-upcall.conf'))).toBe(true);
    expect(installer(['--root', root, '--uninstall', '--purge']).stdout).toContain('nothing to uninstall');
  });

  it('--dry-run says what it would write and writes nothing; --strategy picks the written strategy', () => {
    const root = join(scratch, 'dry');
    mkdirSync(root);
    const dry = installer(['--root', root, '--dry-run', '--gssproxy', 'yes', '--strategy', 'local-first']);
    expect(dry.status, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/^dry run: nothing is changed$/m);
    expect(dry.stdout).toMatch(/^would write \/etc\/gssproxy\/80-cifs-upcall.conf/m);
    expect(dry.stdout).toMatch(/^would write \/etc\/cifs-upcall.conf +\(strategy local-first\)$/m);
    expect(dry.stdout).toMatch(/^would link \/usr\/sbin\/cifs-upcall -> /m);
    expect(readdirSync(root)).toEqual([]);
    const real = installer(['--root', root, '--strategy', 'local-first']);
    expect(real.status, real.stderr).toBe(0);
    expect(readFileSync(join(root, 'etc/cifs-upcall.conf'), 'utf8')).toMatch(/^strategy = local-first$/m);
    const bad = installer(['--root', root, '--strategy', 'sometimes']);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain('--strategy must be one of compat, local-first');
  });

  it('refuses clearly when not root', () => {
    const r = installer([], { uid: env.users.alice!.uid });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('must run as root');
  });
});

describe('cifs-upcall-install on this machine', () => {
  it('request-key reaches the installed bin; --uninstall restores the previous state', async () => {
    const touched = [
      '/etc/request-key.d/cifs-upcall.conf',
      '/usr/sbin/cifs-upcall',
      '/usr/lib/cifs-upcall',
      '/etc/cifs-upcall.conf',
      '/var/lib/cifs-upcall',
      '/etc/gssproxy/80-cifs-upcall.conf',
      '/etc/logrotate.d/cifs-upcall',
      '/usr/share/cifs-upcall',
    ];
    for (const p of touched) expect(existsSync(p), `${p} exists before the test`).toBe(false);
    const before = readdirSync('/etc/request-key.d').sort();
    const traceFile = join(scratch, 'live.trace');
    const acceptor = new Acceptor(env);
    try {
      // the admin's configuration, written before installing: kept by the installer
      writeFileSync(
        '/etc/cifs-upcall.conf',
        `[global]\nstrategy = local-first\ngssproxy_socket = ${env.gssproxy.socket}\nkrb5_conf = ${env.krb5Conf}\ntrace_file = ${traceFile}\n`,
        { mode: 0o644 },
      );
      const r = installer(['--key-type', 'user', '--gssproxy', 'no']);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toContain('kept      /etc/cifs-upcall.conf');

      // alice, no ticket: the kernel runs request-key, which runs /usr/sbin/cifs-upcall
      const alice = env.users.alice!;
      clearGssproxyCache(env);
      const app = spawn('/bin/sleep', ['60'], { uid: alice.uid, gid: alice.gid, env: {}, stdio: 'ignore' });
      apps.push(app);
      const desc = `ver=0x2;host=fs1.example.test;ip4=127.0.0.1;sec=krb5;uid=0x${alice.uid.toString(16)};creduid=0x${alice.uid.toString(16)};pid=0x${app.pid!.toString(16)};upcall_target=app`;
      // in a fresh session keyring that possesses the key, so `keyctl pipe` may read it back
      const req = spawnSync(
        'keyctl',
        [
          'session',
          '-',
          'sh',
          '-c',
          'id=$(keyctl request2 user "$1" "" @s) || exit 9; keyctl pipe "$id" | od -An -tx1 -v | tr -d " \\n"',
          'sh',
          desc,
        ],
        { encoding: 'utf8', timeout: 60_000 },
      );
      const trace = existsSync(traceFile) ? readFileSync(traceFile, 'utf8') : '(no trace)';
      expect(req.status, `${req.stderr}\n${trace}`).toBe(0);
      // the live upcall's trace went to the configured trace_file, labelled with the key serial
      // every record: ISO-8601 wall-clock time, then the key serial
      expect(trace).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \[key \d+\] .* cifs-upcall .* kernel key \d+/m);
      for (const line of trace.trimEnd().split('\n')) {
        expect(line).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z \[key \d+\] |^ {24}/);
      }
      const payload = Buffer.from(req.stdout.trim(), 'hex');
      const keyLen = payload.readUInt32LE(8);
      const blob = payload.subarray(16 + keyLen, 16 + keyLen + payload.readUInt32LE(12));
      const a = await acceptor.accept(env.keytabs.fs1, blob);
      expect(a.ok, a.error).toBe(true);
      expect(a.initiator).toBe('alice@EXAMPLE.TEST');
      expect(a.key).toBe(payload.subarray(16, 16 + keyLen).toString('hex'));
    } finally {
      acceptor.close();
      const un = installer(['--uninstall', '--purge']);
      // the configuration was the test's (the installer kept it), so the test removes it
      rmSync('/etc/cifs-upcall.conf', { force: true });
      expect(un.status, un.stderr).toBe(0);
    }
    for (const p of touched) expect(existsSync(p), `${p} left behind`).toBe(false);
    // (other tests may add and remove their own lines meanwhile: compare only what was there)
    const after = readdirSync('/etc/request-key.d');
    expect(after).toEqual(expect.arrayContaining(before));
    expect(after).not.toContain('cifs-upcall.conf');
  });
});
