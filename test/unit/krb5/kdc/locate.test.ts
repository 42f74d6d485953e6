// KDC list from krb5.conf (docs/kerberos.md#locating-the-kdc) and the URI target syntax `krb5srv:flags:transport:
// residual` (MIT os/locate_kdc.c parse_uri_fields; checked with MIT 1.20 kinit against dnsmasq).
// The DNS (URI/SRV) paths run against a real dnsmasq in test/integration/dns.test.ts.
import { describe, expect, it } from 'vitest';
import { Krb5Config } from '../../../../src/krb5/config/krb5-config.ts';
import { KdcLocateError, locateKdcs, parseKrb5srvUri } from '../../../../src/krb5/kdc/locate.ts';
import { MemoryTrace } from '../../../../src/trace.ts';

const conf = (text: string): Krb5Config => Krb5Config.fromText(text, 'test.conf');

describe('locateKdcs from [realms]', () => {
  it('keeps the configured order, ports and transport pins; DNS is not consulted', async () => {
    const c = conf('[libdefaults]\ndns_lookup_kdc = true\n[realms]\nR = {\n kdc = k1.test\n kdc = 127.0.0.1:750\n kdc = tcp/[::1]:88\n}\n');
    // no DNS options: any DNS query would go to the machine's resolver and fail this test's intent
    const servers = await locateKdcs('R', c, { dns: { servers: [], hostsPath: false } });
    expect(servers).toEqual([
      { host: 'k1.test', port: 88, transport: 'any', origin: 'config', primary: false, label: 'k1.test:88' },
      { host: '127.0.0.1', port: 750, transport: 'any', origin: 'config', primary: false, label: '127.0.0.1:750' },
      { host: '::1', port: 88, transport: 'tcp', origin: 'config', primary: false, label: '[::1]:88' },
    ]);
  });

  it('says which entries it skipped', async () => {
    const trace = new MemoryTrace();
    const c = conf('[realms]\nR = {\n kdc = https://proxy.test/KdcProxy\n kdc = k1.test\n}\n');
    expect((await locateKdcs('R', c, { trace })).map((s) => s.host)).toEqual(['k1.test']);
    expect(trace.messages('kdc')[0]).toBe(
      'skipping [realms] R kdc = https://proxy.test/KdcProxy: MS-KKDCP (https://) KDC proxies are not supported',
    );
  });

  it('only unusable entries: an error, not a DNS lookup', async () => {
    const c = conf('[realms]\nR = {\n kdc = https://proxy.test/KdcProxy\n}\n');
    await expect(locateKdcs('R', c)).rejects.toThrow(
      'Cannot find KDC for realm "R": every [realms] R kdc entry is unsupported (https://proxy.test/KdcProxy)',
    );
  });

  it('empty realm and no entry with DNS off', async () => {
    await expect(locateKdcs('', conf(''))).rejects.toThrow('Cannot find KDC for invalid realm ""');
    const err = await locateKdcs('R', conf('[libdefaults]\ndns_lookup_kdc = false\n')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KdcLocateError);
    expect((err as KdcLocateError).kind).toBe('no-kdc');
    expect((err as Error).message).toBe('Cannot find KDC for realm "R": no [realms] R kdc entry and dns_lookup_kdc is off');
  });

  it('a malformed entry fails with file:line', async () => {
    await expect(locateKdcs('R', conf('[realms]\nR = {\n kdc = k1:99999\n}\n'))).rejects.toThrow(
      'test.conf:3: [realms] R kdc: "k1:99999": bad port "99999"',
    );
  });
});

describe('krb5srv URI targets', () => {
  it.each([
    ['krb5srv:m:tcp:kdc1.example.test', { host: 'kdc1.example.test', port: 88, transport: 'tcp', primary: true }],
    ['KRB5SRV::UDP:kdc2.example.test:750', { host: 'kdc2.example.test', port: 750, transport: 'udp', primary: false }],
    ['krb5srv:xM:tcp:[2001:db8::1]:88', { host: '2001:db8::1', port: 88, transport: 'tcp', primary: true }],
  ] as const)('%s', (target, expected) => {
    expect(parseKrb5srvUri(target)).toEqual(expected);
  });

  it('kkdcp is skipped; anything else malformed is ignored', () => {
    expect(parseKrb5srvUri('krb5srv::kkdcp:https://proxy.test/')).toEqual({ skip: 'MS-KKDCP (kkdcp) transport is not supported' });
    for (const bad of [
      'bogus:x',
      'krb5srv:m:sctp:kdc',
      'krb5srv:tcp:kdc',
      'krb5srv::tcp:',
      'krb5srv::tcp:kdc:notaport',
      'krb5srv::tcp:tcp/kdc',
    ]) {
      expect(parseKrb5srvUri(bad), bad).toBeUndefined();
    }
  });
});
