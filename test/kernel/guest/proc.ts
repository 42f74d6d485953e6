// Process helpers for the guest orchestrator. Every wait is bounded: a process stuck in the
// kernel (an access waiting for the upcall is unkillable) is reported as timed out and left
// behind instead of hanging the run; the VM's hard timeout is the last resort.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';

export interface ExecOptions {
  env?: NodeJS.ProcessEnv;
  input?: string;
  timeoutMs?: number;
  uid?: number;
  gid?: number;
  cwd?: string;
}

export interface ExecResult {
  command: string;
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  ms: number;
  timedOut: boolean;
}

export class GuestCommandError extends Error {
  constructor(readonly result: ExecResult) {
    const how = result.timedOut ? 'timed out' : result.signal ? `killed by ${result.signal}` : `exited ${result.code}`;
    super(`${result.command} ${how}\n${(result.stdout + result.stderr).trimEnd().slice(-3000)}`);
    this.name = 'GuestCommandError';
  }
}

const BASE_ENV = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C', HOME: '/root' };

/**
 * Run to completion or until the timeout. With `uid`/`gid` the child drops to that identity
 * (libuv clears the supplementary groups first), like `setpriv --reuid --regid --clear-groups`.
 */
export function exec(command: string, args: string[], options: ExecOptions = {}): Promise<ExecResult> {
  const start = performance.now();
  const label = [command, ...args].join(' ');
  return new Promise((resolve) => {
    const child = spawn(command, args, {
      env: options.env ?? BASE_ENV,
      cwd: options.cwd ?? '/',
      uid: options.uid,
      gid: options.gid,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let settled = false;
    const finish = (r: Omit<ExecResult, 'command' | 'ms' | 'stdout' | 'stderr'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ command: label, stdout, stderr, ms: Math.round(performance.now() - start), ...r });
    };
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      finish({ code: null, signal: null, timedOut: true });
    }, options.timeoutMs ?? 60_000);
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (e) => {
      stderr += String(e);
      finish({ code: null, signal: null, timedOut: false });
    });
    child.on('close', (code, signal) => finish({ code, signal, timedOut: false }));
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input ?? '');
  });
}

export async function mustExec(command: string, args: string[], options: ExecOptions = {}): Promise<ExecResult> {
  const r = await exec(command, args, options);
  if (r.code !== 0) throw new GuestCommandError(r);
  return r;
}

/** Start a long-running daemon with stdout/stderr appended to `log`; returns its PID. */
export function startDaemon(command: string, args: string[], log: string, env: NodeJS.ProcessEnv = BASE_ENV): number {
  const fd = openSync(log, 'a');
  try {
    const child = spawn(command, args, { env, cwd: '/', detached: true, stdio: ['ignore', fd, fd] });
    if (child.pid === undefined) throw new Error(`cannot start ${command}`);
    child.unref();
    return child.pid;
  } finally {
    closeSync(fd);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** Poll every 100 ms; on timeout (or when `pid` died) throw with the tail of `log`. */
export async function waitFor(
  what: string,
  check: () => boolean | Promise<boolean>,
  options: { timeoutMs: number; log?: string; pid?: number },
): Promise<void> {
  const until = performance.now() + options.timeoutMs;
  while (performance.now() < until) {
    if (await check()) return;
    if (options.pid !== undefined && !isAlive(options.pid)) break;
    await sleep(100);
  }
  const tail = options.log && existsSync(options.log) ? readFileSync(options.log, 'utf8').split('\n').slice(-30).join('\n') : '';
  throw new Error(`timed out waiting for ${what}${tail ? `\n--- ${options.log} ---\n${tail}` : ''}`);
}

/** True when something accepts a TCP (host, port) or Unix-socket (path) connection. */
export function canConnect(target: { host: string; port: number } | { path: string }, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(target as { host: string; port: number });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}
