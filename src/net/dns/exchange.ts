// One DNS question sent to a list of servers, RFC 1035 §4.2: UDP first (one datagram each way,
// on a connected socket so only the server's packets arrive), the same question again over TCP
// (u16be length prefix, RFC 1035 §4.2.2) when the UDP answer has TC set. Retry structure of
// glibc's res_send: `attempts` rounds over the servers; the first round waits `timeoutMs` per
// server, later rounds (timeoutMs << round) / servers. A server that fails (SERVFAIL, REFUSED,
// NOTIMP, port unreachable, garbage) is skipped for the rest of the exchange.
import type { Socket as UdpSocket } from 'node:dgram';
import { createUdpSocket } from '../udp.ts';
import { connect, type Socket as TcpSocket } from 'node:net';
import { randomInt } from '../../krb5/crypto/primitives.ts';
import type { Trace } from '../../trace.ts';
import { DnsServerError, DnsTimeoutError } from './errors.ts';
import { ipFamily, ipLiteralLookup } from './ip.ts';
import { decodeMessage, DnsRcode, dnsTypeName, encodeQuery, sameName, type DnsMessage } from './message.ts';
import type { DnsServer } from './resolv-conf.ts';

export interface ExchangeOptions {
  servers: readonly DnsServer[];
  timeoutMs: number;
  attempts: number;
  /** always TCP (`options use-vc`) */
  useTcp?: boolean;
  /** advertise this EDNS0 UDP payload size (`options edns0`) */
  ednsUdpSize?: number;
  signal?: AbortSignal;
  trace?: Trace;
}

export interface ExchangeResult {
  message: DnsMessage;
  server: DnsServer;
  transport: 'udp' | 'tcp';
}

/** Largest reply we accept over TCP (the u16 length caps it anyway). */
const MAX_UDP_REPLY = 65535;

type TryOutcome =
  | { kind: 'answer'; message: DnsMessage; transport: 'udp' | 'tcp' }
  | { kind: 'timeout' }
  | { kind: 'failed'; reason: string };

/** Ask `servers` one question; resolves with the first usable answer (NOERROR or NXDOMAIN). */
export async function exchange(name: string, type: number, options: ExchangeOptions): Promise<ExchangeResult> {
  const { servers, trace, signal } = options;
  signal?.throwIfAborted();
  if (servers.length === 0) throw new DnsServerError(`no DNS server to ask for ${name} ${dnsTypeName(type)}`, name);
  const dead = new Set<number>();
  const reasons: string[] = [];
  let timeouts = 0;
  for (let round = 0; round < Math.max(1, options.attempts); round++) {
    for (let s = 0; s < servers.length; s++) {
      if (dead.has(s)) continue;
      const server = servers[s]!;
      const wait =
        round === 0 ? options.timeoutMs : Math.max(Math.floor((options.timeoutMs * 2 ** round) / servers.length), options.timeoutMs);
      const query = { id: randomInt(0, 0x10000), name, type, ednsUdpSize: options.ednsUdpSize };
      const started = Date.now();
      let outcome = options.useTcp ? await askTcp(server, query, wait, signal) : await askUdp(server, query, wait, signal);
      if (outcome.kind === 'answer' && outcome.message.flags.truncated && outcome.transport === 'udp') {
        trace?.event('dns', `${server.address}#${server.port}: answer truncated, asking again over TCP`, { name, type: dnsTypeName(type) });
        outcome = await askTcp(server, { ...query, id: randomInt(0, 0x10000) }, wait, signal);
      }
      const ms = Date.now() - started;
      if (outcome.kind === 'answer') {
        const rcode = outcome.message.flags.rcode;
        if (rcode === DnsRcode.NOERROR || rcode === DnsRcode.NXDOMAIN) {
          trace?.event(
            'dns',
            `${name} ${dnsTypeName(type)}: ${rcode === DnsRcode.NXDOMAIN ? 'NXDOMAIN' : `${outcome.message.answers.length} answer(s)`} from ${server.address}#${server.port}`,
            {
              transport: outcome.transport,
              ms,
            },
          );
          return { message: outcome.message, server, transport: outcome.transport };
        }
        outcome = { kind: 'failed', reason: `rcode ${rcodeName(rcode)}` };
      }
      if (outcome.kind === 'timeout') {
        timeouts++;
        trace?.event('dns', `${name} ${dnsTypeName(type)}: no answer from ${server.address}#${server.port} within ${wait} ms`);
        continue;
      }
      dead.add(s);
      reasons.push(`${server.address}#${server.port}: ${outcome.reason}`);
      trace?.event('dns', `${name} ${dnsTypeName(type)}: ${server.address}#${server.port} failed: ${outcome.reason}`);
    }
    if (dead.size === servers.length) break;
  }
  const what = `${name} ${dnsTypeName(type)}`;
  if (reasons.length > 0 && timeouts === 0) {
    throw new DnsServerError(`DNS lookup of ${what} failed: ${reasons.join('; ')}`, name);
  }
  const detail = reasons.length > 0 ? ` (${reasons.join('; ')})` : '';
  throw new DnsTimeoutError(`DNS lookup of ${what} timed out${detail}`, name);
}

function rcodeName(rcode: number): string {
  const entry = Object.entries(DnsRcode).find(([, v]) => v === rcode);
  return entry ? entry[0] : String(rcode);
}

interface Query {
  id: number;
  name: string;
  type: number;
  ednsUdpSize?: number;
}

/** A reply belongs to our query when id, QR and the echoed question match. */
function matches(message: DnsMessage, q: Query): boolean {
  if (message.id !== q.id || !message.flags.response) return false;
  // servers may omit the question in error replies
  if (message.questions.length === 0) return message.flags.rcode !== DnsRcode.NOERROR;
  const question = message.questions[0]!;
  return message.questions.length === 1 && question.type === q.type && sameName(question.name, q.name);
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new Error('aborted');
}

function askUdp(server: DnsServer, q: Query, waitMs: number, signal?: AbortSignal): Promise<TryOutcome | never> {
  return new Promise((resolve, reject) => {
    const family = ipFamily(server.address) === 6 ? 'udp6' : 'udp4';
    let socket: UdpSocket;
    try {
      socket = createUdpSocket({ type: family, recvBufferSize: MAX_UDP_REPLY, lookup: ipLiteralLookup });
    } catch (err) {
      resolve({ kind: 'failed', reason: `cannot create a UDP socket: ${(err as Error).message}` });
      return;
    }
    let settled = false;
    const finish = (outcome: TryOutcome | { kind: 'abort' }): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      try {
        socket.close();
      } catch {
        /* already closed */
      }
      if (outcome.kind === 'abort') reject(abortReason(signal!));
      else resolve(outcome);
    };
    const onAbort = (): void => finish({ kind: 'abort' });
    const timer = setTimeout(() => finish({ kind: 'timeout' }), waitMs);
    signal?.addEventListener('abort', onAbort, { once: true });
    socket.on('error', (err: NodeJS.ErrnoException) => finish({ kind: 'failed', reason: err.code ?? err.message }));
    socket.on('message', (buf) => {
      let message: DnsMessage;
      try {
        message = decodeMessage(buf);
      } catch (err) {
        finish({ kind: 'failed', reason: (err as Error).message });
        return;
      }
      // a stray datagram with the wrong id is ignored (RFC 5452 §9.1); keep waiting
      if (matches(message, q)) finish({ kind: 'answer', message, transport: 'udp' });
    });
    socket.connect(server.port, server.address, () => {
      if (settled) return;
      socket.send(encodeQuery(q), (err) => {
        if (err) finish({ kind: 'failed', reason: (err as NodeJS.ErrnoException).code ?? err.message });
      });
    });
  });
}

function askTcp(server: DnsServer, q: Query, waitMs: number, signal?: AbortSignal): Promise<TryOutcome> {
  return new Promise((resolve, reject) => {
    const query = encodeQuery({ ...q, ednsUdpSize: undefined });
    const framed = Buffer.alloc(2 + query.length);
    framed.writeUInt16BE(query.length, 0);
    query.copy(framed, 2);
    const socket: TcpSocket = connect({ host: server.address, port: server.port });
    const chunks: Buffer[] = [];
    let received = 0;
    let settled = false;
    const finish = (outcome: TryOutcome | { kind: 'abort' }): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      if (outcome.kind === 'abort') reject(abortReason(signal!));
      else resolve(outcome);
    };
    const onAbort = (): void => finish({ kind: 'abort' });
    const timer = setTimeout(() => finish({ kind: 'timeout' }), waitMs);
    signal?.addEventListener('abort', onAbort, { once: true });
    socket.on('connect', () => socket.write(framed));
    socket.on('error', (err: NodeJS.ErrnoException) => finish({ kind: 'failed', reason: `TCP: ${err.code ?? err.message}` }));
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      received += chunk.length;
      if (received < 2) return;
      const all = Buffer.concat(chunks);
      const length = all.readUInt16BE(0);
      if (all.length < 2 + length) return;
      let message: DnsMessage;
      try {
        message = decodeMessage(all.subarray(2, 2 + length));
      } catch (err) {
        finish({ kind: 'failed', reason: `TCP: ${(err as Error).message}` });
        return;
      }
      if (!matches(message, q)) finish({ kind: 'failed', reason: 'TCP: reply does not match the question' });
      else finish({ kind: 'answer', message, transport: 'tcp' });
    });
    socket.on('end', () => finish({ kind: 'failed', reason: 'TCP: connection closed before a full reply' }));
  });
}
