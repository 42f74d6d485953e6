// Fake KDCs for the fault matrix: one loopback port, UDP and TCP (RFC 4120 §7.2.1–7.2.2: a TCP
// message is a 4-byte big-endian length and the message), answering every request the way a
// broken or hostile KDC would: garbage bytes, the real KDC's reply truncated, a KRB-ERROR of a
// chosen code (with the KDC time it claims), the real reply after a delay, or nothing at all.
// "proxy" modes forward the request to the realm's real KDC over UDP.
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server, type Socket } from 'node:net';
import { encodeKrbError } from '../../../src/krb5/messages/index.ts';
import { findFreePort } from '../common/processes.ts';

export type FakeKdcMode =
  | { kind: 'silent' }
  | { kind: 'garbage'; bytes: Buffer }
  | { kind: 'truncated'; keep: number }
  | { kind: 'krb-error'; code: number; eText?: string; stimeOffsetS?: number }
  | { kind: 'slow'; delayMs: number };

export interface FakeKdc {
  port: number;
  /** requests seen (UDP datagrams + TCP messages) */
  requests: number;
  stop(): Promise<void>;
}

function krbError(code: number, realm: string, eText: string | undefined, offsetS: number): Buffer {
  const now = new Date(Math.floor(Date.now() / 1000) * 1000 + offsetS * 1000);
  return encodeKrbError({
    stime: now,
    susec: 0,
    errorCode: code,
    server: { nameType: 2, components: ['krbtgt', realm], realm },
    ...(eText !== undefined ? { eText } : {}),
  });
}

/** Ask the real KDC (UDP) and hand back its reply. */
function askRealKdc(request: Buffer, realPort: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    const timer = setTimeout(() => {
      s.close();
      reject(new Error('real KDC did not answer'));
    }, 5000);
    s.on('message', (m) => {
      clearTimeout(timer);
      s.close();
      resolve(m);
    });
    s.send(request, realPort, '127.0.0.1');
  });
}

export async function startFakeKdc(mode: FakeKdcMode, options: { realm: string; realKdcPort: number }): Promise<FakeKdc> {
  const port = findFreePort(38000, 39000);
  const state = { requests: 0 };
  const answer = async (request: Buffer): Promise<Buffer | null> => {
    state.requests++;
    switch (mode.kind) {
      case 'silent':
        return null;
      case 'garbage':
        return mode.bytes;
      case 'krb-error':
        return krbError(mode.code, options.realm, mode.eText, mode.stimeOffsetS ?? 0);
      case 'truncated': {
        const real = await askRealKdc(request, options.realKdcPort);
        return real.subarray(0, Math.min(mode.keep, real.length - 1));
      }
      case 'slow': {
        const real = await askRealKdc(request, options.realKdcPort);
        await new Promise((r) => setTimeout(r, mode.delayMs));
        return real;
      }
    }
  };
  const udp: UdpSocket = createSocket('udp4');
  udp.on('message', (msg, rinfo) => {
    void answer(msg).then(
      (reply) => {
        if (reply) udp.send(reply, rinfo.port, rinfo.address);
      },
      () => undefined,
    );
  });
  await new Promise<void>((resolve) => udp.bind(port, '127.0.0.1', resolve));
  const sockets = new Set<Socket>();
  const tcp: Server = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    let buf = Buffer.alloc(0);
    s.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length < 4 || buf.length < 4 + buf.readUInt32BE(0)) return;
      const request = buf.subarray(4, 4 + buf.readUInt32BE(0));
      buf = Buffer.alloc(0);
      void answer(request).then(
        (reply) => {
          if (!reply || s.destroyed) return;
          const len = Buffer.alloc(4);
          len.writeUInt32BE(reply.length);
          s.write(Buffer.concat([len, reply]));
        },
        () => s.destroy(),
      );
    });
  });
  await new Promise<void>((resolve) => tcp.listen(port, '127.0.0.1', resolve));
  return {
    port,
    get requests() {
      return state.requests;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        udp.close();
        tcp.close(() => resolve());
      }),
  } as FakeKdc;
}
