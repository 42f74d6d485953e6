// Sending one request to the KDCs of a realm (RFC 4120 §7.2.1 UDP, §7.2.2 TCP; docs/kerberos.md#kdc-transport,
// MIT os/sendto_kdc.c). TCP frames are `u32be length ‖ message` both ways; the top bit of the
// length is reserved and rejected.
//
// Order and timing (T = per-attempt wait, default 1 s or kdc_timeout):
//   pass 1  for each server in list order: resolve it, send on every address over the preferred
//           transport (UDP when the request ≤ udp_preference_limit, else TCP), waiting T after
//           each send; connections of the other transport (of untyped entries, and entries
//           pinned to it) are deferred: they are sent next, T each; then wait 2T
//   pass 2, 3  resend on every open UDP connection, T apart, then wait 4T, 8T
// A TCP connection that is established stretches every wait to 10 s after it connected (measured
// on MIT 1.20: a silent TCP KDC costs 10 s before the next one is tried; one silent server costs
// 27 s in all). A wait ends early once no connection is awaiting a reply (refused, closed,
// answered but not final). Everything is bounded by an overall deadline and the AbortSignal.
// Replies are judged by the caller's classifier: 'final' ends the exchange, 'svc-unavailable'
// and 'invalid' retire that connection, 'too-big' (over UDP) restarts the exchange over TCP only.
import type { Socket as UdpSocket } from 'node:dgram';
import { connect, type Socket as TcpSocket } from 'node:net';
import type { Trace } from '../../trace.ts';
import { createUdpSocket } from '../../net/udp.ts';
import { ipFamily, ipLiteralLookup, lookupHost, DnsLookupError, type DnsOptions } from '../../net/dns/index.ts';
import type { Krb5Config } from '../config/krb5-config.ts';
import { locateKdcs, type KdcServer } from './locate.ts';

export type KdcWireTransport = 'udp' | 'tcp';

/** What a reply means to the caller (the transport does not decode Kerberos messages). */
export type KdcReplyClass = 'final' | 'svc-unavailable' | 'too-big' | 'invalid';

export type KdcReplyClassifier = (reply: Buffer, transport: KdcWireTransport) => KdcReplyClass;

export interface SendToKdcOptions {
  config: Krb5Config;
  classify: KdcReplyClassifier;
  /** servers already located (default: locateKdcs(realm, config)) */
  servers?: readonly KdcServer[];
  dns?: DnsOptions;
  signal?: AbortSignal;
  trace?: Trace;
  /** per-attempt wait T (default: kdc_timeout, else 1000 ms) */
  perAttemptTimeoutMs?: number;
  /** hard cap for the whole exchange (default: request_timeout, else 30 s; the smaller wins) */
  overallTimeoutMs?: number;
  /** how long an established TCP connection holds the waits (default 10 000 ms, as MIT) */
  tcpWaitMs?: number;
  /** never use UDP */
  tcpOnly?: boolean;
}

/** One send (or a failure to get as far as sending) and what became of it. */
export interface KdcAttempt {
  server: string;
  address?: string;
  transport?: KdcWireTransport;
  /** `reply (N bytes)`, `no reply`, `connection refused`, `RESPONSE_TOO_BIG`, … */
  outcome: string;
  /** when it was sent, milliseconds since the exchange started */
  at: number;
  /** milliseconds from the send to the outcome */
  ms: number;
}

export interface KdcReply {
  reply: Buffer;
  server: KdcServer;
  address: string;
  port: number;
  transport: KdcWireTransport;
  /** true when a RESPONSE_TOO_BIG over UDP made us start over on TCP */
  retriedOverTcp: boolean;
  attempts: KdcAttempt[];
}

/** No KDC of the realm produced a final reply (MIT: KRB5_KDC_UNREACH). */
export class KdcUnreachableError extends Error {
  constructor(
    readonly realm: string,
    readonly attempts: readonly KdcAttempt[],
    /** the overall deadline ended the exchange */
    readonly timedOut: boolean,
    summary: string,
  ) {
    super(`Cannot contact any KDC for realm "${realm}": ${summary}`);
    this.name = 'KdcUnreachableError';
  }
}

export const DEFAULT_PER_ATTEMPT_MS = 1000;
export const DEFAULT_OVERALL_MS = 30_000;
export const DEFAULT_TCP_WAIT_MS = 10_000;
/** Largest TCP reply we accept (a PAC-heavy AD ticket is ~100 KB at worst). */
export const MAX_TCP_REPLY = 16 * 1024 * 1024;

type ConnState = 'new' | 'connecting' | 'awaiting' | 'closed';

interface Conn {
  server: KdcServer;
  address: string;
  transport: KdcWireTransport;
  deferred: boolean;
  state: ConnState;
  udp?: UdpSocket;
  tcp?: TcpSocket;
  sends: number;
  /** when an established TCP connection stops holding the waits */
  tcpHoldUntil?: number;
  /** the latest send, until its outcome is known */
  pending?: KdcAttempt;
}

/**
 * Send `request` to a KDC of `realm` and return the first reply the classifier calls final.
 * Throws KdcLocateError when no KDC can be named, KdcUnreachableError when none answers, the
 * signal's reason when aborted.
 */
export async function sendToKdc(realm: string, request: Buffer, options: SendToKdcOptions): Promise<KdcReply> {
  const { config, trace, signal } = options;
  signal?.throwIfAborted();
  const started = Date.now();
  const requestTimeout = config.requestTimeoutMs();
  const overall = Math.min(options.overallTimeoutMs ?? DEFAULT_OVERALL_MS, requestTimeout ?? Infinity);
  const perAttempt = options.perAttemptTimeoutMs ?? config.kdcTimeoutMs() ?? DEFAULT_PER_ATTEMPT_MS;
  const deadline = started + overall;
  const servers = options.servers ?? (await locateKdcs(realm, config, { dns: withSignal(options.dns, signal), trace }));
  const limit = config.udpPreferenceLimit();
  let tcpOnly = options.tcpOnly ?? false;
  const attempts: KdcAttempt[] = [];
  for (;;) {
    const preferUdp = !tcpOnly && request.length <= limit;
    trace?.event(
      'kdc',
      `sending ${request.length}-byte request to ${realm}: ${tcpOnly ? 'TCP only' : preferUdp ? `UDP first (≤ ${limit})` : `TCP first (> ${limit})`}`,
      {
        servers: servers.map((s) => s.label),
        perAttemptMs: perAttempt,
        overallMs: overall,
      },
    );
    const exchange = new Exchange(realm, request, servers, {
      classify: options.classify,
      preferUdp,
      tcpOnly,
      perAttempt,
      tcpWait: options.tcpWaitMs ?? DEFAULT_TCP_WAIT_MS,
      deadline,
      started,
      attempts,
      dns: options.dns,
      signal,
      trace,
    });
    const result = await exchange.run();
    if (result.kind === 'reply') {
      return { ...result.reply, retriedOverTcp: tcpOnly && !options.tcpOnly, attempts };
    }
    if (result.kind === 'too-big') {
      trace?.event('kdc', `${result.server} answered RESPONSE_TOO_BIG over UDP; sending the same request over TCP only`);
      tcpOnly = true;
      continue;
    }
    throw new KdcUnreachableError(realm, attempts, result.timedOut, summarize(attempts, result.timedOut, overall));
  }
}

function withSignal(dns: DnsOptions | undefined, signal: AbortSignal | undefined): DnsOptions | undefined {
  if (!signal) return dns;
  return { ...dns, signal: dns?.signal ? AbortSignal.any([dns.signal, signal]) : signal };
}

/** One clause per connection (its last outcome), e.g. `kdc1:88 (10.0.0.1) udp: no reply`. */
function summarize(attempts: readonly KdcAttempt[], timedOut: boolean, overall: number): string {
  const last = new Map<string, string>();
  for (const a of attempts) {
    const host = a.server.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
    const where = a.address && a.address !== host ? `${a.server} (${a.address})` : a.server;
    const key = `${where}${a.transport ? ` ${a.transport}` : ''}`;
    last.set(key, `${key}: ${a.outcome}`);
  }
  const parts = [...last.values()];
  if (timedOut) parts.push(`gave up after ${overall} ms`);
  return parts.length > 0 ? parts.join('; ') : 'no server was tried';
}

interface ExchangeSettings {
  classify: KdcReplyClassifier;
  preferUdp: boolean;
  tcpOnly: boolean;
  perAttempt: number;
  tcpWait: number;
  deadline: number;
  started: number;
  attempts: KdcAttempt[];
  dns?: DnsOptions;
  signal?: AbortSignal;
  trace?: Trace;
}

type ExchangeResult =
  | { kind: 'reply'; reply: Omit<KdcReply, 'retriedOverTcp' | 'attempts'> }
  | { kind: 'too-big'; server: string }
  | { kind: 'failed'; timedOut: boolean };

class Exchange {
  private readonly conns: Conn[] = [];
  private result: ExchangeResult | undefined;
  private wake: (() => void) | undefined;
  private aborted = false;

  constructor(
    private readonly realm: string,
    private readonly request: Buffer,
    private readonly servers: readonly KdcServer[],
    private readonly s: ExchangeSettings,
  ) {}

  async run(): Promise<ExchangeResult> {
    const onAbort = (): void => {
      this.aborted = true;
      this.wake?.();
    };
    this.s.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await this.passes();
      if (this.aborted) throw this.s.signal!.reason ?? new Error('aborted');
      if (this.result) return this.result;
      const timedOut = Date.now() >= this.s.deadline;
      for (const c of this.conns) this.settle(c, timedOut ? 'no reply before the deadline' : 'no reply');
      return { kind: 'failed', timedOut };
    } finally {
      this.s.signal?.removeEventListener('abort', onAbort);
      for (const c of this.conns) this.close(c);
    }
  }

  private get stopped(): boolean {
    return this.result !== undefined || this.aborted || Date.now() >= this.s.deadline;
  }

  private async passes(): Promise<void> {
    const T = this.s.perAttempt;
    for (const server of this.servers) {
      if (this.stopped) return;
      const added = await this.resolve(server);
      for (const c of added) {
        if (this.stopped) return;
        if (c.deferred) continue;
        this.send(c);
        await this.wait(T);
      }
    }
    for (const c of this.conns) {
      if (this.stopped) return;
      if (!c.deferred) continue;
      c.deferred = false;
      this.send(c);
      await this.wait(T);
    }
    if (this.stopped) return;
    await this.wait(2 * T);
    let backoff = 4 * T;
    for (let pass = 2; pass <= 3; pass++) {
      if (this.stopped || !this.anyAwaiting()) return;
      for (const c of this.conns) {
        if (this.stopped) return;
        if (c.transport !== 'udp' || c.state !== 'awaiting') continue;
        this.send(c);
        await this.wait(T);
      }
      if (this.stopped) return;
      await this.wait(backoff);
      backoff *= 2;
    }
  }

  private anyAwaiting(): boolean {
    return this.conns.some((c) => c.state === 'awaiting' || c.state === 'connecting');
  }

  /**
   * Wait `ms` (longer while an established TCP connection holds); returns early when stopped or
   * when nothing is awaiting a reply.
   */
  private async wait(ms: number): Promise<void> {
    const base = Date.now() + ms;
    for (;;) {
      if (this.stopped || !this.anyAwaiting()) return;
      let end = base;
      for (const c of this.conns) {
        if (c.state === 'awaiting' && c.tcpHoldUntil !== undefined) end = Math.max(end, c.tcpHoldUntil);
      }
      end = Math.min(end, this.s.deadline);
      const now = Date.now();
      if (now >= end) return;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, end - now);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
  }

  private notify(): void {
    this.wake?.();
  }

  private elapsed(): number {
    return Date.now() - this.s.started;
  }

  private traceOutcome(a: KdcAttempt): void {
    this.s.trace?.event('kdc', `${a.server}${a.address ? ` (${a.address})` : ''}${a.transport ? ` ${a.transport}` : ''}: ${a.outcome}`, {
      realm: this.realm,
      server: a.server,
      address: a.address,
      transport: a.transport,
      outcome: a.outcome,
      at: a.at,
      ms: a.ms,
    });
  }

  /** A server that was not contacted at all (resolution failed, transport not allowed). */
  private recordSkip(server: KdcServer, outcome: string): void {
    const attempt: KdcAttempt = { server: server.label, outcome, at: this.elapsed(), ms: 0 };
    this.s.attempts.push(attempt);
    this.traceOutcome(attempt);
  }

  /** A send starts an attempt whose outcome is settled later. */
  private begin(c: Conn): void {
    this.settle(c, 'no reply');
    const attempt: KdcAttempt = {
      server: c.server.label,
      address: c.address,
      transport: c.transport,
      outcome: 'pending',
      at: this.elapsed(),
      ms: 0,
    };
    this.s.attempts.push(attempt);
    c.pending = attempt;
  }

  private settle(c: Conn, outcome: string): void {
    const attempt = c.pending;
    if (!attempt) return;
    c.pending = undefined;
    attempt.outcome = outcome;
    attempt.ms = this.elapsed() - attempt.at;
    this.traceOutcome(attempt);
  }

  /** Resolve a server and add its connections (preferred transport first, the other deferred). */
  private async resolve(server: KdcServer): Promise<Conn[]> {
    let addresses: string[];
    if (ipFamily(server.host)) {
      addresses = [server.host];
    } else {
      try {
        const dnsSignal = AbortSignal.timeout(Math.max(1, this.s.deadline - Date.now()));
        const signal = this.s.signal ? AbortSignal.any([this.s.signal, dnsSignal]) : dnsSignal;
        const found = await lookupHost(server.host, { ...this.s.dns, signal, trace: this.s.dns?.trace ?? this.s.trace });
        addresses = found.addresses.map((a) => a.address);
        this.s.trace?.event('kdc', `${server.host} resolves to ${addresses.join(', ')}`);
      } catch (err) {
        if (this.aborted) return [];
        const reason = err instanceof DnsLookupError ? err.message : `host lookup aborted: ${(err as Error).message}`;
        this.recordSkip(server, `cannot resolve ${server.host}: ${reason}`);
        return [];
      }
    }
    const preferred: KdcWireTransport = this.s.tcpOnly || !this.s.preferUdp ? 'tcp' : 'udp';
    const added: Conn[] = [];
    const add = (address: string, transport: KdcWireTransport, deferred: boolean): void => {
      const c: Conn = { server, address, transport, deferred, state: 'new', sends: 0 };
      this.conns.push(c);
      added.push(c);
    };
    if (server.transport !== 'any') {
      if (this.s.tcpOnly && server.transport === 'udp') {
        this.recordSkip(server, 'skipped (UDP-only entry, TCP required)');
        return [];
      }
      // a pinned entry of the other transport waits for the deferred round (MIT 1.20, measured)
      for (const a of addresses) add(a, server.transport, server.transport !== preferred);
      return added;
    }
    for (const a of addresses) add(a, preferred, false);
    if (!this.s.tcpOnly) {
      const other: KdcWireTransport = preferred === 'udp' ? 'tcp' : 'udp';
      for (const a of addresses) add(a, other, true);
    }
    return added;
  }

  private send(c: Conn): void {
    if (c.state === 'closed') return;
    c.sends++;
    this.begin(c);
    this.s.trace?.event(
      'kdc',
      `sending to ${c.server.label} (${c.address}) over ${c.transport}${c.sends > 1 ? ` (retry ${c.sends - 1})` : ''}`,
      {
        realm: this.realm,
        bytes: this.request.length,
        ms: this.elapsed(),
      },
    );
    if (c.transport === 'udp') this.sendUdp(c);
    else this.startTcp(c);
  }

  private sendUdp(c: Conn): void {
    if (c.udp) {
      c.udp.send(this.request, (err) => err && this.fail(c, err));
      return;
    }
    let socket: UdpSocket;
    try {
      socket = createUdpSocket({ type: ipFamily(c.address) === 6 ? 'udp6' : 'udp4', lookup: ipLiteralLookup });
    } catch (err) {
      this.fail(c, err as Error);
      return;
    }
    c.udp = socket;
    c.state = 'awaiting';
    socket.on('error', (err) => this.fail(c, err));
    socket.on('message', (reply) => this.onReply(c, reply));
    socket.connect(c.server.port, c.address, () => {
      if (c.state === 'closed') return;
      socket.send(this.request, (err) => err && this.fail(c, err));
    });
  }

  private startTcp(c: Conn): void {
    if (c.tcp) return; // a TCP request is sent once
    const framed = Buffer.alloc(4 + this.request.length);
    framed.writeUInt32BE(this.request.length, 0);
    this.request.copy(framed, 4);
    const socket = connect({ host: c.address, port: c.server.port });
    c.tcp = socket;
    c.state = 'connecting';
    let buffered: Buffer = Buffer.alloc(0);
    let expected: number | undefined;
    socket.on('connect', () => {
      if (c.state === 'closed') return;
      c.state = 'awaiting';
      c.tcpHoldUntil = Date.now() + this.s.tcpWait;
      socket.write(framed);
    });
    socket.on('error', (err) => this.fail(c, err));
    socket.on('data', (chunk: Buffer) => {
      if (c.state === 'closed') return;
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      if (expected === undefined) {
        if (buffered.length < 4) return;
        const length = buffered.readUInt32BE(0);
        if (length & 0x80000000) {
          this.retire(c, `TCP reply length 0x${length.toString(16)} has the reserved top bit set`);
          return;
        }
        if (length > MAX_TCP_REPLY) {
          this.retire(c, `TCP reply length ${length} exceeds ${MAX_TCP_REPLY} bytes`);
          return;
        }
        expected = length;
      }
      if (buffered.length >= 4 + expected) this.onReply(c, Buffer.from(buffered.subarray(4, 4 + expected)));
    });
    socket.on('end', () => {
      if (c.state === 'closed') return;
      const got = Math.max(0, buffered.length - 4);
      this.retire(
        c,
        expected === undefined
          ? 'TCP connection closed without a reply'
          : `TCP reply truncated: connection closed after ${got} of ${expected} bytes`,
      );
    });
  }

  private onReply(c: Conn, reply: Buffer): void {
    if (c.state === 'closed' || this.result) return;
    let verdict: KdcReplyClass;
    try {
      verdict = reply.length === 0 ? 'invalid' : this.s.classify(reply, c.transport);
    } catch (err) {
      verdict = 'invalid';
      this.s.trace?.event('kdc', `reply classifier failed: ${(err as Error).message}`);
    }
    if (verdict === 'too-big' && c.transport === 'tcp') verdict = 'final';
    switch (verdict) {
      case 'final':
        this.settle(c, `reply (${reply.length} bytes)`);
        this.result = {
          kind: 'reply',
          reply: { reply, server: c.server, address: c.address, port: c.server.port, transport: c.transport },
        };
        break;
      case 'too-big':
        this.settle(c, 'RESPONSE_TOO_BIG');
        this.result = { kind: 'too-big', server: c.server.label };
        break;
      case 'svc-unavailable':
        this.retire(c, 'KDC_ERR_SVC_UNAVAILABLE');
        return;
      case 'invalid':
        this.retire(c, `unusable reply (${reply.length} bytes)`);
        return;
    }
    this.notify();
  }

  private fail(c: Conn, err: Error): void {
    const code = (err as NodeJS.ErrnoException).code;
    this.retire(c, code ? `${code === 'ECONNREFUSED' ? 'connection refused' : err.message}` : err.message);
  }

  /** This connection will not produce a final reply. */
  private retire(c: Conn, outcome: string): void {
    if (c.state === 'closed') return;
    this.settle(c, outcome);
    this.close(c);
    this.notify();
  }

  private close(c: Conn): void {
    c.state = 'closed';
    if (c.udp) {
      try {
        c.udp.close();
      } catch {
        /* already closed */
      }
    }
    c.tcp?.destroy();
  }
}
