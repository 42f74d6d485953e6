// MIT keytab format (doc/formats/keytab_file_format.rst) against keytabs made by the real MIT 1.20
// tools (test/unit/krb5/ccache/fixtures/capture.sh): ktutil addent/wkt, kadmin.local ktadd of a
// principal at kvno 300 (32-bit kvno extension), kadmin.local ktremove (holes), and the
// `klist -k -t -e -K` output captured with each. Name resolution as observed with `klist -k`.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { unparsePrincipal } from '../../../../src/krb5/ccache/model.ts';
import {
  encodeKeytab,
  findKeytabEntry,
  keytabEnctypes,
  keytabPath,
  KeytabError,
  KeytabFormatError,
  parseKeytab,
  readKeytab,
  resolveDefaultKeytabName,
  type Keytab,
} from '../../../../src/krb5/keytab/keytab.ts';
import { etypeName, klistTime } from '../ccache/klist.ts';

const dir = join(import.meta.dirname, 'fixtures');
const bytesOf = (name: string): Buffer => readFileSync(join(dir, `${name}.keytab`));
const scratch = mkdtempSync(join(tmpdir(), 'cu-keytab-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** `klist -k -t -e -K` lines: kvno, timestamp, principal, enctype, key. */
function klistEntries(name: string): string[] {
  return readFileSync(join(dir, `${name}.klist.txt`), 'utf8')
    .split('\n')
    .map((l) => /^\s*(\d+) (\S+ \S+) (\S+) \(([^)]+)\)\s+\(0x([0-9a-f]+)\)$/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => `${m[1]} ${m[2]} ${m[3]} ${m[4]} ${m[5]}`);
}

function ours(kt: Keytab): string[] {
  return kt.entries.map(
    (e) =>
      `${e.kvno} ${klistTime(e.timestamp)} ${unparsePrincipal(e.principal)} ${etypeName(e.key.enctype)} ${e.key.value.toString('hex')}`,
  );
}

describe('keytabs written by MIT tools', () => {
  for (const name of ['ktutil-alice', 'kadmin-kvno300', 'kadmin-holes']) {
    it(`${name}: the same entries, kvnos, enctypes and keys klist -k -t -e -K prints`, () => {
      const kt = parseKeytab(bytesOf(name), name);
      expect(kt.version).toBe(2);
      expect(kt.truncatedAt).toBeNull();
      expect(ours(kt)).toEqual(klistEntries(name));
    });
  }

  it('kvno 300 comes from the 32-bit field (the 8-bit field holds 300 mod 256 = 44)', () => {
    const bytes = bytesOf('kadmin-kvno300');
    const kt = parseKeytab(bytes);
    const first = kt.entries[0]!;
    expect(first.kvno).toBe(300);
    const recordEnd = first.offset + 4 + bytes.readInt32BE(first.offset);
    expect(bytes.readUInt32BE(recordEnd - 4)).toBe(300);
    const vno8At = recordEnd - 4 - 2 - first.key.value.length - 2 - 1;
    expect(bytes[vno8At]).toBe(44);
  });

  it('ktremove left holes (negative record lengths) that are skipped', () => {
    const bytes = bytesOf('kadmin-holes');
    expect(bytes.readInt32BE(2)).toBeLessThan(0);
    expect(parseKeytab(bytes).entries.map((e) => e.principal.components[0])).toEqual(Array(5).fill('cifs'));
  });

  it('re-encodes ktutil and kadmin keytabs to exactly their bytes', () => {
    for (const name of ['ktutil-alice', 'kadmin-kvno300']) {
      expect(encodeKeytab(parseKeytab(bytesOf(name)).entries)).toEqual(bytesOf(name));
    }
  });

  it('version 1 (host byte order, count includes the realm, no name type) round-trips (encoded here: MIT only writes v2)', () => {
    const v2 = parseKeytab(bytesOf('ktutil-alice'));
    const v1bytes = encodeKeytab(v2.entries, 1);
    expect(v1bytes.subarray(0, 2)).toEqual(Buffer.from([5, 1]));
    expect(v1bytes.readUInt16LE(6)).toBe(2); // alice + realm
    const v1 = parseKeytab(v1bytes);
    expect(v1.version).toBe(1);
    expect(v1.entries.map(({ offset: _o, ...e }) => e)).toEqual(
      v2.entries.map(({ offset: _o, ...e }) => ({ ...e, principal: { ...e.principal, nameType: 0 } })),
    );
  });
});

describe('lookups (krb5_kt_get_entry)', () => {
  const kt = parseKeytab(bytesOf('ktutil-alice'));
  const alice = { nameType: 1, components: ['alice'], realm: 'FIXTURE.TEST' };

  it('without a kvno picks the highest kvno for the enctype', () => {
    expect(findKeytabEntry(kt, alice, { enctype: 18 })!.kvno).toBe(2);
    expect(findKeytabEntry(kt, alice, { enctype: 18, kvno: 1 })!.key.value.toString('hex')).toMatch(/^b4b3d39b/);
    expect(findKeytabEntry(kt, alice, { enctype: 17, kvno: 1 })).toBeNull();
    expect(findKeytabEntry(kt, alice, { enctype: 26 })).toBeNull();
  });

  it('ignores the name type, not the realm', () => {
    expect(findKeytabEntry(kt, { ...alice, nameType: 0 }, { enctype: 23 })!.key.enctype).toBe(23);
    expect(findKeytabEntry(kt, { ...alice, realm: 'OTHER.TEST' })).toBeNull();
  });

  it('matches an 8-bit kvno against a larger requested kvno modulo 256', () => {
    const v8 = { ...kt, entries: [{ ...kt.entries[1]!, kvno: 44 }] };
    expect(findKeytabEntry(v8, alice, { kvno: 300 })).not.toBeNull();
    const big = parseKeytab(bytesOf('kadmin-kvno300'));
    expect(findKeytabEntry(big, { nameType: 1, components: ['host', 'kt.fixture.test'], realm: 'FIXTURE.TEST' }, { kvno: 44 })).toBeNull();
  });

  it('lists the enctypes of the newest keys in keytab order', () => {
    expect(keytabEnctypes(kt, alice)).toEqual([18, 17, 23, 20]);
    expect(keytabEnctypes(kt, { ...alice, components: ['bob'] })).toEqual([]);
  });
});

describe('format errors and truncation', () => {
  const good = bytesOf('ktutil-alice');

  it('bad version, too short', () => {
    expect(() => parseKeytab(Buffer.from([5, 3]))).toThrow(/bad keytab version 0x0503/);
    expect(() => parseKeytab(Buffer.from([5]))).toThrow(KeytabFormatError);
  });

  it('a zero record length ends the keytab; a record cut short ends it as truncated', () => {
    const firstLen = good.readInt32BE(2);
    const stop = Buffer.concat([good.subarray(0, 6 + firstLen), Buffer.alloc(4), good.subarray(6 + firstLen)]);
    expect(parseKeytab(stop).entries).toHaveLength(1);
    const cut = parseKeytab(good.subarray(0, 6 + firstLen + 10));
    expect(cut.entries).toHaveLength(1);
    expect(cut.truncatedAt).toBe(6 + firstLen);
  });

  it('an entry overrunning its record length is a format error with its offset', () => {
    const bad = Buffer.from(good);
    bad.writeInt32BE(20, 2); // first record claims 20 bytes: the key does not fit
    expect(() => parseKeytab(bad)).toThrow(/overruns its 20-byte record \(at offset \d+\)/);
    const min = Buffer.from(good);
    min.writeInt32BE(-0x80000000, 2);
    expect(() => parseKeytab(min)).toThrow(/record length/);
  });

  it('random bytes never fail with anything but KeytabFormatError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.constantFrom(1, 2), (a, v) => {
        try {
          parseKeytab(Buffer.concat([Buffer.from([5, v]), Buffer.from(a)]));
        } catch (e) {
          expect(e).toBeInstanceOf(KeytabFormatError);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('a real keytab with random bytes overwritten never fails with anything but KeytabFormatError', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(good.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }),
        (edits) => {
          const b = Buffer.from(good);
          for (const [at, v] of edits) b[at] = v;
          try {
            parseKeytab(b);
          } catch (e) {
            expect(e).toBeInstanceOf(KeytabFormatError);
          }
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('names (krb5_kt_resolve, krb5_kt_default_name; observed with MIT klist -k)', () => {
  it('FILE:, WRFILE:, plain paths, absolute paths with colons and drive letters are files', () => {
    expect(keytabPath('FILE:/etc/krb5.keytab')).toBe('/etc/krb5.keytab');
    expect(keytabPath('WRFILE:/tmp/x')).toBe('/tmp/x');
    expect(keytabPath('/tmp/x:y')).toBe('/tmp/x:y');
    expect(keytabPath('a:/tmp/x')).toBe('a:/tmp/x');
    expect(keytabPath('relative.keytab')).toBe('relative.keytab');
    expect(() => keytabPath('rel:x')).toThrow(/unknown keytab type "rel"/);
    expect(() => keytabPath('MEMORY:x')).toThrow(KeytabError);
  });

  it('default: KRB5_KTNAME verbatim, else default_keytab_name expanded, else FILE:/etc/krb5.keytab', () => {
    const ctx = { uid: 0, euid: 0 };
    expect(resolveDefaultKeytabName({ ...ctx, envKRB5_KTNAME: '/tmp/kt%{uid}', profileDefaultKeytabName: 'x' })).toEqual({
      name: '/tmp/kt%{uid}',
      source: 'KRB5_KTNAME',
    });
    expect(resolveDefaultKeytabName({ ...ctx, profileDefaultKeytabName: '/tmp/kt%{uid}' })).toEqual({
      name: '/tmp/kt0',
      source: 'default_keytab_name',
    });
    expect(resolveDefaultKeytabName({ ...ctx, profileDefaultKeytabName: '' })).toEqual({
      name: 'FILE:/etc/krb5.keytab',
      source: 'built-in',
    });
  });
});

describe('reading keytab files safely', () => {
  it('reads FILE: names and refuses FIFOs, devices and (when asked) foreign owners', () => {
    const path = join(scratch, 'kt');
    copyFileSync(join(dir, 'ktutil-alice.keytab'), path);
    expect(readKeytab(`FILE:${path}`).entries).toHaveLength(5);
    expect(() => readKeytab(path, { expectedOwner: (process.geteuid?.() ?? 0) + 1 })).toThrow(/owned by uid/);
    const fifo = join(scratch, 'fifo');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    expect(() => readKeytab(fifo)).toThrow(/FIFO/);
    expect(() => readKeytab('/dev/zero')).toThrow(/character device/);
    expect(() => readKeytab(join(scratch, 'absent'))).toThrow(expect.objectContaining({ kind: 'not-found' }));
  });
});
