// Namespace entry (docs/cifs-upcall-behaviour.md#namespaces, #environment-probing): a triggering
// process in new mount + net + uts namespaces (made with unshare here) whose KRB5CCNAME names a file that exists
// only inside its mount namespace. The whole pipeline runs through --replay of the test-only
// stand-in bundle; the stand-in source reports what it can see from inside the pipeline.
import { mkdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PAYLOAD_7_4, useChassis } from '../harness/standin/chassis.ts';
import {
  chassisUsers,
  hex,
  readJsonTrace,
  runBundle,
  startContainerCaller,
  uniqueTag,
  vanishedPid,
  inSessionKeyring,
} from '../harness/standin/harness.ts';
import type { TraceRecord } from '../../src/trace.ts';

let hidden: string;
const tag = uniqueTag();
const users = chassisUsers();
const chassis = useChassis('ns', {
  workMode: 0o755, // the user must be able to walk to the caller's files
  startCaller: (work) => {
    hidden = join(work, 'hidden');
    mkdirSync(hidden, { mode: 0o755 });
    // on the host only: the caller's tmpfs covers it
    writeFileSync(join(hidden, 'host-only'), 'host file', { mode: 0o644 });
    return startContainerCaller({
      hiddenDir: hidden,
      ccacheFile: join(hidden, 'krb5cc_app'),
      ccacheContent: `ccache-of-${tag}`,
      owner: users.alice,
      hostname: `caller-${tag}`,
    });
  },
});

function description(options: { uid: number; pid: number; target?: 'app' | 'mount' }): string {
  return (
    `ver=0x2;host=fs1.example.test;ip4=127.0.0.2;sec=krb5;uid=${hex(options.uid)};creduid=${hex(options.uid)};pid=${hex(options.pid)}` +
    (options.target ? `;upcall_target=${options.target}` : '')
  );
}

function replay(desc: string, extra: string[] = []): { status: number; trace: TraceRecord[]; payload: string; stderr: string } {
  const traceFile = join(chassis.work, `trace-${uniqueTag()}.jsonl`);
  const payloadFile = join(chassis.work, `payload-${uniqueTag()}.bin`);
  const r = runBundle(
    chassis.bundles.standin,
    ['--replay', desc, `--trace=${traceFile}`, '--trace-format=json', '--payload-out', payloadFile, ...extra],
    {
      CIFS_UPCALL_STANDIN_PROBE: `${join(hidden, 'host-only')}:${join(hidden, 'krb5cc_app')}`,
    },
  );
  return { status: r.status, trace: readJsonTrace(traceFile), payload: readFileSync(payloadFile).toString('hex'), stderr: r.stderr };
}

const inode = (pid: number, type: string): number => Number(/\[(\d+)\]/.exec(readlinkSync(`/proc/${pid}/ns/${type}`))![1]);
const find = (trace: TraceRecord[], area: string, re: RegExp): TraceRecord | undefined =>
  trace.find((r) => r.area === area && re.test(r.message));

describe("upcall_target=app: the caller's namespaces", () => {
  it('enters mnt, net and uts of the caller; KRB5CCNAME found; the file only the caller sees is visible, the host-only one is not', () => {
    const r = replay(description({ uid: users.alice.uid, pid: chassis.caller.pid, target: 'app' }));
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.payload).toBe(PAYLOAD_7_4);

    // which namespaces, with their inodes
    const decisions = Object.fromEntries(
      r.trace.filter((t) => t.area === 'ns' && t.fields?.['action']).map((t) => [t.fields!['type'], t.fields!]),
    );
    for (const type of ['uts', 'net', 'mnt']) {
      expect(decisions[type]).toMatchObject({
        action: 'enter',
        targetInode: inode(chassis.caller.pid, type),
        ownInode: inode(process.pid, type),
      });
    }
    for (const type of ['cgroup', 'ipc', 'pid']) expect(decisions[type]).toMatchObject({ action: 'same' });
    for (const type of ['user', 'time']) expect(decisions[type]).toMatchObject({ action: 'stay' });
    expect(find(r.trace, 'ns', /^entered uts, net, mnt of thread/)).toBeDefined();

    // the env probe, from the host procfs before the switch
    expect(find(r.trace, 'env', /^KRB5CCNAME=/)?.fields).toMatchObject({ result: 'found', value: `FILE:${join(hidden, 'krb5cc_app')}` });

    // what the credential source saw from inside
    expect(find(r.trace, 'ccache', /probed ccache/)?.fields).toMatchObject({ visible: true, content: `ccache-of-${tag}` });
    expect(find(r.trace, 'ccache', /probe .*host-only/)?.fields).toMatchObject({ visible: false, error: null });
    expect(find(r.trace, 'identity', /stand-in: host name/)?.fields).toMatchObject({ hostname: `caller-${tag}`, interfaces: ['lo'] });

    // order: probe before setns, setns before the privilege drop, drop before the source
    const at = (re: RegExp): number => r.trace.findIndex((t) => re.test(t.message));
    expect(at(/^KRB5CCNAME=/)).toBeLessThan(at(/^entered /));
    expect(at(/^entered /)).toBeLessThan(at(/^privileges dropped/));
    expect(at(/^privileges dropped/)).toBeLessThan(at(/^asking stand-in/));
  });

  it('without upcall_target (kernel < 6.13) behaves as app', () => {
    const r = replay(description({ uid: users.alice.uid, pid: chassis.caller.pid }));
    expect(r.status).toBe(0);
    expect(find(r.trace, 'ns', /^entered uts, net, mnt/)).toBeDefined();
    expect(find(r.trace, 'env', /^KRB5CCNAME=/)).toBeDefined();
  });

  it("-E: still in the caller's namespaces, but KRB5CCNAME is not read", () => {
    const r = replay(description({ uid: users.alice.uid, pid: chassis.caller.pid, target: 'app' }), ['-E']);
    expect(r.status).toBe(0);
    expect(find(r.trace, 'env', /^no probe: -E/)).toBeDefined();
    expect(find(r.trace, 'ccache', /no probed ccache name/)).toBeDefined();
    expect(find(r.trace, 'ccache', /probe .*host-only/)?.fields).toMatchObject({ visible: false, error: null });
  });

  it('credential uid 0: switched, but root never takes KRB5CCNAME from the caller', () => {
    const r = replay(description({ uid: 0, pid: chassis.caller.pid, target: 'app' }));
    expect(r.status).toBe(0);
    expect(find(r.trace, 'env', /^no probe: credential uid 0/)).toBeDefined();
    expect(find(r.trace, 'ns', /^entered uts, net, mnt/)).toBeDefined();
  });
});

describe("upcall_target=mount: the helper's own namespaces; pid 0 refused", () => {
  it('mount: no switch, no probe; the source sees the host (host-only file, host name, host interfaces)', () => {
    const r = replay(description({ uid: users.alice.uid, pid: chassis.caller.pid, target: 'mount' }));
    expect(r.status).toBe(0);
    expect(find(r.trace, 'ns', /^upcall_target=mount/)).toBeDefined();
    expect(find(r.trace, 'ns', /^staying in the helper's own namespaces/)).toBeDefined();
    expect(r.trace.some((t) => t.area === 'ns' && t.fields?.['action'] === 'enter')).toBe(false);
    expect(find(r.trace, 'ccache', /probe .*host-only/)?.fields).toMatchObject({ visible: true, error: null });
    expect(find(r.trace, 'ccache', /probe .*krb5cc_app/)?.fields).toMatchObject({ visible: false, error: null });
    expect(find(r.trace, 'identity', /stand-in: host name/)?.fields?.['hostname']).toBe(hostname());
  });

  it.each(['app', 'mount'] as const)(
    'pid 0 (upcall_target=%s): refused, exit 6, negated, no source asked (as cifs.upcall 7.6)',
    (target) => {
      const r = replay(description({ uid: users.alice.uid, pid: 0, target }));
      expect(r.status).toBe(6);
      expect(r.payload).toBe('');
      expect(find(r.trace, 'result', /pid=0 names no triggering process: refusing/)).toBeDefined();
      expect(find(r.trace, 'strategy', /asking/)).toBeUndefined();
      expect(r.trace.some((t) => t.area === 'ns' && t.fields?.['action'] === 'enter')).toBe(false);
      expect(find(r.trace, 'result', /replay: the key would be negated for 5 s/)).toBeDefined();
    },
  );
});

describe('fail closed', () => {
  it('app with a vanished pid: exit 6, no credentials asked, key negated (C would run in the host namespaces)', () => {
    const pid = vanishedPid();
    const r = replay(description({ uid: users.alice.uid, pid, target: 'app' }));
    expect(r.status).toBe(6);
    expect(r.payload).toBe('');
    expect(find(r.trace, 'strategy', /asking/)).toBeUndefined();
    expect(find(r.trace, 'result', /replay: the key would be negated for 5 s/)).toBeDefined();
  });

  it('--replay --pid: a live process of the same user stands for a vanished pid (a description copied from syslog)', () => {
    const gone = vanishedPid();
    const refused = replay(description({ uid: users.alice.uid, pid: gone, target: 'app' }));
    expect(refused.status).toBe(6);
    expect(refused.stderr).toMatch(/add --pid with a live process of the same user/);
    // the caller process runs as root (uid 0): it may stand in for uid 0's description only
    const r = replay(description({ uid: 0, pid: gone, target: 'app' }), ['--pid', String(chassis.caller.pid)]);
    expect(r.status, r.stderr).toBe(0);
    expect(find(r.trace, 'ns', new RegExp(`the description's pid ${gone} replaced by --pid ${chassis.caller.pid}`))).toBeDefined();
    // the stand-in's namespaces were entered: its mount namespace, and the host-only file is hidden
    expect(r.trace.find((t) => t.area === 'ns' && t.fields?.['type'] === 'mnt')?.fields).toMatchObject({
      action: 'enter',
      targetInode: inode(chassis.caller.pid, 'mnt'),
    });
    expect(find(r.trace, 'ccache', /probe .*host-only/)?.fields).toMatchObject({ visible: false });
    const other = replay(description({ uid: users.bob.uid, pid: gone, target: 'app' }), ['--pid', String(chassis.caller.pid)]);
    expect(other.status).toBe(6);
    expect(other.stderr).toMatch(new RegExp(`runs as uid 0, not as the credential uid ${users.bob.uid}`));
  });

  it('app with a thread that started after the request (pid reuse): exit 6 before anything is opened', () => {
    // Kernel mode with a real key (keyctl add: owner 0:0, --key-type user) run by a shell that
    // started BEFORE the "triggering" process: the helper's reference is its user-space parent's
    // start time (what request-key is when a wrapper forks the helper), so the younger target
    // must be a recycled id.
    const traceFile = join(chassis.work, `trace-reuse-${uniqueTag()}.jsonl`);
    const desc = (pid: string): string =>
      `ver=0x2;host=fs1.example.test;ip4=127.0.0.2;sec=krb5;uid=0x834;creduid=0x834;pid=${pid};upcall_target=app`;
    const script = [
      'sleep 0.1',
      '/bin/sleep 300 & T=$!',
      'sleep 0.1',
      `K=$(keyctl add user "${desc('0x$(printf %x $T)')}" x @s)`,
      `/usr/bin/node ${chassis.bundles.standin} --key-type user --trace=${traceFile} --trace-format=json $K`,
      'S=$?',
      'kill $T',
      'echo status=$S',
    ].join('; ');
    const r = inSessionKeyring(script);
    expect(r.stdout).toContain('status=6');
    const trace = readJsonTrace(traceFile);
    const check = find(trace, 'ns', /started at tick/)!;
    expect(check.message).toMatch(/reference: parent start \(pid \d+, sh\)/);
    expect(BigInt(check.fields!['startTime'] as string) > BigInt(check.fields!['referenceStartTime'] as string)).toBe(true);
    expect(trace.some((t) => t.area === 'ns' && t.fields?.['action'] !== undefined)).toBe(false);
    expect(find(trace, 'result', /negating the key failed/)).toBeDefined(); // an added key has no construction authority
  });
});
