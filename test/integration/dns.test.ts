// Our resolver (src/net/dns) against a real DNS server: dnsmasq 2.90 on loopback
// (test/harness/realm/dnsmasq.ts), plus the KDC discovery path (docs/kerberos.md#locating-the-kdc: URI, SRV, ".")
// ending at a real MIT krb5kdc (test/harness/realm/mini-kdc.ts). The machine's resolver is never
// asked: every call names the dnsmasq server and a private resolv.conf/hosts file.
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Krb5Config } from '../../src/krb5/config/krb5-config.ts';
import { KdcLocateError, locateKdcs } from '../../src/krb5/kdc/locate.ts';
import { sendToKdc } from '../../src/krb5/kdc/transport.ts';
import {
  DnsNoDataError,
  DnsNotFoundError,
  DnsServerError,
  DnsTimeoutError,
  lookupHost,
  resolveSrv,
  resolveTxt,
  resolveUri,
  reverseLookup,
  type DnsOptions,
} from '../../src/net/dns/index.ts';
import { MemoryTrace } from '../../src/trace.ts';
import { startDnsmasq, type Dnsmasq } from '../harness/realm/dnsmasq.ts';
import { buildAsReq, classifyKdcReply, krbErrorCode, startMiniKdc, type MiniKdc } from '../harness/realm/mini-kdc.ts';

let dns: Dnsmasq;
let kdc: MiniKdc;
let dir: string;
let noHosts: string;
const BIG = ['a'.repeat(200), 'b'.repeat(200), 'c'.repeat(200)];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dns-test-'));
  noHosts = join(dir, 'hosts.empty');
  writeFileSync(noHosts, '');
  kdc = await startMiniKdc({ realm: 'KDCT.TEST' });
  dns = await startDnsmasq({
    // 'corp' for the ndots test: NXDOMAIN instead of REFUSED
    local: ['test', 'corp', 'in-addr.arpa', 'ip6.arpa'],
    records: [
      { type: 'host', name: 'fs1.corp.dnst.test', addresses: ['192.0.2.10', '2001:db8::10'] },
      { type: 'host', name: 'v4only.corp.dnst.test', addresses: ['192.0.2.11'] },
      { type: 'cname', alias: 'alias.corp.dnst.test', target: 'fs1.corp.dnst.test' },
      { type: 'txt', name: '_kerberos.corp.dnst.test', strings: ['CORP.DNST.TEST'] },
      { type: 'txt', name: 'big.dnst.test', strings: BIG },
      { type: 'host', name: 'kdc1.dnst.test', addresses: ['127.0.0.1'] },
      { type: 'srv', name: '_kerberos._udp.KDCT.TEST', target: 'kdc1.dnst.test', port: kdc.port, priority: 10 },
      { type: 'srv', name: '_kerberos._tcp.KDCT.TEST', target: 'kdc1.dnst.test', port: kdc.port, priority: 0 },
      { type: 'uri', name: '_kerberos.KDCT.TEST', priority: 0, weight: 0, target: 'bogus:not-a-krb5srv' },
      { type: 'uri', name: '_kerberos.KDCT.TEST', priority: 20, weight: 0, target: `krb5srv::udp:kdc1.dnst.test:${kdc.port}` },
      { type: 'uri', name: '_kerberos.KDCT.TEST', priority: 10, weight: 5, target: `krb5srv:m:tcp:kdc1.dnst.test:${kdc.port}` },
      { type: 'uri', name: '_kerberos.KDCT.TEST', priority: 5, weight: 0, target: 'krb5srv::kkdcp:https://proxy.dnst.test/KdcProxy' },
      { type: 'srv', name: '_kerberos._udp.NOSVC.TEST', target: '.', port: 88 },
      { type: 'srv', name: '_kerberos._udp.MIXED.TEST', target: '.', port: 88 },
      { type: 'srv', name: '_kerberos._tcp.MIXED.TEST', target: 'kdc1.dnst.test', port: 750 },
    ],
  });
});

afterAll(async () => {
  try {
    await dns?.stop();
  } finally {
    await kdc?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

const opts = (extra: Partial<DnsOptions> = {}): DnsOptions => ({
  servers: [dns.server],
  resolvConfPath: dns.resolvConf,
  hostsPath: noHosts,
  search: [],
  timeoutMs: 2000,
  attempts: 1,
  ...extra,
});

describe('lookupHost (getaddrinfo AF_UNSPEC + AI_CANONNAME)', () => {
  it("the short-name domain guess: 'fs1' with search corp.dnst.test", async () => {
    const found = await lookupHost('fs1', opts({ search: ['corp.dnst.test'] }));
    expect(found.canonicalName).toBe('fs1.corp.dnst.test');
    expect(found.addresses).toEqual([
      { address: '192.0.2.10', family: 4 },
      { address: '2001:db8::10', family: 6 },
    ]);
    expect(found.source).toBe('dns');
  });

  it('the canonical name follows a CNAME', async () => {
    const found = await lookupHost('alias.corp.dnst.test', opts());
    expect(found.canonicalName).toBe('fs1.corp.dnst.test');
    expect(found.addresses.map((a) => a.address)).toEqual(['192.0.2.10', '2001:db8::10']);
  });

  it('A only, and family filtering', async () => {
    expect((await lookupHost('v4only.corp.dnst.test', opts())).addresses).toEqual([{ address: '192.0.2.11', family: 4 }]);
    expect((await lookupHost('fs1.corp.dnst.test', { ...opts(), family: 6 })).addresses).toEqual([{ address: '2001:db8::10', family: 6 }]);
  });

  it('NXDOMAIN everywhere → DnsNotFoundError (EAI_NONAME); a name without addresses → DnsNoDataError (EAI_NODATA)', async () => {
    const nx = await lookupHost('nothere', opts({ search: ['corp.dnst.test', 'dnst.test'] })).catch((e: unknown) => e);
    expect(nx).toBeInstanceOf(DnsNotFoundError);
    expect(nx).toMatchObject({ eai: 'EAI_NONAME', eaiCode: -2, query: 'nothere' });
    expect((nx as Error).message).toBe('nothere: no such host or domain');
    const nodata = await lookupHost('_kerberos.corp.dnst.test', opts()).catch((e: unknown) => e);
    expect(nodata).toBeInstanceOf(DnsNoDataError);
    expect(nodata).toMatchObject({ eai: 'EAI_NODATA', eaiCode: -5 });
  });

  it('res_search order: with ndots 1, "fs1.corp" is tried as is first, then with the search domain', async () => {
    const trace = new MemoryTrace();
    const found = await lookupHost('fs1.corp', opts({ search: ['dnst.test'], trace }));
    expect(found.canonicalName).toBe('fs1.corp.dnst.test');
    const asked = trace.messages('dns').filter((m) => / A: /.test(m));
    expect(asked[0]).toMatch(/^fs1\.corp\. A: NXDOMAIN/);
    expect(asked[1]).toMatch(/^fs1\.corp\.dnst\.test\. A: 1 answer/);
  });

  it('the hosts file wins and DNS is not asked', async () => {
    const hosts = join(dir, 'hosts');
    writeFileSync(hosts, '10.9.9.9 fs1.hosts.test fs1\n');
    const before = dns.queries().length;
    const found = await lookupHost('FS1', opts({ hostsPath: hosts, search: ['corp.dnst.test'] }));
    expect(found).toEqual({ canonicalName: 'fs1.hosts.test', addresses: [{ address: '10.9.9.9', family: 4 }], source: 'hosts' });
    expect(dns.queries().length).toBe(before);
  });

  it('an address literal is its own canonical name, no query', async () => {
    expect(await lookupHost('192.0.2.99', opts())).toEqual({
      canonicalName: '192.0.2.99',
      addresses: [{ address: '192.0.2.99', family: 4 }],
      source: 'literal',
    });
  });
});

describe('reverseLookup (getnameinfo NI_NAMEREQD, cifs.upcall -t)', () => {
  it.each([
    ['192.0.2.10'],
    ['2001:db8::10'],
    ['2001:0db8:0000:0000:0000:0000:0000:0010'], // the kernel's %pI6 form
    ['20010db8000000000000000000000010'], // the legacy 32-hex-digit form
  ])('%s → fs1.corp.dnst.test (PTR from dnsmasq --host-record)', async (ip) => {
    expect(await reverseLookup(ip, opts())).toBe('fs1.corp.dnst.test');
  });

  it('no PTR → DnsNotFoundError; not an address → DnsBadQueryError', async () => {
    await expect(reverseLookup('192.0.2.250', opts())).rejects.toBeInstanceOf(DnsNotFoundError);
    await expect(reverseLookup('fs1', opts())).rejects.toMatchObject({ name: 'DnsBadQueryError', eai: 'EAI_FAIL' });
  });

  it('the hosts file first', async () => {
    const hosts = join(dir, 'hosts.rev');
    writeFileSync(hosts, '192.0.2.10 from-hosts.test\n');
    expect(await reverseLookup('192.0.2.10', opts({ hostsPath: hosts }))).toBe('from-hosts.test');
  });
});

describe('SRV, URI, TXT', () => {
  it('SRV and URI records as served', async () => {
    expect(await resolveSrv('_kerberos._udp.KDCT.TEST.', opts())).toEqual([
      { priority: 10, weight: 0, port: kdc.port, target: 'kdc1.dnst.test' },
    ]);
    const uris = await resolveUri('_kerberos.KDCT.TEST.', opts());
    expect(uris.map((u) => [u.priority, u.weight, u.target])).toEqual(
      expect.arrayContaining([
        [0, 0, 'bogus:not-a-krb5srv'],
        [20, 0, `krb5srv::udp:kdc1.dnst.test:${kdc.port}`],
        [10, 5, `krb5srv:m:tcp:kdc1.dnst.test:${kdc.port}`],
      ]),
    );
  });

  it('a TXT answer over 512 bytes comes truncated over UDP and is fetched again over TCP', async () => {
    const trace = new MemoryTrace();
    expect(await resolveTxt('big.dnst.test.', opts({ trace }))).toEqual([BIG]);
    expect(trace.messages('dns')).toContain(`127.0.0.1#${dns.server.port}: answer truncated, asking again over TCP`);
    expect(trace.records.find((r) => r.message.startsWith('big.dnst.test. TXT: 1 answer'))?.fields).toMatchObject({ transport: 'tcp' });
  });

  it('a name outside the served domains is REFUSED (no upstream) → DnsServerError (EAI_AGAIN)', async () => {
    const err = await lookupHost('host.example.invalid', opts()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DnsServerError);
    expect(err).toMatchObject({ eai: 'EAI_AGAIN' });
    expect((err as Error).message).toMatch(/rcode REFUSED/);
  });
});

describe('timeouts and AbortSignal', () => {
  let silent: UdpSocket;
  let silentPort: number;
  let received = 0;
  beforeAll(async () => {
    silent = createSocket('udp4');
    silent.on('message', () => received++);
    await new Promise<void>((r) => silent.bind(0, '127.0.0.1', () => r()));
    silentPort = (silent.address() as { port: number }).port;
  });
  afterAll(() => silent.close());

  it('a silent server: attempts × per-try timeout, then DnsTimeoutError', async () => {
    received = 0;
    const started = Date.now();
    const err = await resolveSrv('_kerberos._udp.KDCT.TEST.', {
      ...opts(),
      servers: [{ address: '127.0.0.1', port: silentPort }],
      timeoutMs: 200,
      attempts: 2,
    }).catch((e: unknown) => e);
    const ms = Date.now() - started;
    expect(err).toBeInstanceOf(DnsTimeoutError);
    expect(received).toBe(2);
    // glibc res_send: round 0 waits timeout, round 1 (timeout << 1) / nservers
    expect(ms).toBeGreaterThanOrEqual(580);
    expect(ms).toBeLessThan(2000);
  });

  it('falls over to the next server', async () => {
    const found = await resolveSrv('_kerberos._udp.KDCT.TEST.', {
      ...opts(),
      servers: [{ address: '127.0.0.1', port: silentPort }, dns.server],
      timeoutMs: 200,
    });
    expect(found).toHaveLength(1);
  });

  it('an AbortSignal ends the wait with its reason', async () => {
    const reason = new Error('budget');
    const controller = new AbortController();
    setTimeout(() => controller.abort(reason), 100);
    const started = Date.now();
    await expect(
      lookupHost('fs1.corp.dnst.test', {
        ...opts(),
        servers: [{ address: '127.0.0.1', port: silentPort }],
        timeoutMs: 5000,
        signal: controller.signal,
      }),
    ).rejects.toBe(reason);
    expect(Date.now() - started).toBeLessThan(1000);
  });
});

describe('KDC discovery through DNS (docs/kerberos.md#locating-the-kdc)', () => {
  const config = (extra: string): Krb5Config =>
    Krb5Config.fromText(`[libdefaults]\n  dns_lookup_kdc = true\n  dns_lookup_realm = false\n${extra}\n`, 'dns-test.conf');

  it('URI records first: by priority, malformed and kkdcp ones skipped, m = primary', async () => {
    const trace = new MemoryTrace();
    const servers = await locateKdcs('KDCT.TEST', config(''), { dns: opts(), trace });
    expect(servers.map((s) => [s.origin, s.transport, s.host, s.port, s.primary])).toEqual([
      ['uri', 'tcp', 'kdc1.dnst.test', kdc.port, true],
      ['uri', 'udp', 'kdc1.dnst.test', kdc.port, false],
    ]);
    expect(trace.messages('kdc')).toEqual(
      expect.arrayContaining([
        'ignoring malformed URI record _kerberos.KDCT.TEST. "bogus:not-a-krb5srv"',
        'ignoring URI record "krb5srv::kkdcp:https://proxy.dnst.test/KdcProxy": MS-KKDCP (kkdcp) transport is not supported',
      ]),
    );
  });

  it('SRV when dns_uri_lookup is off: _udp then _tcp, targets made absolute', async () => {
    const servers = await locateKdcs('KDCT.TEST', config('  dns_uri_lookup = false'), { dns: opts() });
    expect(servers.map((s) => [s.origin, s.transport, s.host, s.port, s.label])).toEqual([
      ['srv', 'udp', 'kdc1.dnst.test.', kdc.port, `kdc1.dnst.test:${kdc.port}`],
      ['srv', 'tcp', 'kdc1.dnst.test.', kdc.port, `kdc1.dnst.test:${kdc.port}`],
    ]);
  });

  it('an SRV target "." alone means no service; next to a real target it is skipped (MIT 1.20 tries it)', async () => {
    const err = await locateKdcs('NOSVC.TEST', config('  dns_uri_lookup = false'), { dns: opts() }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KdcLocateError);
    expect(err).toMatchObject({ kind: 'no-service' });
    const mixed = await locateKdcs('MIXED.TEST', config('  dns_uri_lookup = false'), { dns: opts() });
    expect(mixed.map((s) => [s.transport, s.host, s.port])).toEqual([['tcp', 'kdc1.dnst.test.', 750]]);
  });

  it('nothing in DNS: "Cannot find KDC for realm" with what DNS said', async () => {
    await expect(locateKdcs('NONE.TEST', config(''), { dns: opts() })).rejects.toThrow(
      /^Cannot find KDC for realm "NONE\.TEST": DNS: _kerberos\.NONE\.TEST\.: .*no such host or domain/,
    );
  });

  it('end to end: URI → host name through DNS → MIT KDC; pinned entries of the other transport wait (as MIT)', async () => {
    const trace = new MemoryTrace();
    // small request: UDP preferred, so the tcp URI (priority 10) is deferred behind the udp one
    const small = await sendToKdc('KDCT.TEST', buildAsReq('KDCT.TEST', 'alice'), {
      config: config(''),
      classify: classifyKdcReply,
      dns: opts(),
      trace,
    });
    expect(krbErrorCode(small.reply)).toBe(25);
    expect(small.transport).toBe('udp');
    expect(small.address).toBe('127.0.0.1');
    expect(trace.messages('kdc')).toContain('kdc1.dnst.test resolves to 127.0.0.1');
    // large request: TCP preferred, the primary tcp entry answers
    const large = await sendToKdc('KDCT.TEST', buildAsReq('KDCT.TEST', 'alice', 2000), {
      config: config(''),
      classify: classifyKdcReply,
      dns: opts(),
    });
    expect(large.transport).toBe('tcp');
    expect(large.server).toMatchObject({ origin: 'uri', primary: true });
  });

  it('end to end through SRV: UDP first for a small request', async () => {
    const { reply, transport } = await sendToKdc('KDCT.TEST', buildAsReq('KDCT.TEST', 'alice'), {
      config: config('  dns_uri_lookup = false'),
      classify: classifyKdcReply,
      dns: opts(),
    });
    expect(krbErrorCode(reply)).toBe(25);
    expect(transport).toBe('udp');
  });
});

describe('fallback host realm with dns_lookup_realm (docs/kerberos.md#referrals-and-cross-realm)', () => {
  it('TXT _kerberos.<host> then parent domains; else the upper-cased parent domain', async () => {
    const c = Krb5Config.fromText('[libdefaults]\n  dns_lookup_realm = true\n  default_realm = DEF.TEST\n', 'x');
    expect(await c.fallbackHostRealm('fs1.corp.dnst.test', opts())).toBe('CORP.DNST.TEST');
    expect(await c.fallbackHostRealm('fs9.other.dnst.test', opts())).toBe('OTHER.DNST.TEST');
    expect(await c.fallbackHostRealm('fs9', opts())).toBe('DEF.TEST');
  });
});
