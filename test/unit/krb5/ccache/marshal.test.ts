// FILE ccache codec (docs/kerberos.md#ccache-file-format) against caches written by the real MIT 1.20 tools of this
// machine (fixtures/capture.sh: kinit, kvno, ccache_type = 1/2/3, libkrb5's own
// krb5_cc_remove_cred / krb5_cc_set_config(NULL) through python3 ctypes), the klist -e -C -f
// output captured with them, and the annotated example of docs/kerberos.md#ccache-file-format.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CcacheFormatError } from '../../../../src/krb5/ccache/errors.ts';
import {
  decodeCredential,
  encodeCredential,
  encodeFileCcache,
  encodePrincipal,
  decodePrincipal,
  parseFileCcache,
  type CcacheVersion,
} from '../../../../src/krb5/ccache/marshal.ts';
import { classifyRecords, unparsePrincipal, type Credential, type Principal } from '../../../../src/krb5/ccache/model.ts';
import { asKlistTicket, parseKlist } from './klist.ts';

const dir = join(import.meta.dirname, 'fixtures');
const fixture = (name: string): Buffer => readFileSync(join(dir, `${name}.ccache`));
const klistOf = (name: string) => parseKlist(readFileSync(join(dir, `${name}.klist.txt`), 'utf8'));

const ALICE = { nameType: 1, components: ['alice'], realm: 'FIXTURE.TEST' };

/** Our decoding, in klist's words, must equal what MIT klist printed for the same file. */
function expectMatchesKlist(name: string): void {
  const parsed = parseFileCcache(fixture(name));
  const klist = klistOf(name);
  const { credentials, config } = classifyRecords(parsed.records.map((r) => r.credential));
  expect(unparsePrincipal(parsed.principal)).toBe(klist.principal);
  expect(credentials.map((c) => asKlistTicket(c, true))).toEqual(
    klist.tickets.map((t) => ({
      start: t.start,
      expires: t.expires,
      server: t.server,
      renewUntil: t.renewUntil,
      flags: t.flags,
      skey: t.etypes![0],
    })),
  );
  expect(config.map((c) => ({ key: c.key, principal: c.principal, value: c.value.toString('latin1') }))).toEqual(klist.config);
}

describe('FILE v4 written by MIT kinit (fixtures/file-v4-tgt.ccache)', () => {
  const bytes = fixture('file-v4-tgt');
  const parsed = parseFileCcache(bytes);

  it('has the v4 header with a KDC time offset tag and the default principal', () => {
    expect(parsed.version).toBe(4);
    expect(parsed.tags).toEqual([{ tag: 1, value: Buffer.alloc(8) }]);
    expect(parsed.kdcTimeOffset).toEqual({ seconds: 0, microseconds: 0 });
    expect(parsed.principal).toEqual(ALICE);
    expect(parsed.truncatedAt).toBeNull();
  });

  it('decodes the same tickets, times, flags, enctypes and config entries klist -e -C -f prints', () => {
    expectMatchesKlist('file-v4-tgt');
  });

  it('keeps the TGT fields libkrb5 wrote: name types, key length, DER ticket, no addresses', () => {
    const tgt = parsed.records.map((r) => r.credential).find((c) => c.server.components[0] === 'krbtgt')!;
    expect(tgt.client).toEqual(ALICE);
    expect(tgt.server).toEqual({ nameType: 2, components: ['krbtgt', 'FIXTURE.TEST'], realm: 'FIXTURE.TEST' });
    expect(tgt.key.enctype).toBe(18);
    expect(tgt.key.value).toHaveLength(32);
    expect(tgt.isSkey).toBe(false);
    // RIA + ENC_PA_REP (klist does not print the last one)
    expect(tgt.flags).toBe(0x00e10000);
    expect(tgt.addresses).toEqual([]);
    expect(tgt.authData).toEqual([]);
    expect(tgt.secondTicket).toHaveLength(0);
    expect(tgt.ticket[0]).toBe(0x61); // [APPLICATION 1] Ticket
    expect(tgt.ticket.readUInt16BE(2) + 4).toBe(tgt.ticket.length); // 61 82 LL LL
    expect(tgt.startTime).toBe(tgt.authTime);
  });

  it('config entries are zero apart from the value, and their server is krb5_ccache_conf_data/<key>/<tgs>@X-CACHECONF:', () => {
    const conf = parsed.records.map((r) => r.credential).filter((c) => c.server.realm === 'X-CACHECONF:');
    expect(conf.map((c) => unparsePrincipal(c.server))).toEqual([
      'krb5_ccache_conf_data/fast_avail/krbtgt\\/FIXTURE.TEST\\@FIXTURE.TEST@X-CACHECONF:',
      'krb5_ccache_conf_data/pa_type/krbtgt\\/FIXTURE.TEST\\@FIXTURE.TEST@X-CACHECONF:',
    ]);
    for (const c of conf) {
      expect([c.authTime, c.startTime, c.endTime, c.renewTill, c.flags, c.key.enctype, c.key.value.length]).toEqual([0, 0, 0, 0, 0, 0, 0]);
    }
  });

  it('re-encodes to exactly the bytes kinit wrote', () => {
    expect(
      encodeFileCcache({
        version: 4,
        principal: parsed.principal,
        credentials: parsed.records.map((r) => r.credential),
        kdcTimeOffset: parsed.kdcTimeOffset,
      }),
    ).toEqual(bytes);
  });
});

describe('FILE v4 after kvno (fixtures/file-v4-service.ccache)', () => {
  it('the service ticket libkrb5 appended decodes like klist shows it', () => {
    expectMatchesKlist('file-v4-service');
    const parsed = parseFileCcache(fixture('file-v4-service'));
    const cifs = parsed.records.at(-1)!.credential;
    expect(cifs.server).toEqual({ nameType: 1, components: ['cifs', 'fs1.fixture.test'], realm: 'FIXTURE.TEST' });
    expect(cifs.flags & 0x00400000).toBe(0); // not INITIAL
  });

  it('each record re-encodes to its own bytes (encodeCredential = what fcc_store appends)', () => {
    const bytes = fixture('file-v4-service');
    const parsed = parseFileCcache(bytes);
    const offsets = [...parsed.records.map((r) => r.offset), bytes.length];
    parsed.records.forEach((r, i) => {
      expect(encodeCredential(r.credential, 4)).toEqual(bytes.subarray(offsets[i], offsets[i + 1]));
    });
  });
});

describe('removed entries (fixtures/file-v4-removed.ccache, libkrb5 krb5_cc_remove_cred + set_config(NULL))', () => {
  const parsed = parseFileCcache(fixture('file-v4-removed'));

  it('libkrb5 marked them with endtime 0 and authtime -1; config removals also get realm X-RMED-CONF:', () => {
    const removed = parsed.records.map((r) => r.credential).filter((c) => c.endTime === 0 && c.authTime !== 0);
    expect(removed.map((c) => [unparsePrincipal(c.server), c.authTime])).toEqual([
      ['krb5_ccache_conf_data/pa_type/krbtgt\\/FIXTURE.TEST\\@FIXTURE.TEST@X-RMED-CONF:', 0xffffffff],
      ['cifs/fs1.fixture.test@FIXTURE.TEST', 0xffffffff],
    ]);
  });

  it('are skipped, like klist skips them', () => {
    expectMatchesKlist('file-v4-removed');
    expect(classifyRecords(parsed.records.map((r) => r.credential)).removed).toBe(2);
  });
});

describe('FILE v3, v2 and v1 (kinit with ccache_type = 3/2/1)', () => {
  const v4 = parseFileCcache(fixture('file-v4-tgt'));
  for (const v of [3, 2, 1] as const) {
    it(`v${v} decodes like klist prints it and round-trips byte for byte`, () => {
      const bytes = fixture(`file-v${v}-tgt`);
      const parsed = parseFileCcache(bytes);
      expect(parsed.version).toBe(v);
      expect(parsed.kdcTimeOffset).toBeNull();
      expectMatchesKlist(`file-v${v}-tgt`);
      // v1 does not store name types: they read as 0 (NT-UNKNOWN)
      expect(parsed.principal.nameType).toBe(v === 1 ? 0 : 1);
      expect(parsed.records).toHaveLength(v4.records.length);
      expect(encodeFileCcache({ version: v, principal: parsed.principal, credentials: parsed.records.map((r) => r.credential) })).toEqual(
        bytes,
      );
    });
  }

  it('v1/v2 are in host byte order (little-endian here), v3 big-endian with the enctype twice', () => {
    expect(fixture('file-v2-tgt').readUInt32LE(2)).toBe(1); // name type of the default principal
    expect(fixture('file-v1-tgt').readUInt32LE(2)).toBe(2); // v1: component count includes the realm
    const v3 = fixture('file-v3-tgt');
    expect(v3.readUInt32BE(2)).toBe(1);
    const tgt = parseFileCcache(v3).records.find((r) => r.credential.key.enctype === 18)!;
    const w = encodeCredential(tgt.credential, 3);
    const clientServerLen = encodePrincipal(tgt.credential.client, 3).length + encodePrincipal(tgt.credential.server, 3).length;
    expect(w.readUInt16BE(clientServerLen)).toBe(18);
    expect(w.readUInt16BE(clientServerLen + 2)).toBe(18);
  });
});

describe('annotated kinit example (key and ticket bytes are elided there: placeholders here)', () => {
  const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
  const str = (s: string): Buffer => Buffer.concat([hex(s.length.toString(16).padStart(8, '0')), Buffer.from(s)]);
  const ticket = Buffer.concat([hex('6182018e'), Buffer.alloc(398, 0x30)]);
  const example = Buffer.concat([
    hex('0504'),
    hex('000c 0001 0008 00000000 00000000'),
    hex('00000001 00000001'),
    str('SPEC.TEST'),
    str('user'),
    hex('00000001 00000001'),
    str('SPEC.TEST'),
    str('user'),
    hex('00000000 00000003'),
    str('X-CACHECONF:'),
    str('krb5_ccache_conf_data'),
    str('fast_avail'),
    str('krbtgt/SPEC.TEST@SPEC.TEST'),
    hex('0000 00000000'),
    hex('00000000 00000000 00000000 00000000 00 00000000'),
    hex('00000000 00000000'),
    str('yes'),
    hex('00000000'),
    hex('00000001 00000001'),
    str('SPEC.TEST'),
    str('user'),
    hex('00000002 00000002'),
    str('SPEC.TEST'),
    str('krbtgt'),
    str('SPEC.TEST'),
    hex('0012 00000020'),
    Buffer.alloc(32, 0xaa),
    hex('6b08b85c 6b08b85c 6b0944fc 00000000'),
    hex('00 00410000'),
    hex('00000000 00000000'),
    hex('00000192'),
    ticket,
    hex('00000000'),
  ]);

  it('parses into the principal, one config entry and the TGT the annotation describes', () => {
    const parsed = parseFileCcache(example);
    const { credentials, config } = classifyRecords(parsed.records.map((r) => r.credential));
    expect(parsed.principal).toEqual({ nameType: 1, components: ['user'], realm: 'SPEC.TEST' });
    expect(config).toEqual([{ key: 'fast_avail', principal: 'krbtgt/SPEC.TEST@SPEC.TEST', value: Buffer.from('yes') }]);
    expect(credentials).toHaveLength(1);
    const tgt = credentials[0]!;
    expect(tgt.server).toEqual({ nameType: 2, components: ['krbtgt', 'SPEC.TEST'], realm: 'SPEC.TEST' });
    expect([tgt.authTime, tgt.startTime, tgt.endTime, tgt.renewTill]).toEqual([0x6b08b85c, 0x6b08b85c, 0x6b0944fc, 0]);
    expect(tgt.flags).toBe(0x00410000);
    expect(tgt.ticket).toEqual(ticket);
  });
});

describe('truncation and corruption', () => {
  const bytes = fixture('file-v4-service');
  const parsed = parseFileCcache(bytes);
  const principalEnd = parsed.records[0]!.offset;

  it('a cache cut anywhere after the default principal ends at the last complete record', () => {
    for (let cut = principalEnd; cut < bytes.length; cut++) {
      const p = parseFileCcache(bytes.subarray(0, cut));
      const complete = parsed.records.filter((r, i) => (parsed.records[i + 1]?.offset ?? bytes.length) <= cut);
      expect(p.records.map((r) => r.offset)).toEqual(complete.map((r) => r.offset));
      const next = parsed.records[complete.length];
      expect(p.truncatedAt).toBe(next && cut > next.offset ? next.offset : null);
    }
  });

  it('a cache cut inside the header or default principal is a format error', () => {
    for (let cut = 0; cut < principalEnd; cut++) {
      expect(() => parseFileCcache(bytes.subarray(0, cut))).toThrow(CcacheFormatError);
    }
  });

  it('a data length beyond the file size is corruption, with its offset', () => {
    const bad = Buffer.from(bytes);
    const ticketLenAt =
      parsed.records[2]!.offset + encodeCredential(parsed.records[2]!.credential).length - 8 - parsed.records[2]!.credential.ticket.length;
    bad.writeUInt32BE(0x7fffffff, ticketLenAt);
    expect(() => parseFileCcache(bad)).toThrow(
      new RegExp(`ticket length 2147483647 exceeds the ${bad.length}-byte cache \\(at offset ${ticketLenAt}\\)`),
    );
  });

  it('a component count that cannot fit is corruption', () => {
    const bad = Buffer.from(bytes);
    bad.writeUInt32BE(0x40000000, 2 + 14 + 4); // default principal's component count
    expect(() => parseFileCcache(bad)).toThrow(/principal component count 1073741824 cannot fit/);
  });

  it('bad versions and header tags are format errors', () => {
    expect(() => parseFileCcache(Buffer.from([0x05, 0x05, 0, 0]))).toThrow(/bad ccache version 0x0505/);
    expect(() => parseFileCcache(Buffer.from([0x04, 0x04]))).toThrow(/bad ccache version/);
    expect(() => parseFileCcache(Buffer.alloc(0))).toThrow(/empty file/);
    const tagLen = Buffer.from(bytes);
    tagLen.writeUInt16BE(9, 6); // tag 1 claims 9 bytes of a 12-byte header that has 8 after the tag
    expect(() => parseFileCcache(tagLen)).toThrow(/header tag 1 length 9 overruns the 12-byte header \(at offset 4\)/);
    const tagSize = Buffer.concat([Buffer.from('0504000800010004 00000000'.replace(/ /g, ''), 'hex'), bytes.subarray(16)]);
    expect(() => parseFileCcache(tagSize)).toThrow(/KDC time offset tag with length 4 \(expected 8\)/);
    const headerLen = Buffer.from(bytes);
    headerLen.writeUInt16BE(3, 2);
    expect(() => parseFileCcache(headerLen)).toThrow(/3 header bytes left, too few for a tag/);
  });

  it('reads a KDC time offset and skips unknown header tags', () => {
    const rest = bytes.subarray(2 + 2 + 12);
    const header = Buffer.from('0504 0018 0007 0008 0102030405060708 0001 0008 fffffff6 000186a0'.replace(/ /g, ''), 'hex');
    const p = parseFileCcache(Buffer.concat([header, rest]));
    expect(p.kdcTimeOffset).toEqual({ seconds: -10, microseconds: 100000 });
    expect(p.tags.map((t) => t.tag)).toEqual([7, 1]);
    expect(p.records).toHaveLength(parsed.records.length);
  });
});

// ---- properties ----------------------------------------------------------------------------

const text = fc.string({ unit: 'grapheme', maxLength: 12 });
const principalArb: fc.Arbitrary<Principal> = fc.record({
  nameType: fc.integer({ min: -0x80000000, max: 0x7fffffff }),
  components: fc.array(text, { maxLength: 4 }),
  realm: text,
});
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const bytesArb = (max: number) => fc.uint8Array({ maxLength: max }).map((a) => Buffer.from(a));
const credentialArb: fc.Arbitrary<Credential> = fc.record({
  client: principalArb,
  server: principalArb,
  key: fc.record({ enctype: fc.integer({ min: -0x8000, max: 0x7fff }), value: bytesArb(40) }),
  authTime: u32,
  startTime: u32,
  endTime: u32,
  renewTill: u32,
  isSkey: fc.boolean(),
  flags: u32,
  addresses: fc.array(fc.record({ type: fc.integer({ min: 0, max: 0xffff }), data: bytesArb(16) }), { maxLength: 3 }),
  authData: fc.array(fc.record({ type: fc.integer({ min: -0x8000, max: 0x7fff }), data: bytesArb(16) }), { maxLength: 3 }),
  ticket: bytesArb(64),
  secondTicket: bytesArb(16),
});

describe('properties (fast-check)', () => {
  it('encode → decode is the identity for credentials and principals, in every version', () => {
    fc.assert(
      fc.property(credentialArb, fc.constantFrom<CcacheVersion>(1, 2, 3, 4), (c, v) => {
        const expected = v === 1 ? { ...c, client: { ...c.client, nameType: 0 }, server: { ...c.server, nameType: 0 } } : c;
        expect(decodeCredential(encodeCredential(c, v), v)).toEqual(expected);
        expect(decodePrincipal(encodePrincipal(c.client, v), v)).toEqual(expected.client);
      }),
    );
  });

  it('whole files round-trip: parse(encode(cache)) gives back every record', () => {
    fc.assert(
      fc.property(principalArb, fc.array(credentialArb, { maxLength: 4 }), (p, creds) => {
        const parsed = parseFileCcache(
          encodeFileCcache({ version: 4, principal: p, credentials: creds, kdcTimeOffset: { seconds: 5, microseconds: 6 } }),
        );
        expect(parsed.principal).toEqual(p);
        expect(parsed.records.map((r) => r.credential)).toEqual(creds);
        expect(parsed.kdcTimeOffset).toEqual({ seconds: 5, microseconds: 6 });
        expect(parsed.truncatedAt).toBeNull();
      }),
    );
  });

  it('random bytes never fail with anything but CcacheFormatError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.constantFrom(0x0501, 0x0502, 0x0503, 0x0504), (a, v) => {
        const buf = Buffer.concat([Buffer.from([v >> 8, v & 0xff]), Buffer.from(a)]);
        try {
          parseFileCcache(buf);
        } catch (e) {
          expect(e).toBeInstanceOf(CcacheFormatError);
        }
        try {
          decodeCredential(Buffer.from(a));
        } catch (e) {
          expect(e).toBeInstanceOf(CcacheFormatError);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('a real cache with random bytes overwritten never fails with anything but CcacheFormatError', () => {
    const real = fixture('file-v4-service');
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(real.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
        (edits) => {
          const buf = Buffer.from(real);
          for (const [at, v] of edits) buf[at] = v;
          try {
            parseFileCcache(buf);
          } catch (e) {
            expect(e).toBeInstanceOf(CcacheFormatError);
          }
        },
      ),
      { numRuns: 2000 },
    );
  });
});
