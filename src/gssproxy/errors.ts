// Typed failures of the gssproxy client, one class per layer (docs/gssproxy-protocol.md#error-model):
// transport (socket), RPC (the daemon refused the call), protocol (bytes we cannot read).
// GSS failures inside a successful reply are GssStatusError (status.ts).
import type { CredentialFailureKind } from '../credentials.ts';
import type { GssxStatus } from './protocol.ts';
import type { RpcRefusal } from './rpc.ts';

export type TransportFailure =
  /** the socket path does not exist (ENOENT) or is not a socket */
  | 'no-socket'
  /** nothing accepts connections there (ECONNREFUSED): daemon not running */
  | 'refused'
  /** EACCES/EPERM on connect: directory or socket permissions */
  | 'access'
  /** the daemon closed the connection without a reply */
  | 'eof'
  /** ECONNRESET / EPIPE while sending or waiting */
  | 'reset'
  /** no reply within the per-call time limit */
  | 'timeout'
  /** the caller's AbortSignal fired */
  | 'aborted'
  /** our request would exceed the 1 MiB record limit */
  | 'too-large'
  /** any other socket error */
  | 'io';

export class GssproxyTransportError extends Error {
  override readonly name = 'GssproxyTransportError';
  constructor(
    readonly kind: TransportFailure,
    readonly socketPath: string,
    message: string,
    readonly details: {
      /** procedure name, e.g. GSSX_INIT_SEC_CONTEXT */
      proc?: string;
      /** true when the call was the first one on a freshly opened connection */
      firstCallOnConnection?: boolean;
      /** errno code of the underlying error, e.g. ECONNREFUSED */
      code?: string;
    } = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The daemon answered with bytes that are not a valid reply (wrong xid, bad XDR, bad record). */
export class GssproxyProtocolError extends Error {
  override readonly name = 'GssproxyProtocolError';
  constructor(
    readonly socketPath: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A well-formed RPC reply that is not SUCCESS: PROC_UNAVAIL, GARBAGE_ARGS, SYSTEM_ERR, denied… */
export class GssproxyRpcError extends Error {
  override readonly name = 'GssproxyRpcError';
  constructor(
    readonly proc: string,
    readonly refusal: RpcRefusal,
    message: string,
  ) {
    super(message);
  }

  /** SYSTEM_ERR: the daemon failed internally (often a GSS error it could not render). */
  get isSystemError(): boolean {
    return this.refusal.kind === 'accepted' && this.refusal.acceptStat === 5;
  }
}

/** A GSS failure reported inside a successful reply (gssx_status with an error major). */
export class GssStatusError extends Error {
  override readonly name = 'GssStatusError';
  constructor(
    readonly proc: string,
    readonly status: GssxStatus,
    /** what the failure means for the upcall */
    readonly kind: CredentialFailureKind,
    /** the most specific text: for Kerberos failures the KDC's reason as the daemon rendered it */
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}
