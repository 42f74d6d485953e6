// ONC RPC over gssproxy's Unix stream socket (RFC 5531 §11 record marking;
// docs/gssproxy-protocol.md#record-marking-and-rpc-header).
//
// Policy (docs/gssproxy-protocol.md#connection-rules): connect lazily; one request in flight per connection (calls queue); every
// call has a deadline (connecting included) and honours an AbortSignal; a connection that hit a
// timeout, an abort, EOF, a reset or garbage is discarded. A call that finds a *reused*
// connection closed (EOF/reset: the daemon restarted since the last call) is resent once on a
// fresh connection — all procedures used here are idempotent for the client. A timeout is not
// retried: the request may still be running, and a second wait would come out of the same
// upcall budget. The daemon identifies the caller by SO_PEERCRED at connect(), so the identity a
// connection carries is the process's effective uid/gid at the moment it was opened.
import { connect as netConnect, type Socket } from 'node:net';
import type { Trace } from '../trace.ts';
import { procName } from './constants.ts';
import { GssproxyProtocolError, GssproxyRpcError, GssproxyTransportError, type TransportFailure } from './errors.ts';
import { MAX_RPC_SIZE, RecordAssembler, decodeReply, describeRefusal, encodeCall } from './rpc.ts';
import type { XdrReader } from './xdr.ts';
import { monotonicMs } from '../clock.ts';

export const DEFAULT_CALL_TIMEOUT_MS = 15_000;

export interface TransportOptions {
  socketPath: string;
  /** limit for one call, connecting included (default 15 s, like the C client's response timer) */
  timeoutMs?: number;
  trace?: Trace;
  /** largest reply accepted (default and maximum: 1 MiB, the daemon's own limit) */
  maxReplySize?: number;
}

export interface CallOptions {
  signal?: AbortSignal;
  /** overrides the transport's per-call limit for this call */
  timeoutMs?: number;
}

export interface CallResult {
  /** positioned at the procedure's results */
  results: XdrReader;
  xid: number;
  /** wall time of the call, connecting and a resend included */
  ms: number;
  requestBytes: number;
  replyBytes: number;
}

/** One socket and its reply reassembly; at most one request outstanding. */
class Connection {
  private readonly assembler: RecordAssembler;
  private waiter: { resolve: (body: Buffer) => void; reject: (e: Error) => void } | null = null;
  completedCalls = 0;
  closed = false;
  /** why the connection ended, as seen by the socket */
  private endReason: { kind: TransportFailure; code?: string; error?: Error } | null = null;

  private constructor(
    readonly socket: Socket,
    private readonly path: string,
    maxReply: number,
  ) {
    this.assembler = new RecordAssembler(maxReply);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (e: NodeJS.ErrnoException) => {
      this.endReason ??= { kind: e.code === 'ECONNRESET' || e.code === 'EPIPE' ? 'reset' : 'io', code: e.code, error: e };
    });
    socket.on('close', () => this.onClose());
  }

  static open(path: string, maxReply: number): Promise<Connection> {
    return new Promise((resolve, reject) => {
      const socket = netConnect({ path, allowHalfOpen: false });
      const onError = (e: NodeJS.ErrnoException): void => {
        socket.destroy();
        reject(connectError(path, e));
      };
      socket.once('error', onError);
      socket.once('connect', () => {
        socket.off('error', onError);
        resolve(new Connection(socket, path, maxReply));
      });
    });
  }

  private onData(chunk: Buffer): void {
    let records: Buffer[];
    try {
      records = this.assembler.push(chunk);
    } catch (e) {
      this.fail(new GssproxyProtocolError(this.path, (e as Error).message, { cause: e }));
      return;
    }
    for (const record of records) {
      const w = this.waiter;
      if (!w) {
        this.fail(new GssproxyProtocolError(this.path, `unsolicited ${record.length}-byte record from gssproxy`));
        return;
      }
      this.waiter = null;
      w.resolve(record);
    }
  }

  private onClose(): void {
    this.closed = true;
    const w = this.waiter;
    this.waiter = null;
    if (!w) return;
    const reason = this.endReason ?? { kind: 'eof' as const };
    const partial = this.assembler.buffered > 0 ? ` after ${this.assembler.buffered} bytes of a reply` : '';
    w.reject(
      new GssproxyTransportError(
        reason.kind,
        this.path,
        reason.kind === 'eof'
          ? `gssproxy closed the connection without a reply${partial}`
          : `connection to gssproxy lost${partial}: ${reason.error?.message ?? reason.code ?? reason.kind}`,
        { code: reason.code },
        { cause: reason.error },
      ),
    );
  }

  /** Tear down with a reason that a pending request receives. */
  fail(error: Error): void {
    const w = this.waiter;
    this.waiter = null;
    this.destroy();
    w?.reject(error);
  }

  send(record: Buffer): Promise<Buffer> {
    if (this.closed) return Promise.reject(new GssproxyTransportError('eof', this.path, 'connection already closed'));
    if (this.waiter) return Promise.reject(new Error('internal: a request is already in flight on this connection'));
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
      this.socket.ref();
      this.socket.write(record);
    });
  }

  idle(): void {
    // an idle connection must never keep the upcall process alive
    this.socket.unref();
  }

  destroy(): void {
    this.closed = true;
    this.socket.destroy();
  }
}

function connectError(path: string, e: NodeJS.ErrnoException): GssproxyTransportError {
  const code = e.code ?? 'EIO';
  const [failure, why] = ((): [TransportFailure, string] => {
    switch (code) {
      case 'ENOENT':
        return ['no-socket', `no gssproxy socket at ${path} (ENOENT): gssproxy is not running there, or its service uses another socket`];
      case 'ENOTSOCK':
        return ['no-socket', `${path} is not a socket (ENOTSOCK)`];
      case 'ECONNREFUSED':
        return ['refused', `connection refused on ${path} (ECONNREFUSED): nothing listens there — gssproxy is not running`];
      case 'EACCES':
      case 'EPERM':
        return [
          'access',
          `permission denied connecting to ${path} (${code}): the socket's directory must be searchable by euid ${process.geteuid?.() ?? '?'}`,
        ];
      case 'EAGAIN':
        return ['refused', `gssproxy's listen queue on ${path} stayed full (EAGAIN): the daemon is overloaded or stuck`];
      default:
        return ['io', `cannot connect to ${path}: ${e.message}`];
    }
  })();
  return new GssproxyTransportError(failure, path, why, { code }, { cause: e });
}

export class GssproxyTransport {
  readonly socketPath: string;
  private readonly timeoutMs: number;
  private readonly trace?: Trace;
  private readonly maxReply: number;
  private connection: Connection | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  private xid: number | null = null;
  /** RPCs answered on this transport (all connections) */
  rpcCount = 0;
  connectCount = 0;

  constructor(options: TransportOptions) {
    this.socketPath = options.socketPath;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
    this.trace = options.trace;
    this.maxReply = Math.min(options.maxReplySize ?? MAX_RPC_SIZE, MAX_RPC_SIZE);
  }

  /** True while a connection is open (the next call reuses it). */
  get isConnected(): boolean {
    return this.connection !== null && !this.connection.closed;
  }

  /** Send one call and return the SUCCESS results; RPC refusals throw GssproxyRpcError. */
  call(proc: number, args: Uint8Array, options: CallOptions = {}): Promise<CallResult> {
    const run = (): Promise<CallResult> => this.callWithResend(proc, args, options);
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => undefined);
    return result;
  }

  /** Close the connection (idempotent). */
  close(): void {
    this.connection?.destroy();
    this.connection = null;
  }

  private nextXid(): number {
    // random start like the C client, then increment: a stale reply can never match. Math.random
    // is enough for an xid on our own connection, and spares the gssproxy path node:crypto's
    // start-up cost (~5 ms of CPU, ~2 MiB; docs/performance.md)
    this.xid = this.xid === null ? Math.floor(Math.random() * 0x1_0000_0000) >>> 0 : (this.xid + 1) >>> 0;
    return this.xid;
  }

  private async callWithResend(proc: number, args: Uint8Array, options: CallOptions): Promise<CallResult> {
    const name = procName(proc);
    const started = monotonicMs();
    const limit = options.timeoutMs ?? this.timeoutMs;
    const deadline = started + limit;
    try {
      return await this.attempt(proc, args, options.signal, deadline, limit, started);
    } catch (e) {
      if (e instanceof GssproxyTransportError && (e.kind === 'eof' || e.kind === 'reset') && e.details.firstCallOnConnection === false) {
        this.trace?.event(
          'gssproxy',
          `connection to ${this.socketPath} was closed by gssproxy since the last call (${e.message}); reconnecting and resending ${name} once`,
        );
        return this.attempt(proc, args, options.signal, deadline, limit, started);
      }
      throw e;
    }
  }

  private async attempt(
    proc: number,
    args: Uint8Array,
    signal: AbortSignal | undefined,
    deadline: number,
    limit: number,
    started: number,
  ): Promise<CallResult> {
    const name = procName(proc);
    const xid = this.nextXid();
    const record = encodeCall(xid, proc, args);
    if (record.length - 4 > MAX_RPC_SIZE) {
      throw new GssproxyTransportError(
        'too-large',
        this.socketPath,
        `${name} request of ${record.length - 4} bytes exceeds gssproxy's ${MAX_RPC_SIZE}-byte limit`,
        { proc: name },
      );
    }
    const guard = new CallGuard(this.socketPath, name, deadline, limit, signal);
    let connection: Connection | null = null;
    let fresh = false;
    try {
      if (!this.connection || this.connection.closed) {
        this.connection = null;
        const t0 = monotonicMs();
        let busy = 0;
        for (;;) {
          const opening = Connection.open(this.socketPath, this.maxReply);
          try {
            this.connection = await guard.race(opening);
            break;
          } catch (e) {
            // a connect that completes after the deadline must not leak a socket
            opening.then(
              (late) => late.destroy(),
              () => undefined,
            );
            // EAGAIN: the daemon's listen backlog is full (many upcalls at once); a non-blocking
            // connect does not wait for room, so wait a little ourselves, within the deadline
            if (!(e instanceof GssproxyTransportError) || e.details.code !== 'EAGAIN') throw e;
            busy++;
            try {
              await guard.race(sleep(Math.min(5 * 2 ** Math.min(busy, 5), 100)));
            } catch (stop) {
              if (!(stop instanceof GssproxyTransportError) || stop.kind !== 'timeout') throw stop;
              throw new GssproxyTransportError(
                'timeout',
                this.socketPath,
                `${name}: gssproxy's listen queue on ${this.socketPath} stayed full (EAGAIN on ${busy} connect attempts) for ${limit} ms`,
                { proc: name, code: 'EAGAIN' },
              );
            }
          }
        }
        fresh = true;
        this.connectCount++;
        this.trace?.event(
          'gssproxy',
          `connected to ${this.socketPath} as euid ${process.geteuid?.() ?? '?'} egid ${process.getegid?.() ?? '?'} (the identity gssproxy sees)` +
            (busy ? ` after ${busy} retries: its listen queue was full` : ''),
          { ms: round(monotonicMs() - t0) },
        );
      }
      connection = this.connection;
      const body = await guard.race(connection.send(record));
      const ms = monotonicMs() - started;
      let reply: ReturnType<typeof decodeReply>;
      try {
        reply = decodeReply(body);
      } catch (e) {
        throw new GssproxyProtocolError(this.socketPath, `${name}: ${(e as Error).message}`, { cause: e });
      }
      if (reply.xid !== xid) {
        throw new GssproxyProtocolError(
          this.socketPath,
          `${name}: reply xid 0x${reply.xid.toString(16)} does not match call xid 0x${xid.toString(16)}`,
        );
      }
      this.rpcCount++;
      connection.completedCalls++;
      connection.idle();
      this.trace?.event(
        'gssproxy',
        `${name} xid 0x${xid.toString(16).padStart(8, '0')}: ${record.length} bytes out, ${body.length + 4} bytes back`,
        { ms: round(ms) },
      );
      if (!reply.ok) {
        throw new GssproxyRpcError(name, reply.refusal, `gssproxy refused ${name} at the RPC layer: ${describeRefusal(reply.refusal)}`);
      }
      return { results: reply.results, xid, ms, requestBytes: record.length, replyBytes: body.length + 4 };
    } catch (e) {
      if (!(e instanceof GssproxyRpcError)) {
        // timeout, abort, EOF, reset, garbage: this connection is done for
        connection?.destroy();
        if (this.connection === connection) this.connection = null;
      }
      if (e instanceof GssproxyTransportError) {
        const first = fresh || (connection?.completedCalls ?? 0) === 0;
        throw new GssproxyTransportError(
          e.kind,
          e.socketPath,
          e.message.startsWith(name) ? e.message : `${name}: ${e.message}`,
          { ...e.details, proc: name, firstCallOnConnection: first },
          { cause: e.cause ?? e },
        );
      }
      throw e;
    } finally {
      guard.dispose();
    }
  }
}

/** The deadline and the AbortSignal of one call, as a promise that only ever rejects. */
class CallGuard {
  private timer: NodeJS.Timeout | undefined;
  private onAbort: (() => void) | undefined;
  private readonly stop: Promise<never>;

  constructor(
    path: string,
    name: string,
    deadline: number,
    limit: number,
    private readonly signal: AbortSignal | undefined,
  ) {
    this.stop = new Promise<never>((_, reject) => {
      const timeout = (): void =>
        reject(
          new GssproxyTransportError('timeout', path, `${name}: no reply from gssproxy on ${path} within ${limit} ms`, { proc: name }),
        );
      const remaining = deadline - monotonicMs();
      if (remaining <= 0) timeout();
      else this.timer = setTimeout(timeout, remaining);
      if (signal) {
        this.onAbort = (): void =>
          reject(
            new GssproxyTransportError(
              'aborted',
              path,
              `${name}: aborted while waiting for gssproxy on ${path} (the upcall's time budget is spent)`,
              { proc: name },
              { cause: signal.reason },
            ),
          );
        if (signal.aborted) this.onAbort();
        else signal.addEventListener('abort', this.onAbort, { once: true });
      }
    });
    this.stop.catch(() => undefined);
  }

  race<T>(work: Promise<T>): Promise<T> {
    return Promise.race([work, this.stop]);
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.signal && this.onAbort) this.signal.removeEventListener('abort', this.onAbort);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
