// The triggering process's user namespace, seen from the host (docs/user-namespaces.md).
//
// The kernel's uid=/creduid= are init-namespace ("host") ids. A process in a container names the
// same user differently: host 102002 is container uid 2002 under the map "0 100000 65536". We stay
// in the init user namespace (a multi-threaded process cannot enter another one, and a helper that
// did would lose the request-key authority the kernel gave it), so every privilege and ownership
// decision keeps the host ids; only the names the caller's world uses for the user
// (default_ccache_name's %{uid}, DIR:/KEYRING:/KCM names, keytab names) take the namespace ids.
//
// Everything here reads the HOST procfs and must run before any setns (user_namespaces(7)):
// /proc/<pid>/uid_map read by a process of the init user namespace shows, per line,
// "<first id inside> <first id in the init namespace> <count>".
import { readFileSync, statSync } from 'node:fs';

export interface IdMapRange {
  inside: number;
  outside: number;
  count: number;
}

export class UserNamespaceError extends Error {
  override readonly name = 'UserNamespaceError';
  constructor(
    message: string,
    /** the line cifs.upcall 7.6 logs for the same refusal (LOG_ERR), when it has one */
    readonly stockLogLine?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Parse a uid_map/gid_map: up to 340 lines of three unsigned 32-bit decimals (user_namespaces(7)). */
export function parseIdMap(text: string, what = 'id map'): IdMapRange[] {
  const ranges: IdMapRange[] = [];
  for (const [index, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (line === '') continue;
    const fields = line.split(/\s+/);
    if (fields.length !== 3 || !fields.every((f) => /^\d{1,10}$/.test(f))) {
      throw new UserNamespaceError(`${what} line ${index + 1} is not "<inside> <outside> <count>": ${JSON.stringify(line.slice(0, 60))}`);
    }
    const [inside, outside, count] = fields.map(Number) as [number, number, number];
    if (inside > 0xffffffff || outside > 0xffffffff || count > 0xffffffff) {
      throw new UserNamespaceError(`${what} line ${index + 1} has a value over 2^32-1`);
    }
    ranges.push({ inside, outside, count });
  }
  return ranges;
}

export type MappedId =
  | { status: 'mapped'; id: number }
  | { status: 'unmapped' }
  /** the host id falls into more than one range (the kernel forbids overlapping ranges; refuse) */
  | { status: 'ambiguous'; ids: number[] };

/** The id inside the namespace for host id `outside`. */
export function mapHostId(ranges: readonly IdMapRange[], outside: number): MappedId {
  const ids: number[] = [];
  for (const r of ranges) {
    if (outside >= r.outside && outside - r.outside < r.count) ids.push(r.inside + (outside - r.outside));
  }
  if (ids.length === 0) return { status: 'unmapped' };
  if (ids.length > 1) return { status: 'ambiguous', ids };
  return { status: 'mapped', id: ids[0] as number };
}

export interface CallerUserNamespace {
  /** inode of the caller's user namespace and of ours */
  callerInode: number;
  ownInode: number;
  foreign: boolean;
  uidMap: IdMapRange[];
  gidMap: IdMapRange[];
}

function nsInode(path: string): number {
  return statSync(path).ino;
}

/**
 * Whether thread `pid` lives in another user namespace than ours, and that namespace's maps, read
 * from the host procfs. Throws UserNamespaceError when the thread is gone or its files unreadable.
 */
export function readCallerUserNamespace(pid: number): CallerUserNamespace {
  const read = (file: string): string => {
    try {
      return readFileSync(`/proc/${pid}/${file}`, 'latin1');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? 'error';
      throw new UserNamespaceError(
        `cannot read /proc/${pid}/${file} (${code}): the triggering thread is gone or unreadable, refusing`,
        `map_id(pid=${pid}, map=${file}, id=?): ${code === 'ENOENT' ? 'No such file or directory' : code}`,
        { cause: e },
      );
    }
  };
  let callerInode: number;
  let ownInode: number;
  try {
    callerInode = nsInode(`/proc/${pid}/ns/user`);
    ownInode = nsInode('/proc/self/ns/user');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'error';
    throw new UserNamespaceError(`cannot inspect the user namespace of thread ${pid} (${code}): refusing`, undefined, { cause: e });
  }
  const uidMap = parseIdMap(read('uid_map'), `/proc/${pid}/uid_map`);
  const gidMap = parseIdMap(read('gid_map'), `/proc/${pid}/gid_map`);
  return { callerInode, ownInode, foreign: callerInode !== ownInode, uidMap, gidMap };
}

export interface ThreadCredentials {
  /** real, effective, saved, filesystem: proc(5) "Uid:" and "Gid:" lines, as the host names them */
  uids: [number, number, number, number];
  gids: [number, number, number, number];
}

/** /proc/<pid>/status's Uid:/Gid: lines, read from the host procfs (host ids). */
export function readThreadCredentials(pid: number): ThreadCredentials | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, 'latin1');
  } catch {
    return null;
  }
  const ids = (label: string): [number, number, number, number] | null => {
    const m = new RegExp(`^${label}:\\s+(\\d+)\\s+(\\d+)\\s+(\\d+)\\s+(\\d+)\\s*$`, 'm').exec(text);
    return m ? [Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4])] : null;
  };
  const uids = ids('Uid');
  const gids = ids('Gid');
  return uids && gids ? { uids, gids } : null;
}
