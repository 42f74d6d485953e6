// Runs the gssproxy source as a realm user in a child process: gssproxy takes the caller's
// identity from SO_PEERCRED (euid at connect), and Node cannot switch uid per request, so each
// "user" is a process of its own — like the real upcall after it dropped privileges. The
// TypeScript entry (gssproxy-client-main.ts) is bundled once with esbuild into a directory the
// users can read, then started with setpriv (real uid/gid, no groups, no capabilities).
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { ChildRequest, ChildResult } from './gssproxy-client-main.ts';

export type { ChildRequest, ChildResult };

const here = dirname(fileURLToPath(import.meta.url));

export interface BundledClient {
  path: string;
  dispose(): void;
}

/** Bundle the child entry (about 100 ms); dispose() removes the directory. */
export async function bundleGssproxyClient(): Promise<BundledClient> {
  const dir = mkdtempSync(join(tmpdir(), 'cu-gp-client-'));
  chmodSync(dir, 0o755);
  const path = join(dir, 'gssproxy-client.mjs');
  await build({
    entryPoints: [join(here, 'gssproxy-client-main.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile: path,
    logLevel: 'error',
  });
  chmodSync(path, 0o644);
  return { path, dispose: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface RunAsResult {
  result: ChildResult;
  /** wall time of the whole child process (Node start-up included) */
  wallMs: number;
  stderr: string;
}

/**
 * Run one acquisition as `user` (uid/gid) — or as root when uid is 0 — and return the child's
 * JSON answer. The child gets a minimal environment and is killed after `timeoutMs`.
 */
export function runGssproxyClientAs(
  bundle: BundledClient,
  user: { uid: number; gid: number },
  request: ChildRequest,
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<RunAsResult> {
  const started = performance.now();
  const args = [
    `--reuid=${user.uid}`, `--regid=${user.gid}`, '--clear-groups', '--inh-caps=-all', '--',
    process.execPath, bundle.path, JSON.stringify(request),
  ];
  return new Promise((resolve, reject) => {
    const child = spawn('setpriv', args, {
      env: { PATH: '/usr/bin:/bin', LANG: 'C', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
    child.on('error', (e) => { clearTimeout(timer); reject(e); });
    child.on('close', (code, sig) => {
      clearTimeout(timer);
      const line = stdout.trim().split('\n').pop() ?? '';
      try {
        resolve({ result: JSON.parse(line) as ChildResult, wallMs: performance.now() - started, stderr });
      } catch {
        reject(new Error(`gssproxy client child exited ${code ?? sig} without a JSON answer\nstdout: ${stdout}\nstderr: ${stderr}`));
      }
    });
  });
}
