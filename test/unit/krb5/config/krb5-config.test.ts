// Typed krb5.conf relations (docs/kerberos.md#krb5conf). "MIT 1.20.1" expectations were
// captured with libkrb5 on Debian 12 (krb5_init_context, krb5_get_host_realm,
// krb5_get_fallback_host_realm, krb5_get_permitted_enctypes/krb5_get_tgs_ktypes, and kinit
// KRB5_TRACE for udp_preference_limit) on the same configuration text.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Krb5Config, Krb5ConfigError, loadKrb5Config, parseKdcSpec } from '../../../../src/krb5/config/krb5-config.ts';
import { MemoryTrace } from '../../../../src/trace.ts';

const conf = (text: string): Krb5Config => Krb5Config.fromText(text, 'test.conf');
const lib = (lines: string): Krb5Config => conf(`[libdefaults]\n${lines}\n`);

describe('defaults of an empty configuration (MIT 1.20.1, Debian build)', () => {
  const c = conf('');
  it.each([
    ['defaultRealm', c.defaultRealm(), undefined],
    ['defaultCcacheName', c.defaultCcacheName(), 'FILE:/tmp/krb5cc_%{uid}'],
    ['defaultKeytabName', c.defaultKeytabName(), 'FILE:/etc/krb5.keytab'],
    ['defaultClientKeytabName', c.defaultClientKeytabName(), 'FILE:/etc/krb5/user/%{euid}/client.keytab'],
    ['dnsLookupKdc', c.dnsLookupKdc(), true],
    ['dnsLookupRealm', c.dnsLookupRealm(), false],
    ['dnsUriLookup', c.dnsUriLookup(), true],
    ['dnsCanonicalizeHostname', c.dnsCanonicalizeHostname(), true],
    ['rdns', c.rdns(), true],
    ['udpPreferenceLimit', c.udpPreferenceLimit(), 1465],
    ['kdcTimeoutMs', c.kdcTimeoutMs(), undefined],
    ['requestTimeoutMs', c.requestTimeoutMs(), undefined],
    ['clockskewSeconds', c.clockskewSeconds(), 300],
    ['kdcTimesync', c.kdcTimesync(), 1],
    ['allowWeakCrypto', c.allowWeakCrypto(), false],
    ['forwardable', c.forwardable(), false],
    ['canonicalize', c.canonicalize(), false],
    ['kcmSocket', c.kcmSocket(), '/var/run/.heim_org.h5l.kcm-socket'],
  ])('%s', (_name, actual, expected) => {
    expect(actual).toEqual(expected);
  });

  it('enctypes: the implemented ones of MIT default order 18 17 20 19 16 23 25 26', () => {
    expect(c.permittedEnctypes()).toEqual([18, 17, 20, 19, 23]);
    expect(c.defaultTgsEnctypes()).toEqual([18, 17, 20, 19, 23]);
  });
});

describe('libdefaults relations', () => {
  it('reads the configured names unexpanded', () => {
    const c = lib(
      'default_realm = EXAMPLE.TEST\ndefault_ccache_name = KEYRING:persistent:%{uid}\ndefault_keytab_name = FILE:/k\ndefault_client_keytab_name = FILE:/c/%{euid}\nkcm_socket = /run/kcm',
    );
    expect(c.defaultRealm()).toBe('EXAMPLE.TEST');
    expect(c.defaultCcacheName()).toBe('KEYRING:persistent:%{uid}');
    expect(c.defaultKeytabName()).toBe('FILE:/k');
    expect(c.defaultClientKeytabName()).toBe('FILE:/c/%{euid}');
    expect(c.kcmSocket()).toBe('/run/kcm');
  });

  it('an empty default_realm counts as none', () => {
    expect(lib('default_realm = ""').defaultRealm()).toBeUndefined();
  });

  it('dns_lookup_kdc / dns_lookup_realm fall back to dns_fallback; bad words mean false', () => {
    expect(lib('dns_fallback = no').dnsLookupKdc()).toBe(false);
    expect(lib('dns_fallback = yes').dnsLookupRealm()).toBe(true);
    expect(lib('dns_fallback = yes\ndns_lookup_realm = false').dnsLookupRealm()).toBe(false);
    expect(lib('dns_lookup_kdc = maybe').dnsLookupKdc()).toBe(false);
  });

  it('dns_canonicalize_hostname: boolean or fallback (any case); anything else is fatal (MIT: EINVAL)', () => {
    expect(lib('dns_canonicalize_hostname = false').dnsCanonicalizeHostname()).toBe(false);
    expect(lib('dns_canonicalize_hostname = 1').dnsCanonicalizeHostname()).toBe(true);
    expect(lib('dns_canonicalize_hostname = FALLBACK').dnsCanonicalizeHostname()).toBe('fallback');
    expect(() => lib('dns_canonicalize_hostname = maybe').dnsCanonicalizeHostname()).toThrow(
      new Krb5ConfigError('dns_canonicalize_hostname', '"maybe" is not true, false or fallback', { file: 'test.conf', line: 2 }),
    );
  });

  it('rdns and dns_uri_lookup: a bad word means the default (true); allow_weak_crypto: fatal', () => {
    const trace = new MemoryTrace();
    expect(Krb5Config.fromText('[libdefaults]\nrdns = maybe\n', 'x', trace).rdns()).toBe(true);
    expect(trace.messages('krb5conf')).toEqual(['rdns = "maybe" is not a boolean; using true']);
    expect(lib('rdns = false').rdns()).toBe(false);
    expect(lib('dns_uri_lookup = off').dnsUriLookup()).toBe(false);
    expect(() => lib('allow_weak_crypto = maybe').allowWeakCrypto()).toThrow(/test\.conf:2: allow_weak_crypto: "maybe" is not a boolean/);
  });

  it('udp_preference_limit: ≤ 32700, negative → 1465, non-integer fatal (MIT: "Invalid integer value")', () => {
    expect(lib('udp_preference_limit = 1').udpPreferenceLimit()).toBe(1);
    expect(lib('udp_preference_limit = 0').udpPreferenceLimit()).toBe(0);
    expect(lib('udp_preference_limit = 99999').udpPreferenceLimit()).toBe(32700);
    expect(lib('udp_preference_limit = -5').udpPreferenceLimit()).toBe(1465);
    expect(() => lib('udp_preference_limit = x').udpPreferenceLimit()).toThrow(/test\.conf:2: udp_preference_limit: "x" is not an integer/);
    expect(() => lib('udp_preference_limit = 0x10').udpPreferenceLimit()).toThrow(Krb5ConfigError);
  });

  it('kdc_timeout and request_timeout are durations in milliseconds; bad ones are errors', () => {
    expect(lib('kdc_timeout = 3').kdcTimeoutMs()).toBe(3000);
    expect(lib('kdc_timeout = 1m30s').kdcTimeoutMs()).toBe(90_000);
    expect(lib('request_timeout = 0:01:00').requestTimeoutMs()).toBe(60_000);
    expect(() => lib('kdc_timeout = soon').kdcTimeoutMs()).toThrow(/kdc_timeout: "soon" is not a positive duration/);
    expect(() => lib('kdc_timeout = 0').kdcTimeoutMs()).toThrow(Krb5ConfigError);
  });

  it('clockskew: integer or duration, a bad value means 300; kdc_timesync: a bad value means 1', () => {
    expect(lib('clockskew = 120').clockskewSeconds()).toBe(120);
    expect(lib('clockskew = 5m').clockskewSeconds()).toBe(300);
    expect(lib('clockskew = 2m30s').clockskewSeconds()).toBe(150);
    expect(lib('clockskew = abc').clockskewSeconds()).toBe(300);
    expect(lib('kdc_timesync = 0').kdcTimesync()).toBe(0);
    expect(lib('kdc_timesync = yes').kdcTimesync()).toBe(1);
  });

  it('forwardable/canonicalize: the [libdefaults] <realm> subsection wins', () => {
    const c = lib('forwardable = false\ncanonicalize = yes\nEXAMPLE.TEST = {\n  forwardable = true\n}');
    expect(c.forwardable()).toBe(false);
    expect(c.forwardable('EXAMPLE.TEST')).toBe(true);
    expect(c.forwardable('OTHER.TEST')).toBe(false);
    expect(c.canonicalize('EXAMPLE.TEST')).toBe(true);
  });

  it('qualify_shortname: the configured value (may be empty), else the first search domain', () => {
    const dir = mkdtempSync(join(tmpdir(), 'qualify-'));
    try {
      const resolvConf = join(dir, 'resolv.conf');
      writeFileSync(resolvConf, 'nameserver 127.0.0.1\nsearch corp.example.test example.test\n');
      expect(conf('').qualifyShortname({ resolvConfPath: resolvConf })).toBe('corp.example.test');
      expect(lib('qualify_shortname = other.test').qualifyShortname({ resolvConfPath: resolvConf })).toBe('other.test');
      expect(lib('qualify_shortname = ""').qualifyShortname({ resolvConfPath: resolvConf })).toBe('');
      writeFileSync(resolvConf, 'nameserver 127.0.0.1\n');
      expect(conf('').qualifyShortname({ resolvConfPath: resolvConf, hostname: 'client.site.example.test' })).toBe('site.example.test');
      expect(conf('').qualifyShortname({ resolvConfPath: resolvConf, hostname: 'client' })).toBe('');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('enctype relations (MIT 1.20.1)', () => {
  it('permitted_enctypes; default_tgs_enctypes defaults to permitted_enctypes text', () => {
    const c = lib('permitted_enctypes = aes256-cts rc4-hmac camellia');
    expect(c.permittedEnctypes()).toEqual([18, 23]);
    expect(c.defaultTgsEnctypes()).toEqual([18, 23]);
  });

  it('default_tgs_enctypes is not limited by permitted_enctypes; DEFAULT there is the built-in list', () => {
    expect(lib('permitted_enctypes = rc4\ndefault_tgs_enctypes = aes').defaultTgsEnctypes()).toEqual([18, 17, 20, 19]);
    expect(lib('permitted_enctypes = rc4\ndefault_tgs_enctypes = DEFAULT -aes').defaultTgsEnctypes()).toEqual([23]);
  });

  it('only the first value counts', () => {
    expect(lib('permitted_enctypes = rc4\npermitted_enctypes = aes').permittedEnctypes()).toEqual([23]);
  });

  it('an empty list is an error with file:line; so is a list of enctypes we do not implement', () => {
    expect(() => lib('permitted_enctypes = bogus').permittedEnctypes()).toThrow(
      /test\.conf:2: permitted_enctypes: no supported encryption types/,
    );
    expect(() => lib('default_tgs_enctypes = ""').defaultTgsEnctypes()).toThrow(/default_tgs_enctypes: no supported/);
    expect(() => lib('permitted_enctypes = camellia des3').permittedEnctypes()).toThrow(
      /none of camellia256-cts-cmac, camellia128-cts-cmac, des3-cbc-sha1 is supported here/,
    );
  });

  it('traces ignored names', () => {
    const trace = new MemoryTrace();
    Krb5Config.fromText('[libdefaults]\npermitted_enctypes = aes des-cbc-crc\n', 'x', trace).permittedEnctypes();
    expect(trace.messages('krb5conf')).toContain('permitted_enctypes: ignoring unknown enctype name(s) des-cbc-crc');
  });
});

describe('[domain_realm] (docs/kerberos.md#domain_realm-mapping; MIT 1.20.1 krb5_get_host_realm)', () => {
  const c = conf(
    [
      '[libdefaults]',
      ' default_realm = DEF.REALM',
      '[domain_realm]',
      ' .example.test = DOT.EXAMPLE',
      ' example.test = BARE.EXAMPLE',
      ' exact.other.test = EXACT.OTHER',
      ' .sub.other.test = SUB.OTHER',
      ' test = TLD.TEST',
      ' 10.0.0.1 = IP.REALM',
      ' Upper.Test = UPPER',
      ' ::1 = V6',
    ].join('\n'),
  );
  it.each([
    ['fs1.example.test', 'DOT.EXAMPLE'],
    ['example.test', 'BARE.EXAMPLE'],
    ['EXAMPLE.TEST.', 'BARE.EXAMPLE'],
    ['exact.other.test', 'EXACT.OTHER'],
    ['a.exact.other.test', 'EXACT.OTHER'],
    ['x.sub.other.test', 'SUB.OTHER'],
    ['sub.other.test', 'TLD.TEST'],
    ['foo.test', 'TLD.TEST'],
    ['test', 'TLD.TEST'],
    ['fs1', ''],
    ['10.0.0.1', ''],
    ['upper.test', 'TLD.TEST'],
    ['Upper.Test', 'TLD.TEST'],
    ['fs1.example.test..', ''],
    ['::1', ''],
    ['a.b.unknown', ''],
  ])('%s → %j', (host, realm) => {
    expect(c.domainRealm(host)).toBe(realm);
  });

  it('fallback host realm without DNS (MIT 1.20.1 krb5_get_fallback_host_realm)', async () => {
    const cases: Array<[string, string]> = [
      ['fs1.example.test', 'EXAMPLE.TEST'],
      ['example.test', 'TEST'],
      ['EXAMPLE.TEST.', 'TEST'],
      ['a.exact.other.test', 'EXACT.OTHER.TEST'],
      ['test', 'DEF.REALM'],
      ['fs1', 'DEF.REALM'],
      ['10.0.0.1', 'DEF.REALM'],
      ['::1', 'DEF.REALM'],
      ['fs1.example.test..', 'EXAMPLE.TEST.'],
      ['a.b.unknown', 'B.UNKNOWN'],
    ];
    for (const [host, realm] of cases) expect(await c.fallbackHostRealm(host), host).toBe(realm);
    expect(await conf('').fallbackHostRealm('fs1')).toBeUndefined();
  });
});

describe('[realms] kdc entries', () => {
  it.each([
    ['kdc.example.test', { host: 'kdc.example.test', port: 88, transport: 'any' }],
    ['kdc.example.test:750', { host: 'kdc.example.test', port: 750, transport: 'any' }],
    ['127.0.0.1:61088', { host: '127.0.0.1', port: 61088, transport: 'any' }],
    ['[::1]:8888', { host: '::1', port: 8888, transport: 'any' }],
    ['[fe80::1]', { host: 'fe80::1', port: 88, transport: 'any' }],
    ['2001:db8::5', { host: '2001:db8::5', port: 88, transport: 'any' }],
    ['tcp/kdc.example.test', { host: 'kdc.example.test', port: 88, transport: 'tcp' }],
    ['UDP/kdc.example.test:99', { host: 'kdc.example.test', port: 99, transport: 'udp' }],
    ['tcp/[::1]:88', { host: '::1', port: 88, transport: 'tcp' }],
  ])('%s', (text, expected) => {
    expect(parseKdcSpec(text)).toEqual(expected);
  });

  it.each([
    ['https://kdcproxy.example.test/KdcProxy', /MS-KKDCP/],
    ['http/kdc.example.test', /Heimdal's http/],
    ['/run/krb5kdc/socket', /Unix-socket/],
  ])('skips %s', (text, reason) => {
    const parsed = parseKdcSpec(text);
    expect('skip' in parsed && parsed.skip).toMatch(reason);
  });

  // '::1' starts with ':' and is refused like ':88' (MIT k5_parse_host_string); write [::1]
  it.each(['', ':88', '::1', '88', 'kdc:0', 'kdc:70000', 'kdc:8x', '[::1', '[::1]x', 'tcp/'])('rejects %j', (text) => {
    expect(parseKdcSpec(text)).toHaveProperty('error');
  });

  it('realmKdcs keeps order and sources, separates skipped entries, and fails on a bad one with file:line', () => {
    const c = conf('[realms]\nR = {\n  kdc = https://proxy/\n  kdc = k1:88\n  kdc = tcp/k2\n}\nBAD = {\n  kdc = k1:nope\n}\n');
    const { entries, skipped } = c.realmKdcs('R');
    expect(entries.map((e) => [e.host, e.port, e.transport, e.source.line])).toEqual([
      ['k1', 88, 'any', 4],
      ['k2', 88, 'tcp', 5],
    ]);
    expect(skipped).toEqual([
      { text: 'https://proxy/', reason: expect.stringMatching(/MS-KKDCP/), source: { file: 'test.conf', line: 3 } },
    ]);
    expect(() => c.realmKdcs('BAD')).toThrow('test.conf:8: [realms] BAD kdc: "k1:nope": bad port "nope"');
    expect(c.realmKdcs('NONE')).toEqual({ entries: [], skipped: [] });
    expect(c.realms()).toEqual(['R', 'BAD']);
  });
});

describe('[capaths] and the realm path (MIT krb5.conf docs examples)', () => {
  const c = conf(
    [
      '[capaths]',
      'ANL.GOV = {',
      '  TEST.ANL.GOV = .',
      '  PNL.GOV = ES.NET',
      '  NERSC.GOV = ES.NET',
      '  DSI.ANL.GOV = .',
      '}',
      'A.TEST = {',
      '  Z.TEST = B.TEST',
      '  Z.TEST = C.TEST',
      '}',
    ].join('\n'),
  );
  it('capaths values in order', () => {
    expect(c.capaths('A.TEST', 'Z.TEST')).toEqual(['B.TEST', 'C.TEST']);
    expect(c.capaths('ANL.GOV', 'TEST.ANL.GOV')).toEqual(['.']);
    expect(c.capaths('X', 'Y')).toBeUndefined();
  });
  it.each([
    ['A.TEST', 'Z.TEST', ['A.TEST', 'B.TEST', 'C.TEST', 'Z.TEST']],
    ['ANL.GOV', 'TEST.ANL.GOV', ['ANL.GOV', 'TEST.ANL.GOV']],
    ['ANL.GOV', 'PNL.GOV', ['ANL.GOV', 'ES.NET', 'PNL.GOV']],
    ['PNL.GOV', 'ANL.GOV', ['PNL.GOV', 'GOV', 'ANL.GOV']],
    ['NERSC.GOV', 'ES.NET', ['NERSC.GOV', 'GOV', 'NET', 'ES.NET']],
    ['A.EXAMPLE.COM', 'B.EXAMPLE.COM', ['A.EXAMPLE.COM', 'EXAMPLE.COM', 'B.EXAMPLE.COM']],
    ['EXAMPLE.COM', 'SUB.EXAMPLE.COM', ['EXAMPLE.COM', 'SUB.EXAMPLE.COM']],
    ['SUB.EXAMPLE.COM', 'EXAMPLE.COM', ['SUB.EXAMPLE.COM', 'EXAMPLE.COM']],
    ['X.TEST', 'X.TEST', ['X.TEST']],
  ] as const)('%s → %s', (client, server, path) => {
    expect(c.realmPath(client, server)).toEqual(path);
  });
});

describe('loadKrb5Config', () => {
  it('reads the -k file list and traces what it read and skipped', () => {
    const dir = mkdtempSync(join(tmpdir(), 'krb5conf-'));
    try {
      const main = join(dir, 'krb5.conf');
      writeFileSync(main, '[libdefaults]\n default_realm = FROM.K\n[realms]\nX = {\n kdc = a {\n}\n');
      const trace = new MemoryTrace();
      const c = loadKrb5Config({ configFile: `${join(dir, 'missing.conf')}:${main}`, env: { KRB5_CONFIG: '/nonexistent' }, trace });
      expect(c.defaultRealm()).toBe('FROM.K');
      expect(trace.messages('krb5conf')).toEqual([`skipped ${join(dir, 'missing.conf')} (missing)`, `read ${main}`]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
