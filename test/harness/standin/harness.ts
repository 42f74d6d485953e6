// Helpers for the chassis integration tests: run a bundle, read its JSON trace, start "caller"
// processes in their own namespaces, install and remove request-key lines.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { isAlive, sleep } from '../common/processes.ts';
import { ensureLocalUser, type LocalUser } from '../common/users.ts';
import type { TraceRecord } from '../../../src/trace.ts';

/** Test users of the chassis tests (uids 2100–2199 are ours). */
export function chassisUsers(): { alice: LocalUser; bob: LocalUser } {
  return { alice: ensureLocalUser('cu-chassis1', 2100), bob: ensureLocalUser('cu-chassis2', 2101) };
}

export interface RunResult {
  status: number;
  stdout: string;
  stderr: string;
}

/** Run a bundle with `node`, as root, with request-key's minimal environment plus `env`. */
export function runBundle(bundle: string, args: string[], env: Record<string, string> = {}): RunResult {
  const r = spawnSync('/usr/bin/node', [bundle, ...args], {
    env: { HOME: '/', PATH: '/sbin:/bin:/usr/sbin:/usr/bin', ...env },
    encoding: 'utf8',
    timeout: 30_000,
    cwd: '/',
  });
  if (r.error) throw r.error;
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

export function readJsonTrace(path: string): TraceRecord[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as TraceRecord);
}

export function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

export function uniqueTag(): string {
  return randomBytes(4).toString('hex');
}

export interface CallerProcess {
  pid: number;
  stop(): Promise<void>;
}

async function waitForComm(child: ChildProcess, comm: string): Promise<number> {
  const pid = child.pid;
  if (pid === undefined) throw new Error('spawn failed');
  const until = Date.now() + 10_000;
  while (Date.now() < until) {
    try {
      if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === comm) return pid;
    } catch {
      /* not yet */
    }
    if (child.exitCode !== null) throw new Error(`caller process exited with ${child.exitCode}`);
    await sleep(20);
  }
  throw new Error(`caller process ${pid} never became ${comm}`);
}

function stopper(child: ChildProcess, pid: number): () => Promise<void> {
  return async () => {
    // only our own child, by pid
    if (child.exitCode === null && isAlive(pid)) child.kill('SIGKILL');
    const until = Date.now() + 5000;
    while (isAlive(pid) && Date.now() < until) await sleep(20);
  };
}

/**
 * A "triggering process" in new mount + net + uts namespaces (unshare(1)), with a tmpfs over
 * `hiddenDir` that holds `ccacheFile` (owned by `owner`) — visible only inside its mount
 * namespace — and KRB5CCNAME=FILE:<ccacheFile> in its environment. It ends as `sleep`, same pid.
 */
export async function startContainerCaller(options: {
  hiddenDir: string;
  ccacheFile: string;
  ccacheContent: string;
  owner: LocalUser;
  hostname: string;
}): Promise<CallerProcess> {
  const script = [
    `mount -t tmpfs -o mode=0755 cifs-upcall-test ${options.hiddenDir}`,
    `printf '%s' "$CONTENT" > ${options.ccacheFile}`,
    `chown ${options.owner.uid}:${options.owner.gid} ${options.ccacheFile}`,
    `chmod 0600 ${options.ccacheFile}`,
    `hostname ${options.hostname}`,
    `exec env -i KRB5CCNAME=FILE:${options.ccacheFile} /bin/sleep 300`,
  ].join(' && ');
  const child = spawn('unshare', ['--mount', '--net', '--uts', '--propagation', 'private', '/bin/sh', '-c', script], {
    env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', CONTENT: options.ccacheContent },
    stdio: 'ignore',
  });
  const pid = await waitForComm(child, 'sleep');
  return { pid, stop: stopper(child, pid) };
}

/** A plain process in our namespaces with the given environment (ends as `sleep`). */
export async function startPlainCaller(env: Record<string, string>): Promise<CallerProcess> {
  const child = spawn('/bin/sleep', ['300'], { env, stdio: 'ignore' });
  const pid = await waitForComm(child, 'sleep');
  return { pid, stop: stopper(child, pid) };
}

/** A pid that existed a moment ago and no longer does. */
export function vanishedPid(): number {
  const r = spawnSync('/bin/sh', ['-c', 'echo $$']);
  return Number(r.stdout.toString().trim());
}

export interface RequestKeyLine {
  path: string;
  remove(): void;
}

/** Install one request-key.d line (removed by the test: remove()). */
export function installRequestKeyLine(tag: string, line: string): RequestKeyLine {
  const path = `/etc/request-key.d/cifs-upcall-test-${tag}.conf`;
  writeFileSync(path, `${line}\n`, { mode: 0o644 });
  return { path, remove: () => rmSync(path, { force: true }) };
}

/**
 * Run a shell snippet in a fresh anonymous session keyring (keyctl session -), optionally as a
 * user (setpriv, no supplementary groups). Keys it requests die with that session.
 */
export function inSessionKeyring(script: string, asUser?: LocalUser): RunResult {
  const argv = ['keyctl', 'session', '-', '/bin/sh', '-c', script];
  const cmd = asUser ? ['setpriv', `--reuid=${asUser.uid}`, `--regid=${asUser.gid}`, '--clear-groups', ...argv] : argv;
  const r = spawnSync(cmd[0] as string, cmd.slice(1), { encoding: 'utf8', timeout: 60_000 });
  if (r.error) throw r.error;
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** The /proc/keys line of the key whose description contains `needle`, as seen by root. */
export function procKeysLine(needle: string): string | undefined {
  return readFileSync('/proc/keys', 'utf8')
    .split('\n')
    .find((l) => l.includes(needle));
}
