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
  userLabel,
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
import { NamespaceError } from '../os/namespaces.ts';
import { PasswdLookupError } from '../os/passwd.ts';
import { formatCapabilityMask, PrivilegeError } from '../os/privileges.ts';
import type { UpcallLog } from '../os/syslog.ts';
import { cifsSpnegoInitToken } from '../spnego/spnego.ts';
import { KRB5_MECH_OID, MS_KRB5_MECH_OID } from '../krb5/gss/oids.ts';
import { ConfigError, type ResolvedSettings } from './config.ts';
import { UpcallError, type UpcallFailureKind } from './errors.ts';
import { enterCallerNamespaces, requireLiveThread, resolveIdentity, substituteReplayPid } from './caller.ts';
import { hostSystem, type UpcallSystem } from './system.ts';
import { planTarget, servicePrincipalHost } from './target.ts';

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
    mountUser: keyFields.user,
    probedCcacheName,
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
    throw new UpcallError(
      'no-credentials',
      `Unable to obtain service ticket for ${userLabel(request.identity)} to cifs/${request.host}: ${message}`,
      { cause: e },
    );
  }
}

/**
 * The one mapping at the pipeline's boundary: which stage failed, by the error the lower layer
 * threw. A failure of the credential sources arrives already as an UpcallError (askSource).
 */
const STAGE_OF: ReadonlyArray<readonly [abstract new (...args: never[]) => Error, UpcallFailureKind]> = [
  [KeyDescriptionError, 'bad-description'],
  [PasswdLookupError, 'identity'],
  [NamespaceError, 'namespace'],
  [PrivilegeError, 'privileges'],
  [SpnegoMessageError, 'reply'],
  [ConfigError, 'config'],
];

function asUpcallError(e: unknown): UpcallError {
  if (e instanceof UpcallError) return e;
  const stage = STAGE_OF.find(([type]) => e instanceof type)?.[1];
  if (stage && e instanceof Error) return new UpcallError(stage, e.message, { cause: e });
  return new UpcallError('internal', `internal error: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
}
