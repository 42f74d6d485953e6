// Becoming the user before anything user-controlled is touched (docs/cifs-upcall-behaviour.md#identity-and-privileges).
//
// Order, and why:
//  1. trim the capability bounding set while CAP_SETPCAP is still effective (PR_CAPBSET_DROP acts
//     on the calling thread: the main thread; the set only matters across execve, which we never do);
//  2. setgroups([]) — no supplementary groups at all (C: setgroups(0, NULL), not initgroups);
//  3. setresgid(g, g, g) — primary group of the passwd entry (the kernel never sends a gid);
//  4. setresuid(u, u, u) — glibc's set*id wrappers apply 2–4 to EVERY thread of the process; going
//     from root to a non-zero uid the kernel clears each thread's permitted and effective sets;
//  5. capset(0, 0, 0), clear the ambient set, PR_SET_NO_NEW_PRIVS on the main thread — for a
//     non-root user this changes nothing left; for uid 0 (a root mount) it is what removes the main
//     thread's capabilities. The libuv pool and V8 threads of a uid-0 upcall keep root's
//     capabilities: they never run user-driven work (no async fs, no getaddrinfo; see
//     namespaces.ts), which the forbidden-API test enforces.
// The result is checked with system calls (not /proc, which may be the caller's after setns).
import { native } from './native.ts';
import { recordPrivilegesDropped } from './upcall-state.ts';

const CAP_SETPCAP = 8;
/** Capability numbers are below 64 (two 32-bit words); PR_CAPBSET_* says EINVAL past the last. */
const CAP_LIMIT = 64;

export class PrivilegeError extends Error {
  override readonly name = 'PrivilegeError';
  constructor(
    readonly step: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${step}: ${message}`, options);
  }
}

export interface PrivilegeReport {
  uid: number;
  gid: number;
  ruid: number;
  euid: number;
  suid: number;
  rgid: number;
  egid: number;
  sgid: number;
  groups: number[];
  /** main thread's capability sets after the drop */
  effective: bigint;
  permitted: bigint;
  inheritable: bigint;
  /** main thread's bounding set after the drop */
  bounding: bigint;
  boundingTrimmed: boolean;
  noNewPrivs: boolean;
}

function step<T>(name: string, action: () => T): T {
  try {
    return action();
  } catch (e) {
    throw new PrivilegeError(name, (e as Error).message, { cause: e });
  }
}

function isEinval(e: unknown): boolean {
  return (e as NodeJS.ErrnoException).code === 'EINVAL';
}

/** The calling thread's bounding set as a bit mask. */
export function readBoundingSet(): bigint {
  const addon = native();
  let mask = 0n;
  for (let cap = 0; cap < CAP_LIMIT; cap++) {
    try {
      if (addon.capBoundingRead(cap)) mask |= 1n << BigInt(cap);
    } catch (e) {
      if (isEinval(e)) break;
      throw e;
    }
  }
  return mask;
}

/** Drop to uid/gid with no groups and no capabilities; throws PrivilegeError naming the step. */
export function dropPrivileges(target: { uid: number; gid: number }): PrivilegeReport {
  const addon = native();
  const before = step('capget', () => addon.capget());
  const canTrimBounding = (before.effective & (1n << BigInt(CAP_SETPCAP))) !== 0n;
  if (canTrimBounding) {
    step('prctl(PR_CAPBSET_DROP)', () => {
      for (let cap = 0; cap < CAP_LIMIT; cap++) {
        try {
          addon.capBoundingDrop(cap);
        } catch (e) {
          if (isEinval(e)) break;
          throw e;
        }
      }
    });
  }
  step('setgroups', () => addon.setgroups([]));
  step('setresgid', () => addon.setresgid(target.gid, target.gid, target.gid));
  step('setresuid', () => addon.setresuid(target.uid, target.uid, target.uid));
  step('capset', () => addon.capset(0n, 0n, 0n));
  step('prctl(PR_CAP_AMBIENT_CLEAR_ALL)', () => addon.clearAmbient());
  step('prctl(PR_SET_NO_NEW_PRIVS)', () => addon.setNoNewPrivs());
  recordPrivilegesDropped();

  const ids = addon.getresids();
  const caps = addon.capget();
  const report: PrivilegeReport = {
    uid: target.uid,
    gid: target.gid,
    ...ids,
    groups: addon.getgroups(),
    effective: caps.effective,
    permitted: caps.permitted,
    inheritable: caps.inheritable,
    bounding: readBoundingSet(),
    boundingTrimmed: canTrimBounding,
    noNewPrivs: addon.getNoNewPrivs(),
  };
  const wrong: string[] = [];
  if ([ids.ruid, ids.euid, ids.suid].some((u) => u !== target.uid)) wrong.push(`uids ${ids.ruid}/${ids.euid}/${ids.suid}`);
  if ([ids.rgid, ids.egid, ids.sgid].some((g) => g !== target.gid)) wrong.push(`gids ${ids.rgid}/${ids.egid}/${ids.sgid}`);
  if (report.groups.length > 0) wrong.push(`groups ${report.groups.join(',')}`);
  if (caps.effective !== 0n || caps.permitted !== 0n || caps.inheritable !== 0n) wrong.push('capabilities left');
  if (!report.noNewPrivs) wrong.push('no_new_privs not set');
  if (wrong.length > 0) throw new PrivilegeError('verify', `privilege drop incomplete: ${wrong.join('; ')}`);
  return report;
}

/** Capability mask as /proc/<pid>/status prints it (16 hex digits). */
export function formatCapabilityMask(mask: bigint): string {
  return mask.toString(16).padStart(16, '0');
}
