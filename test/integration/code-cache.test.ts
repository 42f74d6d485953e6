// The trained V8 code cache (src/cli/code-cache.ts, the loader in scripts/build.mjs): the build
// trains it on the upcall's paths, the loader takes it only when it is trustworthy (owned by
// the reader or root, not writable by others, in a directory nobody else can write, made for
// this bundle, complete) and V8 accepts it; anything else is ignored, never an error. What the
// loader did is read from the object it hands the bundle, by a preloaded probe at exit.
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, cpSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCodeCacheFile } from '../../src/cli/code-cache-file.ts';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const scratch = mkdtempSync(join(tmpdir(), 'cu-code-cache-'));
const dist = join(scratch, 'dist');
const probe = join(scratch, 'probe.cjs');
const NOBODY = 65534;

beforeAll(() => {
  chmodSync(scratch, 0o755);
  const b = spawnSync(process.execPath, [join(repo, 'scripts', 'build.mjs'), '--outdir', dist], { encoding: 'utf8', timeout: 120_000 });
  if (b.status !== 0) throw new Error(`build failed: ${b.stdout}${b.stderr}`);
  writeFileSync(
    probe,
    "process.on('exit', () => process._rawDebug('code cache: ' + globalThis[Symbol.for('cifs-upcall.loader')].codeCache + " +
      "'\\nloaded: ' + process.moduleLoadList.filter((m) => /^NativeModule (child_process|crypto|cluster|net|dgram)$/.test(m)).join(',')));\n",
  );
}, 150_000);

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A copy of the build to tamper with; the loader's verdict on its cache at one start. */
function copyOfBuild(name: string): string {
  const dir = join(scratch, name);
  cpSync(dist, dir, { recursive: true });
  chmodSync(dir, 0o755);
  return dir;
}

function verdict(dir: string, uid?: number): string {
  const argv = [process.execPath, '-r', probe, join(dir, 'cifs-upcall.cjs'), '--version'];
  const cmd = uid === undefined ? argv : ['setpriv', `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', ...argv];
  const r = spawnSync(cmd[0]!, cmd.slice(1), { encoding: 'utf8', timeout: 30_000 });
  expect(r.stdout).toMatch(/^version: /);
  return /code cache: (.*)/.exec(r.stderr)?.[1] ?? `no verdict: ${r.stderr}`;
}

describe('the trained code cache', () => {
  it('is made by the build from the upcall paths: a and b produce payloads, c reaches gssproxy', () => {
    const file = readCodeCacheFile(join(dist, 'cifs-upcall-bundle.blob'), process.geteuid!());
    expect(file.ok, file.ok ? '' : file.problem).toBe(true);
    if (!file.ok) return;
    expect(file.header.node).toBe(process.version);
    const [a, b, c] = file.header.trainedOn;
    expect(a).toMatch(/^a: FILE cache with a service ticket: payload of \d+ bytes from strategy$/);
    expect(b).toMatch(/^b: TGT only, one TGS exchange: payload of \d+ bytes from strategy$/);
    expect(c).toMatch(/^c: no ticket, gssproxy: failed \(no-credentials\): .*gssproxy: training$/);
    expect(readFileSync(join(dist, 'cifs-upcall.cjs'), 'utf8')).toContain(`const BUNDLE_SHA256 = "${file.header.bundle}"`);
  });

  it('is accepted as built; an ordinary start evaluates neither the training code nor a network or crypto built-in', () => {
    expect(verdict(dist)).toBe('accepted');
    const r = spawnSync(process.execPath, ['-r', probe, join(dist, 'cifs-upcall.cjs'), '--version'], { encoding: 'utf8', timeout: 30_000 });
    expect(/loaded: (.*)/.exec(r.stderr)?.[1]).toBe('');
  });

  it('is ignored when others could have written it, when made for another bundle, or when cut short', () => {
    const groupWritable = copyOfBuild('group-writable');
    chmodSync(join(groupWritable, 'cifs-upcall-bundle.blob'), 0o620);
    expect(verdict(groupWritable)).toBe('none');

    const openDir = copyOfBuild('open-dir');
    chmodSync(openDir, 0o777);
    expect(verdict(openDir)).toBe('none');

    const foreign = copyOfBuild('foreign-owner');
    chownSync(join(foreign, 'cifs-upcall-bundle.blob'), NOBODY, NOBODY);
    expect(verdict(foreign)).toBe('none');

    const otherBundle = copyOfBuild('other-bundle');
    const blob = join(otherBundle, 'cifs-upcall-bundle.blob');
    const text = readFileSync(blob);
    const at = text.indexOf('"bundle":"') + 10;
    text[at] = text[at] === 0x30 ? 0x31 : 0x30;
    writeFileSync(blob, text, { mode: 0o600 });
    expect(verdict(otherBundle)).toBe('none');

    const truncated = copyOfBuild('truncated');
    const whole = readFileSync(join(truncated, 'cifs-upcall-bundle.blob'));
    writeFileSync(join(truncated, 'cifs-upcall-bundle.blob'), whole.subarray(0, whole.length - 100), { mode: 0o600 });
    expect(verdict(truncated)).toBe('none');
  });

  it('is not read by another user from a directory that user does not own: only root or the owner count', () => {
    const dir = copyOfBuild('read-by-nobody');
    chmodSync(join(dir, 'cifs-upcall-bundle.blob'), 0o644);
    // owned by root: trusted by nobody too (root could have written anything there anyway)
    expect(verdict(dir, NOBODY)).toBe('accepted');
  });

  it('--train-code-cache rewrites it (0600) and refuses a user who does not own the directory', () => {
    const dir = copyOfBuild('retrain');
    const r = spawnSync(process.execPath, [join(dir, 'cifs-upcall.cjs'), '--train-code-cache'], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^code cache: \d+ KiB written to .*cifs-upcall-bundle\.blob \(node v\d+/m);
    expect(statSync(join(dir, 'cifs-upcall-bundle.blob')).mode & 0o777).toBe(0o600);
    expect(verdict(dir)).toBe('accepted');
    const refused = spawnSync(
      'setpriv',
      [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', process.execPath, join(dir, 'cifs-upcall.cjs'), '--train-code-cache'],
      {
        encoding: 'utf8',
        timeout: 30_000,
      },
    );
    expect(refused.status).toBe(1);
    expect(refused.stdout).toMatch(/belongs to uid 0; only its owner may write the code cache there/);
  });
});
