// A TypeScript entry run as a realm user in a child process: gssproxy takes the caller's identity
// from SO_PEERCRED and caches are opened as their owner, and Node cannot switch uid per request,
// so each "user" is a process of its own — like the real upcall after its privilege drop. The
// entry is bundled once with esbuild into a directory every user can read (with the native addon
// beside it when asked), then started with setpriv (real uid/gid, no groups, no capabilities) and
// a minimal environment. The child prints one JSON line as its answer.
import { spawn } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '..', '..', '..');

export interface BundledChild {
  path: string;
  dispose(): void;
}

/** Bundle the entry module `entryFile` (an absolute path) as <name>.mjs (100–150 ms); dispose() removes the directory. */
export async function bundleChildEntry(entryFile: string, options: { withAddon: boolean }): Promise<BundledChild> {
  const entry = basename(entryFile, '.ts');
  const dir = mkdtempSync(join(tmpdir(), `cu-${entry}-`));
  chmodSync(dir, 0o755);
  const path = join(dir, `${entry}.mjs`);
  await build({
    entryPoints: [entryFile],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile: path,
    logLevel: 'error',
  });
  chmodSync(path, 0o644);
  if (options.withAddon) {
    const addon = join(dir, 'cifs_upcall_native.node');
    copyFileSync(join(repo, 'native', 'build', 'Release', 'cifs_upcall_native.node'), addon);
    chmodSync(addon, 0o755);
  }
  return { path, dispose: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface ChildAnswer<T> {
  answer: T;
  /** wall time of the whole child process (Node start-up included) */
  wallMs: number;
  stderr: string;
}

/**
 * Run `bundle` with `request` (as JSON argument) as `user` — or as root when uid is 0 — and
 * return its JSON answer (the last stdout line). Killed after `timeoutMs`.
 */
export function runChildAs<T>(
  bundle: BundledChild,
  user: { uid: number; gid: number },
  request: unknown,
  options: { env: NodeJS.ProcessEnv; timeoutMs: number; what: string },
): Promise<ChildAnswer<T>> {
  const started = performance.now();
  const args = [
    `--reuid=${user.uid}`,
    `--regid=${user.gid}`,
    '--clear-groups',
    '--inh-caps=-all',
    '--',
    process.execPath,
    bundle.path,
    JSON.stringify(request),
  ];
  return new Promise((resolvePromise, reject) => {
    const child = spawn('setpriv', args, {
      env: { PATH: '/usr/bin:/bin', LANG: 'C', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, sig) => {
      clearTimeout(timer);
      const line = stdout.trim().split('\n').pop() ?? '';
      try {
        resolvePromise({ answer: JSON.parse(line) as T, wallMs: performance.now() - started, stderr });
      } catch {
        reject(new Error(`${options.what} child exited ${code ?? sig} without a JSON answer\nstdout: ${stdout}\nstderr: ${stderr}`));
      }
    });
  });
}
