// Fault matrix, gssproxy rows (SECURITY.md "Fault matrix"): the production bundle
// (scripts/build.mjs) with --strategy proxy-only --gssproxy-socket, against a daemon that is
// absent, dead, hung, closing, answering garbage or oversized replies. Every row runs through the
// real request-key path (request_key(2) → /sbin/request-key → the bundle with --key-type user)
// and must end within its stated bound, say why in exactly one LOG_ERR line (captured by pid from
// a private /dev/log) and in the trace, exit 8, and leave the key negative in /proc/keys with our
// negative_timeout — never a key. On a host where root's request_key(2) reaches no helper
// (probeRootRequestKey) the rows run --replay and assert "would be negated" instead. A positive
// control against the realm's real gssproxy shows the same command line gets a key.
import { mkdtempSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  makeDeadSocket,
  record,
  socketDir,
  startClosingGssproxy,
  startFakeGssproxy,
  startGarbageGssproxy,
  startHungGssproxy,
  type FakeGssproxy,
} from '../harness/gssproxy/gssproxy-fakes.ts';
import { startSyslogCapture, type SyslogCapture } from '../harness/faults/fault-syslog.ts';
import {
  buildProduction,
  expectFaultRefused,
  expectKeyInstantiated,
  faultUpcall,
  matrixRow,
  printMatrix,
  probeRootRequestKey,
  type MatrixRow,
  type ProductionBundle,
  type UpcallOutcome,
} from '../harness/faults/fault-upcall.ts';
import { clearGssproxyCache } from '../harness/realm/realm.ts';
import { startPlainCaller, type CallerProcess } from '../harness/standin/harness.ts';

const env = inject('realm');
let bundle: ProductionBundle;
let work: string;
let syslog: SyslogCapture;
let sockets: { dir: string; cleanup(): void };
const fakes: FakeGssproxy[] = [];
let config: string;
/** the triggering process the descriptions name (an empty environment: no cache to find) */
let caller: CallerProcess;
const rows: MatrixRow[] = [];
/** the upcall's whole budget in these tests (cifs-upcall.conf `timeout`) */
const BUDGET_S = 3;
/** cifs-upcall.conf negative_timeout */
const NEGATIVE_S = 4;
const requestKey = probeRootRequestKey();
if (!requestKey.available)
  process.stderr.write(`[probe] fault-gssproxy rows run --replay (key state from the trace): ${requestKey.finding}\n`);

beforeAll(async () => {
  bundle = await buildProduction('gssproxy');
  work = mkdtempSync('/tmp/cifs-upcall-fault-gp-');
  chmodSync(work, 0o755);
  syslog = await startSyslogCapture(work);
  sockets = socketDir();
  config = join(work, 'cifs-upcall.conf');
  writeFileSync(config, `[global]\ntimeout = ${BUDGET_S}\nnegative_timeout = ${NEGATIVE_S}\n`, { mode: 0o644 });
  clearGssproxyCache(env);
  caller = await startPlainCaller({});
});

afterAll(async () => {
  printMatrix('gssproxy', rows);
  for (const f of fakes) await f.close();
  await caller?.stop();
  await syslog?.stop();
  sockets?.cleanup();
  rmSync(work, { recursive: true, force: true });
  bundle?.remove();
});

const alice = () => env.users['alice']!;

function args(socket: string): string[] {
  return ['--config', config, '--strategy', 'proxy-only', '--gssproxy-socket', socket, '-k', env.krb5Conf];
}

async function upcallWith(socket: string): Promise<UpcallOutcome> {
  return faultUpcall({
    requestKey,
    bundle: bundle.path,
    work,
    syslog,
    args: args(socket),
    fields: { host: env.hosts.fs1, uid: alice().uid, pid: caller.pid },
  });
}

function expectFailure(fault: string, o: UpcallOutcome, boundMs: number, cause: RegExp): void {
  matrixRow(rows, fault, boundMs, o);
  expectFaultRefused(o, { boundMs, cause, traceArea: 'gssproxy', negativeS: NEGATIVE_S });
}

describe('positive control', () => {
  it("the realm's gssproxy (impersonation) answers the same command line: exit 0, a key with a payload", async () => {
    const o = await upcallWith(env.gssproxy.socket);
    expectKeyInstantiated(o);
    expect(o.errors).toEqual([]);
  });
});

describe('gssproxy faults', () => {
  it('absent: no socket file — unreachable at once', async () => {
    const o = await upcallWith(join(sockets.dir, 'absent.sock'));
    expectFailure('gssproxy absent (no socket)', o, 2500, /no gssproxy socket at .*absent\.sock \(ENOENT\)/);
  });

  it('dead: a socket file with nothing listening — connection refused at once', async () => {
    const path = join(sockets.dir, 'dead.sock');
    makeDeadSocket(path);
    const o = await upcallWith(path);
    expectFailure('gssproxy dead (ECONNREFUSED)', o, 2500, /connection refused on .*dead\.sock \(ECONNREFUSED\)/);
  });

  it(`hung: accepts and never answers — ends with the upcall budget (${BUDGET_S} s)`, async () => {
    const hung = await startHungGssproxy(join(sockets.dir, 'hung.sock'));
    fakes.push(hung);
    const o = await upcallWith(hung.path);
    expectFailure('gssproxy hung', o, BUDGET_S * 1000 + 2500, /hung\.sock/);
    expect(o.ms).toBeGreaterThan(BUDGET_S * 1000 - 200);
    expect(hung.calls.length).toBeGreaterThan(0);
  });

  it('closing: closes every connection without a reply', async () => {
    const closing = await startClosingGssproxy(join(sockets.dir, 'closing.sock'));
    fakes.push(closing);
    const o = await upcallWith(closing.path);
    expectFailure('gssproxy closes the connection', o, 2500, /clos/);
  });

  it('garbage: answers random bytes (a record mark over the 1 MiB limit)', async () => {
    const garbage = await startGarbageGssproxy(join(sockets.dir, 'garbage.sock'), Buffer.from('deadbeefcafebabe0123456789abcdef', 'hex'));
    fakes.push(garbage);
    const o = await upcallWith(garbage.path);
    expectFailure('gssproxy answers garbage bytes', o, 2500, /garbage\.sock|record|reply/i);
  });

  it('garbage: a well-framed record whose body is not an RPC reply', async () => {
    const f = await startFakeGssproxy(join(sockets.dir, 'notrpc.sock'), (_call, conn) =>
      conn.write(record(Buffer.from('this is not XDR at all, just text'))),
    );
    fakes.push(f);
    const o = await upcallWith(f.path);
    expectFailure('gssproxy answers a non-RPC record', o, 2500, /RPC|reply|malformed/i);
  });

  it('garbage: a SUCCESS reply whose results are truncated XDR', async () => {
    const f = await startFakeGssproxy(join(sockets.dir, 'badxdr.sock'), (call, conn) => {
      const head = Buffer.alloc(24);
      head.writeUInt32BE(call.xid, 0);
      head.writeUInt32BE(1, 4); // REPLY, MSG_ACCEPTED, verf AUTH_NONE/0, SUCCESS
      conn.write(record(Buffer.concat([head, Buffer.from('00000000000000000000000b2a864886', 'hex')])));
    });
    fakes.push(f);
    const o = await upcallWith(f.path);
    expectFailure('gssproxy answers truncated XDR results', o, 2500, /gssx_res|XDR|truncat|malformed/i);
  });

  it('oversized: a reply announcing 64 MiB is refused before it is buffered', async () => {
    const f = await startFakeGssproxy(join(sockets.dir, 'huge-mark.sock'), (_call, conn) => {
      const mark = Buffer.alloc(4);
      mark.writeUInt32BE((0x8000_0000 | (64 << 20)) >>> 0);
      conn.write(Buffer.concat([mark, Buffer.alloc(4096, 0x41)]));
    });
    fakes.push(f);
    const o = await upcallWith(f.path);
    expectFailure('gssproxy oversized reply (record mark 64 MiB)', o, 2500, /exceeds the 1048576-byte limit|1 MiB|limit/);
  });

  it('oversized: 2 MiB actually sent in 64 KiB fragments is refused at the limit', async () => {
    const f = await startFakeGssproxy(join(sockets.dir, 'huge-frags.sock'), (_call, conn) => {
      const frag = Buffer.alloc(4 + 65536, 0x42);
      frag.writeUInt32BE(65536, 0); // not the last fragment
      for (let i = 0; i < 32; i++) conn.write(frag);
    });
    fakes.push(f);
    const o = await upcallWith(f.path);
    expectFailure('gssproxy oversized reply (2 MiB in fragments)', o, 2500, /exceeds the 1048576-byte limit|limit/);
  });
});

describe('gssproxy faults, continued', () => {
  it('garbage: a well-framed record of 0xff bytes (message type 4294967295)', async () => {
    const f = await startFakeGssproxy(join(sockets.dir, 'garbage-ff.sock'), (_call, conn) => conn.write(record(Buffer.alloc(40, 0xff))));
    fakes.push(f);
    const o = await upcallWith(f.path);
    expectFailure(
      'gssproxy answers a record of 0xff bytes',
      o,
      2500,
      /garbage-ff\.sock: GSSX_INIT_SEC_CONTEXT: expected an RPC REPLY \(1\), got message type 4294967295/,
    );
  });
});
