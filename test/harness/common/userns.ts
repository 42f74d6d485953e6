// Containers for the user-namespace tests: a process in its own user and mount namespaces,
// started by test/kernel/guest/userns-container.py (also used by the QEMU proof), and processes of
// a user who made a user namespace without writing a map (`unshare --user`). See
// docs/user-namespaces.md for what the pipeline does with them.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isAlive, run, sleep } from './processes.ts';

const here = dirname(fileURLToPath(import.meta.url));
export const CONTAINER_LAUNCHER = join(here, '..', '..', 'kernel', 'guest', 'userns-container.py');

/** The usual rootless map: container ids 0–65535 are host ids 100000–165535. */
export const SUBID_MAP = '0 100000 65536';
export const SUBID_BASE = 100000;

export interface ContainerProcess {
  /** host pid of the process inside the namespaces */
  pid: number;
  stop(): Promise<void>;
}

export interface ContainerOptions {
  /** uid_map lines joined by "|"; null: no map at all */
  uidMap: string | null;
  gidMap?: string;
  /** ids inside the namespace */
  uid: number;
  gid: number;
  tmpfs?: string[];
  passwd?: string;
  /** host files copied in as the namespace's user, "SRC=DEST" */
  copy?: string[];
  command?: string[];
  environment?: Record<string, string>;
}

/** Start a container process (as root) and wait until it runs its command. */
export async function startContainer(o: ContainerOptions): Promise<ContainerProcess> {
  const args = [CONTAINER_LAUNCHER];
  if (o.uidMap !== null) args.push('--uid-map', o.uidMap, '--gid-map', o.gidMap ?? o.uidMap);
  args.push('--uid', String(o.uid), '--gid', String(o.gid));
  for (const t of o.tmpfs ?? []) args.push('--tmpfs', t);
  if (o.passwd) args.push('--passwd', o.passwd);
  for (const c of o.copy ?? []) args.push('--copy', c);
  args.push('--', ...(o.command ?? ['/bin/sleep', '300']));
  const child = spawn('/usr/bin/python3', args, {
    env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', ...o.environment },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const pid = await announcedPid(child, 10_000);
  return processHandle(child, pid);
}

/** A process of `user` in a user namespace it made itself and wrote no map for. */
export async function startUnmappedProcess(user: { uid: number; gid: number }): Promise<ContainerProcess> {
  const child = spawn(
    'setpriv',
    [`--reuid=${user.uid}`, `--regid=${user.gid}`, '--clear-groups', 'unshare', '--user', '--', '/bin/sleep', '300'],
    { env: { PATH: '/usr/bin:/bin' }, stdio: 'ignore' },
  );
  const pid = child.pid;
  if (pid === undefined) throw new Error('spawn setpriv failed');
  const until = Date.now() + 10_000;
  while (Date.now() < until) {
    try {
      const comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
      if (comm === 'sleep') return processHandle(child, pid);
    } catch {
      /* not yet */
    }
    if (child.exitCode !== null) throw new Error(`unshare --user as uid ${user.uid} exited ${child.exitCode}`);
    await sleep(10);
  }
  throw new Error(`unshare --user as uid ${user.uid} did not start within 10 s`);
}

async function announcedPid(child: ChildProcess, timeoutMs: number): Promise<number> {
  let out = '';
  let err = '';
  child.stderr?.on('data', (b: Buffer) => {
    err += b.toString();
  });
  return await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`container did not start within ${timeoutMs} ms: ${err.trim()}`)), timeoutMs);
    child.stdout?.on('data', (b: Buffer) => {
      out += b.toString();
      const m = /^pid (\d+)$/m.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`container launcher exited ${code}: ${err.trim()}`));
    });
  });
}

function processHandle(child: ChildProcess, pid: number): ContainerProcess {
  return {
    pid,
    async stop() {
      if (isAlive(pid)) process.kill(pid, 'SIGTERM');
      const until = Date.now() + 5000;
      while (isAlive(pid) && Date.now() < until) await sleep(10);
      if (isAlive(pid)) process.kill(pid, 'SIGKILL');
      if (child.exitCode === null && child.pid !== undefined && isAlive(child.pid)) child.kill('SIGKILL');
    },
  };
}

/** A host user (and its primary group) for container ids: host uid/gid in the subid range. */
export function ensureHostUserInRange(name: string, uid: number, gid: number): { name: string; uid: number; gid: number } {
  const group = spawnSync('getent', ['group', String(gid)], { encoding: 'utf8' });
  if (group.status !== 0) run('groupadd', ['-g', String(gid), `${name}-g`], { allowFail: true });
  const entry = spawnSync('getent', ['passwd', name], { encoding: 'utf8' });
  if (entry.status !== 0)
    run('useradd', ['-M', '-N', '-g', String(gid), '-s', '/usr/sbin/nologin', '-u', String(uid), name], { allowFail: true });
  const check = spawnSync('getent', ['passwd', name], { encoding: 'utf8' }).stdout.trim().split(':');
  if (Number(check[2]) !== uid || Number(check[3]) !== gid) {
    throw new Error(`host user ${name} should be ${uid}:${gid}, is ${check[2]}:${check[3]}`);
  }
  return { name, uid, gid };
}

/** The uid `uid` has no host passwd entry (the rootless case); fails when one appeared. */
export function assertNoHostPasswd(uid: number): void {
  const r = spawnSync('getent', ['passwd', String(uid)], { encoding: 'utf8' });
  if (r.status === 0) throw new Error(`uid ${uid} unexpectedly has a host passwd entry: ${r.stdout.trim()}`);
}
