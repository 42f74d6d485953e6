// resolv.conf(5) as glibc 2.36 res_init reads it; hosts(5) as the glibc files back end reads it;
// the res_search candidate order (resolv.conf(5) "ndots").
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hostsLookup, hostsReverse, parseHostsFile, readHostsFile } from '../../../../src/net/dns/hosts-file.ts';
import { parseIpAddress } from '../../../../src/net/dns/ip.ts';
import { parseResolvConf, readResolvConf } from '../../../../src/net/dns/resolv-conf.ts';
import { searchCandidates } from '../../../../src/net/dns/resolver.ts';

describe('resolv.conf', () => {
  it('defaults: 127.0.0.1, ndots 1, timeout 5 s, attempts 2, search from the host name', () => {
    expect(parseResolvConf('', 'client.corp.example.test')).toEqual({
      nameservers: [{ address: '127.0.0.1', port: 53 }],
      search: ['corp.example.test'],
      ndots: 1,
      timeoutMs: 5000,
      attempts: 2,
      rotate: false,
      edns0: false,
      useTcp: false,
    });
    expect(parseResolvConf('', 'client').search).toEqual([]);
  });

  it('nameservers (max 3, IPv6 with scope, invalid ones skipped), comments in column 0', () => {
    const c = parseResolvConf(
      '# comment\n; other\nnameserver 10.0.0.1\nnameserver bogus\nnameserver fe80::1%eth0\nnameserver ::1 # trailing\nnameserver 10.0.0.4\n  nameserver 10.0.0.5\n',
    );
    expect(c.nameservers.map((s) => s.address)).toEqual(['10.0.0.1', 'fe80::1%eth0', '::1']);
  });

  it('the last of domain/search wins; trailing dots dropped', () => {
    expect(parseResolvConf('search a.test b.test.\ndomain c.test\n', 'h.x.test').search).toEqual(['c.test']);
    expect(parseResolvConf('domain c.test\nsearch a.test\tb.test.\n').search).toEqual(['a.test', 'b.test']);
  });

  it('options with their caps; unknown options ignored', () => {
    const c = parseResolvConf('options ndots:20 timeout:60 attempts:9 rotate edns0 use-vc single-request inet6\n');
    expect(c).toMatchObject({ ndots: 15, timeoutMs: 30_000, attempts: 5, rotate: true, edns0: true, useTcp: true });
    const d = parseResolvConf('options ndots:2 timeout:0 attempts:0 timeout:x\n');
    expect(d).toMatchObject({ ndots: 2, timeoutMs: 1000, attempts: 1 });
  });

  it('a missing file gives the defaults; the file is read synchronously', () => {
    expect(readResolvConf('/nonexistent/resolv.conf', 'h').nameservers).toEqual([{ address: '127.0.0.1', port: 53 }]);
    const dir = mkdtempSync(join(tmpdir(), 'resolv-'));
    try {
      writeFileSync(join(dir, 'resolv.conf'), 'nameserver 192.0.2.53\nsearch example.test\n');
      expect(readResolvConf(join(dir, 'resolv.conf'))).toMatchObject({
        nameservers: [{ address: '192.0.2.53', port: 53 }],
        search: ['example.test'],
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('res_search candidates', () => {
  it('fewer dots than ndots: search domains first; else the name as is first; absolute: only itself', () => {
    expect(searchCandidates('fs1', ['corp.test', 'test'], 1)).toEqual(['fs1.corp.test.', 'fs1.test.', 'fs1.']);
    expect(searchCandidates('fs1.corp', ['corp.test'], 1)).toEqual(['fs1.corp.', 'fs1.corp.corp.test.']);
    expect(searchCandidates('fs1.corp', ['corp.test'], 2)).toEqual(['fs1.corp.corp.test.', 'fs1.corp.']);
    expect(searchCandidates('_kerberos._udp.EXAMPLE.TEST.', ['corp.test'], 1)).toEqual(['_kerberos._udp.EXAMPLE.TEST.']);
  });
});

describe('hosts file', () => {
  const entries = parseHostsFile(
    [
      '127.0.0.1\tlocalhost',
      '::1 localhost ip6-localhost # comment',
      '# 10.0.0.9 commented.example.test',
      '192.0.2.10 fs1.example.test fs1 FS1-ALIAS',
      '192.0.2.11 fs1.example.test',
      '2001:db8::10 fs1.example.test',
      'not-an-address bad.example.test',
      '192.0.2.12',
      '192.0.2.20 other.example.test fs1',
      '',
    ].join('\n'),
  );

  it('parses address + names, skipping comments, lone addresses and non-addresses', () => {
    expect(entries.map((e) => [e.addressText, e.names, e.line])).toEqual([
      ['127.0.0.1', ['localhost'], 1],
      ['::1', ['localhost', 'ip6-localhost'], 2],
      ['192.0.2.10', ['fs1.example.test', 'fs1', 'FS1-ALIAS'], 4],
      ['192.0.2.11', ['fs1.example.test'], 5],
      ['2001:db8::10', ['fs1.example.test'], 6],
      ['192.0.2.20', ['other.example.test', 'fs1'], 9],
    ]);
  });

  it('forward: canonical name of the first matching line, addresses of all (multi on), case-insensitive', () => {
    const m = hostsLookup(entries, 'FS1');
    expect(m?.canonicalName).toBe('fs1.example.test');
    expect(m?.addresses.map((a) => a.text)).toEqual(['192.0.2.10', '192.0.2.20']);
    expect(hostsLookup(entries, 'fs1.example.test')?.addresses.map((a) => a.text)).toEqual(['192.0.2.10', '192.0.2.11', '2001:db8::10']);
    expect(hostsLookup(entries, 'fs1.example.test', 6)?.addresses.map((a) => a.text)).toEqual(['2001:db8::10']);
    expect(hostsLookup(entries, 'fs1-alias.')?.canonicalName).toBe('fs1.example.test');
    expect(hostsLookup(entries, 'nothere')).toBeUndefined();
  });

  it('reverse: canonical name of the first line with the address, any text form', () => {
    expect(hostsReverse(entries, parseIpAddress('192.0.2.10')!)).toBe('fs1.example.test');
    expect(hostsReverse(entries, parseIpAddress('2001:0db8:0000:0000:0000:0000:0000:0010')!)).toBe('fs1.example.test');
    expect(hostsReverse(entries, parseIpAddress('20010db8000000000000000000000010')!)).toBe('fs1.example.test');
    expect(hostsReverse(entries, parseIpAddress('192.0.2.99')!)).toBeUndefined();
  });

  it('a missing hosts file has no entries', () => {
    expect(readHostsFile('/nonexistent/hosts')).toEqual([]);
  });
});
