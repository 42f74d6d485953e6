// Picking credentials like krb5_get_credentials (docs/kerberos.md#picking-credentials; MIT cc_retr.c matching with
// KRB5_TC_MATCH_TIMES, KRB5_TC_SUPPORTED_KTYPES), on the kvno-made fixture plus variations of its
// records, and the MEMORY cache the keytab fallback uses.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseFileCcache } from '../../../../src/krb5/ccache/marshal.ts';
import { MemoryCredentialCache } from '../../../../src/krb5/ccache/memory.ts';
import {
  classifyRecords,
  configCredential,
  parsePrincipal,
  unparsePrincipal,
  type CcacheContents,
  type Credential,
} from '../../../../src/krb5/ccache/model.ts';
import { findForeignTgt, findServiceTicket, findTgt, kdcNow, startRealm, upcallCacheVerdict } from '../../../../src/krb5/ccache/select.ts';

const parsed = parseFileCcache(readFileSync(join(import.meta.dirname, 'fixtures', 'file-v4-service.ccache')));
const base: CcacheContents = {
  principal: parsed.principal,
  kdcTimeOffset: parsed.kdcTimeOffset,
  ...classifyRecords(parsed.records.map((r) => r.credential)),
};
const tgt = base.credentials[0]!;
const cifs = base.credentials[1]!;
const during = tgt.authTime + 60;
const with_ = (extra: Partial<CcacheContents>): CcacheContents => ({ ...base, ...extra });
const variant = (c: Credential, change: Partial<Credential>): Credential => ({ ...c, ...change });

describe('findTgt', () => {
  it('finds the local TGT krbtgt/R@R of the default principal', () => {
    expect(findTgt(base, 'FIXTURE.TEST', during)).toEqual({ status: 'valid', credential: tgt });
  });

  it('reports an expired TGT instead of skipping it (MIT fails without a KDC round trip)', () => {
    expect(findTgt(base, 'FIXTURE.TEST', tgt.endTime + 1)).toEqual({ status: 'expired', credential: tgt });
    expect(findTgt(base, 'FIXTURE.TEST', tgt.endTime).status).toBe('valid');
  });

  it('is missing for another realm or another client', () => {
    expect(findTgt(base, 'OTHER.TEST', during).status).toBe('missing');
    const foreignClient = variant(tgt, { client: parsePrincipal('bob@FIXTURE.TEST') });
    expect(findTgt(with_({ credentials: [foreignClient] }), 'FIXTURE.TEST', during).status).toBe('missing');
  });

  it('with permitted enctypes, picks the most preferred and rejects the rest', () => {
    const aes128 = variant(tgt, { key: { enctype: 17, value: Buffer.alloc(16) } });
    const both = with_({ credentials: [tgt, aes128] });
    expect(findTgt(both, 'FIXTURE.TEST', during, { permittedEnctypes: [17, 18] }).credential).toBe(aes128);
    expect(findTgt(both, 'FIXTURE.TEST', during, { permittedEnctypes: [18, 17] }).credential).toBe(tgt);
    expect(findTgt(base, 'FIXTURE.TEST', during, { permittedEnctypes: [23] }).status).toBe('enctype-not-permitted');
  });

  it('ignores the name type of the server (requests use NT-UNKNOWN, replies NT-SRV-INST)', () => {
    const nt0 = variant(tgt, { server: { ...tgt.server, nameType: 0 } });
    expect(findTgt(with_({ credentials: [nt0] }), 'FIXTURE.TEST', during).credential).toBe(nt0);
  });
});

describe('startRealm', () => {
  it('is the principal realm unless a start_realm config entry says otherwise', () => {
    expect(startRealm(base)).toBe('FIXTURE.TEST');
    const conf = classifyRecords([configCredential(base.principal, 'start_realm', Buffer.from('OTHER.TEST'))]).config;
    expect(startRealm(with_({ config: [...base.config, ...conf] }))).toBe('OTHER.TEST');
  });
});

describe('findServiceTicket', () => {
  const server = parsePrincipal('cifs/fs1.fixture.test@FIXTURE.TEST', 0);

  it('finds the cached ticket for exactly that server, name type ignored', () => {
    expect(findServiceTicket(base, server, during)).toBe(cifs);
  });

  it('accepts endtime = now, rejects endtime < now (KRB5_TC_MATCH_TIMES with endtime = now)', () => {
    expect(findServiceTicket(base, server, cifs.endTime)).toBe(cifs);
    expect(findServiceTicket(base, server, cifs.endTime + 1)).toBeNull();
  });

  it('compares the realm too, including the empty referral realm', () => {
    expect(findServiceTicket(base, parsePrincipal('cifs/fs1.fixture.test@OTHER.TEST'), during)).toBeNull();
    const referral = variant(cifs, { server: { nameType: 0, components: ['cifs', 'fs1.fixture.test'], realm: '' } });
    const contents = with_({ credentials: [tgt, referral] });
    expect(unparsePrincipal(referral.server)).toBe('cifs/fs1.fixture.test@');
    expect(findServiceTicket(contents, parsePrincipal('cifs/fs1.fixture.test@'), during)).toBe(referral);
    expect(findServiceTicket(contents, server, during)).toBeNull();
  });

  it('components are case-sensitive and must all match', () => {
    expect(findServiceTicket(base, parsePrincipal('cifs/FS1.fixture.test@FIXTURE.TEST'), during)).toBeNull();
    expect(findServiceTicket(base, parsePrincipal('cifs@FIXTURE.TEST'), during)).toBeNull();
  });

  it('skips user-to-user tickets, other clients and non-permitted enctypes', () => {
    expect(findServiceTicket(with_({ credentials: [variant(cifs, { isSkey: true })] }), server, during)).toBeNull();
    expect(
      findServiceTicket(with_({ credentials: [variant(cifs, { client: parsePrincipal('bob@FIXTURE.TEST') })] }), server, during),
    ).toBeNull();
    expect(findServiceTicket(base, server, during, { permittedEnctypes: [17, 23] })).toBeNull();
  });

  it('a later, better-preferred ticket beats an earlier one; ties keep cache order', () => {
    const rc4 = variant(cifs, { key: { enctype: 23, value: Buffer.alloc(16) } });
    const contents = with_({ credentials: [cifs, rc4] });
    expect(findServiceTicket(contents, server, during, { permittedEnctypes: [23, 18] })).toBe(rc4);
    expect(findServiceTicket(contents, server, during)).toBe(cifs);
  });

  it('config entries are never offered as tickets', () => {
    expect(
      findServiceTicket(base, parsePrincipal('krb5_ccache_conf_data/fast_avail/krbtgt\\/FIXTURE.TEST\\@FIXTURE.TEST@X-CACHECONF:'), during),
    ).toBeNull();
  });
});

describe('findForeignTgt', () => {
  it('matches krbtgt/X@<any realm> by name, unexpired', () => {
    const cross = variant(tgt, { server: parsePrincipal('krbtgt/OTHER.TEST@FIXTURE.TEST') });
    const contents = with_({ credentials: [tgt, cross] });
    expect(findForeignTgt(contents, 'OTHER.TEST', during)).toBe(cross);
    expect(findForeignTgt(contents, 'OTHER.TEST', cross.endTime + 1)).toBeNull();
  });
});

describe('upcallCacheVerdict (cifs.upcall get_existing_cc)', () => {
  const service = parsePrincipal('cifs/fs1.fixture.test@FIXTURE.TEST', 0);

  it('7.2+: an unexpired cifs/<host> ticket is enough, even without a TGT', () => {
    expect(upcallCacheVerdict(with_({ credentials: [cifs] }), cifs.endTime, service)).toMatchObject({
      accepted: true,
      reason: 'service-ticket',
      credential: cifs,
    });
    expect(upcallCacheVerdict(with_({ credentials: [cifs] }), cifs.endTime + 1, service)).toMatchObject({
      accepted: false,
      reason: 'no-tgt',
    });
  });

  it('otherwise a TGT whose name starts with krbtgt/<realm> (any case), endtime strictly in the future', () => {
    expect(upcallCacheVerdict(base, during)).toMatchObject({ accepted: true, reason: 'tgt', credential: tgt });
    expect(upcallCacheVerdict(base, tgt.endTime)).toMatchObject({ accepted: false, reason: 'tgt-expired', credential: tgt });
    const odd = variant(tgt, { server: parsePrincipal('KRBTGT/fixture.test.example@ELSEWHERE') });
    expect(upcallCacheVerdict(with_({ credentials: [odd] }), during)).toMatchObject({ accepted: true, reason: 'tgt' });
    const other = variant(tgt, { server: parsePrincipal('krbtgt/OTHER.TEST@OTHER.TEST') });
    expect(upcallCacheVerdict(with_({ credentials: [other] }), during)).toMatchObject({ accepted: false, reason: 'no-tgt' });
  });
});

describe('kdcNow', () => {
  it('adds the KDC offset (seconds and microseconds) to local time', () => {
    expect(kdcNow(null, 1_000_000_500)).toBe(1_000_000);
    expect(kdcNow({ seconds: 30, microseconds: 600_000 }, 1_000_000_500)).toBe(1_000_031);
    expect(kdcNow({ seconds: -30, microseconds: -600_000 }, 1_000_000_500)).toBe(999_969);
  });
});

describe('MEMORY cache (keytab fallback)', () => {
  it('holds what is stored, in order, separately per name, until destroyed', async () => {
    const cache = MemoryCredentialCache.create(base.principal, { kdcTimeOffset: { seconds: 3, microseconds: 0 } });
    expect(cache.name).toMatch(/^MEMORY:/);
    await cache.store(tgt);
    await cache.store(configCredential(base.principal, 'refresh_time', Buffer.from('1234')));
    await cache.store(cifs);
    const contents = await cache.read();
    expect(contents.credentials).toEqual([tgt, cifs]);
    expect(contents.config).toEqual([{ key: 'refresh_time', principal: null, value: Buffer.from('1234') }]);
    expect(contents.kdcTimeOffset).toEqual({ seconds: 3, microseconds: 0 });
    expect(MemoryCredentialCache.resolve(cache.residual)).toBe(cache);
    const other = MemoryCredentialCache.create(base.principal);
    expect(await other.credentials()).toEqual([]);
    const keyCopy = { ...tgt, key: { enctype: 18, value: Buffer.from(tgt.key.value) } };
    await other.store(keyCopy);
    other.destroy();
    expect(keyCopy.key.value.every((b) => b === 0)).toBe(true);
    await expect(other.read()).rejects.toMatchObject({ kind: 'not-found' });
  });
});

describe('principal names', () => {
  it('unparse/parse follow MIT quoting', () => {
    const p = { nameType: 1, components: ['a/b', 'c@d', 'e\\f', 'g\nh'], realm: 'R@S' };
    expect(unparsePrincipal(p)).toBe('a\\/b/c\\@d/e\\\\f/g\\nh@R\\@S');
    expect(parsePrincipal(unparsePrincipal(p))).toEqual(p);
    expect(parsePrincipal('host/x', 3, 'DEF.REALM')).toEqual({ nameType: 3, components: ['host', 'x'], realm: 'DEF.REALM' });
  });
});
