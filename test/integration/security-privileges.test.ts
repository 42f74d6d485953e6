// Privilege proofs, every thread (extends chassis-privileges.test.ts, which reads /proc/self and
// /proc/thread-self from inside the stand-in source): the production bundle, started by the
// kernel through request-key, is held inside its credential phase by a gssproxy that never
// answers; meanwhile this test reads /proc/<upcall>/task/*/status of EVERY thread — main thread
// and libuv/V8 pool threads. For a user upcall each thread has the user's uid/gid in all four
// slots, no supplementary groups and no capabilities (effective, permitted, inheritable,
// ambient). The "gssproxy" is a listener that records the kernel's SO_PEERCRED of every
// connection (test/harness/gssproxy/gssproxy-fakes.ts startPeerCredGssproxy): what the real daemon
// matches its services on is the upcall's pid with the user's uid and gid, taken by the kernel
// at connect(2) — not the upcall's own account of it (its trace line is checked to agree).
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { socketDir, startPeerCredGssproxy, type PeerCred, type PeerCredListener } from '../harness/gssproxy/gssproxy-fakes.ts';
import { startSyslogCapture, type SyslogCapture } from '../harness/faults/fault-syslog.ts';
import { buildProduction, requestKeyUpcall, traceText, uniqueIp4, type ProductionBundle } from '../harness/faults/fault-upcall.ts';
import { sleep } from '../harness/common/processes.ts';
import { readJsonTrace, startPlainCaller, type CallerProcess } from '../harness/standin/harness.ts';

const env = inject('realm');
let bundle: ProductionBundle;
let work: string;
let sockets: { dir: string; cleanup(): void };
let hung: PeerCredListener;
let syslog: SyslogCapture;
let caller: CallerProcess;

beforeAll(async () => {
  bundle = await buildProduction('security-priv');
  work = mkdtempSync('/tmp/cifs-upcall-security-priv-');
  chmodSync(work, 0o755);
  syslog = await startSyslogCapture(work);
  sockets = socketDir();
  hung = await startPeerCredGssproxy(join(sockets.dir, 'hung.sock'));
  caller = await startPlainCaller({});
  writeFileSync(join(work, 'cifs-upcall.conf'), '[global]\ntimeout = 3\n', { mode: 0o644 });
});

afterAll(async () => {
  await hung?.close();
  await caller?.stop();
  await syslog?.stop();
  sockets?.cleanup();
  rmSync(work, { recursive: true, force: true });
  bundle?.remove();
});

interface ThreadStatus {
  tid: number;
  name: string;
  uid: string;
  gid: string;
  groups: string;
  capInh: string;
  capPrm: string;
  capEff: string;
  capBnd: string;
  capAmb: string;
  noNewPrivs: string;
}

function threadStatuses(pid: number): ThreadStatus[] {
  const out: ThreadStatus[] = [];
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    let text: string;
    try {
      text = readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8');
    } catch {
      continue; // a thread that just ended
    }
    const f = (name: string): string => (new RegExp(`^${name}:[ \\t]*(.*)$`, 'm').exec(text)?.[1] ?? '').trim().replace(/\s+/g, ' ');
    out.push({
      tid: Number(tid),
      name: f('Name'),
      uid: f('Uid'),
      gid: f('Gid'),
      groups: f('Groups'),
      capInh: f('CapInh'),
      capPrm: f('CapPrm'),
      capEff: f('CapEff'),
      capBnd: f('CapBnd'),
      capAmb: f('CapAmb'),
      noNewPrivs: f('NoNewPrivs'),
    });
  }
  return out;
}

/** Start an upcall for `uid` that blocks on the hung gssproxy; snapshot every thread while it waits. */
async function snapshotDuringCredentialPhase(
  uid: number,
): Promise<{ threads: ThreadStatus[]; traceText: string; connected: string | undefined; pid: number; peer: PeerCred | undefined }> {
  const traceFile = join(work, `trace-${uid}-${Math.random().toString(36).slice(2, 8)}.jsonl`);
  const before = hung.peers().length;
  const running = requestKeyUpcall({
    bundle: bundle.path,
    work,
    syslog,
    traceFile,
    args: ['--strategy', 'proxy-only', '--gssproxy-socket', hung.path, '-k', env.krb5Conf, '--config', join(work, 'cifs-upcall.conf')],
    fields: { host: env.hosts.fs1, ip4: uniqueIp4(), uid, pid: caller.pid },
  });
  const until = Date.now() + 10_000;
  while (hung.peers().length === before && Date.now() < until) await sleep(20);
  const trace = readJsonTrace(traceFile);
  const pid = Number(trace[0]?.fields?.['pid'] ?? 0);
  const threads = pid > 0 && existsSync(`/proc/${pid}`) ? threadStatuses(pid) : [];
  const o = await running;
  return {
    threads,
    traceText: traceText(o),
    pid: o.pid,
    peer: hung.peers()[before],
    connected: o.trace.find((t) => /connected to .* as euid/.test(t.message))?.message,
  };
}

const NONE = '0000000000000000';

describe('every thread of the upcall, inside the credential phase', () => {
  it('uid 2001 (alice): all threads are alice with gid 100, no groups, no capabilities', async () => {
    const alice = env.users['alice']!;
    const { threads, traceText: why, connected, pid, peer } = await snapshotDuringCredentialPhase(alice.uid);
    expect(threads.length, why).toBeGreaterThan(4); // main + libuv pool + V8 workers
    for (const t of threads) {
      expect(t, `${t.name} (${t.tid})`).toMatchObject({
        uid: `${alice.uid} ${alice.uid} ${alice.uid} ${alice.uid}`,
        gid: `${alice.gid} ${alice.gid} ${alice.gid} ${alice.gid}`,
        groups: '',
        capInh: NONE,
        capPrm: NONE,
        capEff: NONE,
        capAmb: NONE,
      });
    }
    // the main thread also lost the bounding set and set no_new_privs
    const main = threads.find((t) => t.tid === Math.min(...threads.map((x) => x.tid)))!;
    expect(main).toMatchObject({ capBnd: NONE, noNewPrivs: '1' });
    // what the daemon sees on its socket (the kernel's SO_PEERCRED) is the upcall, as the user
    expect(pid, why).toBeGreaterThan(0);
    expect(peer, why).toEqual({ pid, uid: alice.uid, gid: alice.gid });
    // and the upcall's own trace says the same
    expect(connected).toMatch(new RegExp(`as euid ${alice.uid} egid ${alice.gid}`));
  });
});
