// Fault matrix, gssproxy rows (issue 8 item 1; gssproxy-protocol.md §7 #2, #23, #25): the
// production bundle (scripts/build.mjs) with --strategy proxy-only --gssproxy-socket, against a
// daemon that is absent, dead, hung, closing, answering garbage or oversized replies. Every case
// must end within its stated bound, say why at LOG_ERR (captured from /dev/log by pid) and in the
// trace, exit non-zero, and — through the real request-key path — leave a negative key, never a
// key. A positive control against the realm's real gssproxy shows the same command line works.
import { mkdtempSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  makeDeadSocket, record, socketDir, startClosingGssproxy, startFakeGssproxy, startGarbageGssproxy, startHungGssproxy,
  type FakeGssproxy,
} from '../harness/gssproxy-fakes.ts';
import { startSyslogCapture, type SyslogCapture } from '../harness/fault-syslog.ts';
import {
  buildProduction, describeKey, expectReplayFailed, matrixRow, printMatrix, replayUpcall, requestKeyUpcall, traceText, uniqueIp4,
  type MatrixRow, type ProductionBundle, type UpcallOutcome,
} from '../harness/fault-upcall.ts';
import { clearGssproxyCache } from '../harness/realm.ts';

const env = inject('realm');
let bundle: ProductionBundle;
let work: string;
let syslog: SyslogCapture;
let sockets: { dir: string; cleanup(): void };
const fakes: FakeGssproxy[] = [];
let config: string;
const rows: MatrixRow[] = [];
/** the upcall's whole budget in these tests (cifs-upcall.conf `timeout`) */
const BUDGET_S = 3;

beforeAll(async () => {
  bundle = await buildProduction('gssproxy');
  work = mkdtempSync('/tmp/cifs-upcall-fault-gp-');
  chmodSync(work, 0o755);
  syslog = await startSyslogCapture(work);
  sockets = socketDir();
  config = join(work, 'cifs-upcall.conf');
  writeFileSync(config, `[global]\ntimeout = ${BUDGET_S}\nnegative_timeout = 4\n`, { mode: 0o644 });
  clearGssproxyCache(env);
});

afterAll(async () => {
  printMatrix('gssproxy', rows);
  for (const f of fakes) await f.close();
  await syslog?.stop();
  sockets?.cleanup();
  rmSync(work, { recursive: true, force: true });
  bundle?.remove();
});

const alice = () => env.users['alice']!;

function args(socket: string): string[] {
  return ['--config', config, '--strategy', 'proxy-only', '--gssproxy-socket', socket, '-k', env.krb5Conf];
}

async function replayWith(socket: string): Promise<UpcallOutcome> {
  return replayUpcall({
    bundle: bundle.path, work, syslog, args: args(socket),
    description: describeKey({ host: env.hosts.fs1, uid: alice().uid, pid: 0 }),
  });
}

function expectFailure(fault: string, o: UpcallOutcome, boundMs: number, cause: RegExp): void {
  matrixRow(rows, fault, boundMs, o);
  expectReplayFailed(o, { boundMs, cause, traceArea: 'gssproxy', syslogCaptured: syslog.available });
}

describe('positive control', () => {
  it('the realm\'s gssproxy (impersonation) answers the same command line: exit 0, a payload', async () => {
    const o = await replayWith(env.gssproxy.socket);
    expect(o.status, traceText(o)).toBe(0);
    expect(o.stdout).toMatch(/^[0-9a-f]{100,}\n?$/);
    expect(o.errors).toEqual([]);
  });
});

describe('gssproxy faults (replay)', () => {
  it('absent: no socket file — unreachable at once', async () => {
    const o = await replayWith(join(sockets.dir, 'absent.sock'));
    expectFailure('gssproxy absent (no socket)', o, 2000, /no gssproxy socket at .*absent\.sock \(ENOENT\)/);
  });

  it('dead: a socket file with nothing listening — connection refused at once', async () => {
    const path = join(sockets.dir, 'dead.sock');
    makeDeadSocket(path);
    const o = await replayWith(path);
    expectFailure('gssproxy dead (ECONNREFUSED)', o, 2000, /connection refused on .*dead\.sock \(ECONNREFUSED\)/);
  });

  it(`hung: accepts and never answers — ends with the upcall budget (${BUDGET_S} s)`, async () => {
    const hung = await startHungGssproxy(join(sockets.dir, 'hung.sock'));
    fakes.push(hung);
    const o = await replayWith(hung.path);
    expectFailure('gssproxy hung', o, BUDGET_S * 1000 + 1500, /hung\.sock/);
    expect(o.ms).toBeGreaterThan(BUDGET_S * 1000 - 200);
    expect(hung.calls.length).toBeGreaterThan(0);
  });

  it('closing: closes every connection without a reply', async () => {
    const closing = await startClosingGssproxy(join(sockets.dir, 'closing.sock'));
    fakes.push(closing);
    const o = await replayWith(closing.path);
    expectFailure('gssproxy closes the connection', o, 2500, /clos/);
  });

  it('garbage: answers random bytes (a record mark over the 1 MiB limit)', async () => {
    const garbage = await startGarbageGssproxy(join(sockets.dir, 'garbage.sock'), Buffer.from('deadbeefcafebabe0123456789abcdef', 'hex'));
    fakes.push(garbage);
    const o = await replayWith(garbage.path);
    expectFailure('gssproxy answers garbage bytes', o, 2500, /garbage\.sock|record|reply/i);
  });

  it('garbage: a well-framed record whose body is not an RPC reply', async () => {
    const f = await startFakeGssproxy(join(sockets.dir, 'notrpc.sock'), (_call, conn) => conn.write(record(Buffer.from('this is not XDR at all, just text'))));
    fakes.push(f);
    const o = await replayWith(f.path);
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
    const o = await replayWith(f.path);
    expectFailure('gssproxy answers truncated XDR results', o, 2500, /gssx_res|XDR|truncat|malformed/i);
  });

  it('oversized: a reply announcing 64 MiB is refused before it is buffered', async () => {
    const f = await startFakeGssproxy(join(sockets.dir, 'huge-mark.sock'), (_call, conn) => {
      const mark = Buffer.alloc(4);
      mark.writeUInt32BE((0x8000_0000 | (64 << 20)) >>> 0);
      conn.write(Buffer.concat([mark, Buffer.alloc(4096, 0x41)]));
    });
    fakes.push(f);
    const o = await replayWith(f.path);
    expectFailure('gssproxy oversized reply (record mark 64 MiB)', o, 2500, /exceeds the 1048576-byte limit|1 MiB|limit/);
  });

  it('oversized: 2 MiB actually sent in 64 KiB fragments is refused at the limit', async () => {
    const f = await startFakeGssproxy(join(sockets.dir, 'huge-frags.sock'), (_call, conn) => {
      const frag = Buffer.alloc(4 + 65536, 0x42);
      frag.writeUInt32BE(65536, 0); // not the last fragment
      for (let i = 0; i < 32; i++) conn.write(frag);
    });
    fakes.push(f);
    const o = await replayWith(f.path);
    expectFailure('gssproxy oversized reply (2 MiB in fragments)', o, 2500, /exceeds the 1048576-byte limit|limit/);
  });
});

describe('gssproxy faults through request-key (the key)', () => {
  it('hung gssproxy: request_key fails with ENOKEY within the budget; the key is negative with our timeout', async () => {
    const hung = await startHungGssproxy(join(sockets.dir, 'hung-rk.sock'));
    fakes.push(hung);
    const ip4 = uniqueIp4();
    const o = await requestKeyUpcall({
      bundle: bundle.path, work, syslog, args: args(hung.path),
      fields: { host: env.hosts.fs1, ip4, uid: alice().uid, pid: 0 },
    });
    matrixRow(rows, 'gssproxy hung (request-key)', BUDGET_S * 1000 + 2500, o);
    expect(o.ms, traceText(o)).toBeLessThan(BUDGET_S * 1000 + 2500);
    expect(o.status).toBe(8);
    expect(o.key?.requestStatus).toBe(1);
    expect(o.key?.requestError).toMatch(/Required key not available/);
    expect(o.key?.negative, o.stdout).toBe(true);
    expect(o.key?.expiry).toMatch(/^[1-4]s$/);
    expect(o.key?.payloadHex).toBeNull();
    if (syslog.available) expect(o.errors.join('\n')).toMatch(/\[key \d+\] Unable to obtain service ticket: .*hung-rk\.sock/);
  });

  it('garbage gssproxy: negative key, no payload', async () => {
    const f = await startFakeGssproxy(join(sockets.dir, 'garbage-rk.sock'), (_call, conn) => conn.write(record(Buffer.alloc(40, 0xff))));
    fakes.push(f);
    const o = await requestKeyUpcall({
      bundle: bundle.path, work, syslog, args: args(f.path),
      fields: { host: env.hosts.fs1, ip4: uniqueIp4(), uid: alice().uid, pid: 0 },
    });
    matrixRow(rows, 'gssproxy garbage (request-key)', 3000, o);
    expect(o.ms, traceText(o)).toBeLessThan(3000);
    expect(o.status).toBe(8);
    expect(o.key?.negative, o.stdout).toBe(true);
    expect(o.key?.payloadHex).toBeNull();
  });
});
