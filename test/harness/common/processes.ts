// Daemon management for the test harnesses: start detached with logs in files, record the
// daemon's own PID, stop only that PID (after checking its command line), poll for readiness.
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';

export interface Daemon {
  name: string;
  pid: number;
  /** text that must appear in /proc/<pid>/cmdline for us to signal it */
  marker: string;
  log: string;
}

export function startDaemon(
  name: string,
  command: string,
  args: string[],
  options: { env: NodeJS.ProcessEnv; log: string; marker: string; cwd?: string },
): Daemon {
  const fd = openSync(options.log, 'a');
  try {
    const child = spawn(command, args, {
      env: options.env,
      cwd: options.cwd,
      detached: true,
      stdio: ['ignore', fd, fd],
    });
    if (child.pid === undefined) throw new Error(`${name}: spawn failed`);
    child.unref();
    return { name, pid: child.pid, marker: options.marker, log: options.log };
  } finally {
    closeSync(fd);
  }
}

function cmdline(pid: number): string | null {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'latin1').replace(/\0/g, ' ');
  } catch {
    return null;
  }
}

export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // a zombie counts as gone
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z';
  } catch {
    return false;
  }
}

/** SIGTERM, wait up to `graceMs`, then SIGKILL — only if the PID still runs our command. */
export async function stopDaemon(d: Daemon, graceMs = 5000): Promise<void> {
  const line = cmdline(d.pid);
  if (line === null || !line.includes(d.marker)) return;
  try {
    process.kill(d.pid, 'SIGTERM');
  } catch {
    return;
  }
  const until = Date.now() + graceMs;
  while (Date.now() < until) {
    if (!isAlive(d.pid)) return;
    await sleep(25);
  }
  const again = cmdline(d.pid);
  if (again !== null && again.includes(d.marker)) {
    try {
      process.kill(d.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Poll `check` every 50 ms until it returns true; on timeout throw with the log tail. */
export async function waitFor(
  what: string,
  check: () => boolean | Promise<boolean>,
  options: { timeoutMs?: number; log?: string; daemon?: Daemon } = {},
): Promise<void> {
  const until = Date.now() + (options.timeoutMs ?? 15_000);
  while (Date.now() < until) {
    if (await check()) return;
    if (options.daemon && !isAlive(options.daemon.pid)) break;
    await sleep(50);
  }
  const log = options.log ?? options.daemon?.log;
  const tail = log && existsSync(log) ? readFileSync(log, 'utf8').split('\n').slice(-30).join('\n') : '';
  throw new Error(`timed out waiting for ${what}${tail ? `\n--- ${log} ---\n${tail}` : ''}`);
}

export interface RunResult {
  status: number;
  stdout: string;
  stderr: string;
}

/** Run a command to completion; throw with its output unless it exits 0 (or `allowFail`). */
export function run(
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; input?: string; allowFail?: boolean; timeoutMs?: number; cwd?: string } = {},
): RunResult {
  const r: SpawnSyncReturns<string> = spawnSync(command, args, {
    env: options.env ?? process.env,
    input: options.input,
    encoding: 'utf8',
    timeout: options.timeoutMs ?? 60_000,
    cwd: options.cwd,
  });
  const result = { status: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  if (r.error) throw new Error(`${command}: ${r.error.message}`);
  if (!options.allowFail && result.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} exited ${result.status}\n${result.stdout}\n${result.stderr}`);
  }
  return result;
}

/** True when nothing listens on 127.0.0.1:port for either UDP or TCP. */
export function portIsFree(port: number): boolean {
  const udp = run('ss', ['-Hlun', `sport = :${port}`], { allowFail: true }).stdout.trim();
  const tcp = run('ss', ['-Hltn', `sport = :${port}`], { allowFail: true }).stdout.trim();
  return udp === '' && tcp === '';
}

/** A free port in [from, to), checked for both UDP and TCP. */
export function findFreePort(from: number, to: number): number {
  const span = to - from;
  const start = from + Math.floor(Math.random() * span);
  for (let i = 0; i < span; i++) {
    const port = from + ((start - from + i) % span);
    if (portIsFree(port)) return port;
  }
  throw new Error(`no free port in ${from}..${to}`);
}
