// DIR collections (docs/kerberos.md#dir-collections, MIT cc_dir.c read_primary_file rules): the primary file's
// line must end with "\n", fit in 63 bytes, start with "tkt", contain no "/" or "\"; a missing
// primary means "tkt". Caches are copies of the MIT-made FILE fixtures.
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDirCcache, listDirCollection, readPrimaryName } from '../../../../src/krb5/ccache/dir.ts';
import { CcacheError } from '../../../../src/krb5/ccache/errors.ts';
import { listCredentialCaches, openCredentialCache } from '../../../../src/krb5/ccache/open.ts';

const fixtures = join(import.meta.dirname, 'fixtures');
const scratch = mkdtempSync(join(tmpdir(), 'cu-ccache-dir-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
let n = 0;

function collection(primary: string | null, files: string[]): string {
  const dir = join(scratch, `c${n++}`);
  mkdirSync(dir);
  if (primary !== null) writeFileSync(join(dir, 'primary'), primary);
  for (const f of files) copyFileSync(join(fixtures, 'file-v4-tgt.ccache'), join(dir, f));
  return dir;
}

function expectFormatError(fn: () => unknown, pattern: RegExp): void {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(CcacheError);
    expect((e as CcacheError).kind).toBe('format');
    expect((e as Error).message).toMatch(pattern);
    return;
  }
  throw new Error('expected a format error');
}

describe('primary file', () => {
  it('names the primary subsidiary', () => {
    expect(readPrimaryName(collection('tktAbC123\n', []))).toBe('tktAbC123');
    expect(readPrimaryName(collection('tkt\nignored second line', []))).toBe('tkt');
  });

  it('missing or empty → "tkt" (libkrb5 would create it; we only read)', () => {
    expect(readPrimaryName(collection(null, []))).toBe('tkt');
    expect(readPrimaryName(collection('', []))).toBe('tkt');
  });

  it('a line of exactly 63 bytes with its newline is accepted, 64 is not', () => {
    const ok = `tkt${'a'.repeat(59)}\n`;
    expect(ok.length).toBe(63);
    expect(readPrimaryName(collection(ok, []))).toBe(ok.slice(0, -1));
    expectFormatError(() => readPrimaryName(collection(`tkt${'a'.repeat(60)}\n`, [])), /invalid cache file name/);
  });

  it('rejects a line without newline, not starting with tkt, or with / or \\', () => {
    for (const bad of ['tkt', 'foo\n', 'tkt/../x\n', 'tkt\\x\n', '../tkt\n', 'tkt\0x\n']) {
      expectFormatError(() => readPrimaryName(collection(bad, [])), /invalid cache file name/);
    }
  });

  it('a missing directory is not-found, a file instead of a directory a format error', () => {
    expect(() => readPrimaryName(join(scratch, 'absent'))).toThrow(expect.objectContaining({ kind: 'not-found' }));
    const file = join(scratch, 'plainfile');
    writeFileSync(file, 'x');
    expectFormatError(() => readPrimaryName(file), /exists but is not a directory/);
  });
});

describe('opening', () => {
  it('DIR:<dir> opens the primary as DIR::<dir>/<primary>', async () => {
    const dir = collection('tktB\n', ['tktA', 'tktB']);
    const cache = await openCredentialCache(`DIR:${dir}`);
    expect(cache.name).toBe(`DIR::${dir}/tktB`);
    expect(cache.type).toBe('DIR');
    expect((await cache.principal()).components).toEqual(['alice']);
  });

  it('DIR::<dir>/tktX opens that subsidiary; a file name not starting with tkt is refused', async () => {
    const dir = collection(null, ['tktA']);
    expect((await openCredentialCache(`DIR::${dir}/tktA`)).name).toBe(`DIR::${dir}/tktA`);
    expect(() => openDirCcache(`:${dir}/krb5cc`)).toThrow(/does not begin with "tkt"/);
    expect(() => openDirCcache(':tktA')).toThrow(/has no parent directory/);
  });

  it('a primary naming a missing file gives not-found on read', async () => {
    const cache = await openCredentialCache(`DIR:${collection('tktGone\n', [])}`);
    await expect(cache.read()).rejects.toMatchObject({ kind: 'not-found' });
  });
});

describe('listing a collection', () => {
  it('lists the primary first, then the other tkt* files, ignoring other names', async () => {
    const dir = collection('tktB\n', ['tktA', 'tktB', 'tktC', 'notacache']);
    expect(listDirCollection(dir).map((c) => c.name)).toEqual([`DIR::${dir}/tktB`, `DIR::${dir}/tktA`, `DIR::${dir}/tktC`]);
    expect((await listCredentialCaches(`DIR:${dir}`)).map((c) => c.name)).toHaveLength(3);
  });
});
