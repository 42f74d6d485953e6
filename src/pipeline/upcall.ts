// One cifs.spnego upcall, start to finish. The order is the security argument
// (docs/ARCHITECTURE.md#chassis-decisions), each step only after the previous one held:
//
//   1. describe the key (as root: we own kernel-created keys)
//   2. refuse a key not owned by 0:0 — a request the SMB client did not make (CVE-2026-46243);
//      nothing else is done with it, not even a negation: the kernel negates it when we exit
//   3. refuse a key type we were not told to serve (--key-type)
//   4. strict parse of the description (src/kernel/key-description.ts)
//   5. choose the credential uid (creduid, or uid with -l); refuse pid 0 (no process to judge by)
//   6. passwd lookup in the HOST namespaces as root, before any setns (CVE-2026-12505)
//  6a. the caller's user namespace, from the host procfs: translate the uid and gid through its
//      maps for naming, refuse unmapped or ambiguous ids (CVE-2026-104715; docs/user-namespaces.md)
//   7. decide where to run (upcall_target) and load the credential sources' code — module loading
//      must happen here, while the main thread still sees the host's filesystem
//   8. target app, pid ≠ 0: the thread must exist and be older than the request (pid reuse);
//      open its namespace files and read KRB5CCNAME from its environ via the host procfs; check
//      the thread is still the same one; setns (src/os/namespaces.ts)
//   9. drop to uid/gid, no groups, no capabilities (src/os/privileges.ts)
//  10. ask the credential sources in order; first token wins
//  11. SPNEGO-wrap the token (src/spnego), encode cifs_spnego_msg, instantiate
// Any failure after step 3: negate the key for a short time (the kernel still reports ENOKEY),
// one LOG_ERR line with the cause, and a failure kind the CLI turns into an exit status.
import {
  CredentialError,
  describeIdentity,
  type CredentialRequest,
  type CredentialSource,
  type InitiatorToken,
  type UpcallIdentity,
} from '../credentials.ts';
import type { Trace } from '../trace.ts';
import {
  credentialUid,
  KeyDescriptionError,
  parseSpnegoDescription,
  splitDescribeString,
  UPCALL_VERSION,
  type SpnegoKeyDescription,
} from '../kernel/key-description.ts';
import type { UpcallKey } from '../kernel/key.ts';
import { encodeCifsSpnegoMessage, SpnegoMessageError } from '../kernel/spnego-msg.ts';
import { NamespaceError, type OpenedNamespaces } from '../os/namespaces.ts';
import { PasswdLookupError, type PasswdEntry } from '../os/passwd.ts';
import { formatCapabilityMask, PrivilegeError } from '../os/privileges.ts';
import type { ProcessStat } from '../os/proc.ts';
import { mapHostId, UserNamespaceError, type CallerUserNamespace, type IdMapRange } from '../os/user-namespace.ts';
import type { UpcallLog } from '../os/syslog.ts';
import { cifsSpnegoInitToken } from '../spnego/spnego.ts';
import { KRB5_MECH_OID, MS_KRB5_MECH_OID } from '../krb5/gss/oids.ts';
import { ConfigError, NO_CONFIG, resolveSettings, type ResolvedSettings } from './config.ts';
import { UpcallError } from './errors.ts';
import { hostSystem, type UpcallSystem } from './system.ts';
import { planTarget, servicePrincipalHost, type TargetPlan } from './target.ts';

export { UpcallError, type UpcallFailureKind } from './errors.ts';

export const DEFAULT_KEY_TYPE = 'cifs.spnego';

/** What the request is (not settings: the configuration cannot change these). */
export interface UpcallOptions {
  /** the only key type served (--key-type; default cifs.spnego) */
  keyType: string;
  /** -l: uid= instead of creduid= */
  legacyUid: boolean;
  /** --replay: no request-key parent; the pid-reuse reference is our own start */
  replay: boolean;
  /**
   * --replay --pid: a live process of the credential user stands for the description's pid (a
   * description copied from syslog names a process that has long exited)
   */
  replayPid?: number;
  /**
   * The settings known before the configuration file is read (defaults and the command line):
   * they govern a failure of the steps before it (the negative timeout of a bad description).
   */
  settings: ResolvedSettings;
}

export const DEFAULT_UPCALL_OPTIONS: UpcallOptions = {
  keyType: DEFAULT_KEY_TYPE,
  legacyUid: false,
  replay: false,
  settings: resolveSettings(NO_CONFIG, { host: '' }, {}),
};

/** What the preparation of an upcall may base its choices on (before any namespace switch). */
export interface UpcallPlanContext {
  description: SpnegoKeyDescription;
  identity: UpcallIdentity;
  /** the host part of cifs/<host> (servicePrincipalHost of the description's host) */
  host: string;
  trace: Trace;
}

/** This upcall's settings, resolved once, and the credential source they call for. */
export interface UpcallPlan {
  settings: ResolvedSettings;
  /** one source: production passes the strategy (src/pipeline/strategy.ts), which orders the rest */
  source: CredentialSource;
}

/**
 * Reads the configuration for this upcall and builds its credential source, once the description
 * and the identity are known: in the host namespaces, as root, before anything is done with the
 * caller — the place to import source modules (a dynamic import after setns would load code from
 * the caller's filesystem).
 */
export type UpcallPreparer = (context: UpcallPlanContext) => Promise<UpcallPlan>;

export interface UpcallDependencies {
  key: UpcallKey;
  /** production: the configuration file + the strategy (src/cli/sources.ts) */
  prepare?: UpcallPreparer;
  /** without `prepare`: the one source to ask, under options.settings (tests, the stand-in) */
  source?: CredentialSource;
  trace: Trace;
  log: UpcallLog;
  /** passwd, /proc, namespaces, privileges: the real host unless a test scripts them */
  system?: UpcallSystem;
}

export type UpcallOutcome =
  | { ok: true; payload: Buffer; token: InitiatorToken; source: string }
  | { ok: false; error: UpcallError; negated: boolean };

/** Run one upcall. Never throws: failures come back as `{ ok: false }` after negation and logging. */
export async function runUpcall(options: UpcallOptions, deps: UpcallDependencies): Promise<UpcallOutcome> {
  const { key, trace, log } = deps;
  (deps.system ?? hostSystem).armPhaseGuards();
  const state = { trusted: false, settings: options.settings };
  try {
    const result = await upcallSteps(options, deps, state);
    return result;
  } catch (e) {
    const error = asUpcallError(e);
    log.error(error.message);
    // the LOG_ERR cause belongs in the trace too (a refused key's trace already says why)
    if (state.trusted) trace.event('result', `failed (${error.kind}): ${error.message}`, { kind: error.kind });
    if (error.kind === 'internal' && error.cause instanceof Error) {
      trace.event('result', `internal error: ${error.cause.stack ?? error.cause.message}`);
    }
    let negated = false;
    if (state.trusted) {
      try {
        const seconds = state.settings.negativeTimeout;
        key.negate(seconds);
        negated = true;
        trace.event(
          'result',
          key.serial === undefined
            ? `replay: the key would be negated for ${seconds} s`
            : `key ${key.serial} negated for ${seconds} s: request_key() callers get ENOKEY`,
          {
            timeoutSeconds: seconds,
          },
        );
      } catch (ne) {
        log.error(`unable to negate the key: ${(ne as Error).message}`);
        trace.event('result', `negating the key failed: ${(ne as Error).message}`);
      }
    }
    return { ok: false, error, negated };
  }
}

async function upcallSteps(
  initialOptions: UpcallOptions,
  deps: UpcallDependencies,
  state: { trusted: boolean; settings: ResolvedSettings },
): Promise<UpcallOutcome> {
  const options = initialOptions;
  const { key, trace, log } = deps;
  const system = deps.system ?? hostSystem;
  system.prepare();

  // 1. describe
  let described: string;
  try {
    described = key.describe();
  } catch (e) {
    throw new UpcallError('key-access', `unable to describe key ${key.serial}: ${(e as Error).message}`, { cause: e });
  }
  log.debug(`key description: ${described}`);
  trace.event('key', `key ${key.serial ?? '(replay)'} describes itself as: ${described}`);
  const header = splitDescribeString(described);

  // 2. owner: only the kernel's own credential (0:0) makes legitimate requests
  if (header.uid !== 0 || header.gid !== 0) {
    trace.event(
      'key',
      `refused: key owned by ${header.uid}:${header.gid}, not 0:0 — not created by the kernel's SMB client (forged request, CVE-2026-46243); the key is left alone`,
      {
        owner: header.uid,
        group: header.gid,
      },
    );
    throw new UpcallError(
      'key-refused',
      `key owned by ${header.uid}:${header.gid}, not 0:0: refusing a request the kernel's SMB client did not make`,
    );
  }
  // 3. type
  if (header.type !== options.keyType) {
    const hint =
      header.type === 'dns_resolver' || header.type === 'cifs.resolver'
        ? " (DNS resolution keys are not served: use keyutils' key.dns_resolver)"
        : '';
    trace.event('key', `refused: key type ${header.type}, this helper serves ${options.keyType}${hint}`);
    throw new UpcallError('key-refused', `key type ${header.type} refused: serving only ${options.keyType}${hint}`);
  }
  state.trusted = true;
  trace.event('key', `owner 0:0 and type ${header.type}: a kernel request`);

  // 4. parse
  let keyFields = parseSpnegoDescription(header.description);
  logParsedFields(log, keyFields);
  const parsed = {
    ver: keyFields.version,
    host: keyFields.host,
    ip: keyFields.ip ?? null,
    sec: keyFields.sec,
    uid: keyFields.uid ?? null,
    creduid: keyFields.creduid ?? null,
    user: keyFields.user ?? null,
    pid: keyFields.pid,
    upcall_target: keyFields.upcallTarget,
  };
  trace.event(
    'parse',
    `description parsed: ${Object.entries(parsed)
      .map(([k, v]) => `${k}=${v ?? '-'}`)
      .join(' ')}`,
    parsed,
  );
  for (const f of keyFields.unknownFields) trace.event('parse', `ignored unknown field ${f.name}=${f.value}`);
  if (keyFields.version !== UPCALL_VERSION) {
    throw new UpcallError(
      'bad-description',
      `upcall version ${keyFields.version} not supported: the kernel accepts only replies of version ${UPCALL_VERSION}`,
    );
  }

  // 5. whose credentials
  const chosen = credentialUid(keyFields, options.legacyUid);
  trace.event('identity', `credential uid ${chosen.uid} from ${chosen.from}=${options.legacyUid ? ' (-l)' : ''}`, {
    uid: chosen.uid,
    from: chosen.from,
  });

  // 5a. --replay --pid: another live process of the same user stands for the description's pid
  if (options.replay && options.replayPid !== undefined) {
    keyFields = substituteReplayPid(system, keyFields, options.replayPid, chosen.uid, trace);
  }

  // 5b. pid 0 names no process: nothing to follow, and no namespace to judge the ids in
  // (cifs.upcall 7.6 refuses it for every upcall_target; no kernel sends it)
  if (keyFields.pid === 0) {
    log.error(`map_id(pid=0, map=uid_map, id=${chosen.uid}): No such file or directory`);
    throw new UpcallError('namespace', 'pid=0 names no triggering process: refusing (nothing to judge the credential uid against)');
  }

  // 6. passwd, host namespaces, as root
  const pw = system.lookupPasswd(chosen.uid);
  if (pw) {
    trace.event(
      'identity',
      `uid ${pw.uid} is ${pw.name}, primary gid ${pw.gid} (host passwd via getpwuid_r, as root, before any namespace switch)`,
      {
        uid: pw.uid,
        gid: pw.gid,
        name: pw.name,
      },
    );
  }

  // 6a. the caller's user namespace: translate the ids it names the user by, or refuse
  const follows = keyFields.upcallTarget !== 'mount';
  const callerThread = follows ? requireLiveThread(system, keyFields.pid, options.replay) : null;
  const identity = resolveIdentity(system, chosen.uid, pw, follows ? keyFields.pid : null, trace, log);

  // 6b. this upcall's settings (root's file, matched by server and container) and its credential
  // source, resolved once, in the host namespaces; the source modules are loaded now
  const host = servicePrincipalHost(keyFields.host);
  const plan0: UpcallPlan = deps.prepare
    ? await deps.prepare({ description: keyFields, identity, host, trace })
    : { settings: options.settings, source: deps.source ?? NO_SOURCE };
  const { settings, source } = plan0;
  state.settings = settings;

  // 7. where, and whether to read the caller's environment
  const plan = planTarget(keyFields, { uid: identity.uid, envProbe: settings.envProbe });
  log.info(plan.logLine);
  trace.event('ns', plan.namespaceReason);
  trace.event('env', plan.envProbe ? `will probe: ${plan.envProbeReason}` : `no probe: ${plan.envProbeReason}`);

  // 8. the caller's namespaces
  let probedCcacheName: string | undefined;
  if (plan.namespaces === 'caller' && callerThread) {
    probedCcacheName = enterCallerNamespaces(system, plan, callerThread, options, trace, log);
  } else {
    trace.event('ns', "staying in the helper's own namespaces");
  }

  // 9. become the user
  const report = system.dropPrivileges({ uid: identity.uid, gid: identity.gid });
  trace.event(
    'identity',
    `privileges dropped: uid ${report.ruid}/${report.euid}/${report.suid}, gid ${report.rgid}/${report.egid}/${report.sgid}, groups [${report.groups.join(',')}], main thread CapEff ${formatCapabilityMask(report.effective)} CapPrm ${formatCapabilityMask(report.permitted)} CapBnd ${formatCapabilityMask(report.bounding)}${report.noNewPrivs ? ', no_new_privs' : ''}`,
    {
      uid: report.euid,
      gid: report.egid,
      groups: report.groups,
      capEff: formatCapabilityMask(report.effective),
      capPrm: formatCapabilityMask(report.permitted),
      capInh: formatCapabilityMask(report.inheritable),
      capBnd: formatCapabilityMask(report.bounding),
      boundingTrimmed: report.boundingTrimmed,
      noNewPrivs: report.noNewPrivs,
    },
  );
  if (identity.uid === 0) {
    trace.event('identity', "uid 0: only the main thread lost its capabilities; pool threads keep root's and run no user-driven work");
  }

  // 10. credentials
  const request: CredentialRequest = {
    host,
    // The description cannot tell a mount made by uid N from a multiuser access by uid N (both
    // send uid=creduid=N); uid 0, or upcall_target=mount (refused with multiuser by the kernel),
    // is surely the mount's own session (docs/cifs-upcall-behaviour.md#keytab-fallback).
    isMountSession: identity.uid === 0 || keyFields.upcallTarget === 'mount',
    identity,
    signal: AbortSignal.timeout(settings.timeout * 1000),
    trace,
    ...(keyFields.user !== undefined ? { mountUser: keyFields.user } : {}),
    ...(probedCcacheName !== undefined ? { probedCcacheName } : {}),
  };
  const token = await askSource(source, request, trace, log);

  // 11. reply
  if (token.gssToken.length === 0 || token.gssToken[0] !== 0x60) {
    throw new UpcallError('reply', `source ${source.name} returned a token that is not an RFC 2743 initial context token`);
  }
  if (token.sessionKey.length === 0) throw new UpcallError('reply', `source ${source.name} returned an empty session key`);
  // RFC 4178 NegTokenInit exactly as cifs.upcall: one mech (krb5 or MS-krb5 by sec=), mechToken only
  const blob = cifsSpnegoInitToken(token.gssToken, keyFields.sec);
  const mech = keyFields.sec === 'mskrb5' ? MS_KRB5_MECH_OID : KRB5_MECH_OID;
  trace.event('spnego', `NegTokenInit with mech ${mech} (sec=${keyFields.sec}), ${blob.length} bytes`, { mech, bytes: blob.length });
  const payload = encodeCifsSpnegoMessage({ sessionKey: token.sessionKey, securityBlob: blob });
  trace.event(
    'payload',
    `cifs_spnego_msg v${UPCALL_VERSION}: ${token.sessionKey.length}-byte session key (enctype ${token.enctype}), ${blob.length}-byte blob, ${payload.length} bytes`,
    {
      bytes: payload.length,
      sessionKeyBytes: token.sessionKey.length,
      blobBytes: blob.length,
    },
  );
  try {
    key.instantiate(payload);
  } catch (e) {
    throw new UpcallError('key-access', `unable to instantiate key ${key.serial}: ${(e as Error).message}`, { cause: e });
  }
  trace.event('result', key.serial === undefined ? 'payload produced (replay: no key instantiated)' : `key ${key.serial} instantiated`);
  return { ok: true, payload, token, source: source.name };
}

function logParsedFields(log: UpcallLog, keyFields: SpnegoKeyDescription): void {
  log.debug(`ver=${keyFields.version}`);
  log.debug(`host=${keyFields.host}`);
  if (keyFields.ip !== undefined) log.debug(`ip=${keyFields.ip}`);
  log.debug(`sec=${keyFields.sec === 'krb5' ? 1 : 2}`);
  if (keyFields.uid !== undefined) log.debug(`uid=${keyFields.uid}`);
  if (keyFields.creduid !== undefined) log.debug(`creduid=${keyFields.creduid}`);
  if (keyFields.user !== undefined) log.debug(`user=${keyFields.user}`);
  log.debug(`pid=${keyFields.pid}`);
  log.debug(`upcall_target=${keyFields.upcallTarget}`);
}

/** Steps 8a–8e; returns the probed KRB5CCNAME, if any. */
/** The triggering thread's stat, read before anything else is read about it; refuses a gone one. */
function requireLiveThread(system: UpcallSystem, pid: number, replay: boolean): ProcessStat {
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
function substituteReplayPid(
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
function resolveIdentity(
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

function enterCallerNamespaces(
  system: UpcallSystem,
  plan: TargetPlan,
  before: ProcessStat,
  options: UpcallOptions,
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

/** A source that has nothing to offer (no `prepare`, no `source`). */
const NO_SOURCE: CredentialSource = {
  name: 'none',
  acquire: async () => {
    throw new CredentialError('none', 'no-credentials', 'no credential source configured');
  },
};

/** Step 10: the one source (the strategy orders the rest), with the time budget and the trace. */
async function askSource(source: CredentialSource, request: CredentialRequest, trace: Trace, log: UpcallLog): Promise<InitiatorToken> {
  const started = process.hrtime.bigint();
  const ms = (): number => Number(process.hrtime.bigint() - started) / 1e6;
  trace.event('strategy', `asking ${source.name} for cifs/${request.host} as ${describeIdentity(request.identity)}`);
  try {
    const token = await source.acquire(request);
    trace.event('strategy', `${source.name} succeeded in ${ms().toFixed(1)} ms: ${token.clientPrincipal} → ${token.servicePrincipal}`, {
      source: source.name,
      outcome: 'ok',
      ms: ms(),
      client: token.clientPrincipal,
      service: token.servicePrincipal,
    });
    log.debug(`credentials from ${source.name}: ${token.clientPrincipal} for ${token.servicePrincipal}`);
    return token;
  } catch (e) {
    const kind = e instanceof CredentialError ? e.kind : 'protocol';
    const message = e instanceof Error ? e.message : String(e);
    // the cause itself is the result line: said once
    trace.event('strategy', `${source.name} failed in ${ms().toFixed(1)} ms (${kind})`, { source: source.name, outcome: kind, ms: ms() });
    // one sentence naming the user and the service, each source's reason once; it starts with
    // cifs.upcall's own words, which administrators grep their logs for
    const who =
      request.identity.username !== undefined
        ? `${request.identity.username} (uid ${request.identity.uid})`
        : `uid ${request.identity.uid}`;
    throw new UpcallError('no-credentials', `Unable to obtain service ticket for ${who} to cifs/${request.host}: ${message}`, { cause: e });
  }
}

function asUpcallError(e: unknown): UpcallError {
  if (e instanceof UpcallError) return e;
  if (e instanceof KeyDescriptionError) return new UpcallError('bad-description', e.message, { cause: e });
  if (e instanceof PasswdLookupError) return new UpcallError('identity', e.message, { cause: e });
  if (e instanceof NamespaceError) return new UpcallError('namespace', e.message, { cause: e });
  if (e instanceof PrivilegeError) return new UpcallError('privileges', e.message, { cause: e });
  if (e instanceof SpnegoMessageError) return new UpcallError('reply', e.message, { cause: e });
  if (e instanceof ConfigError) return new UpcallError('config', e.message, { cause: e });
  return new UpcallError('internal', `internal error: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
}
