// FileCredentialCache on real files: reading the MIT-made fixtures, appending like fcc_store, and
// the safety refusals of safe-file.ts (FIFO, /dev/zero, directory, foreign owner incl. through a
// symlink, size cap) — each must fail fast with a typed error, never block.
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CcacheError } from '../../../../src/krb5/ccache/errors.ts';
import { FileCredentialCache } from '../../../../src/krb5/ccache/file.ts';
import { encodeCredential, parseFileCcache } from '../../../../src/krb5/ccache/marshal.ts';
import { openCredentialCache } from '../../../../src/krb5/ccache/open.ts';

const fixtures = join(import.meta.dirname, 'fixtures');
const scratch = mkdtempSync(join(tmpdir(), 'cu-ccache-file-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const isRoot = process.geteuid?.() === 0;

function copy(name: string, as = name): string {
  const path = join(scratch, `${as}-${Math.random().toString(36).slice(2)}`);
  copyFileSync(join(fixtures, `${name}.ccache`), path);
  return path;
}

async function failure(p: Promise<unknown> | (() => unknown)): Promise<CcacheError> {
  try {
    if (typeof p === 'function') p();
    else await p;
  } catch (e) {
    expect(e).toBeInstanceOf(CcacheError);
    return e as CcacheError;
  }
  throw new Error('expected a CcacheError');
}

describe('reading', () => {
  it('reads principal, tickets, config and offset of a kinit-made cache through openCredentialCache', async () => {
    const path = copy('file-v4-service');
    const cache = await openCredentialCache(`FILE:${path}`);
    expect(cache.name).toBe(`FILE:${path}`);
    expect(cache.type).toBe('FILE');
    const contents = await cache.read();
    expect(contents.principal).toEqual({ nameType: 1, components: ['alice'], realm: 'FIXTURE.TEST' });
    expect(contents.credentials.map((c) => c.server.components.join('/'))).toEqual(['krbtgt/FIXTURE.TEST', 'cifs/fs1.fixture.test']);
    expect((await cache.configEntries()).map((e) => e.key)).toEqual(['fast_avail', 'pa_type']);
    expect(await cache.kdcTimeOffset()).toEqual({ seconds: 0, microseconds: 0 });
  });

  it('a name without a type is a FILE path', async () => {
    const path = copy('file-v4-tgt');
    expect((await openCredentialCache(path)).name).toBe(`FILE:${path}`);
  });

  it('a missing file is not-found', async () => {
    const e = await failure(new FileCredentialCache(join(scratch, 'nope')).read());
    expect(e.kind).toBe('not-found');
    expect(e.message).toMatch(/ENOENT/);
  });

  it('skips removed entries and reports them', () => {
    const snap = new FileCredentialCache(copy('file-v4-removed')).readSync();
    expect(snap.removed).toBe(2);
    expect(snap.credentials).toHaveLength(1);
  });
});

describe('storing (fcc_store: one append in the file version)', () => {
  for (const v of [4, 3, 2, 1]) {
    it(`appends exactly one v${v} record and the cache reads back with it`, async () => {
      const name = v === 4 ? 'file-v4-tgt' : `file-v${v}-tgt`;
      const path = copy(name);
      const before = readFileSync(path);
      const service = parseFileCcache(readFileSync(join(fixtures, 'file-v4-service.ccache'))).records.at(-1)!.credential;
      const cred =
        v === 1 ? { ...service, client: { ...service.client, nameType: 0 }, server: { ...service.server, nameType: 0 } } : service;
      await new FileCredentialCache(path).store(cred);
      const after = readFileSync(path);
      expect(after).toEqual(Buffer.concat([before, encodeCredential(cred, v as 1 | 2 | 3 | 4)]));
      const snap = new FileCredentialCache(path).readSync();
      expect(snap.version).toBe(v);
      expect(snap.credentials.at(-1)).toEqual(cred);
    });
  }

  it('refuses to create a missing cache', async () => {
    const cred = parseFileCcache(readFileSync(join(fixtures, 'file-v4-tgt.ccache'))).records[0]!.credential;
    expect((await failure(new FileCredentialCache(join(scratch, 'absent')).store(cred))).kind).toBe('not-found');
  });

  it('refuses to append to a file that is not a ccache', async () => {
    const path = join(scratch, 'garbage');
    writeFileSync(path, 'hello world');
    const cred = parseFileCcache(readFileSync(join(fixtures, 'file-v4-tgt.ccache'))).records[0]!.credential;
    const e = await failure(new FileCredentialCache(path).store(cred));
    expect(e.kind).toBe('format');
    expect(readFileSync(path, 'utf8')).toBe('hello world');
  });
});

describe('safety refusals', () => {
  it('a FIFO is refused at once (O_NONBLOCK open, fstat) for reading and for storing', async () => {
    const fifo = join(scratch, 'fifo');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    const started = Date.now();
    const e = await failure(new FileCredentialCache(fifo).read());
    expect(e.kind).toBe('unsafe');
    expect(e.message).toMatch(/it is a FIFO, not a regular file/);
    const cred = parseFileCcache(readFileSync(join(fixtures, 'file-v4-tgt.ccache'))).records[0]!.credential;
    expect((await failure(new FileCredentialCache(fifo).store(cred))).message).toMatch(/FIFO/);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('/dev/zero is refused (character device), not read forever', async () => {
    const e = await failure(new FileCredentialCache('/dev/zero', { expectedOwner: null }).read());
    expect(e.kind).toBe('unsafe');
    expect(e.message).toMatch(/character device/);
  });

  it('a directory is refused', async () => {
    expect((await failure(new FileCredentialCache(scratch).read())).message).toMatch(/it is a directory/);
  });

  it('a file owned by another uid is refused', async () => {
    const path = copy('file-v4-tgt');
    const someoneElse = (process.geteuid?.() ?? 0) + 4242;
    const e = await failure(new FileCredentialCache(path, { expectedOwner: someoneElse }).read());
    expect(e.kind).toBe('unsafe');
    expect(e.message).toMatch(new RegExp(`owned by uid ${process.geteuid?.()}, not by uid ${someoneElse}`));
  });

  it.runIf(isRoot)("a symlink planted to another user's cache is refused by the owner check of the target", async () => {
    const victimsView = copy('file-v4-tgt', 'foreign');
    chownSync(victimsView, 65534, 65534);
    chmodSync(victimsView, 0o600);
    const link = join(scratch, 'krb5cc_link');
    symlinkSync(victimsView, link);
    const e = await failure(new FileCredentialCache(link).read());
    expect(e.message).toMatch(/owned by uid 65534, not by uid 0/);
  });

  it("a symlink to one's own cache is followed, as libkrb5 does", async () => {
    const own = copy('file-v4-tgt');
    const link = join(scratch, `own-link-${Math.random().toString(36).slice(2)}`);
    symlinkSync(own, link);
    expect((await new FileCredentialCache(link).read()).principal.components).toEqual(['alice']);
  });

  it('a file above the size cap is refused', async () => {
    const path = copy('file-v4-service');
    const e = await failure(new FileCredentialCache(path, { maxBytes: 1000 }).read());
    expect(e.message).toMatch(new RegExp(`${readFileSync(path).length} bytes is more than the 1000-byte limit`));
  });
});
