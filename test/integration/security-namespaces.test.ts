// Privilege proofs, namespaces (CVE-2026-12505; SECURITY.md #6;
// docs/ARCHITECTURE.md#chassis-decisions): the upcall, started by the kernel through request-key and traced with
// `strace -f`, serves a caller that lives in its own mount namespace whose /etc is poisoned
// (nsswitch.conf, passwd, krb5.conf with an include, cifs-upcall.conf, ld.so.preload) and whose
// libnss_files.so.2 is a gcc-built library that leaves a marker when loaded. The poison is live
// (the caller's own processes load it), yet:
//   * the upcall never loads it: no marker line from any of its threads, no .so opened and no
//     execve after it entered the namespace;
//   * while uid 0 inside the foreign namespace it opens nothing from it; the container's
//     krb5.conf and its include are read only after setresuid(alice), as alice;
//   * identity and configuration come from the host (host passwd, host cifs-upcall.conf);
//   * syslog was connected in the host before setns (a private /dev/log: fault-syslog.ts).
// And in the caller's own namespaces: the user's cache (KRB5CCNAME) is opened only after the drop.
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  openedPath,
  readStrace,
  startPoisonedCaller,
  straceWrapper,
  type PoisonedCaller,
  type Syscall,
} from '../harness/faults/fault-poison.ts';
import { startSyslogCapture, type SyslogCapture } from '../harness/faults/fault-syslog.ts';
import {
  buildProduction,
  requestKeyUpcall,
  traceText,
  uniqueIp4,
  type ProductionBundle,
  type UpcallOutcome,
} from '../harness/faults/fault-upcall.ts';
import { kinit } from '../harness/realm/realm.ts';
import { startPlainCaller, type CallerProcess } from '../harness/standin/harness.ts';

const env = inject('realm');
let bundle: ProductionBundle;
let work: string;
let syslog: SyslogCapture;
let poisoned: PoisonedCaller;
let plain: CallerProcess;
let cache: string;
const alice = () => env.users['alice']!;

beforeAll(async () => {
  bundle = await buildProduction('security-ns');
  work = mkdtempSync('/tmp/cifs-upcall-security-ns-');
  chmodSync(work, 0o755);
  syslog = await startSyslogCapture(work);
  cache = join(env.ccacheDir, `security_ns_${Math.random().toString(36).slice(2, 8)}`);
  kinit(env, alice(), `FILE:${cache}`);
  poisoned = await startPoisonedCaller(work, { krb5ConfText: readFileSync(env.krb5Conf, 'utf8'), env: { KRB5CCNAME: `FILE:${cache}` } });
  plain = await startPlainCaller({ KRB5CCNAME: `FILE:${cache}` });
});

afterAll(async () => {
  await poisoned?.stop();
  await plain?.stop();
  await syslog?.stop();
  rmSync(work, { recursive: true, force: true });
  bundle?.remove();
});

interface TracedUpcall {
  o: UpcallOutcome;
  calls: Syscall[];
  /** every thread id of the upcall (strace -f follows them all) */
  tids: Set<number>;
}

async function tracedUpcall(callerPid: number, args: string[] = []): Promise<TracedUpcall> {
  const out = join(work, `strace-${Math.random().toString(36).slice(2, 8)}.txt`);
  const o = await requestKeyUpcall({
    bundle: bundle.path,
    work,
    syslog,
    wrapper: straceWrapper(out),
    args,
    fields: { host: env.hosts.fs1, ip4: uniqueIp4(), uid: alice().uid, pid: callerPid },
  });
  const calls = readStrace(out);
  return { o, calls, tids: new Set(calls.map((c) => c.tid)) };
}

/** Index of the first call matching, or -1. */
const first = (calls: Syscall[], pred: (c: Syscall) => boolean, from = 0): number => calls.findIndex((c) => c.index >= from && pred(c));
const isMountSetns = (c: Syscall): boolean => c.name === 'setns' && /CLONE_NEWNS/.test(c.args) && c.result === '0';
const isDropTo =
  (uid: number) =>
  (c: Syscall): boolean =>
    c.name === 'setresuid' && c.args.startsWith(`${uid}, ${uid}, ${uid}`) && c.result === '0';

describe('a caller in a poisoned mount namespace', () => {
  let run: TracedUpcall;

  beforeAll(async () => {
    run = await tracedUpcall(poisoned.pid);
  });

  it("the poison is live: the caller's processes load the library (ld.so.preload, NSS)", () => {
    expect(
      poisoned.markerLines().some((l) => /^loaded .*comm=sleep/.test(l)),
      poisoned.markerLines().join('\n'),
    ).toBe(true);
    poisoned.inside(['/usr/bin/getent', 'passwd', '2001']);
    expect(
      poisoned.markerLines().some((l) => /comm=getent/.test(l)),
      poisoned.markerLines().join('\n'),
    ).toBe(true);
  });

  it("the upcall entered the caller's mount namespace (so the poison was within reach) and served alice", () => {
    const { o, calls } = run;
    expect(first(calls, isMountSetns), traceText(o)).toBeGreaterThan(0);
    expect(
      o.trace.some((t) => /^mnt: enter/.test(t.message) || (t.area === 'ns' && /mnt/.test(t.message) && t.fields?.['action'] === 'enter')),
      traceText(o),
    ).toBe(true);
    expect(o.trace.find((t) => t.message.startsWith('privileges dropped'))?.fields).toMatchObject({ uid: alice().uid, gid: alice().gid });
  });

  it('no code from the namespace: no marker line from any upcall thread, no .so opened and no execve after setns', () => {
    const { calls, tids } = run;
    const lines = poisoned.markerLines();
    const ours = lines.filter((l) => [...tids].some((t) => l.includes(` pid=${t} `)));
    expect(ours, lines.join('\n')).toEqual([]);
    expect(lines.some((l) => /comm=node/.test(l))).toBe(false);
    const s = first(calls, isMountSetns);
    const after = calls.filter((c) => c.index > s);
    expect(after.filter((c) => /\.so(\.|"|$)/.test(openedPath(c) ?? '')).map((c) => c.raw)).toEqual([]);
    expect(after.filter((c) => c.name === 'execve').map((c) => c.raw)).toEqual([]);
  });

  it('nothing opened from the namespace while uid 0: between setns(mnt) and setresuid(alice) no file at all', () => {
    const { calls, o } = run;
    const s = first(calls, isMountSetns);
    const u = first(calls, isDropTo(alice().uid), s);
    expect(u, traceText(o)).toBeGreaterThan(s);
    const asRoot = calls.filter((c) => c.index > s && c.index < u && (c.name === 'openat' || c.name === 'open'));
    expect(asRoot.map((c) => c.raw)).toEqual([]);
  });

  it("the container's krb5.conf and its include are read only as alice; its nsswitch.conf, passwd, cifs-upcall.conf, ld.so.preload, localtime and zoneinfo never", () => {
    const { calls } = run;
    const s = first(calls, isMountSetns);
    const u = first(calls, isDropTo(alice().uid), s);
    const opensAfterSetns = calls.filter((c) => c.index > s && openedPath(c) !== null);
    for (const path of [
      '/etc/nsswitch.conf',
      '/etc/passwd',
      '/etc/group',
      '/etc/cifs-upcall.conf',
      '/etc/ld.so.preload',
      '/lib/x86_64-linux-gnu/libnss_files.so.2',
    ]) {
      expect(
        opensAfterSetns.filter((c) => openedPath(c) === path).map((c) => c.raw),
        path,
      ).toEqual([]);
    }
    // no resolver or time-zone machinery reads the container's files either (c-ares' channel
    // init: resolv.conf, nsswitch.conf, svc.conf; ICU: localtime, zoneinfo)
    const libraryConfig = /^\/etc\/(nsswitch\.conf|svc\.conf|netsvc\.conf|host\.conf|localtime|gai\.conf)$|^\/usr\/share\/zoneinfo\//;
    expect(
      opensAfterSetns
        .filter((c) => libraryConfig.test(openedPath(c)!))
        .map((c) => c.raw)
        .slice(0, 5),
    ).toEqual([]);
    const krb5 = opensAfterSetns.filter((c) => ['/etc/krb5.conf', '/etc/krb5-poison-include.conf'].includes(openedPath(c)!));
    expect(krb5.length).toBeGreaterThan(0); // by design: the caller's krb5.conf, read as the caller's user
    expect(krb5.every((c) => c.index > u)).toBe(true);
  });

  it("identity and configuration came from the host: host passwd (gid 100, not the container's 0), host cifs-upcall.conf", () => {
    const { o } = run;
    expect(
      o.trace.find((t) => t.area === 'identity' && /host passwd via getpwuid_r, as root, before any namespace switch/.test(t.message))
        ?.fields,
    ).toMatchObject({ uid: alice().uid, gid: alice().gid, name: 'alice' });
    expect(o.trace.some((t) => t.area === 'config' && /gssproxy socket \/poison/.test(t.message))).toBe(false);
    expect(o.trace.some((t) => t.area === 'config' && /strategy proxy-only/.test(t.message))).toBe(false);
  });

  it("syslog was connected in the host before setns (LOG_NDELAY): the LOG lines reach the host's /dev/log", () => {
    const { calls, o } = run;
    const s = first(calls, isMountSetns);
    const log = first(calls, (c) => c.name === 'connect' && /"\/dev\/log"/.test(c.args));
    expect(log).toBeGreaterThanOrEqual(0);
    expect(log).toBeLessThan(s);
    expect(
      o.syslog.some((l) => /Exit status/.test(l.message)),
      o.syslog.map((l) => l.message).join('\n'),
    ).toBe(true);
  });
});

describe('a caller in the host namespaces', () => {
  it('KRB5CCNAME is read from /proc/<pid>/environ as root, but the cache it names is opened only after setresuid(alice)', async () => {
    // the realm's krb5.conf (explicit KDC, no DNS): the host's /etc/krb5.conf knows no EXAMPLE.TEST
    const { o, calls } = await tracedUpcall(plain.pid, ['-k', env.krb5Conf]);
    expect(o.status, traceText(o)).toBe(0);
    const u = first(calls, isDropTo(alice().uid));
    expect(u).toBeGreaterThan(0);
    const environ = first(calls, (c) => openedPath(c) === `/proc/${plain.pid}/environ`);
    expect(environ).toBeGreaterThanOrEqual(0);
    expect(environ).toBeLessThan(u);
    const opens = calls.filter((c) => openedPath(c) === cache);
    expect(opens.length, traceText(o)).toBeGreaterThan(0);
    expect(
      opens.every((c) => c.index > u),
      opens.map((c) => c.raw).join('\n'),
    ).toBe(true);
    // the groups and gid were set before the uid (a later setgroups would need root)
    const g = first(calls, (c) => c.name === 'setgroups' && /^0,/.test(c.args));
    const gid = first(calls, (c) => c.name === 'setresgid' && c.args.startsWith(`${alice().gid}, ${alice().gid}, ${alice().gid}`));
    expect(g).toBeGreaterThanOrEqual(0);
    expect(gid).toBeGreaterThan(g);
    expect(u).toBeGreaterThan(gid);
  });
});
