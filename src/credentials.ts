// The contract between the upcall pipeline and the credential sources (the user's own ticket via
// the TypeScript Kerberos initiator, and gssproxy). A source turns "uid U wants cifs/<host>" into
// an RFC 2743 krb5 initial context token plus the session key the kernel will use. SPNEGO
// wrapping and the kernel payload are the pipeline's job, identical for every source.
import type { Trace } from './trace.ts';

/**
 * Who the credentials are for, resolved by the pipeline from the host passwd database (and, for a
 * caller in another user namespace, from its uid_map/gid_map: docs/user-namespaces.md).
 */
export interface UpcallIdentity {
  /** host (init user namespace) uid: the one we run as, and the owner our stat() sees */
  uid: number;
  /** host primary gid: from the passwd entry, or the triggering thread's when there is none */
  gid: number;
  /** login name from the host passwd entry; absent when the uid has none (a mapped container uid) */
  username?: string;
  /**
   * The ids as the caller's user namespace names them, present only when the triggering process
   * lives in another user namespace than ours. Names the caller's world uses (default_ccache_name
   * tokens, DIR:/KEYRING:/KCM names, keytab names) take these; ownership checks never do.
   */
  namespaceIds?: { uid: number; gid: number };
}

/** The uid the caller's world names the user by (see UpcallIdentity.namespaceIds). */
export function namingUid(identity: UpcallIdentity): number {
  return identity.namespaceIds?.uid ?? identity.uid;
}

/** "alice (uid 2001)", "uid 102002 (uid 2002 in the caller's user namespace)": for messages. */
export function describeIdentity(identity: UpcallIdentity): string {
  const who = userLabel(identity);
  return identity.namespaceIds ? `${who}, uid ${identity.namespaceIds.uid} in the caller's user namespace` : who;
}

/** "dave (uid 2004)", or "uid 102003" for a uid without a passwd entry: how a cause names the user. */
export function userLabel(identity: UpcallIdentity): string {
  return identity.username !== undefined ? `${identity.username} (uid ${identity.uid})` : `uid ${identity.uid}`;
}

export interface CredentialRequest {
  /** Host part of the service principal cifs/<host>: the kernel's host=, ASCII lower-cased. */
  host: string;
  /** `user=` of the key description (the mount's username=), absent when not sent or empty. */
  mountUser?: string;
  /**
   * True when this session is the mount's own (credential uid 0 or the uid that mounted); only
   * then may the keytab fallback obtain `mountUser`'s identity (docs/cifs-upcall-behaviour.md#keytab-fallback).
   */
  isMountSession: boolean;
  identity: UpcallIdentity;
  /** KRB5CCNAME found in the triggering process's environment, when probing was done and found one. */
  probedCcacheName?: string;
  /** Aborts every network wait when the upcall's overall time budget is spent. */
  signal: AbortSignal;
  trace: Trace;
}

/** What a source hands back: the token and the key the SMB session will be keyed with. */
export interface InitiatorToken {
  /** RFC 2743 InitialContextToken: 60 len 06 09 <krb5 OID> 01 00 <AP-REQ>. */
  gssToken: Buffer;
  /** Raw session key bytes (the AP-REQ authenticator subkey): 16 or 32 bytes. */
  sessionKey: Buffer;
  /** Kerberos enctype of the session key (17, 18, 19, 20, 23). */
  enctype: number;
  /** Client principal the token authenticates, e.g. alice@EXAMPLE.TEST. */
  clientPrincipal: string;
  /** Service principal the ticket is for, e.g. cifs/fs1.example.test@EXAMPLE.TEST. */
  servicePrincipal: string;
}

/**
 * Why a source could not produce a token. The strategy uses `kind` to decide what to try next:
 * `service-unknown` → next host-name form (short-name domain guess, reverse DNS); anything else →
 * next source when the strategy allows a fallback.
 */
export type CredentialFailureKind =
  /** nothing usable for this user here: no cache, expired TGT, no keytab entry, gssproxy NO_CRED */
  | 'no-credentials'
  /** the KDC does not know the service principal for this host form */
  | 'service-unknown'
  /** the KDC or gssproxy refused by policy: not delegable, delegation not allowed, revoked, skew… */
  | 'refused'
  /** KDC or gssproxy unreachable, connection closed, or timed out */
  | 'unreachable'
  /** malformed data from a peer or a file (cache, reply) */
  | 'protocol'
  /** configuration problem (krb5.conf, unsupported ccache type, …) */
  | 'config';

export class CredentialError extends Error {
  override readonly name = 'CredentialError';
  constructor(
    /** which source failed: "ccache", "keytab", "gssproxy" */
    readonly source: string,
    readonly kind: CredentialFailureKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface CredentialSource {
  /** short name used in the trace and in configuration: "ccache", "keytab", "gssproxy" */
  readonly name: string;
  acquire(request: CredentialRequest): Promise<InitiatorToken>;
}

/**
 * The host part of cifs/<host> every source names its service with: refused when empty or when it
 * holds a character that would change the principal's shape (@, /, \, whitespace, NUL).
 */
export function checkServiceHost(source: string, host: string): void {
  if (!host || /[\s@/\\\0]/.test(host)) {
    throw new CredentialError(
      source,
      'config',
      `cannot name the service for host ${JSON.stringify(host)}: empty, or contains @, /, \\ or whitespace`,
    );
  }
}

/**
 * The keytab rule: the keytab gives `user=`'s identity, so only to the mount's own session. In a
 * multiuser mount every user's session carries the mount's user= (e.g. root), and cifs.upcall 7.0
 * asks the KDC for that principal on every ticketless access by another uid
 * (docs/cifs-upcall-behaviour.md#keytab-fallback): never. Returns why the keytab may not be used,
 * or null when it may.
 */
export function keytabRefusal(request: CredentialRequest, fallback: 'mount-session' | 'never'): string | null {
  if (fallback === 'never') return 'keytab_fallback = never';
  if (request.mountUser === undefined || request.mountUser === '') return 'no user= in the description';
  if (!request.isMountSession) {
    return `user=${request.mountUser} is the mount's identity, and uid ${request.identity.uid} is not the mount's own session (multiuser access): the keytab would hand that user the mount's identity`;
  }
  return null;
}
