// /proc/<pid>/stat and /proc/<pid>/environ as proc(5) documents them; real processes where possible.
import { spawn } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import {
  findEnvironValue,
  isKernelThread,
  MAX_ENVIRON_BYTES,
  parseProcessStat,
  probeEnvironVariable,
  readProcessStat,
  referenceStartTime,
} from '../../../src/os/proc.ts';

const children: Array<{ kill(): boolean }> = [];
afterAll(() => {
  for (const c of children) c.kill();
});

function sleeper(env: Record<string, string>): number {
  const child = spawn('/bin/sleep', ['30'], { env, stdio: 'ignore' });
  children.push(child);
  return child.pid!;
}

describe('/proc/<pid>/stat', () => {
  it('counts fields after the last ")" (comm may hold spaces and parentheses)', () => {
    // shape of a kworker line as read on this machine (test-environments probe, 6.18)
    const s = parseProcessStat(
      '12 (kworker/u8:0+events_unbound) S 2 0 0 0 -1 69238880 0 0 0 0 0 23 0 0 20 0 1 0 30 0 0 18446744073709551615 0 0',
    );
    expect(s).toMatchObject({ pid: 12, comm: 'kworker/u8:0+events_unbound', state: 'S', ppid: 2, flags: 69238880, startTime: 30n });
    expect(isKernelThread(s)).toBe(true);
    const odd = parseProcessStat('77 (a) b (c)) R 1 0 0 0 -1 4194304 0 0 0 0 0 0 0 0 20 0 1 0 123456 0 0');
    expect(odd).toMatchObject({ comm: 'a) b (c)', state: 'R', ppid: 1, startTime: 123456n });
    expect(isKernelThread(odd)).toBe(false);
  });

  it('reads real processes; a missing pid is null', () => {
    const self = readProcessStat(process.pid)!;
    expect(self.pid).toBe(process.pid);
    expect(self.ppid).toBe(process.ppid);
    expect(isKernelThread(self)).toBe(false);
    expect(readProcessStat(2)?.comm).toBe('kthreadd');
    expect(isKernelThread(readProcessStat(2)!)).toBe(true);
    expect(readProcessStat(0x3fffffff)).toBeNull();
  });

  it('a child started after us has a later (or equal) start time; replay uses our own start', () => {
    const pid = sleeper({});
    const child = readProcessStat(pid)!;
    const reference = referenceStartTime(true);
    expect(reference.startTime).toBe(readProcessStat(process.pid)!.startTime);
    expect(child.startTime >= reference.startTime).toBe(true);
    // not replay: our parent (the vitest main process) is a user-space process, so its start counts
    const kernelMode = referenceStartTime(false);
    expect(kernelMode.source).toMatch(/^parent start/);
    expect(kernelMode.startTime).toBe(readProcessStat(process.ppid)!.startTime);
  });
});

describe('/proc/<pid>/environ (docs/cifs-upcall-behaviour.md#environment-probing)', () => {
  it('the first non-empty KRB5CCNAME= entry wins', () => {
    const block = Buffer.from('A=1\0KRB5CCNAME=\0KRB5CCNAMEX=no\0KRB5CCNAME=FILE:/tmp/first\0KRB5CCNAME=FILE:/tmp/second\0', 'latin1');
    expect(findEnvironValue(block, 'KRB5CCNAME')).toBe('FILE:/tmp/first');
    expect(findEnvironValue(Buffer.from('A=1\0KRB5CCNAME=\0', 'latin1'), 'KRB5CCNAME')).toBeNull();
    expect(findEnvironValue(Buffer.from('KRB5CCNAME=KEYRING:persistent:2100', 'latin1'), 'KRB5CCNAME')).toBe('KEYRING:persistent:2100');
  });

  it('reads a live process, and ignores an environment of 128 KiB or more', async () => {
    const small = sleeper({ PATH: '/usr/bin', KRB5CCNAME: 'FILE:/tmp/krb5cc_probe' });
    // one variable may not exceed 128 KiB (MAX_ARG_STRLEN), so the padding is split
    const pad = (total: number): Record<string, string> => ({ PAD1: 'p'.repeat(total / 2), PAD2: 'p'.repeat(total / 2) });
    const nearLimit = sleeper({ KRB5CCNAME: 'DIR:/run/x', ...pad(MAX_ENVIRON_BYTES - 200) });
    const large = sleeper({ KRB5CCNAME: 'DIR:/run/x', ...pad(MAX_ENVIRON_BYTES) });
    await new Promise((r) => setTimeout(r, 100)); // let execve finish
    expect(probeEnvironVariable(small, 'KRB5CCNAME')).toMatchObject({ status: 'found', value: 'FILE:/tmp/krb5cc_probe' });
    expect(probeEnvironVariable(small, 'NOPE')).toMatchObject({ status: 'absent' });
    expect(probeEnvironVariable(nearLimit, 'KRB5CCNAME')).toMatchObject({ status: 'found', value: 'DIR:/run/x' });
    expect(probeEnvironVariable(large, 'KRB5CCNAME')).toEqual({ status: 'too-large', environBytes: MAX_ENVIRON_BYTES });
    expect(probeEnvironVariable(0x3fffffff, 'KRB5CCNAME')).toEqual({ status: 'unreadable', code: 'ENOENT' });
  });
});
