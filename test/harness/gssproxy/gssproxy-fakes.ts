// Fault-injection stand-ins for gssproxy, for the failures the real daemon cannot be made to
// show on demand: a daemon that accepts and never answers (hung), one that answers garbage, one
// that closes without a reply, a socket file with nothing behind it (daemon gone), and a
// scripted server that answers with records we build (RPC refusals, odd GSS statuses,
// fragmented replies). Everything listens on Unix sockets in a private temporary directory.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RecordAssembler } from '../../../src/gssproxy/rpc.ts';
import { XdrReader, XdrWriter } from '../../../src/gssproxy/xdr.ts';

/** One decoded call as the fake server saw it. */
export interface SeenCall {
  xid: number;
  rpcvers: number;
  prog: number;
  vers: number;
  proc: number;
  credFlavor: number;
  /** the procedure arguments */
  args: Buffer;
  /** the whole record body (without the record mark) */
  body: Buffer;
  /** the connection's index (0 = first connection) */
  connection: number;
}

export interface FakeConnection {
  socket: Socket;
  index: number;
  /** send raw bytes */
  write(bytes: Uint8Array): void;
  /** close gracefully (the client sees EOF) */
  end(): void;
}

export type FakeBehaviour = (call: SeenCall, conn: FakeConnection) => void | Promise<void>;

export interface FakeGssproxy {
  path: string;
  calls: SeenCall[];
  connections: number;
  /** highest number of calls a single connection had outstanding at once */
  maxOutstanding: number;
  close(): Promise<void>;
}

/** A private directory for sockets; `cleanup` removes it. */
export function socketDir(): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'cu-gp-fake-'));
  chmodSync(dir, 0o755);
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

function parseCall(body: Buffer, connection: number): SeenCall {
  const r = new XdrReader(body);
  const xid = r.u32();
  r.u32(); // CALL
  const rpcvers = r.u32();
  const prog = r.u32();
  const vers = r.u32();
  const proc = r.u32();
  const credFlavor = r.u32();
  r.opaque();
  r.u32();
  r.opaque();
  return { xid, rpcvers, prog, vers, proc, credFlavor, args: body.subarray(r.offset), body, connection };
}

/**
 * Start a fake gssproxy whose answer to each call is decided by `behaviour` (which may also
 * answer nothing, answer twice, close, …). Calls are parsed with the record layer under test's
 * peer rules: a record must carry the last-fragment bit, as in the real daemon.
 */
export async function startFakeGssproxy(path: string, behaviour: FakeBehaviour): Promise<FakeGssproxy> {
  const calls: SeenCall[] = [];
  const sockets = new Set<Socket>();
  let connections = 0;
  let maxOutstanding = 0;
  const server: Server = createServer((socket) => {
    const index = connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    const assembler = new RecordAssembler();
    let outstanding = 0;
    const conn: FakeConnection = {
      socket,
      index,
      write: (bytes) => {
        outstanding = Math.max(0, outstanding - 1);
        if (!socket.destroyed) socket.write(bytes);
      },
      end: () => socket.end(),
    };
    socket.on('data', (chunk: Buffer) => {
      let records: Buffer[];
      try {
        records = assembler.push(chunk);
      } catch {
        socket.destroy();
        return;
      }
      for (const body of records) {
        outstanding++;
        maxOutstanding = Math.max(maxOutstanding, outstanding);
        const call = parseCall(body, index);
        calls.push(call);
        void Promise.resolve(behaviour(call, conn)).catch(() => socket.destroy());
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve());
  });
  // like gssproxy (umask 0111 around bind): any uid may connect
  chmodSync(path, 0o666);
  return {
    path,
    calls,
    get connections() {
      return connections;
    },
    get maxOutstanding() {
      return maxOutstanding;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  } as FakeGssproxy;
}

/** Accepts connections, reads requests, never answers (a hung daemon). */
export function startHungGssproxy(path: string): Promise<FakeGssproxy> {
  return startFakeGssproxy(path, () => undefined);
}

/** Answers every call with the given bytes, verbatim (no record mark added). */
export function startGarbageGssproxy(path: string, garbage: Uint8Array): Promise<FakeGssproxy> {
  return startFakeGssproxy(path, (_call, conn) => conn.write(garbage));
}

/** Closes the connection on every call without a reply (what gssproxy does when no service matches). */
export function startClosingGssproxy(path: string): Promise<FakeGssproxy> {
  return startFakeGssproxy(path, (_call, conn) => conn.end());
}

/**
 * A socket file with nothing listening behind it (the daemon died and left its socket):
 * connecting gives ECONNREFUSED. Node unlinks its own sockets on close, so python binds it.
 */
export function makeDeadSocket(path: string): void {
  const r = spawnSync(
    '/usr/bin/python3',
    ['-c', 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.close()', path],
    { encoding: 'utf8' },
  );
  if (r.status !== 0 || !existsSync(path)) throw new Error(`cannot create a dead socket at ${path}: ${r.stderr}`);
  chmodSync(path, 0o666);
}

// ---- reply builders ------------------------------------------------------------------------------

/** Record mark + body, one fragment. */
export function record(body: Uint8Array): Buffer {
  const out = Buffer.alloc(4 + body.length);
  out.writeUInt32BE((0x8000_0000 | body.length) >>> 0, 0);
  out.set(body, 4);
  return out;
}

/** The body split into fragments of `size` bytes, last one flagged. */
export function fragmentedRecord(body: Uint8Array, size: number): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; i < body.length; i += size) {
    const piece = body.subarray(i, Math.min(body.length, i + size));
    const last = i + size >= body.length;
    const mark = Buffer.alloc(4);
    mark.writeUInt32BE(((last ? 0x8000_0000 : 0) | piece.length) >>> 0, 0);
    parts.push(mark, Buffer.from(piece));
  }
  return Buffer.concat(parts);
}

/** MSG_ACCEPTED with the given accept_stat; SUCCESS carries `results`. */
export function acceptedReply(xid: number, acceptStat: number, results: Uint8Array = Buffer.alloc(0)): Buffer {
  const w = new XdrWriter();
  w.u32(xid).u32(1).u32(0).u32(0).opaque(Buffer.alloc(0)).u32(acceptStat);
  if (acceptStat === 2) w.u32(1).u32(1);
  else w.raw(results);
  return record(w.finish());
}

export function successReply(xid: number, results: Uint8Array): Buffer {
  return acceptedReply(xid, 0, results);
}

/** MSG_DENIED: reject_stat 0 (RPC_MISMATCH 2..2) or 1 (AUTH_ERROR, auth_stat 7). */
export function deniedReply(xid: number, rejectStat: 0 | 1): Buffer {
  const w = new XdrWriter();
  w.u32(xid).u32(1).u32(1).u32(rejectStat);
  if (rejectStat === 0) w.u32(2).u32(2);
  else w.u32(7);
  return record(w.finish());
}

/**
 * A listener with a backlog of 0 that does not accept for `acceptAfterMs` (a daemon whose
 * listen queue is full: connect() fails with EAGAIN), then answers every call with an empty
 * GET_CALL_CONTEXT success. Runs in python (Node always accepts at once). Returns a stopper.
 */
export async function startBusyListener(path: string, acceptAfterMs: number): Promise<{ stop(): void }> {
  const script = `
import socket, struct, sys, time
p, delay = sys.argv[1], float(sys.argv[2])
s = socket.socket(socket.AF_UNIX)
s.bind(p)
import os; os.chmod(p, 0o666)
s.listen(0)
print('ready', flush=True)
time.sleep(delay)
while True:
    c, _ = s.accept()
    c.settimeout(0.2)
    try:
        d = c.recv(65536)
        if len(d) >= 8:
            body = d[4:8] + bytes.fromhex('0000000100000000000000000000000000000000') + bytes(44)
            c.sendall(struct.pack('>I', 0x80000000 | len(body)) + body)
    except Exception:
        pass
`;
  const child = spawn('/usr/bin/python3', ['-c', script, path, String(acceptAfterMs / 1000)], { stdio: ['ignore', 'pipe', 'ignore'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`busy listener exited ${code}`)));
  });
  return {
    stop: () => {
      child.kill('SIGKILL');
    },
  };
}

/** The kernel's record of a connected peer (SO_PEERCRED: its credentials at connect(2)). */
export interface PeerCred {
  pid: number;
  uid: number;
  gid: number;
}

export interface PeerCredListener {
  path: string;
  /** one entry per accepted connection, in order */
  peers(): PeerCred[];
  close(): Promise<void>;
}

/**
 * A hung gssproxy that records, for every connection, the peer credentials the kernel gives a
 * listening daemon (getsockopt SO_PEERCRED: pid, uid, gid of the connecting thread at connect
 * time) — what the real gssproxy matches its [service] sections on. It reads what the client
 * sends and never answers. Python, because Node offers no SO_PEERCRED; stopped by its pid.
 */
export async function startPeerCredGssproxy(path: string): Promise<PeerCredListener> {
  const log = `${path}.peers`;
  const script = `
import os, socket, struct, sys, threading
path, log = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(path)
os.chmod(path, 0o666)
s.listen(16)
out = open(log, 'a', buffering=1)
print('ready', flush=True)
def drain(c):
    try:
        while c.recv(65536):
            pass
    except OSError:
        pass
while True:
    c, _ = s.accept()
    pid, uid, gid = struct.unpack('3i', c.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize('3i')))
    out.write('%d %d %d\\n' % (pid, uid, gid))
    threading.Thread(target=drain, args=(c,), daemon=True).start()
`;
  const child = spawn('/usr/bin/python3', ['-c', script, path, log], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('SO_PEERCRED listener did not start within 10 s')), 10_000);
    child.stdout.once('data', () => {
      clearTimeout(timer);
      resolve();
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`SO_PEERCRED listener exited ${code}`));
    });
  });
  return {
    path,
    peers: () =>
      (existsSync(log) ? readFileSync(log, 'utf8') : '')
        .split('\n')
        .filter(Boolean)
        .map((l) => {
          const [pid, uid, gid] = l.split(' ').map(Number) as [number, number, number];
          return { pid, uid, gid };
        }),
    close: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        child.kill('SIGTERM');
        await Promise.race([exited, new Promise<void>((resolve) => setTimeout(resolve, 5000))]);
      }
      rmSync(path, { force: true });
      rmSync(log, { force: true });
    },
  };
}
