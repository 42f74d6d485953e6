// Entering the namespaces of the thread that triggered the upcall (upcall_target=app).
//
// Node is multi-threaded (V8 platform workers, libuv pool), which decides what can be entered and
// on which thread:
//  * every setns here runs on the MAIN thread; namespaces are per thread, so only the main thread
//    moves. Everything after the switch that must see the caller's world therefore runs on the main
//    thread: file reads are synchronous (src/os/caller-fs.ts), sockets are created by the main
//    thread (Node's net/dgram call socket(2) there), and nothing uses the libuv pool for
//    caller-facing work (no async fs, no dns.lookup/getaddrinfo).
//  * mnt: setns(CLONE_NEWNS) fails with EINVAL while the thread shares its fs_struct with the other
//    threads; unshare(CLONE_FS) on the main thread first gives it its own, then setns works.
//  * user and time namespaces are NOT entered: a multi-threaded process cannot (EINVAL / EUSERS).
//    Consequences, accepted: the description's uid/creduid are init-namespace ids
//    (from_kuid_munged(&init_user_ns)), so staying in the init user namespace is exactly what makes
//    setresuid(creduid) name the right user; the caller's own names for it (uid_map/gid_map) are
//    used only to name its caches (src/os/user-namespace.ts, docs/user-namespaces.md). Staying also
//    keeps the request-key authority, which a change of user namespace would drop. The time
//    namespace offsets only CLOCK_MONOTONIC/BOOTTIME, not the realtime clock Kerberos uses.
//  * pid: entered for completeness (cifs.upcall's order); it only affects children, and we spawn none.
//
// Order and rules as cifs.upcall (docs/cifs-upcall-behaviour.md#namespaces): open every /proc/<pid>/ns/<type> read-only
// from the host procfs BEFORE any setns; ENOENT = that type is skipped; a type whose inode equals
// our own is skipped (nothing to do); then setns in the order cgroup, ipc, uts, net, pid, mnt.
import { closeSync, fstatSync, openSync, statSync } from 'node:fs';
import { native } from './native.ts';
import { recordNamespaceEntered } from './upcall-state.ts';

/** CLONE_NEW* flags (include/uapi/linux/sched.h). */
export const CloneFlag = {
  CLONE_FS: 0x00000200,
  CLONE_NEWNS: 0x00020000,
  CLONE_NEWCGROUP: 0x02000000,
  CLONE_NEWUTS: 0x04000000,
  CLONE_NEWIPC: 0x08000000,
  CLONE_NEWUSER: 0x10000000,
  CLONE_NEWPID: 0x20000000,
  CLONE_NEWNET: 0x40000000,
  CLONE_NEWTIME: 0x00000080,
} as const;

export type EnteredNamespaceType = 'cgroup' | 'ipc' | 'uts' | 'net' | 'pid' | 'mnt';
export type StayingNamespaceType = 'user' | 'time';

/** Entry order (docs/cifs-upcall-behaviour.md#namespaces, without time and user). */
export const NAMESPACE_ENTRY_ORDER: ReadonlyArray<{ type: EnteredNamespaceType; flag: number }> = [
  { type: 'cgroup', flag: CloneFlag.CLONE_NEWCGROUP },
  { type: 'ipc', flag: CloneFlag.CLONE_NEWIPC },
  { type: 'uts', flag: CloneFlag.CLONE_NEWUTS },
  { type: 'net', flag: CloneFlag.CLONE_NEWNET },
  { type: 'pid', flag: CloneFlag.CLONE_NEWPID },
  { type: 'mnt', flag: CloneFlag.CLONE_NEWNS },
];

export class NamespaceError extends Error {
  override readonly name = 'NamespaceError';
  constructor(
    message: string,
    readonly code?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface NamespaceDecision {
  type: EnteredNamespaceType;
  /** inode of /proc/self/ns/<type> (ours) */
  ownInode: number | null;
  /** inode of the target's namespace, null when the kernel has no such type (ENOENT) */
  targetInode: number | null;
  action: 'enter' | 'same' | 'absent';
}

export interface OpenedNamespaces {
  pid: number;
  decisions: NamespaceDecision[];
  /** fds of the namespaces to enter, in entry order */
  readonly toEnter: ReadonlyArray<{ type: EnteredNamespaceType; flag: number; fd: number }>;
  close(): void;
}

function ownInode(type: string): number | null {
  try {
    return statSync(`/proc/self/ns/${type}`).ino;
  } catch {
    return null;
  }
}

/**
 * Open the target's namespace files (host procfs, before any setns). ENOENT on one file skips
 * that type; any other error closes everything and throws (C: "unable to switch to process
 * namespace"). A target whose /proc entry does not exist is the caller's problem to detect first.
 */
export function openTargetNamespaces(pid: number): OpenedNamespaces {
  const decisions: NamespaceDecision[] = [];
  const toEnter: Array<{ type: EnteredNamespaceType; flag: number; fd: number }> = [];
  const closeAll = (): void => {
    for (const n of toEnter.splice(0)) {
      try {
        closeSync(n.fd);
      } catch {
        /* already closed */
      }
    }
  };
  try {
    for (const { type, flag } of NAMESPACE_ENTRY_ORDER) {
      const own = ownInode(type);
      let fd: number;
      try {
        fd = openSync(`/proc/${pid}/ns/${type}`, 'r');
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') {
          decisions.push({ type, ownInode: own, targetInode: null, action: 'absent' });
          continue;
        }
        throw new NamespaceError(`unable to open /proc/${pid}/ns/${type}: ${(e as Error).message}`, code, { cause: e });
      }
      const target = fstatSync(fd).ino;
      if (own !== null && target === own) {
        closeSync(fd);
        decisions.push({ type, ownInode: own, targetInode: target, action: 'same' });
        continue;
      }
      toEnter.push({ type, flag, fd });
      decisions.push({ type, ownInode: own, targetInode: target, action: 'enter' });
    }
  } catch (e) {
    closeAll();
    throw e;
  }
  return { pid, decisions, toEnter, close: closeAll };
}

/**
 * setns() the main thread into every opened namespace, in order. Throws NamespaceError naming the
 * type on the first failure (the upcall must then fail: half-entered is not a state to go on in).
 */
export function enterNamespaces(opened: OpenedNamespaces): EnteredNamespaceType[] {
  const addon = native();
  const entered: EnteredNamespaceType[] = [];
  if (opened.toEnter.some((n) => n.type === 'mnt')) {
    try {
      // Give the main thread its own fs_struct (root, cwd, umask); required before setns(mnt).
      addon.unshare(CloneFlag.CLONE_FS);
    } catch (e) {
      throw new NamespaceError(
        `unshare(CLONE_FS) before entering the mount namespace failed: ${(e as Error).message}`,
        (e as NodeJS.ErrnoException).code,
        { cause: e },
      );
    }
  }
  for (const n of opened.toEnter) {
    try {
      addon.setns(n.fd, n.flag);
    } catch (e) {
      throw new NamespaceError(
        `setns into ${n.type} namespace of pid ${opened.pid} failed: ${(e as Error).message}`,
        (e as NodeJS.ErrnoException).code,
        { cause: e },
      );
    }
    recordNamespaceEntered(n.type);
    entered.push(n.type);
  }
  return entered;
}

export interface StayingNamespace {
  type: StayingNamespaceType;
  ownInode: number | null;
  targetInode: number | null;
}

/** The user and time namespaces we do not enter, for the trace (do they differ from ours?). */
export function inspectStayingNamespaces(pid: number): StayingNamespace[] {
  return (['user', 'time'] as const).map((type) => {
    let targetInode: number | null = null;
    try {
      targetInode = statSync(`/proc/${pid}/ns/${type}`).ino;
    } catch {
      /* absent or unreadable: reported as unknown */
    }
    return { type, ownInode: ownInode(type), targetInode };
  });
}
