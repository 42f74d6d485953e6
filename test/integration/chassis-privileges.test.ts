// Privileges (docs/cifs-upcall-behaviour.md#identity-and-privileges): the credential source runs with
// the user's uid/gid, no supplementary groups and no capabilities — checked from inside, by the
// stand-in source reading /proc/self/status and /proc/thread-self/status in the pipeline.
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { useChassis } from '../harness/standin/chassis.ts';
import { chassisUsers, hex, readJsonTrace, runBundle, startPlainCaller, uniqueTag } from '../harness/standin/harness.ts';
import type { TraceRecord } from '../../src/trace.ts';

const chassis = useChassis('priv', { startCaller: () => startPlainCaller({ PATH: '/usr/bin' }) });
const users = chassisUsers();

function replayAs(uid: number, extra: string[] = []): { status: number; trace: TraceRecord[]; stderr: string } {
  const traceFile = join(chassis.work, `trace-${uniqueTag()}.jsonl`);
  const desc = `ver=0x2;host=fs1.example.test;ip4=127.0.0.2;sec=krb5;uid=${hex(uid)};creduid=${hex(uid)};pid=${hex(chassis.caller.pid)};upcall_target=app`;
  const r = runBundle(chassis.bundles.standin, ['--replay', desc, `--trace=${traceFile}`, '--trace-format=json', ...extra]);
  return { status: r.status, trace: readJsonTrace(traceFile), stderr: r.stderr };
}

const views = (trace: TraceRecord[]): Record<string, Record<string, unknown>> =>
  Object.fromEntries(
    trace.filter((t) => t.message.startsWith('stand-in:') && t.fields?.['view']).map((t) => [t.fields!['view'] as string, t.fields!]),
  );

const NONE = '0000000000000000';

describe('the credential source runs as the user, with nothing else', () => {
  it('uid 2101: ids, no groups, no capabilities in any set, on the process and on the main thread', () => {
    // This test process runs as root with groups, so anything inherited would show.
    const { bob } = users;
    const r = replayAs(bob.uid);
    expect(r.status).toBe(0);
    const seen = views(r.trace);
    for (const view of ['process', 'main thread']) {
      expect(seen[view], view).toMatchObject({
        uid: `${bob.uid} ${bob.uid} ${bob.uid} ${bob.uid}`,
        gid: `${bob.gid} ${bob.gid} ${bob.gid} ${bob.gid}`,
        groups: '',
        capEff: NONE,
        capPrm: NONE,
        capInh: NONE,
        capBnd: NONE,
        capAmb: NONE,
        noNewPrivs: '1',
      });
    }
    // the pipeline's own account matches (system calls, not /proc)
    const dropped = r.trace.find((t) => t.message.startsWith('privileges dropped'))!;
    expect(dropped.fields).toMatchObject({
      uid: bob.uid,
      gid: bob.gid,
      groups: [],
      capEff: NONE,
      capPrm: NONE,
      capBnd: NONE,
      boundingTrimmed: true,
    });
  });

  it('uid 0 (a root mount): the main thread has no capabilities either; the trace says the pool threads keep them', () => {
    const r = replayAs(0);
    expect(r.status).toBe(0);
    const main = views(r.trace)['main thread']!;
    expect(main).toMatchObject({ uid: '0 0 0 0', groups: '', capEff: NONE, capPrm: NONE, capBnd: NONE, noNewPrivs: '1' });
    expect(r.trace.some((t) => /pool threads keep root's/.test(t.message))).toBe(true);
  });

  it('a credential uid without a passwd entry: exit 5, before any namespace or privilege change', () => {
    const r = replayAs(0x7ffffff0, ['--verbose']);
    expect(r.status).toBe(5);
    expect(r.trace.some((t) => t.area === 'ns' || t.message.startsWith('privileges dropped'))).toBe(false);
    expect(r.stderr).toContain('cifs.upcall: <err> [replay] no passwd entry for uid 2147483632 (host passwd database)');
  });
});
