// Small synchronous process helpers for the host side of the kernel test (build steps only;
// the VM itself is run asynchronously by vm.ts).
import { spawnSync } from 'node:child_process';

export class CommandError extends Error {
  constructor(
    readonly command: string,
    readonly status: number | null,
    readonly output: string,
  ) {
    super(`${command} failed (status ${status ?? 'signal'})${output ? `:\n${output.trimEnd()}` : ''}`);
    this.name = 'CommandError';
  }
}

export interface RunOptions {
  cwd?: string;
  input?: string | Buffer;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
  allowFail?: boolean;
}

export interface RunOutput {
  status: number;
  stdout: string;
  stderr: string;
}

export function run(command: string, args: string[], options: RunOptions = {}): RunOutput {
  const r = spawnSync(command, args, {
    cwd: options.cwd,
    input: options.input,
    env: options.env ?? process.env,
    timeout: options.timeoutMs ?? 300_000,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.error) throw new CommandError(`${command} ${args.join(' ')}`, null, r.error.message);
  const out = { status: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  if (!options.allowFail && out.status !== 0) {
    throw new CommandError(`${command} ${args.join(' ')}`, r.status, `${out.stdout}${out.stderr}`.slice(-4000));
  }
  return out;
}

/** Run and return stdout as bytes (decompressors). Non-zero status is returned, not thrown. */
export function runBinary(command: string, args: string[], input: Buffer, timeoutMs = 120_000): { status: number; stdout: Buffer } {
  const r = spawnSync(command, args, { input, timeout: timeoutMs, maxBuffer: 512 * 1024 * 1024 });
  if (r.error) throw new CommandError(`${command} ${args.join(' ')}`, null, r.error.message);
  return { status: r.status ?? -1, stdout: r.stdout };
}

/** Milliseconds since `start` (from performance.now()), rounded. */
export function since(start: number): number {
  return Math.round(performance.now() - start);
}
