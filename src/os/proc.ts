// Reading /proc/<pid>/stat and /proc/<pid>/environ of the triggering thread, from the HOST procfs:
// these are called before any setns (after entering a mount namespace /proc may be the
// container's, where the init-namespace pid names another process or none;
// docs/cifs-upcall-behaviour.md#environment-read-in-the-wrong-procfs).
//
// /proc/<pid>/stat: "<pid> (<comm>) <state> <ppid> … " — comm may contain spaces and parentheses,
// so fields are counted after the LAST ')'. Field numbers below are proc(5)'s (1-based):
// 3 state, 4 ppid, 9 flags, 22 starttime (clock ticks since boot).
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';

/** PF_KTHREAD (include/linux/sched.h): the task is a kernel thread. */
const PF_KTHREAD = 0x00200000;

export interface ProcessStat {
  pid: number;
  comm: string;
  /** R, S, D, Z, T, … */
  state: string;
  ppid: number;
  flags: number;
  /** field 22: start time after boot, in clock ticks */
  startTime: bigint;
}

export function parseProcessStat(text: string): ProcessStat {
  const open = text.indexOf(' (');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) throw new Error(`malformed /proc stat line: ${JSON.stringify(text.slice(0, 80))}`);
  const rest = text
    .slice(close + 2)
    .trim()
    .split(' ');
  // rest[0] is field 3
  const field = (n: number): string => {
    const v = rest[n - 3];
    if (v === undefined) throw new Error(`/proc stat line has no field ${n}`);
    return v;
  };
  return {
    pid: Number(text.slice(0, open)),
    comm: text.slice(open + 2, close),
    state: field(3),
    ppid: Number(field(4)),
    flags: Number(field(9)),
    startTime: BigInt(field(22)),
  };
}

/** The stat of a process or thread id, or null when it does not exist (ENOENT/ESRCH). */
export function readProcessStat(pid: number): ProcessStat | null {
  try {
    return parseProcessStat(readFileSync(`/proc/${pid}/stat`, 'latin1'));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ESRCH') return null;
    throw e;
  }
}

export function isKernelThread(stat: ProcessStat): boolean {
  return (stat.flags & PF_KTHREAD) !== 0;
}

export interface ReferenceStartTime {
  startTime: bigint;
  /** which process's start time, in words, for the trace */
  source: string;
}

/**
 * The moment before which the triggering thread must have existed (pid-reuse defence): the kernel
 * created the key before it started request-key, so a "triggering" thread that started later is
 * a different one that got a recycled id.
 *
 * request-key is spawned by a kernel worker and exec()s the handler, so the handler IS the
 * request-key process (measured here: ppid = a kworker), and its own start time is request-key's.
 * When a wrapper forks us instead, the parent (a user-space process) is the request-key process.
 * In replay mode there is no request: our own start time.
 */
export function referenceStartTime(replay: boolean): ReferenceStartTime {
  const own = readProcessStat(process.pid);
  if (!own) throw new Error('cannot read our own /proc/<pid>/stat');
  if (replay) return { startTime: own.startTime, source: `own start (replay, pid ${own.pid})` };
  const parent = own.ppid > 1 ? readProcessStat(own.ppid) : null;
  if (!parent || isKernelThread(parent)) {
    return {
      startTime: own.startTime,
      source: `own start (pid ${own.pid}; request-key exec'd us, parent ${parent ? `is kernel thread ${parent.comm}` : 'unknown'})`,
    };
  }
  return { startTime: parent.startTime, source: `parent start (pid ${parent.pid}, ${parent.comm})` };
}

/** C's limit (docs/cifs-upcall-behaviour.md#environment-probing): the environment must be smaller than 128 KiB. */
export const MAX_ENVIRON_BYTES = 128 * 1024;

export type EnvironProbe =
  | { status: 'found'; value: string; environBytes: number }
  | { status: 'absent'; environBytes: number }
  | { status: 'too-large'; environBytes: number }
  | { status: 'unreadable'; code: string };

/**
 * Read one variable from /proc/<pid>/environ: NUL-separated entries, the FIRST entry that begins
 * with `NAME=` and has a non-empty value wins; an environment of 128 KiB or more is ignored.
 */
export function probeEnvironVariable(pid: number, name: string): EnvironProbe {
  let fd: number;
  try {
    fd = openSync(`/proc/${pid}/environ`, 'r');
  } catch (e) {
    return { status: 'unreadable', code: (e as NodeJS.ErrnoException).code ?? String(e) };
  }
  const buf = Buffer.alloc(MAX_ENVIRON_BYTES);
  let length = 0;
  try {
    for (;;) {
      const n = readSync(fd, buf, length, buf.length - length, null);
      if (n === 0) break;
      length += n;
      if (length === buf.length) return { status: 'too-large', environBytes: length };
    }
  } catch (e) {
    return { status: 'unreadable', code: (e as NodeJS.ErrnoException).code ?? String(e) };
  } finally {
    closeSync(fd);
  }
  const value = findEnvironValue(buf.subarray(0, length), name);
  return value === null ? { status: 'absent', environBytes: length } : { status: 'found', value, environBytes: length };
}

/** First non-empty `name=` entry of a NUL-separated environment block. */
export function findEnvironValue(block: Buffer, name: string): string | null {
  const prefix = Buffer.from(`${name}=`, 'latin1');
  let start = 0;
  while (start < block.length) {
    let end = block.indexOf(0, start);
    if (end < 0) end = block.length;
    const entry = block.subarray(start, end);
    if (entry.length > prefix.length && entry.subarray(0, prefix.length).equals(prefix)) {
      return entry.subarray(prefix.length).toString('utf8');
    }
    start = end + 1;
  }
  return null;
}
