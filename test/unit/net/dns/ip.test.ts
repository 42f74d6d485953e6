// Address text forms: RFC 4291 §2.2 (input), RFC 5952 (output), RFC 1035 §3.5 in-addr.arpa,
// RFC 3596 §2.5 ip6.arpa; the kernel's ip6= forms from docs/kernel-key-protocol.md#legacy-forms (fully expanded
// "%pI6" text, and the legacy 32-hex-digit form cifs.upcall turns into colon groups).
import fc from 'fast-check';
import { isIPv6 } from 'node:net';
import { describe, expect, it } from 'vitest';
import { formatIpv6, ipFamily, parseIpAddress, parseIpv4, parseIpv6, reverseName } from '../../../../src/net/dns/ip.ts';

describe('parsing', () => {
  it('the forms ip4=/ip6= of a key description take (src/kernel/key-description.ts parses them here)', () => {
    expect(parseIpv4('10.0.0.5')).toBeDefined();
    expect(parseIpv4('010.0.0.5')).toBeUndefined();
    expect(parseIpv6('0000:0000:0000:0000:0000:0000:0000:0001')).toBeDefined();
    expect(parseIpv6('::1')).toBeDefined();
    expect(parseIpv6('::ffff:10.0.0.5')).toBeDefined();
    expect(parseIpv6('1:2:3:4:5:6:7::')).toBeDefined();
    expect(parseIpv6('1:2:3:4:5:6:7:8:9')).toBeUndefined();
    expect(parseIpv6('1::2::3')).toBeUndefined();
    expect(parseIpv6('fe80::1%eth0')).toBeUndefined();
  });

  it.each([
    ['192.0.2.10', 4, '192.0.2.10'],
    ['::1', 6, '::1'],
    ['fe80:0000:0000:0000:0000:0000:0000:0001', 6, 'fe80::1'],
    ['2001:0db8:0000:0000:0001:0000:0000:0001', 6, '2001:db8::1:0:0:1'],
    ['20010db8000000000000000000000010', 6, '2001:db8::10'],
    ['::ffff:192.0.2.1', 6, '::ffff:c000:201'],
    ['1:2:3:4:5:6:7::', 6, '1:2:3:4:5:6:7:0'],
    ['fe80::1%eth0', 6, 'fe80::1'],
    ['1:2:3:4:5:6:192.0.2.1', 6, '1:2:3:4:5:6:c000:201'],
  ] as const)('%s → IPv%i %s', (text, family, canonical) => {
    expect(parseIpAddress(text)).toMatchObject({ family, text: canonical });
  });

  it.each([
    '',
    '1.2.3',
    '1.2.3.4.5',
    '256.1.1.1',
    '01.2.3.4',
    'a.b.c.d',
    ':::',
    '1::2::3',
    '12345::',
    'fs1',
    'g::1',
    '1:2:3:4:5:6:7:8:9',
    '0123456789abcdef0123456789abcde',
  ])('%j is not an address', (text) => {
    expect(parseIpAddress(text)).toBeUndefined();
  });

  it('ipFamily does not take the legacy hex form (a host name could look like one)', () => {
    expect(ipFamily('20010db8000000000000000000000010')).toBeUndefined();
    expect(ipFamily('fe80::1%2')).toBe(6);
    expect(ipFamily('127.0.0.1')).toBe(4);
    expect(ipFamily('fs1.example.test')).toBeUndefined();
  });

  it('agrees with Node on random IPv6 addresses in every text form (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (raw) => {
        const bytes = Buffer.from(raw);
        const groups = [...Array(8).keys()].map((i) =>
          bytes
            .readUInt16BE(i * 2)
            .toString(16)
            .padStart(4, '0'),
        );
        const compressed = formatIpv6(bytes);
        expect(isIPv6(compressed)).toBe(true);
        expect(parseIpv6(compressed)).toEqual(bytes);
        expect(parseIpv6(groups.join(':'))).toEqual(bytes);
        expect(parseIpAddress(groups.join(''))?.bytes).toEqual(bytes);
      }),
      { numRuns: 500 },
    );
  });

  it('RFC 5952 output: lower case, longest run of ≥2 zero groups, first on a tie', () => {
    expect(formatIpv6(parseIpv6('2001:DB8:0:0:1:0:0:1')!)).toBe('2001:db8::1:0:0:1');
    expect(formatIpv6(parseIpv6('2001:db8:0:1:1:1:1:1')!)).toBe('2001:db8:0:1:1:1:1:1');
    expect(formatIpv6(parseIpv6('::')!)).toBe('::');
    expect(parseIpv4('10.0.0.255')).toEqual(Buffer.from([10, 0, 0, 255]));
  });
});

describe('reverse names', () => {
  it('in-addr.arpa and ip6.arpa (RFC 3596 §2.5 example form), v4-mapped → in-addr.arpa', () => {
    expect(reverseName(parseIpAddress('192.0.2.10')!)).toBe('10.2.0.192.in-addr.arpa.');
    expect(reverseName(parseIpAddress('4321:0:1:2:3:4:567:89ab')!)).toBe(
      'b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.0.0.0.0.1.2.3.4.ip6.arpa.',
    );
    expect(reverseName(parseIpAddress('::ffff:192.0.2.1')!)).toBe('1.2.0.192.in-addr.arpa.');
  });
});
