// The pipeline's steps that concern the triggering process (steps 6a and 8 of src/pipeline/upcall.ts):
// is it still there and still the same, which user namespace it lives in and how that names the
// user (docs/user-namespaces.md), and entering its other namespaces. Everything here reads the
// host's procfs through UpcallSystem before any switch.
import type { UpcallIdentity } from '../credentials.ts';
import type { SpnegoKeyDescription } from '../kernel/key-description.ts';
import type { OpenedNamespaces } from '../os/namespaces.ts';
import type { PasswdEntry } from '../os/passwd.ts';
import type { ProcessStat } from '../os/proc.ts';
import type { UpcallLog } from '../os/syslog.ts';
import { mapHostId, UserNamespaceError, type CallerUserNamespace, type IdMapRange } from '../os/user-namespace.ts';
import type { Trace } from '../trace.ts';
import { UpcallError } from './errors.ts';
import type { UpcallSystem } from './system.ts';
import type { TargetPlan } from './target.ts';

/** The triggering thread's stat, read before anything else is read about it; refuses a gone one. */
export function requireLiveThread(system: UpcallSystem, pid: number, replay: boolean): ProcessStat {
  const stat = system.readProcessStat(pid);
  if (!stat || stat.state === 'Z' || stat.state === 'X') {
    const hint = replay
      ? ' (a description copied from syslog names a process that has exited: add --pid with a live process of the same user)'
      : '';
    throw new UpcallError(
      'namespace',
      `triggering thread ${pid} ${stat ? 'has exited (zombie)' : 'no longer exists'}: refusing to run in the host namespaces instead${hint}`,
    );
  }
  return stat;
}

/** --replay --pid: the process must be alive and run as the credential user (fsuid, host ids). */
export function substituteReplayPid(
  system: UpcallSystem,
  keyFields: SpnegoKeyDescription,
  pid: number,
  uid: number,
  trace: Trace,
): SpnegoKeyDescription {
  const stat = system.readProcessStat(pid);
  const creds = system.readThreadCredentials(pid);
  if (!stat || stat.state === 'Z' || stat.state === 'X' || !creds) {
    throw new UpcallError('namespace', `--pid ${pid}: no such live process`);
  }
  if (creds.uids[3] !== uid) {
    throw new UpcallError(
      'namespace',
      `--pid ${pid}: process ${pid} (${stat.comm}) runs as uid ${creds.uids[3]}, not as the credential uid ${uid}: refusing to judge uid ${uid}'s request by another user's process`,
    );
  }
  trace.event(
    'ns',
    `replay: the description's pid ${keyFields.pid} replaced by --pid ${pid} (${stat.comm}, uid ${uid}): its namespaces and environment are used`,
    {
      descriptionPid: keyFields.pid,
      replayPid: pid,
    },
  );
  return { ...keyFields, pid };
}

/**
 * Host passwd entry + the caller's user namespace → the identity (docs/user-namespaces.md). For a
 * caller in another user namespace the uid and the primary gid must each map to exactly one id
 * there; a mapped uid without a host passwd entry (rootless containers on subuid ranges) takes its
 * primary gid from the triggering thread, but only when that thread's fsuid is the credential uid.
 */
export function resolveIdentity(
  system: UpcallSystem,
  uid: number,
  pw: PasswdEntry | null,
  pid: number | null,
  trace: Trace,
  log: UpcallLog,
): UpcallIdentity {
  let userns: CallerUserNamespace | null = null;
  if (pid !== null) {
    try {
      userns = system.readCallerUserNamespace(pid);
    } catch (e) {
      if (e instanceof UserNamespaceError && e.stockLogLine) log.error(e.stockLogLine);
      throw new UpcallError('namespace', (e as Error).message, { cause: e });
    }
    trace.event(
      'identity',
      userns.foreign
        ? `thread ${pid} lives in another user namespace (inode ${userns.callerInode}, ours ${userns.ownInode}): uid_map ${formatMap(userns.uidMap)}, gid_map ${formatMap(userns.gidMap)} (host procfs, before any switch)`
        : `thread ${pid} shares our user namespace (inode ${userns.ownInode}): ids used as they are`,
      {
        foreign: userns.foreign,
        callerInode: userns.callerInode,
        ownInode: userns.ownInode,
      },
    );
  }
  if (!userns?.foreign) {
    if (!pw) throw new UpcallError('identity', `no passwd entry for uid ${uid} (host passwd database)`);
    return { uid: pw.uid, gid: pw.gid, username: pw.name };
  }

  const mappedUid = mapHostId(userns.uidMap, uid);
  if (mappedUid.status === 'ambiguous') {
    log.error(`uid_map has multiple mapped IDs for ${uid} (unsupported)`);
    throw new UpcallError(
      'identity',
      `uid ${uid} maps to several ids (${mappedUid.ids.join(', ')}) in the user namespace of thread ${pid}: refusing`,
    );
  }
  if (mappedUid.status === 'unmapped') {
    log.error(`UID ${uid} not mapped in this namespace (unsupported)`);
    throw new UpcallError(
      'identity',
      `uid ${uid} is not mapped in the user namespace of thread ${pid}: refusing (no credential source asked)`,
    );
  }

  let gid: number;
  let gidFrom: string;
  if (pw) {
    gid = pw.gid;
    gidFrom = `host passwd entry ${pw.name}`;
  } else {
    const creds = system.readThreadCredentials(pid as number);
    if (!creds || creds.uids[3] !== uid) {
      log.error(`failed to retrieve GID from UID ${uid}`);
      throw new UpcallError(
        'identity',
        `no passwd entry for uid ${uid} (host passwd database), and thread ${pid} does not run with fsuid ${uid} to take its gid from: refusing`,
      );
    }
    gid = creds.gids[3];
    gidFrom = `fsgid of thread ${pid} (no host passwd entry for uid ${uid}; its fsuid is ${uid})`;
  }
  const mappedGid = mapHostId(userns.gidMap, gid);
  if (mappedGid.status === 'ambiguous') {
    log.error(`gid_map has multiple mapped IDs for ${gid} (unsupported)`);
    throw new UpcallError(
      'identity',
      `gid ${gid} of uid ${uid} maps to several ids (${mappedGid.ids.join(', ')}) in the user namespace of thread ${pid}: refusing`,
    );
  }
  if (mappedGid.status === 'unmapped') {
    log.error(`GID ${gid} not mapped in this namespace (unsupported)`);
    throw new UpcallError(
      'identity',
      `primary gid ${gid} of uid ${uid} is not mapped in the user namespace of thread ${pid}: refusing (no credential source asked)`,
    );
  }
  log.debug(`host ${uid}:${gid} -> NS ${mappedUid.id}:${mappedGid.id}`);
  trace.event(
    'identity',
    `host ${uid}:${gid} is ${mappedUid.id}:${mappedGid.id} in the caller's user namespace (gid from the ${gidFrom}); we stay in the init user namespace as ${uid}:${gid}, and name the user's caches with uid ${mappedUid.id}`,
    {
      uid,
      gid,
      namespaceUid: mappedUid.id,
      namespaceGid: mappedGid.id,
    },
  );
  return {
    uid,
    gid,
    ...(pw ? { username: pw.name } : {}),
    namespaceIds: { uid: mappedUid.id, gid: mappedGid.id },
  };
}

function formatMap(ranges: readonly IdMapRange[]): string {
  return ranges.length === 0 ? '(empty)' : ranges.map((r) => `${r.inside} ${r.outside} ${r.count}`).join(' | ');
}

/** Step 8: check the thread again, read its KRB5CCNAME, enter its namespaces; returns the probed KRB5CCNAME. */
export function enterCallerNamespaces(
  system: UpcallSystem,
  plan: TargetPlan,
  before: ProcessStat,
  options: { replay: boolean },
  trace: Trace,
  log: UpcallLog,
): string | undefined {
  const pid = plan.pid;
  const reference = system.referenceStartTime(options.replay);
  trace.event(
    'ns',
    `thread ${pid} (${before.comm}) started at tick ${before.startTime}; reference: ${reference.source} at tick ${reference.startTime}`,
    {
      pid,
      comm: before.comm,
      startTime: String(before.startTime),
      referenceStartTime: String(reference.startTime),
    },
  );
  if (before.startTime > reference.startTime) {
    throw new UpcallError('namespace', `thread ${pid} (${before.comm}) started after the request was made: its id was reused, refusing`);
  }

  let opened: OpenedNamespaces;
  try {
    opened = system.openTargetNamespaces(pid);
  } catch (e) {
    throw new UpcallError('namespace', `unable to switch to process namespace: ${(e as Error).message}`, { cause: e });
  }
  try {
    for (const n of opened.decisions) {
      const what = n.action === 'enter' ? 'enter' : n.action === 'same' ? 'same as ours, skipped' : 'not present, skipped';
      trace.event('ns', `${n.type}: ${what} (ours ${n.ownInode ?? '?'}, target ${n.targetInode ?? '-'})`, {
        type: n.type,
        action: n.action,
        ownInode: n.ownInode,
        targetInode: n.targetInode,
      });
    }
    for (const s of system.inspectStayingNamespaces(pid)) {
      const differs = s.targetInode !== null && s.ownInode !== null && s.targetInode !== s.ownInode;
      trace.event(
        'ns',
        `${s.type}: not entered (a multi-threaded process cannot), ${differs ? "the caller's differs" : 'same as ours'} (ours ${s.ownInode ?? '?'}, target ${s.targetInode ?? '?'})${s.type === 'user' && differs ? "; we keep the host ids and name caches with the caller's (see identity)" : ''}`,
        {
          type: s.type,
          action: 'stay',
          ownInode: s.ownInode,
          targetInode: s.targetInode,
        },
      );
    }

    let probed: string | undefined;
    if (plan.envProbe) {
      log.debug(`get_cachename_from_process_env: pathname=/proc/${pid}/environ`);
      const r = system.probeEnviron(pid, 'KRB5CCNAME');
      switch (r.status) {
        case 'found':
          probed = r.value;
          log.debug(`get_cachename_from_process_env: cachename = ${r.value}`);
          trace.event('env', `KRB5CCNAME=${r.value} found in /proc/${pid}/environ (host procfs, ${r.environBytes} bytes)`, {
            result: 'found',
            value: r.value,
            environBytes: r.environBytes,
          });
          break;
        case 'absent':
          trace.event('env', `no non-empty KRB5CCNAME in /proc/${pid}/environ (${r.environBytes} bytes)`, { result: 'absent' });
          break;
        case 'too-large':
          trace.event('env', `environment of ${pid} is 128 KiB or more: ignored (as cifs.upcall)`, { result: 'too-large' });
          break;
        case 'unreadable':
          trace.event('env', `/proc/${pid}/environ unreadable (${r.code}): no KRB5CCNAME`, { result: 'unreadable', code: r.code });
          break;
      }
    }

    // Still the same thread? A recycled id would show a later start time.
    const after = system.readProcessStat(pid);
    if (!after || after.startTime !== before.startTime) {
      throw new UpcallError('namespace', `triggering thread ${pid} went away while its namespaces were opened: refusing`);
    }
    if (opened.toEnter.length === 0 && opened.decisions.every((n) => n.action === 'absent')) {
      throw new UpcallError('namespace', `no namespace of thread ${pid} could be opened: refusing to run in the host namespaces instead`);
    }
    let entered: string[];
    try {
      entered = system.enterNamespaces(opened);
    } catch (e) {
      throw new UpcallError('namespace', (e as Error).message, { cause: e });
    }
    trace.event(
      'ns',
      entered.length > 0
        ? `entered ${entered.join(', ')} of thread ${pid} (main thread only)`
        : `thread ${pid} shares all our namespaces: nothing to enter`,
      { entered },
    );
    return probed;
  } finally {
    opened.close();
  }
}
