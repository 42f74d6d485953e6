// The two ways cifs-upcall ships, each installed for real and made to run one real upcall against
// the test realm:
//
// * the Debian package (`npm run package`): lintian finds no errors; `dpkg -i` on this machine
//   (nodejs, keyutils and gssproxy are Debian packages here, so its Depends are satisfied without
//   forcing anything); postinst checks that the helper starts and says what to do next; the
//   installed /usr/sbin/cifs-upcall replays an upcall for alice through gssproxy and MIT's acceptor
//   takes the payload; `dpkg -r` removes the request-key line (cifs.upcall serves the kernel
//   again) and keeps the conffile; `dpkg -P` removes /etc/cifs-upcall.conf.
// * the npm package (`npm pack`): installed offline into a temporary prefix (the addon compiled
//   by its install script against this node's headers), `--version` and a `--replay`.
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Acceptor } from '../harness/common/acceptor.ts';
import { clearGssproxyCache, type RealmEnv } from '../harness/realm/realm.ts';
import { readCodeCacheFile } from '../../src/cli/code-cache-file.ts';

const env: RealmEnv = inject('realm');
const repo = resolve(import.meta.dirname, '..', '..');
let scratch: string;
let acceptor: Acceptor;

function sh(
  cmd: string,
  args: string[],
  extra: { env?: NodeJS.ProcessEnv; cwd?: string; timeout?: number } = {},
): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, {
    encoding: 'utf8',
    timeout: extra.timeout ?? 120_000,
    ...(extra.env ? { env: extra.env } : {}),
    ...(extra.cwd ? { cwd: extra.cwd } : {}),
  });
}

/** dpkg, waiting (bounded) while another dpkg or apt holds the lock. */
function dpkg(args: string[]): SpawnSyncReturns<string> {
  const deadline = Date.now() + 300_000;
  for (;;) {
    const r = sh('dpkg', args);
    if (r.status === 0 || !/lock/i.test(r.stderr) || Date.now() > deadline) return r;
    spawnSync('sleep', ['2']);
  }
}

function dpkgStatus(name: string): string {
  return sh('dpkg-query', ['-W', '-f=${Status}', name]).stdout.trim();
}

/** One replay of alice (no ticket: gssproxy impersonates her) through `bin`; the payload checked by MIT's acceptor. */
async function replayAlice(bin: string[], label: string): Promise<void> {
  const alice = env.users.alice!;
  const config = join(scratch, `${label}.conf`);
  writeFileSync(config, `[global]\nstrategy = local-first\ngssproxy_socket = ${env.gssproxy.socket}\nkrb5_conf = ${env.krb5Conf}\n`, {
    mode: 0o644,
  });
  const payloadFile = join(scratch, `${label}.payload`);
  const uid = `0x${alice.uid.toString(16)}`;
  // alice's process (a cron job: no ticket anywhere), whose namespaces the upcall enters
  const app = spawn('/bin/sleep', ['60'], { uid: alice.uid, gid: alice.gid, env: {}, stdio: 'ignore' });
  const desc = `ver=0x2;host=fs1.example.test;ip4=127.0.0.1;sec=krb5;uid=${uid};creduid=${uid};pid=0x${app.pid!.toString(16)};upcall_target=app`;
  clearGssproxyCache(env);
  const [cmd, ...pre] = bin;
  let r: SpawnSyncReturns<string>;
  try {
    r = sh(cmd!, [...pre, '--replay', desc, '--config', config, '-k', env.krb5Conf, '--trace', '--payload-out', payloadFile], {
      env: { HOME: '/', PATH: '/usr/sbin:/usr/bin:/sbin:/bin' },
    });
  } finally {
    app.kill();
  }
  expect(r.status, `${label}: ${r.stderr}`).toBe(0);
  const payload = readFileSync(payloadFile);
  const keyLen = payload.readUInt32LE(8);
  const blob = payload.subarray(16 + keyLen, 16 + keyLen + payload.readUInt32LE(12));
  const a = await acceptor.accept(env.keytabs.fs1, blob);
  expect(a.ok, a.error).toBe(true);
  expect(a.initiator).toBe('alice@EXAMPLE.TEST');
  expect(a.key).toBe(payload.subarray(16, 16 + keyLen).toString('hex'));
}

beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'cu-package-'));
  chmodSync(scratch, 0o755);
  acceptor = new Acceptor(env);
});

afterAll(() => {
  acceptor?.close();
  rmSync(scratch, { recursive: true, force: true });
});

describe('the Debian package', () => {
  let deb: string;

  beforeAll(() => {
    const out = join(scratch, 'pkg');
    const r = sh(process.execPath, [join(repo, 'scripts', 'package.mjs'), '--outdir', out], { cwd: repo, timeout: 180_000 });
    if (r.status !== 0) throw new Error(`npm run package failed: ${r.stdout}${r.stderr}`);
    const debs = readdirSync(out).filter((f) => f.endsWith('.deb'));
    expect(debs).toEqual([`cifs-upcall_${JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')).version}_amd64.deb`]);
    deb = join(out, debs[0]!);
  }, 200_000);

  it('has the control fields, the files and the conffiles it promises', () => {
    const info = sh('dpkg-deb', ['--info', deb]).stdout;
    expect(info).toMatch(/^ Architecture: amd64$/m);
    expect(info).toMatch(/^ Depends: nodejs \(>= 20\), keyutils, gssproxy(, libc6 \(>= [\d.]+\))?(, libstdc\+\+6)?$/m);
    expect(info).toMatch(/^ Suggests: cifs-utils$/m);
    expect(sh('dpkg-deb', ['--field', deb, 'Package']).stdout.trim()).toBe('cifs-upcall');
    const files = sh('dpkg-deb', ['--contents', deb]).stdout;
    for (const f of [
      './usr/sbin/cifs-upcall -> ../lib/cifs-upcall/cifs-upcall.mjs',
      './usr/lib/cifs-upcall/cifs-upcall-bundle.cjs',
      './usr/lib/cifs-upcall/cifs_upcall_native.node',
      './usr/lib/cifs-upcall/cifs-upcall.cjs',
      './usr/share/cifs-upcall/request-key.conf',
      './usr/share/cifs-upcall/gssproxy-impersonation.conf',
      './etc/cifs-upcall.conf',
      './etc/logrotate.d/cifs-upcall',
      './usr/share/man/man8/cifs-upcall.8.gz',
      './usr/share/doc/cifs-upcall/copyright',
    ]) {
      expect(files).toContain(f);
    }
    // the code cache is made by postinst with the installed node, not shipped
    expect(files).not.toContain('cifs-upcall-bundle.blob');
    // the request-key line is installed by postinst, never shipped in /etc (a conffile would outlive dpkg -r)
    expect(files).not.toContain('./etc/request-key.d');
    const control = join(scratch, 'control');
    expect(sh('dpkg-deb', ['--control', deb, control]).status).toBe(0);
    expect(readFileSync(join(control, 'conffiles'), 'utf8')).toBe('/etc/cifs-upcall.conf\n/etc/logrotate.d/cifs-upcall\n');
  });

  it('lintian reports no errors', () => {
    const r = sh('lintian', ['--no-tag-display-limit', deb], { timeout: 300_000 });
    if (r.error) throw new Error(`lintian could not run (scripts/install-deps.sh installs it): ${r.error.message}`);
    expect(r.stdout, r.stdout + r.stderr).not.toMatch(/^E: /m);
    expect(r.status, r.stdout + r.stderr).toBe(0);
  }, 300_000);

  it('installs with dpkg, serves a real upcall, and dpkg -r / -P remove what they must', async () => {
    // the machine must be clean: a left-over install (or the installer test's) would hide bugs
    for (const p of ['/usr/sbin/cifs-upcall', '/etc/request-key.d/cifs-upcall.conf', '/etc/cifs-upcall.conf', '/usr/lib/cifs-upcall']) {
      expect(existsSync(p), `${p} exists before the test`).toBe(false);
    }
    expect(dpkgStatus('cifs-upcall')).not.toMatch(/installed/);
    try {
      const i = dpkg(['-i', deb]);
      expect(i.status, i.stdout + i.stderr).toBe(0);
      expect(i.stdout).toContain('cifs-upcall: /usr/sbin/cifs-upcall starts (version: ');
      expect(i.stdout).toContain('next steps:');
      // postinst trained the code cache with this node: the upcall paths a and b produced payloads
      const blob = '/usr/lib/cifs-upcall/cifs-upcall-bundle.blob';
      const cache = readCodeCacheFile(blob, 0);
      expect(cache.ok, cache.ok ? '' : cache.problem).toBe(true);
      if (cache.ok) {
        expect(cache.header.node).toBe(process.version);
        expect(cache.header.trainedOn.join('\n')).toMatch(/^a: .*: payload of \d+ bytes/m);
        expect(cache.header.trainedOn.join('\n')).toMatch(/^b: .*: payload of \d+ bytes/m);
      }
      expect(statSync(blob).mode & 0o777).toBe(0o600);
      expect(dpkgStatus('cifs-upcall')).toBe('install ok installed');
      expect(readFileSync('/etc/request-key.d/cifs-upcall.conf', 'utf8')).toBe(
        'create\tcifs.spnego\tver=0x2;*\t*\t/usr/sbin/cifs-upcall %k\n',
      );
      // the shipped configuration is valid and the safe default
      const check = sh('/usr/sbin/cifs-upcall', ['--check-config']);
      expect(check.status, check.stderr).toBe(0);
      expect(readFileSync('/etc/cifs-upcall.conf', 'utf8')).toMatch(/^strategy = compat$/m);
      expect(existsSync('/etc/gssproxy/80-cifs-upcall.conf')).toBe(false);

      await replayAlice(['/usr/sbin/cifs-upcall'], 'deb');

      const r = dpkg(['-r', 'cifs-upcall']);
      expect(r.status, r.stdout + r.stderr).toBe(0);
      expect(existsSync('/etc/request-key.d/cifs-upcall.conf')).toBe(false);
      expect(existsSync('/usr/sbin/cifs-upcall')).toBe(false);
      expect(existsSync('/usr/lib/cifs-upcall')).toBe(false);
      expect(existsSync('/etc/cifs-upcall.conf')).toBe(true); // a conffile outlives remove
      expect(dpkgStatus('cifs-upcall')).toBe('deinstall ok config-files');

      const p = dpkg(['-P', 'cifs-upcall']);
      expect(p.status, p.stdout + p.stderr).toBe(0);
      expect(existsSync('/etc/cifs-upcall.conf')).toBe(false);
      expect(existsSync('/etc/logrotate.d/cifs-upcall')).toBe(false);
      expect(dpkgStatus('cifs-upcall')).toBe('');
    } finally {
      if (dpkgStatus('cifs-upcall') !== '') dpkg(['-P', 'cifs-upcall']);
    }
  }, 300_000);
});

describe('the npm package', () => {
  it('npm pack makes a tarball that installs offline into a prefix, builds its addon, and runs an upcall', async () => {
    const packDir = join(scratch, 'npm');
    const prefix = join(scratch, 'prefix');
    const npmEnv = {
      ...process.env,
      HOME: join(scratch, 'home'),
      npm_config_cache: join(scratch, 'npm-cache'),
      // node-gyp compiles against this node's headers (the nodejs package ships them) instead of downloading them
      npm_config_nodedir: '/usr',
      npm_config_update_notifier: 'false',
    };
    mkdirSync(packDir);
    const pack = sh('npm', ['pack', '--pack-destination', packDir], { cwd: repo, env: npmEnv, timeout: 180_000 });
    expect(pack.status, pack.stderr).toBe(0);
    const tgz = join(packDir, pack.stdout.trim().split('\n').at(-1)!);
    const listing = sh('tar', ['-tzf', tgz]).stdout;
    expect(listing).toContain('package/dist/cifs-upcall-bundle.cjs');
    expect(listing).toContain('package/native/src/addon.cc');
    expect(listing).toContain('package/node_modules/node-addon-api/');
    expect(listing).not.toContain('package/dist/cifs_upcall_native.node'); // built at install, for the installing node
    expect(listing).not.toContain('package/src/');

    const install = sh(
      'npm',
      ['install', '-g', '--offline', '--no-audit', '--no-fund', '--allow-scripts=cifs-upcall', '--prefix', prefix, tgz],
      { env: npmEnv, timeout: 300_000 },
    );
    expect(install.status, install.stdout + install.stderr).toBe(0);
    const pkgDir = join(prefix, 'lib', 'node_modules', 'cifs-upcall');
    expect(existsSync(join(pkgDir, 'native', 'build', 'Release', 'cifs_upcall_native.node'))).toBe(true);
    const bin = join(prefix, 'bin', 'cifs-upcall');
    const v = sh(bin, ['--version'], { env: { HOME: '/', PATH: '/usr/sbin:/usr/bin:/sbin:/bin' } });
    expect(v.status, v.stderr).toBe(0);
    expect(v.stdout).toMatch(/^version: \d+\.\d+\.\d+\n$/);
    await replayAlice([bin], 'npm');
  }, 600_000);
});
