// Opening namespace files of real processes (no setns here: that would move the test's own
// thread; entering is covered by test/integration/chassis-namespaces.test.ts).
import { spawn } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { inspectStayingNamespaces, NAMESPACE_ENTRY_ORDER, openTargetNamespaces } from '../../../src/os/namespaces.ts';
import { lookupHostPasswd, PasswdLookupError } from '../../../src/os/passwd.ts';
import { recordNamespaceEntered } from '../../../src/os/upcall-state.ts';

const children: Array<{ kill(): boolean }> = [];
afterAll(() => {
  for (const c of children) c.kill();
});

const inode = (pid: number | 'self', type: string): number => Number(/\[(\d+)\]/.exec(readlinkSync(`/proc/${pid}/ns/${type}`))![1]);

describe('namespace files (docs/cifs-upcall-behaviour.md#namespaces order)', () => {
  it('enters in the order cgroup, ipc, uts, net, pid, mnt (no time, no user)', () => {
    expect(NAMESPACE_ENTRY_ORDER.map((n) => n.type)).toEqual(['cgroup', 'ipc', 'uts', 'net', 'pid', 'mnt']);
  });

  it('our own process: every namespace is "same", nothing to enter', () => {
    const opened = openTargetNamespaces(process.pid);
    try {
      expect(opened.toEnter).toEqual([]);
      expect(opened.decisions.map((d) => d.action)).toEqual(['same', 'same', 'same', 'same', 'same', 'same']);
      expect(opened.decisions.find((d) => d.type === 'net')?.ownInode).toBe(inode('self', 'net'));
    } finally {
      opened.close();
    }
  });

  it('a process in new uts and net namespaces: those two are to be entered, with its inodes', async () => {
    const child = spawn('unshare', ['--uts', '--net', 'sleep', '30'], { stdio: 'ignore' });
    children.push(child);
    await new Promise((r) => setTimeout(r, 200));
    const opened = openTargetNamespaces(child.pid!);
    try {
      expect(opened.toEnter.map((n) => n.type)).toEqual(['uts', 'net']);
      const uts = opened.decisions.find((d) => d.type === 'uts')!;
      expect(uts.targetInode).toBe(inode(child.pid!, 'uts'));
      expect(uts.targetInode).not.toBe(uts.ownInode);
    } finally {
      opened.close();
    }
    expect(inspectStayingNamespaces(child.pid!).map((s) => [s.type, s.targetInode === s.ownInode])).toEqual([
      ['user', true],
      ['time', true],
    ]);
  });

  it('a pid that does not exist: every type absent (the pipeline refuses before this)', () => {
    const opened = openTargetNamespaces(0x3fffffff);
    expect(opened.decisions.every((d) => d.action === 'absent')).toBe(true);
    opened.close();
  });
});

describe('passwd lookups (CVE-2026-12505)', () => {
  it('resolve through the host database, null for an unknown uid', () => {
    expect(lookupHostPasswd(0)).toMatchObject({ name: 'root', uid: 0, gid: 0 });
    expect(lookupHostPasswd(3999999999)).toBeNull();
  });

  it('are refused once a foreign namespace was entered', () => {
    recordNamespaceEntered('mnt');
    expect(() => lookupHostPasswd(0)).toThrow(PasswdLookupError);
  });
});
