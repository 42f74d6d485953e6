// The gssproxy credential source: "uid U wants cifs/<host>" → gssproxy → an RFC 2743 krb5 AP-REQ
// token and its session key, for users who have no ticket of their own (gssproxy impersonates
// them with S4U2Self + S4U2Proxy when its service says `impersonate = yes`).
//
// How the user is named to gssproxy (docs/gssproxy-protocol.md#naming-the-user):
//   euid      the pipeline already runs as the user; gssproxy reads the uid from SO_PEERCRED.
//             1 RPC: INIT_SEC_CONTEXT without a credential.
//   uid-name  root on a `trusted` service (euid = 0): ACQUIRE_CRED for desired_name "<uid>\0"
//             (GSS_C_NT_STRING_UID_NAME), then INIT_SEC_CONTEXT with that credential. 2 RPCs.
//   auto      uid-name when this process's euid is 0 and the request is for another uid, else euid.
//
// The request is what cifs.upcall's GSS path sends: target cifs@<host> hostbased, mech exactly
// the krb5 OID, req_flags 0 (no MUTUAL, no DELEG), so the context completes in one step and the
// session key is the initiator's authenticator subkey, read from the exported context.
import {
  CredentialError,
  checkServiceHost,
  describeIdentity,
  type CredentialFailureKind,
  type CredentialRequest,
  type CredentialSource,
  type InitiatorToken,
} from '../credentials.ts';
import { errorCodeInfo } from '../krb5/iana/error-code.ts';
import { enctypeName } from '../krb5/iana/etype.ts';
import type { Trace } from '../trace.ts';
import { probeGssproxy, GssproxyClient } from './client.ts';
import { CredUsage, Oid, OptionName, OptionValue, oidToDotted } from './constants.ts';
import { GssStatusError, GssproxyProtocolError, GssproxyRpcError, GssproxyTransportError } from './errors.ts';
import { ExportedContextError, sessionKeyFromExportedContext } from './exported-context.ts';
import { LucidContextError, parseLucidContext } from './lucid.ts';
import { hostbasedServiceName, stringUidName, type GssxCred, type GssxCtx, type GssxStatus } from './protocol.ts';
import { GSS_S_CONTINUE_NEEDED, classifyStatus, isGssError, minorFamily, renderStatus, statusCodes } from './status.ts';
import { DEFAULT_CALL_TIMEOUT_MS } from './transport.ts';
import { XdrDecodeError, XdrEncodeError } from './xdr.ts';
import { monotonicMs } from '../clock.ts';

export type GssproxyNaming = 'euid' | 'uid-name' | 'auto';

export interface GssproxySourceOptions {
  /** resolved by the pipeline (resolveGssproxySocket: option, config, GSSPROXY_SOCKET, default) */
  socketPath: string;
  naming?: GssproxyNaming;
  /** limit for each RPC, connecting included (default 15 s); the request's signal bounds the whole */
  callTimeoutMs?: number;
  /** export format asked of the daemon: MIT's default blob (parsed here) or linux_lucid_v1 */
  contextExport?: 'mit' | 'lucid';
  /** the effective uid the daemon will see on our connection (default: process.geteuid()) */
  effectiveUid?: () => number;
}

/** What the source returns: the InitiatorToken plus how it was obtained (for traces and tests). */
export interface GssproxyToken extends InitiatorToken {
  gssproxy: {
    naming: 'euid' | 'uid-name';
    socketPath: string;
    /** RPCs answered for this token (1 with euid naming, 2 with uid-name) */
    rpcs: number;
    /** which part of the context the key came from */
    keyFrom: 'subkey' | 'acceptor-subkey' | 'lucid';
    /** context lifetime the daemon reported, seconds */
    lifetime: number;
    ms: number;
  };
}

const SOURCE = 'gssproxy';
const KRB5_TOKEN_PREFIX = Buffer.from('06092a864886f712010202', 'hex');

export class GssproxySource implements CredentialSource {
  readonly name = SOURCE;
  private readonly naming: GssproxyNaming;
  private readonly callTimeoutMs: number;
  private readonly contextExport: 'mit' | 'lucid';
  private readonly effectiveUid: () => number;

  constructor(private readonly options: GssproxySourceOptions) {
    if (!options.socketPath) throw new CredentialError(SOURCE, 'config', 'no gssproxy socket path given');
    this.naming = options.naming ?? 'auto';
    this.callTimeoutMs = options.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
    this.contextExport = options.contextExport ?? 'mit';
    this.effectiveUid = options.effectiveUid ?? (() => process.geteuid?.() ?? -1);
  }

  /** The naming a request will use, and why. */
  chooseNaming(uid: number): { naming: 'euid' | 'uid-name'; why: string } {
    const euid = this.effectiveUid();
    if (this.naming === 'euid') return { naming: 'euid', why: 'configured' };
    if (this.naming === 'uid-name') return { naming: 'uid-name', why: 'configured' };
    return euid === 0 && uid !== 0
      ? { naming: 'uid-name', why: `auto: running as root for uid ${uid}` }
      : { naming: 'euid', why: `auto: running as euid ${euid} for uid ${uid}` };
  }

  async acquire(request: CredentialRequest): Promise<GssproxyToken> {
    const { trace, identity, host, signal } = request;
    const socketPath = this.options.socketPath;
    const started = monotonicMs();
    const euid = this.effectiveUid();
    const { naming, why } = this.chooseNaming(identity.uid);
    const target = `cifs@${host}`;
    checkServiceHost(SOURCE, host);
    trace.event('gssproxy', `asking gssproxy on ${socketPath} for ${target} on behalf of ${describeIdentity(identity)}`, {
      naming,
      namingWhy: why,
      euid,
      socket: socketPath,
      export: this.contextExport,
    });
    if (identity.namespaceIds) {
      // The socket was looked up in the caller's mount namespace. The kernel translates our
      // SO_PEERCRED into the daemon's user namespace: a daemon of the caller's namespace sees
      // uid ${identity.namespaceIds.uid}, one of the host's sees ${identity.uid} (docs/user-namespaces.md).
      if (naming === 'uid-name') {
        throw new CredentialError(
          SOURCE,
          'config',
          `gssproxy naming "uid-name" names the user by number, and the daemon behind ${socketPath} may live in the caller's user namespace or the host's: refusing for a user-namespaced caller (use euid naming, where the kernel translates the id)`,
        );
      }
      trace.event(
        'gssproxy',
        `caller in another user namespace: the daemon sees our SO_PEERCRED translated into its own namespace (uid ${identity.namespaceIds.uid} if it runs in the caller's, ${identity.uid} if in the host's)`,
      );
    }
    if (naming === 'euid' && euid !== identity.uid) {
      throw new CredentialError(
        SOURCE,
        'config',
        `gssproxy naming "euid" needs the process to run as uid ${identity.uid}, but its euid is ${euid}: gssproxy would answer for uid ${euid}`,
      );
    }
    if (naming === 'uid-name' && euid !== 0) {
      trace.event(
        'gssproxy',
        `uid-name naming from euid ${euid}: only honoured if ${euid} is the service's euid and the service is trusted`,
      );
    }

    const client = new GssproxyClient({ socketPath, timeoutMs: this.callTimeoutMs, trace });
    const call = { signal };
    let stage = 'connect';
    try {
      let cred: GssxCred | null = null;
      if (naming === 'uid-name') {
        stage = 'GSSX_ACQUIRE_CRED';
        const res = await client.acquireCred(
          {
            desiredName: stringUidName(identity.uid),
            desiredMechs: [Oid.KRB5],
            credUsage: CredUsage.INITIATE,
          },
          call,
        );
        failOnError('GSSX_ACQUIRE_CRED', res.status, `uid ${identity.uid}`);
        if (!res.outputCredHandle) {
          throw new GssproxyProtocolError(socketPath, 'ACQUIRE_CRED reported success without a credential');
        }
        cred = res.outputCredHandle;
        const mn = cred.elements[0]?.mn.displayName.toString('utf8') ?? '';
        trace.event('gssproxy', `gssproxy holds a credential for uid ${identity.uid}${mn ? `: ${mn}` : ''}`, {
          lifetime: Number(cred.elements[0]?.initiatorTimeRec ?? 0n),
        });
      }

      stage = 'GSSX_INIT_SEC_CONTEXT';
      const res = await client.initSecContext(
        {
          callCtx:
            this.contextExport === 'lucid'
              ? { options: [{ option: OptionName.EXPORTED_CONTEXT_TYPE, value: OptionValue.LINUX_LUCID_V1 }] }
              : {},
          credHandle: cred,
          targetName: hostbasedServiceName('cifs', host),
          mechType: Oid.KRB5,
          reqFlags: 0n,
        },
        call,
      );
      failOnError('GSSX_INIT_SEC_CONTEXT', res.status, target);
      if (res.status.majorStatus & GSS_S_CONTINUE_NEEDED) {
        throw new CredentialError(
          SOURCE,
          'config',
          `gssproxy left the context for ${target} incomplete (CONTINUE_NEEDED): its service forces mutual authentication ` +
            '(enforce_flags = +MUTUAL_AUTH?), which the kernel cannot complete; the session key would be unknown',
        );
      }
      const ctx = res.contextHandle;
      const token = res.outputToken;
      if (!ctx || !token) {
        throw new GssproxyProtocolError(socketPath, `INIT_SEC_CONTEXT completed without ${!ctx ? 'a context' : 'an output token'}`);
      }
      checkTokenFraming(socketPath, token);
      const key = sessionKeyOf(ctx, this.contextExport);
      const names = principalsOf(ctx, key.principals);
      const ms = monotonicMs() - started;
      trace.event(
        'gssproxy',
        `token for ${names.client} → ${names.service}: ${token.length} bytes, ${enctypeName(key.enctype)} session key from the ${key.from}`,
        {
          rpcs: client.transport.rpcCount,
          ms: Math.round(ms * 100) / 100,
          lifetime: Number(ctx.lifetime),
        },
      );
      return {
        gssToken: Buffer.from(token),
        sessionKey: key.key,
        enctype: key.enctype,
        clientPrincipal: names.client,
        servicePrincipal: names.service,
        gssproxy: {
          naming,
          socketPath,
          rpcs: client.transport.rpcCount,
          keyFrom: key.from,
          lifetime: Number(ctx.lifetime),
          ms,
        },
      };
    } catch (e) {
      throw await toCredentialError(e, {
        socketPath,
        euid,
        uid: identity.uid,
        who: identity.username ?? `uid ${identity.uid}`,
        stage,
        trace,
        timeoutMs: this.callTimeoutMs,
        signal,
      });
    } finally {
      client.close();
    }
  }
}

function failOnError(proc: string, status: GssxStatus, what: string): void {
  if (!isGssError(status.majorStatus)) return;
  const rendered = renderStatus(status);
  const { kind, reason } = classifyStatus(status);
  throw new GssStatusError(
    proc,
    status,
    kind,
    reason,
    `${proc} for ${what}: ${rendered.text} (${statusCodes(status)}, mech ${oidToDotted(status.mech)})`,
  );
}

function checkTokenFraming(socketPath: string, token: Buffer): void {
  // RFC 2743 §3.1: 60 <len> 06 09 <krb5 OID> …; MIT frames it already (spec §5.5)
  const lenBytes = token[1] !== undefined && token[1] & 0x80 ? 1 + (token[1] & 0x7f) : 1;
  const oidAt = 1 + lenBytes;
  if (token[0] !== 0x60 || !token.subarray(oidAt, oidAt + KRB5_TOKEN_PREFIX.length).equals(KRB5_TOKEN_PREFIX)) {
    throw new GssproxyProtocolError(
      socketPath,
      `output token is not an RFC 2743 krb5 token (starts ${token.subarray(0, 16).toString('hex')})`,
    );
  }
}

interface SessionKey {
  key: Buffer;
  enctype: number;
  from: 'subkey' | 'acceptor-subkey' | 'lucid';
  principals: string[];
}

/** MIT's default export starts with the mechglue wrapper: u32 9 + the krb5 OID. */
function isMitExport(blob: Buffer): boolean {
  return blob.length > 13 && blob.readUInt32BE(0) === Oid.KRB5.length && blob.subarray(4, 13).equals(Oid.KRB5);
}

function sessionKeyOf(ctx: GssxCtx, asked: 'mit' | 'lucid'): SessionKey {
  const blob = ctx.exportedContextToken;
  // the daemon falls back to the default export for contexts it cannot export as lucid
  if (asked === 'lucid' && !isMitExport(blob)) {
    const lucid = parseLucidContext(blob);
    return { key: lucid.key, enctype: lucid.enctype, from: 'lucid', principals: [] };
  }
  const k = sessionKeyFromExportedContext(blob);
  return { key: k.key, enctype: k.enctype, from: k.from, principals: k.context.principals };
}

function principalsOf(ctx: GssxCtx, fromExport: string[]): { client: string; service: string } {
  const client = ctx.srcName.displayName.toString('utf8') || fromExport[0] || '';
  const service = ctx.targName.displayName.toString('utf8') || fromExport[1] || '';
  return { client, service };
}

/**
 * Plain-words help for the refusals an impersonating setup meets (appended to the KDC's reason,
 * which gssproxy relays only as a krb5 error code in the minor status). The Active Directory
 * readings were verified against Samba 4.22's AD DC (docs/ad-interop.md); a DC does not send its
 * reason for TGS refusals, so several causes share one code.
 */
/** KDC_ERR_C_PRINCIPAL_UNKNOWN (RFC 4120 §7.5.9): the client (here the impersonated user) is unknown. */
const KDC_ERR_C_PRINCIPAL_UNKNOWN = 6;

function refusalHint(minor: number): string {
  const f = minorFamily(minor);
  if (f.family !== 'krb5' || f.offset >= 128) return '';
  const code = errorCodeInfo(f.offset).name;
  switch (f.offset) {
    case 6:
      return ` — the user has no principal in the realm (S4U2Self found no such client; ${code})`;
    case 7:
      return ` — the KDC does not know this service principal (${code})`;
    case 12:
      return ` — the KDC's policy refuses a ticket for the user (${code}; an Active Directory DC answers so to S4U2Self for a disabled account)`;
    case 13:
      return (
        ` — constrained delegation refused (${code}): the user may not be delegated (Active Directory: ` +
        '"account is sensitive and cannot be delegated", NOT_DELEGATED; Protected Users on Windows DCs), or cifs/<host> is not ' +
        "an allowed target of the impersonator (neither in its msDS-AllowedToDelegateTo nor allowed by the server's " +
        'msDS-AllowedToActOnBehalfOfOtherIdentity)'
      );
    case 18:
      return ` — the user's account is disabled or locked out (${code})`;
    case 23:
      return ` — the user's password has expired or must be changed (${code}): no delegation for the user until it is changed`;
    case 37:
      return ` — clock skew between this host and the KDC (${code})`;
    default:
      return ` (${code})`;
  }
}

async function toCredentialError(
  e: unknown,
  ctx: {
    socketPath: string;
    euid: number;
    uid: number;
    /** the user as the cause names them: the login name, else the uid */
    who: string;
    stage: string;
    trace: Trace;
    timeoutMs: number;
    signal: AbortSignal;
  },
): Promise<CredentialError> {
  const make = (kind: CredentialFailureKind, message: string): CredentialError => {
    ctx.trace.event('gssproxy', `failed (${kind}): ${message}`);
    return new CredentialError(SOURCE, kind, message, { cause: e });
  };
  if (e instanceof CredentialError) {
    ctx.trace.event('gssproxy', `failed (${e.kind}): ${e.message}`);
    return e;
  }
  if (e instanceof GssStatusError) {
    // the GSS major/minor detail goes to the trace, once; the cause a user reads is the reason
    ctx.trace.event('gssproxy', `GSS status: ${e.message}`);
    const minor = minorFamily(e.status.minorStatus);
    if (minor.family === 'krb5' && minor.offset === KDC_ERR_C_PRINCIPAL_UNKNOWN) {
      // said plainly: S4U2Self found no such client; the KDC's words and code stay in the trace
      ctx.trace.event('gssproxy', `the KDC: ${e.reason} (S4U2Self found no such client; KDC_ERR_C_PRINCIPAL_UNKNOWN)`);
      return make(e.kind, `no principal for ${ctx.who} in the realm`);
    }
    return make(e.kind, `${e.reason}${refusalHint(e.status.minorStatus)}`);
  }
  if (e instanceof GssproxyTransportError) {
    if (e.kind === 'eof' && e.details.firstCallOnConnection) {
      // The daemon closes without a reply when no service section matches the caller. Tell that
      // apart from a crash on this very request with a probe on a fresh connection.
      const probe = await probeGssproxy({
        socketPath: ctx.socketPath,
        timeoutMs: Math.min(ctx.timeoutMs, 2000),
        signal: ctx.signal,
      });
      ctx.trace.event(
        'gssproxy',
        `GET_CALL_CONTEXT probe after the closed connection: ${probe.matched ? 'a service matches' : probe.error.message}`,
      );
      if (!probe.matched && probe.error instanceof GssproxyTransportError && probe.error.kind === 'eof') {
        return make(
          'no-credentials',
          `no gssproxy service matches uid ${ctx.euid} on socket ${ctx.socketPath}: gssproxy closed the connection without a reply ` +
            '(check euid/allow_any_uid, program and socket of its [service/…] sections)',
        );
      }
      return make(
        'unreachable',
        `gssproxy on ${ctx.socketPath} closed the connection while handling ${e.details.proc ?? ctx.stage}` +
          `${probe.matched ? ' although a service matches this caller' : ` and then ${probe.error.message}`} — did it crash? check its log`,
      );
    }
    if (e.kind === 'access') return make('config', e.message);
    if (e.kind === 'too-large') return make('protocol', e.message);
    return make('unreachable', e.message);
  }
  if (e instanceof GssproxyRpcError) {
    if (e.isSystemError) {
      return make(
        'config',
        `gssproxy internal error — check its log (journalctl -u gssproxy, debug_level = 2): ${e.proc} ended in RPC SYSTEM_ERR ` +
          '(typically a GSS error the daemon could not render, e.g. a root caller without a name on an impersonating service, or a cred_usage mismatch)',
      );
    }
    return make('protocol', e.message);
  }
  if (
    e instanceof GssproxyProtocolError ||
    e instanceof ExportedContextError ||
    e instanceof LucidContextError ||
    e instanceof XdrDecodeError
  ) {
    return make('protocol', `garbage from gssproxy on ${ctx.socketPath}: ${(e as Error).message}`);
  }
  if (e instanceof XdrEncodeError) return make('config', e.message);
  return make('protocol', `unexpected error talking to gssproxy: ${(e as Error)?.message ?? String(e)}`);
}
