// src/os/caller-fs.ts on real files: synchronous reads with a size cap, atomic replace, and the
// phase guard (no caller file before the privilege drop once an upcall armed it).
import { mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  CallerFileError,
  callerPathExists,
  listCallerDirectory,
  lstatCallerPath,
  readCallerFile,
  readCallerFileIfExists,
  removeCallerFile,
  writeCallerFileAtomically,
} from '../../../src/os/caller-fs.ts';
import { armPhaseGuards, recordPrivilegesDropped } from '../../../src/os/upcall-state.ts';

const dir = mkdtempSync(join(tmpdir(), 'caller-fs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('caller-fs', () => {
  it('reads whole files, through symlinks, and /proc files of size 0', () => {
    writeFileSync(join(dir, 'a'), 'hello');
    symlinkSync(join(dir, 'a'), join(dir, 'link'));
    expect(readCallerFile(join(dir, 'link')).toString()).toBe('hello');
    expect(readCallerFile('/proc/self/status').toString()).toMatch(/^Name:/);
    expect(lstatCallerPath(join(dir, 'link'))?.isSymbolicLink()).toBe(true);
  });

  it('refuses oversized files, directories and missing files with typed errors', () => {
    writeFileSync(join(dir, 'big'), Buffer.alloc(1000));
    expect(() => readCallerFile(join(dir, 'big'), { maxBytes: 999 })).toThrow(expect.objectContaining({ code: 'TOOBIG' }));
    expect(readCallerFile(join(dir, 'big'), { maxBytes: 1000 }).length).toBe(1000);
    expect(() => readCallerFile(dir)).toThrow(expect.objectContaining({ code: 'NOTFILE' }));
    expect(() => readCallerFile(join(dir, 'missing'))).toThrow(CallerFileError);
    expect(readCallerFileIfExists(join(dir, 'missing'))).toBeNull();
    expect(readCallerFileIfExists(join(dir, 'missing', 'deeper'))).toBeNull();
    expect(callerPathExists(join(dir, 'a'))).toBe(true);
  });

  it('replaces files atomically with the requested mode and leaves no temporary file', () => {
    writeCallerFileAtomically(join(dir, 'cc'), Buffer.from('v1'), { mode: 0o600 });
    writeCallerFileAtomically(join(dir, 'cc'), Buffer.from('v2'));
    expect(readFileSync(join(dir, 'cc'), 'utf8')).toBe('v2');
    expect(statSync(join(dir, 'cc')).mode & 0o777).toBe(0o600);
    expect(listCallerDirectory(dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
    removeCallerFile(join(dir, 'cc'));
    removeCallerFile(join(dir, 'cc'));
    expect(callerPathExists(join(dir, 'cc'))).toBe(false);
  });

  it('once an upcall armed the guards, refuses everything until the privilege drop', () => {
    armPhaseGuards();
    expect(() => readCallerFile(join(dir, 'a'))).toThrow(/before the upcall dropped its privileges/);
    expect(() => callerPathExists(join(dir, 'a'))).toThrow(CallerFileError);
    recordPrivilegesDropped();
    expect(readCallerFile(join(dir, 'a')).toString()).toBe('hello');
  });
});
