// Runs the own-ticket sources as a realm user in a child process (the established pattern of
// gssproxy-run-as.ts): the entry krb5-initiator-main.ts is bundled once with esbuild into a
// directory every user can read, with the native addon beside it (KEYRING caches go through
// keyctl in the addon), then started with setpriv (real uid/gid, no groups, no capabilities)
// and a minimal environment — as the upcall runs after its privilege drop.
import { spawn } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { Krb5ChildRequest, Krb5ChildResult } from './krb5-initiator-main.ts';

export type { Krb5ChildRequest, Krb5ChildResult };

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '..', '..');

export interface BundledInitiator {
  path: string;
  dispose(): void;
}

/** Bundle the child entry (about 150 ms); dispose() removes the directory. */
export async function bundleKrb5Initiator(): Promise<BundledInitiator> {
  const dir = mkdtempSync(join(tmpdir(), 'cu-krb5-initiator-'));
  chmodSync(dir, 0o755);
  const path = join(dir, 'krb5-initiator.mjs');
  await build({
    entryPoints: [join(here, 'krb5-initiator-main.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile: path,
    logLevel: 'error',
  });
  chmodSync(path, 0o644);
  const addon = join(dir, 'cifs_upcall_native.node');
  copyFileSync(join(repo, 'native', 'build', 'Release', 'cifs_upcall_native.node'), addon);
  chmodSync(addon, 0o755);
  return { path, dispose: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface Krb5RunResult {
  results: Krb5ChildResult[];
  euid: number;
  /** wall time of the child process (Node start-up included) */
  wallMs: number;
  stderr: string;
}

/**
 * Run the acquisitions of `request` as `user` (as root when uid is 0) with KRB5_CONFIG =
 * `krb5Conf`; the child is killed after `timeoutMs`.
 */
export function runKrb5InitiatorAs(
  bundle: BundledInitiator,
  user: { uid: number; gid: number; name: string },
  request: Omit<Krb5ChildRequest, 'uid' | 'gid' | 'username'>,
  options: { krb5Conf: string; env?: NodeJS.ProcessEnv; timeoutMs?: number },
): Promise<Krb5RunResult> {
  const started = performance.now();
  const full: Krb5ChildRequest = { ...request, uid: user.uid, gid: user.gid, username: user.name };
  const args = [
    `--reuid=${user.uid}`, `--regid=${user.gid}`, '--clear-groups', '--inh-caps=-all', '--',
    process.execPath, bundle.path, JSON.stringify(full),
  ];
  return new Promise((resolvePromise, reject) => {
    const child = spawn('setpriv', args, {
      env: { PATH: '/usr/bin:/bin', LANG: 'C', KRB5_CONFIG: options.krb5Conf, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', (e) => { clearTimeout(timer); reject(e); });
    child.on('close', (code, sig) => {
      clearTimeout(timer);
      const line = stdout.trim().split('\n').pop() ?? '';
      try {
        const parsed = JSON.parse(line) as { euid: number; results: Krb5ChildResult[] };
        resolvePromise({ results: parsed.results, euid: parsed.euid, wallMs: performance.now() - started, stderr });
      } catch {
        reject(new Error(`krb5 initiator child exited ${code ?? sig} without a JSON answer\nstdout: ${stdout}\nstderr: ${stderr}`));
      }
    });
  });
}
