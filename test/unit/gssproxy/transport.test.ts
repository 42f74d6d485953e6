// The ONC-RPC transport against fault-injection servers (test/harness/gssproxy/gssproxy-fakes.ts): the
// failures a real daemon cannot be made to show on demand — hung, garbage, EOF, restarts,
// fragmented and oversized replies — plus the one-request-in-flight rule
// (docs/gssproxy-protocol.md#connection-rules; RFC 5531 §11).
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { GssproxyClient, probeGssproxy } from '../../../src/gssproxy/client.ts';
import { Proc } from '../../../src/gssproxy/constants.ts';
import { GssproxyProtocolError, GssproxyRpcError, GssproxyTransportError } from '../../../src/gssproxy/errors.ts';
import { encodeResGetCallContext } from '../../../src/gssproxy/protocol.ts';
import { MAX_RPC_SIZE } from '../../../src/gssproxy/rpc.ts';
import { GssproxyTransport } from '../../../src/gssproxy/transport.ts';
import { XdrWriter } from '../../../src/gssproxy/xdr.ts';
import { MemoryTrace } from '../../../src/trace.ts';
import {
  acceptedReply,
  deniedReply,
  fragmentedRecord,
  makeDeadSocket,
  record,
  socketDir,
  startClosingGssproxy,
  startBusyListener,
  startFakeGssproxy,
  startGarbageGssproxy,
  startHungGssproxy,
  successReply,
  type FakeGssproxy,
} from '../../harness/gssproxy/gssproxy-fakes.ts';

const { dir, cleanup } = socketDir();
afterAll(cleanup);
let servers: FakeGssproxy[] = [];
let n = 0;
const path = (): string => join(dir, `s${n++}.sock`);
async function serve(p: Promise<FakeGssproxy>): Promise<FakeGssproxy> {
  const s = await p;
  servers.push(s);
  return s;
}
afterEach(async () => {
  for (const s of servers) await s.close();
  servers = [];
});

const emptyResults = (): Buffer => {
  const w = new XdrWriter();
  encodeResGetCallContext(w, { status: {} });
  return Buffer.from(w.finish());
};

async function failure(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a failure');
}

describe('bounded waits', () => {
  it('a hung daemon (accepts, never answers) ends in a timeout, and the connection is dropped', async () => {
    const s = await serve(startHungGssproxy(path()));
    const t = new GssproxyTransport({ socketPath: s.path, timeoutMs: 200 });
    const t0 = performance.now();
    const e = await failure(t.call(Proc.GET_CALL_CONTEXT, Buffer.alloc(12)));
    const ms = performance.now() - t0;
    expect(e).toBeInstanceOf(GssproxyTransportError);
    expect((e as GssproxyTransportError).kind).toBe('timeout');
    expect(e.message).toMatch(/GSSX_GET_CALL_CONTEXT: no reply from gssproxy on .* within 200 ms/);
    expect(ms).toBeGreaterThanOrEqual(190);
    expect(ms).toBeLessThan(1500);
    expect(t.isConnected).toBe(false);
    expect(s.calls.length).toBe(1); // not resent
  });

  it('the AbortSignal ends a call at once', async () => {
    const s = await serve(startHungGssproxy(path()));
    const t = new GssproxyTransport({ socketPath: s.path, timeoutMs: 10_000 });
    const ac = new AbortController();
    setTimeout(() => ac.abort(new Error('budget')), 50);
    const t0 = performance.now();
    const e = await failure(t.call(Proc.GET_CALL_CONTEXT, Buffer.alloc(12), { signal: ac.signal }));
    expect((e as GssproxyTransportError).kind).toBe('aborted');
    expect(performance.now() - t0).toBeLessThan(1000);
    // an already aborted signal never waits
    const e2 = await failure(t.call(Proc.GET_CALL_CONTEXT, Buffer.alloc(12), { signal: AbortSignal.abort() }));
    expect((e2 as GssproxyTransportError).kind).toBe('aborted');
  });
});

describe('connection failures', () => {
  it('no socket file → no-socket; a socket with nothing behind it → refused', async () => {
    const missing = new GssproxyTransport({ socketPath: join(dir, 'absent.sock'), timeoutMs: 1000 });
    const e1 = await failure(missing.call(Proc.GET_CALL_CONTEXT, Buffer.alloc(12)));
    expect(e1).toMatchObject({ kind: 'no-socket', details: { code: 'ENOENT' } });
    const dead = path();
    makeDeadSocket(dead);
    expect(existsSync(dead)).toBe(true);
    const e2 = await failure(new GssproxyTransport({ socketPath: dead, timeoutMs: 1000 }).call(Proc.GET_CALL_CONTEXT, Buffer.alloc(12)));
    expect(e2).toMatchObject({ kind: 'refused', details: { code: 'ECONNREFUSED' } });
    expect(e2.message).toMatch(/connection refused on .*: nothing listens there — gssproxy is not running/);
  });

  it('EOF on the first call of a connection is reported (that is how gssproxy says "no service matches")', async () => {
    const s = await serve(startClosingGssproxy(path()));
    const t = new GssproxyTransport({ socketPath: s.path, timeoutMs: 1000 });
    const e = await failure(t.call(Proc.INIT_SEC_CONTEXT, Buffer.alloc(12)));
    expect(e).toMatchObject({ kind: 'eof', details: { firstCallOnConnection: true, proc: 'GSSX_INIT_SEC_CONTEXT' } });
    expect(s.calls.length).toBe(1);
    const probe = await probeGssproxy({ socketPath: s.path, timeoutMs: 1000 });
    expect(probe.matched).toBe(false);
  });

  it('a reused connection the daemon closed meanwhile is reopened and the call resent once', async () => {
    const s = await serve(
      startFakeGssproxy(path(), (call, conn) => {
        if (conn.index === 0 && s.calls.filter((c) => c.connection === 0).length === 2) conn.end();
        else conn.write(successReply(call.xid, emptyResults()));
      }),
    );
    const trace = new MemoryTrace();
    const client = new GssproxyClient({ socketPath: s.path, timeoutMs: 1000, trace });
    await client.getCallContext();
    await client.getCallContext();
    expect(s.connections).toBe(2);
    expect(s.calls.map((c) => c.connection)).toEqual([0, 0, 1]);
    expect(trace.messages('gssproxy').join('\n')).toMatch(/closed by gssproxy since the last call .* resending GSSX_GET_CALL_CONTEXT once/);
    client.close();
  });

  it('a connection closed again after the resend is an error, not a loop', async () => {
    let first = true;
    const s = await serve(
      startFakeGssproxy(path(), (call, conn) => {
        if (first) {
          first = false;
          conn.write(successReply(call.xid, emptyResults()));
        } else {
          conn.end();
        }
      }),
    );
    const client = new GssproxyClient({ socketPath: s.path, timeoutMs: 1000 });
    await client.getCallContext();
    const e = await failure(client.getCallContext());
    expect(e).toMatchObject({ kind: 'eof' });
    expect(s.calls.length).toBe(3);
    client.close();
  });
});

describe('garbage and limits', () => {
  it('garbage instead of a record (an HTTP answer) is a protocol error', async () => {
    const s = await serve(startGarbageGssproxy(path(), Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\n')));
    const e = await failure(new GssproxyTransport({ socketPath: s.path, timeoutMs: 1000 }).call(Proc.GET_CALL_CONTEXT, Buffer.alloc(12)));
    expect(e).toBeInstanceOf(GssproxyProtocolError);
    expect(e.message).toMatch(/exceeds the 1048576-byte limit/);
  });

  it('a well-framed record that is not an RPC reply is a protocol error', async () => {
    const s = await serve(startGarbageGssproxy(path(), record(Buffer.from('0000000100000000', 'hex'))));
    const e = await failure(new GssproxyTransport({ socketPath: s.path, timeoutMs: 1000 }).call(Proc.GET_CALL_CONTEXT, Buffer.alloc(12)));
    expect(e).toBeInstanceOf(GssproxyProtocolError);
    expect(e.message).toMatch(/expected an RPC REPLY/);
  });

  it('a reply with another xid is refused', async () => {
    const s = await serve(startFakeGssproxy(path(), (call, conn) => conn.write(successReply((call.xid + 1) >>> 0, emptyResults()))));
    const e = await failure(new GssproxyClient({ socketPath: s.path, timeoutMs: 1000 }).getCallContext());
    expect(e).toBeInstanceOf(GssproxyProtocolError);
    expect(e.message).toMatch(/reply xid .* does not match call xid/);
  });

  it('undecodable results are a protocol error naming the field', async () => {
    const s = await serve(startFakeGssproxy(path(), (call, conn) => conn.write(successReply(call.xid, Buffer.from('00000000', 'hex')))));
    const e = await failure(new GssproxyClient({ socketPath: s.path, timeoutMs: 1000 }).getCallContext());
    expect(e).toBeInstanceOf(GssproxyProtocolError);
    expect(e.message).toMatch(/GSSX_GET_CALL_CONTEXT result: XDR: gssx_res_get_call_context\.status\.major_status/);
  });

  it('a reply announcing more than 1 MiB is refused before its bytes arrive', async () => {
    const s = await serve(
      startFakeGssproxy(path(), (_call, conn) => {
        const mark = Buffer.alloc(4);
        mark.writeUInt32BE((0x8000_0000 | (MAX_RPC_SIZE + 1)) >>> 0, 0);
        conn.write(mark);
      }),
    );
    const e = await failure(new GssproxyTransport({ socketPath: s.path, timeoutMs: 5000 }).call(Proc.GET_CALL_CONTEXT, Buffer.alloc(12)));
    expect(e).toBeInstanceOf(GssproxyProtocolError);
  });

  it('a request above 1 MiB is refused locally, nothing is sent', async () => {
    const s = await serve(startHungGssproxy(path()));
    const e = await failure(
      new GssproxyTransport({ socketPath: s.path, timeoutMs: 1000 }).call(Proc.INIT_SEC_CONTEXT, Buffer.alloc(MAX_RPC_SIZE)),
    );
    expect(e).toMatchObject({ kind: 'too-large' });
    expect(s.calls.length).toBe(0);
  });

  it('a reply in several fragments is reassembled (RFC 5531 §11)', async () => {
    const s = await serve(
      startFakeGssproxy(path(), (call, conn) => {
        const full = successReply(call.xid, emptyResults());
        conn.write(fragmentedRecord(full.subarray(4), 5));
      }),
    );
    const res = await new GssproxyClient({ socketPath: s.path, timeoutMs: 1000 }).getCallContext();
    expect(res.status.majorStatus).toBe(0);
  });

  it('RPC refusals throw GssproxyRpcError and keep the connection', async () => {
    const replies = [acceptedReply(0, 5), acceptedReply(0, 3), deniedReply(0, 1)];
    const s = await serve(
      startFakeGssproxy(path(), (call, conn) => {
        const r = replies.shift()!;
        r.writeUInt32BE(call.xid, 4);
        conn.write(r);
      }),
    );
    const client = new GssproxyClient({ socketPath: s.path, timeoutMs: 1000 });
    const e1 = await failure(client.getCallContext());
    expect(e1).toBeInstanceOf(GssproxyRpcError);
    expect((e1 as GssproxyRpcError).isSystemError).toBe(true);
    expect((await failure(client.getCallContext())).message).toMatch(/PROC_UNAVAIL/);
    expect((await failure(client.getCallContext())).message).toMatch(/MSG_DENIED AUTH_ERROR/);
    expect(s.connections).toBe(1);
    client.close();
  });
});

describe('one request in flight per connection', () => {
  it('concurrent calls on one client are queued, answered in order on one connection', async () => {
    const s = await serve(
      startFakeGssproxy(path(), (call, conn) => {
        setTimeout(() => conn.write(successReply(call.xid, emptyResults())), 20);
      }),
    );
    const client = new GssproxyClient({ socketPath: s.path, timeoutMs: 2000 });
    const results = await Promise.all(Array.from({ length: 6 }, () => client.getCallContext()));
    expect(results.length).toBe(6);
    expect(s.maxOutstanding).toBe(1);
    expect(s.connections).toBe(1);
    const xids = s.calls.map((c) => c.xid);
    expect(xids).toEqual(xids.map((_, i) => (xids[0]! + i) >>> 0)); // incrementing xids
    client.close();
  });

  it('the call header is AUTH_NONE, RPC 2, program 400112 version 1', async () => {
    const s = await serve(startFakeGssproxy(path(), (call, conn) => conn.write(successReply(call.xid, emptyResults()))));
    const client = new GssproxyClient({ socketPath: s.path, timeoutMs: 1000 });
    await client.getCallContext();
    expect(s.calls[0]).toMatchObject({ rpcvers: 2, prog: 400112, vers: 1, proc: 2, credFlavor: 0 });
    client.close();
  });
});

describe('a full listen queue (EAGAIN on connect, many upcalls at once)', () => {
  it('is waited out within the deadline: the call succeeds once the daemon accepts again', async () => {
    const p = path();
    const busy = await startBusyListener(p, 300);
    const filler = connect({ path: p }); // takes the only backlog slot
    filler.on('error', () => undefined);
    await new Promise((r) => filler.once('connect', r));
    try {
      const trace = new MemoryTrace();
      const client = new GssproxyClient({ socketPath: p, timeoutMs: 5000, trace });
      const t0 = performance.now();
      const res = await client.getCallContext();
      expect(res.status.majorStatus).toBe(0);
      expect(performance.now() - t0).toBeGreaterThan(200);
      expect(trace.messages('gssproxy').join('\n')).toMatch(/after \d+ retries: its listen queue was full/);
      client.close();
    } finally {
      filler.destroy();
      busy.stop();
    }
  });

  it('ends in a timeout that says so when the queue stays full', async () => {
    const p = path();
    const busy = await startBusyListener(p, 60_000);
    const filler = connect({ path: p });
    filler.on('error', () => undefined);
    await new Promise((r) => filler.once('connect', r));
    try {
      const e = await failure(new GssproxyTransport({ socketPath: p, timeoutMs: 300 }).call(Proc.GET_CALL_CONTEXT, Buffer.alloc(12)));
      expect(e).toMatchObject({ kind: 'timeout', details: { code: 'EAGAIN' } });
      expect(e.message).toMatch(/listen queue .* stayed full \(EAGAIN on \d+ connect attempts\) for 300 ms/);
    } finally {
      filler.destroy();
      busy.stop();
    }
  });
});
