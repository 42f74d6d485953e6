// KDC transport (RFC 4120 §7.2.1/§7.2.2; docs/kerberos.md#kdc-transport) against a real MIT krb5kdc 1.20
// (test/harness/realm/mini-kdc.ts, kdc_max_dgram_reply_size = 500 so an AS-REP over UDP becomes
// KRB_ERR_RESPONSE_TOO_BIG) and listeners made here to misbehave: silent, refusing, garbage,
// truncated. The timing expectations are MIT 1.20's, measured with kinit + KRB5_TRACE on this
// machine: a dead KDC costs nothing, a silent UDP one 1 s (T), an accepting-but-silent TCP one
// 10 s, and one fully silent server 27 s (T = 1 s, TCP hold 10 s) — here scaled down.
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server, type Socket } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Krb5Config } from '../../src/krb5/config/krb5-config.ts';
import { KdcUnreachableError, sendToKdc, type KdcReply, type SendToKdcOptions } from '../../src/krb5/kdc/transport.ts';
import { MemoryTrace } from '../../src/trace.ts';
import { buildAsReq, classifyKdcReply, krbErrorCode, startMiniKdc, type MiniKdc } from '../harness/realm/mini-kdc.ts';

let kdc: MiniKdc;
const closers: Array<() => Promise<void>> = [];

beforeAll(async () => {
  kdc = await startMiniKdc({ maxDgramReplySize: 500 });
});

afterAll(async () => {
  try {
    await kdc?.stop();
  } finally {
    for (const close of closers.splice(0)) await close();
  }
});

// ---- listeners that misbehave (each on an OS-chosen free port, closed after the file) ----

interface Fake {
  port: number;
  datagrams: Buffer[];
  connections: number;
}

async function bindUdp(port: number, onMessage?: (msg: Buffer, reply: (b: Buffer) => void) => void): Promise<UdpSocket> {
  const udp = createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    udp.once('error', reject);
    udp.bind(port, '127.0.0.1', () => resolve());
  });
  udp.on('message', (msg, rinfo) => onMessage?.(msg, (b) => udp.send(b, rinfo.port, rinfo.address)));
  return udp;
}

async function listenTcp(port: number, onConnection: (s: Socket) => void): Promise<Server> {
  const server = createServer(onConnection);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return server;
}

/**
 * A fake KDC: UDP and/or TCP on one port. `udp`: 'silent' | a reply function; `tcp`: 'none'
 * (refused) | 'silent' (accepts, never answers) | a connection handler.
 */
async function fakeKdc(options: {
  udp?: 'none' | 'silent' | ((msg: Buffer) => Buffer);
  tcp?: 'none' | 'silent' | ((s: Socket, fake: Fake) => void);
}): Promise<Fake> {
  for (let tries = 0; tries < 20; tries++) {
    const fake: Fake = { port: 0, datagrams: [], connections: 0 };
    const probe = await bindUdp(0);
    const port = (probe.address() as { port: number }).port;
    let udp: UdpSocket | undefined = probe;
    let tcp: Server | undefined;
    const sockets = new Set<Socket>();
    try {
      if (options.udp === 'none') {
        probe.close();
        udp = undefined;
      } else {
        const handler = options.udp;
        probe.on('message', (msg, rinfo) => {
          fake.datagrams.push(msg);
          if (typeof handler === 'function') probe.send(handler(msg), rinfo.port, rinfo.address);
        });
      }
      // a TCP listener that never answers still has to accept; 'none' leaves the port closed
      const tcpMode = options.tcp ?? 'none';
      if (tcpMode !== 'none') {
        tcp = await listenTcp(port, (s) => {
          fake.connections++;
          sockets.add(s);
          s.on('close', () => sockets.delete(s));
          s.on('error', () => undefined);
          if (tcpMode === 'silent') return;
          tcpMode(s, fake);
        });
      }
    } catch {
      udp?.close();
      continue; // the TCP side of that port was taken: try another
    }
    fake.port = port;
    closers.push(async () => {
      udp?.close();
      if (tcp) {
        for (const s of sockets) s.destroy();
        await new Promise<void>((r) => tcp!.close(() => r()));
      }
    });
    return fake;
  }
  throw new Error('could not find a free port for a fake KDC');
}

/** A port nothing listens on (UDP and TCP): probed by binding, then released. */
async function deadPort(): Promise<number> {
  const fake = await fakeKdc({ udp: 'none', tcp: 'none' });
  return fake.port;
}

function config(kdcs: string[], extra = ''): Krb5Config {
  return Krb5Config.fromText(
    [
      '[libdefaults]',
      '  dns_lookup_kdc = false',
      '  dns_lookup_realm = false',
      extra,
      '[realms]',
      `  ${kdc.realm} = {`,
      ...kdcs.map((k) => `    kdc = ${k}`),
      '  }',
      '',
    ].join('\n'),
    'kdc-transport.conf',
  );
}

const real = (): string => `${kdc.host}:${kdc.port}`;

type SendOptions = Partial<SendToKdcOptions> & { extra?: string };

async function send(
  kdcs: string[],
  request: Buffer,
  options: SendOptions = {},
): Promise<{ reply: KdcReply; trace: MemoryTrace; ms: number }> {
  const trace = new MemoryTrace();
  const started = Date.now();
  const { extra, ...rest } = options;
  const reply = await sendToKdc(kdc.realm, request, {
    config: config(kdcs, extra),
    classify: classifyKdcReply,
    trace,
    dns: { servers: [], hostsPath: false },
    ...rest,
  });
  return { reply, trace, ms: Date.now() - started };
}

async function sendFails(kdcs: string[], request: Buffer, options: SendOptions = {}): Promise<{ error: KdcUnreachableError; ms: number }> {
  const started = Date.now();
  try {
    await send(kdcs, request, options);
  } catch (err) {
    expect(err).toBeInstanceOf(KdcUnreachableError);
    return { error: err as KdcUnreachableError, ms: Date.now() - started };
  }
  throw new Error('expected the exchange to fail');
}

const alice = (padding = 0): Buffer => buildAsReq(kdc.realm, 'alice', padding);
const bob = (): Buffer => buildAsReq(kdc.realm, 'bob');

describe('UDP and TCP against MIT krb5kdc', () => {
  it('a small request goes over UDP (KDC_ERR_PREAUTH_REQUIRED for alice)', async () => {
    const { reply, trace } = await send([real()], alice());
    expect(reply.transport).toBe('udp');
    expect(krbErrorCode(reply.reply)).toBe(25);
    expect(reply.retriedOverTcp).toBe(false);
    expect(trace.messages('kdc').filter((m) => m.startsWith('sending to'))).toEqual([`sending to ${real()} (127.0.0.1) over udp`]);
  });

  it('a request larger than udp_preference_limit (1465) goes over TCP first', async () => {
    const big = alice(2000);
    expect(big.length).toBeGreaterThan(1465);
    const { reply } = await send([real()], big);
    expect(reply.transport).toBe('tcp');
    expect(krbErrorCode(reply.reply)).toBe(25);
  });

  it('udp_preference_limit: a request of exactly the limit uses UDP, one byte more TCP (MIT: ≤)', async () => {
    const request = alice();
    expect((await send([real()], request, { extra: `  udp_preference_limit = ${request.length}` })).reply.transport).toBe('udp');
    expect((await send([real()], request, { extra: `  udp_preference_limit = ${request.length - 1}` })).reply.transport).toBe('tcp');
    expect((await send([real()], request, { extra: '  udp_preference_limit = 1' })).reply.transport).toBe('tcp');
  });

  it('KRB_ERR_RESPONSE_TOO_BIG over UDP: the same request again over TCP only, AS-REP received', async () => {
    const { reply, trace } = await send([real()], bob());
    expect(reply.transport).toBe('tcp');
    expect(reply.reply[0]).toBe(0x6b); // [APPLICATION 11] AS-REP
    expect(reply.retriedOverTcp).toBe(true);
    expect(reply.attempts.map((a) => [a.transport, a.outcome])).toEqual([
      ['udp', 'RESPONSE_TOO_BIG'],
      ['tcp', expect.stringMatching(/^reply \(\d+ bytes\)$/)],
    ]);
    expect(trace.messages('kdc')).toContain(`${real()} answered RESPONSE_TOO_BIG over UDP; sending the same request over TCP only`);
  });

  it('after RESPONSE_TOO_BIG, UDP-only entries are skipped', async () => {
    const { error } = await sendFails([`udp/${real()}`], bob());
    expect(error.message).toBe(
      `Cannot contact any KDC for realm "${kdc.realm}": ${real()} udp: RESPONSE_TOO_BIG; ${real()}: skipped (UDP-only entry, TCP required)`,
    );
  });

  it('a tcp/ pin is honoured for a small request', async () => {
    const { reply } = await send([`tcp/${real()}`], alice());
    expect(reply.transport).toBe('tcp');
  });
});

describe('several KDCs', () => {
  it('a dead first KDC (port unreachable, connection refused) is skipped at once', async () => {
    const dead = await deadPort();
    const { reply, ms } = await send([`127.0.0.1:${dead}`, real()], alice(), { perAttemptTimeoutMs: 2000 });
    expect(reply.server.port).toBe(kdc.port);
    expect(ms).toBeLessThan(1500);
    expect(reply.attempts[0]).toMatchObject({ server: `127.0.0.1:${dead}`, transport: 'udp', outcome: 'connection refused' });
  });

  it('an IPv6 literal entry ([::1]:port) is contacted over a udp6 socket', async () => {
    const dead = await deadPort();
    const { reply } = await send([`[::1]:${dead}`, real()], alice(), { perAttemptTimeoutMs: 2000 });
    expect(reply.attempts[0]).toMatchObject({ server: `[::1]:${dead}`, address: '::1', transport: 'udp' });
    expect(reply.transport).toBe('udp');
  });

  it('a silent UDP KDC costs one per-attempt wait before the next KDC', async () => {
    const silent = await fakeKdc({ udp: 'silent', tcp: 'none' });
    const { reply, ms } = await send([`127.0.0.1:${silent.port}`, real()], alice(), { perAttemptTimeoutMs: 400 });
    expect(reply.server.port).toBe(kdc.port);
    expect(silent.datagrams).toHaveLength(1);
    expect(ms).toBeGreaterThanOrEqual(380);
    expect(ms).toBeLessThan(2000);
  });

  it('an accepting-but-silent TCP KDC holds the exchange for the TCP wait (MIT: 10 s) before the next', async () => {
    const silent = await fakeKdc({ udp: 'none', tcp: 'silent' });
    const { reply, ms } = await send([`127.0.0.1:${silent.port}`, real()], alice(2000), { perAttemptTimeoutMs: 100, tcpWaitMs: 1000 });
    expect(reply.transport).toBe('tcp');
    expect(reply.server.port).toBe(kdc.port);
    expect(silent.connections).toBe(1);
    expect(ms).toBeGreaterThanOrEqual(950);
    expect(ms).toBeLessThan(3000);
  });

  it('KDC_ERR_SVC_UNAVAILABLE (29) moves on to the next KDC', async () => {
    // capture a real KRB-ERROR (C_PRINCIPAL_UNKNOWN, 6) and change its error-code to 29
    const captured = (await send([real()], buildAsReq(kdc.realm, 'nobody'))).reply.reply;
    expect(krbErrorCode(captured)).toBe(6);
    const at = captured.indexOf(Buffer.from([0xa6, 0x03, 0x02, 0x01, 0x06]));
    expect(at).toBeGreaterThan(0);
    const unavailable = Buffer.from(captured);
    unavailable[at + 4] = 29;
    expect(krbErrorCode(unavailable)).toBe(29);
    const busy = await fakeKdc({ udp: () => unavailable });
    const { reply, ms } = await send([`127.0.0.1:${busy.port}`, real()], alice(), { perAttemptTimeoutMs: 3000 });
    expect(reply.server.port).toBe(kdc.port);
    expect(reply.attempts[0]).toMatchObject({ transport: 'udp', outcome: 'KDC_ERR_SVC_UNAVAILABLE' });
    expect(ms).toBeLessThan(1500);
  });

  it('a garbage UDP reply is unusable: next KDC without waiting', async () => {
    const garbage = await fakeKdc({ udp: () => Buffer.from('this is not DER at all') });
    const { reply, ms } = await send([`127.0.0.1:${garbage.port}`, real()], alice(), { perAttemptTimeoutMs: 3000 });
    expect(reply.server.port).toBe(kdc.port);
    expect(reply.attempts[0]).toMatchObject({ outcome: 'unusable reply (22 bytes)' });
    expect(ms).toBeLessThan(1500);
  });

  it('a truncated TCP reply and a length with the reserved top bit are rejected', async () => {
    const truncated = await fakeKdc({
      udp: 'none',
      tcp: (s) =>
        s.once('data', () => {
          const head = Buffer.alloc(4);
          head.writeUInt32BE(100);
          s.end(Buffer.concat([head, Buffer.alloc(10, 0x6b)]));
        }),
    });
    const topBit = await fakeKdc({ udp: 'none', tcp: (s) => s.once('data', () => s.write(Buffer.from([0x80, 0, 0, 0x10]))) });
    // TCP preferred, or the tcp/ entries would wait for the deferred round (MIT does the same)
    const { reply } = await send([`tcp/127.0.0.1:${truncated.port}`, `tcp/127.0.0.1:${topBit.port}`, real()], alice(), {
      perAttemptTimeoutMs: 3000,
      extra: '  udp_preference_limit = 1',
    });
    expect(reply.server.port).toBe(kdc.port);
    expect(reply.attempts.slice(0, 2).map((a) => a.outcome)).toEqual([
      'TCP reply truncated: connection closed after 10 of 100 bytes',
      'TCP reply length 0x80000010 has the reserved top bit set',
    ]);
  });

  it('a TCP reply split over many segments is reassembled exactly', async () => {
    const captured = (await send([`tcp/${real()}`], alice())).reply.reply;
    const slow = await fakeKdc({
      udp: 'none',
      tcp: (s) =>
        s.once('data', async () => {
          const framed = Buffer.concat([Buffer.alloc(4), captured]);
          framed.writeUInt32BE(captured.length);
          for (let i = 0; i < framed.length; i += 7) {
            s.write(framed.subarray(i, i + 7));
            await new Promise((r) => setTimeout(r, 1));
          }
        }),
    });
    const { reply } = await send([`tcp/127.0.0.1:${slow.port}`], alice(), { perAttemptTimeoutMs: 3000 });
    expect(reply.reply).toEqual(captured);
  });

  it('host names are resolved with our resolver (hosts file here); an unresolvable one is skipped', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kdc-hosts-'));
    try {
      writeFileSync(join(dir, 'hosts'), `127.0.0.1 kdc.kdct.test kdc\n`);
      const { reply } = await send([`missing.kdct.test:${kdc.port}`, `kdc.kdct.test:${kdc.port}`], alice(), {
        dns: { hostsPath: join(dir, 'hosts'), servers: [], search: [] },
      });
      expect(reply.server.host).toBe('kdc.kdct.test');
      expect(reply.address).toBe('127.0.0.1');
      expect(reply.attempts[0]).toMatchObject({
        server: `missing.kdct.test:${kdc.port}`,
        outcome: expect.stringMatching(/^cannot resolve missing\.kdct\.test: /),
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('timeouts, the overall cap and AbortSignal', () => {
  it("one silent server, TCP refused: MIT's passes (T, 2T, T+4T, T+8T = 18T) and 3 UDP sends", async () => {
    const silent = await fakeKdc({ udp: 'silent', tcp: 'none' });
    const { error, ms } = await sendFails([`127.0.0.1:${silent.port}`], alice(), { perAttemptTimeoutMs: 100 });
    expect(silent.datagrams).toHaveLength(3);
    expect(silent.datagrams.every((d) => d.equals(silent.datagrams[0]!))).toBe(true);
    expect(ms).toBeGreaterThanOrEqual(1700);
    expect(ms).toBeLessThan(3500);
    expect(error.timedOut).toBe(false);
    expect(error.message).toBe(
      `Cannot contact any KDC for realm "${kdc.realm}": 127.0.0.1:${silent.port} udp: no reply; 127.0.0.1:${silent.port} tcp: connection refused`,
    );
  });

  it('one silent server that accepts TCP: 27T with a 10T TCP hold (MIT 1.20 measured 27 s)', async () => {
    const silent = await fakeKdc({ udp: 'silent', tcp: 'silent' });
    const { error, ms } = await sendFails([`127.0.0.1:${silent.port}`], alice(), { perAttemptTimeoutMs: 100, tcpWaitMs: 1000 });
    expect(silent.datagrams).toHaveLength(3);
    expect(silent.connections).toBe(1);
    expect(ms).toBeGreaterThanOrEqual(2600);
    expect(ms).toBeLessThan(4500);
    expect(error.attempts.map((a) => [a.transport, a.outcome])).toEqual([
      ['udp', 'no reply'],
      ['tcp', 'no reply'],
      ['udp', 'no reply'],
      ['udp', 'no reply'],
    ]);
    // sent at 0, T, 13T (TCP hold 10T from T, then 2T), 18T (T + 4T later)
    const at = error.attempts.map((a) => a.at);
    expect(at[1]! - at[0]!).toBeGreaterThanOrEqual(90);
    expect(at[2]! - at[1]!).toBeGreaterThanOrEqual(1150);
    expect(at[3]! - at[2]!).toBeGreaterThanOrEqual(480);
  });

  it('the overall cap ends the exchange', async () => {
    const silent = await fakeKdc({ udp: 'silent', tcp: 'silent' });
    const { error, ms } = await sendFails([`127.0.0.1:${silent.port}`], alice(), { overallTimeoutMs: 600 });
    expect(error.timedOut).toBe(true);
    expect(error.message).toMatch(/gave up after 600 ms$/);
    expect(ms).toBeGreaterThanOrEqual(580);
    expect(ms).toBeLessThan(1500);
  });

  it('request_timeout from krb5.conf caps it too', async () => {
    const silent = await fakeKdc({ udp: 'silent', tcp: 'none' });
    const { error, ms } = await sendFails([`127.0.0.1:${silent.port}`], alice(), { extra: '  request_timeout = 1' });
    expect(error.timedOut).toBe(true);
    expect(ms).toBeGreaterThanOrEqual(950);
    expect(ms).toBeLessThan(2500);
  });

  it('an AbortSignal stops the exchange with its reason', async () => {
    const silent = await fakeKdc({ udp: 'silent', tcp: 'silent' });
    const controller = new AbortController();
    const reason = new Error('upcall budget spent');
    setTimeout(() => controller.abort(reason), 250);
    const started = Date.now();
    await expect(send([`127.0.0.1:${silent.port}`], alice(), { signal: controller.signal })).rejects.toBe(reason);
    expect(Date.now() - started).toBeLessThan(1000);
    // an already-aborted signal never sends
    const before = silent.datagrams.length;
    await expect(send([`127.0.0.1:${silent.port}`], alice(), { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    expect(silent.datagrams.length).toBe(before);
  });

  it('kdc_timeout (Heimdal) sets the per-attempt wait', async () => {
    const silent = await fakeKdc({ udp: 'silent', tcp: 'none' });
    const { ms } = await send([`127.0.0.1:${silent.port}`, real()], alice(), { extra: '  kdc_timeout = 0:00:01' });
    expect(ms).toBeGreaterThanOrEqual(950);
    expect(ms).toBeLessThan(2500);
  });
});
