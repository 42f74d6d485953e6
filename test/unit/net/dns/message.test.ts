// RFC 1035 §4 wire format. Captured bytes: the query `dig +noedns +nocookie +noadflag
// _kerberos._udp.EXAMPLE.TEST SRV` sent (dig 9.18.49, Debian 12), and dnsmasq 2.90's answers to
// our queries (test/harness/realm/dnsmasq.ts records, id 0x1234), recorded on this machine.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeMessage,
  DnsFormatError,
  DnsNameError,
  DnsType,
  encodeMessage,
  encodeName,
  encodeQuery,
  type DnsMessage,
} from '../../../../src/net/dns/message.ts';

const hex = (s: string): Buffer => Buffer.from(s, 'hex');

const DIG_SRV_QUERY = 'c25301000001000000000000095f6b65726265726f73045f756470074558414d504c4504544553540000210001';
const DNSMASQ_SRV =
  '123485800001000200000002095f6b65726265726f73045f756470074558414d504c4504544553540000210001c00c00210001000000000019000a000002ee046b646332076578616d706c65047465737400c00c00210001000000000019000000640058046b646331076578616d706c65047465737400c06400010001000000000004c000020ac064001c000100000000001020010db8000000000000000000000010';
const DNSMASQ_URI =
  '123485800001000100000000095f6b65726265726f73074558414d504c4504544553540001000001c00c01000001000000000026000a00016b7262357372763a6d3a7463703a6b6463312e6578616d706c652e746573743a3838';
const DNSMASQ_CNAME_A =
  '123485800001000200000000026673076578616d706c6504746573740000010001c00c00050001000000000013046b646331076578616d706c65047465737400c02d00010001000000000004c000020a';
const DNSMASQ_CNAME_AAAA =
  '123485800001000200000000026673076578616d706c65047465737400001c0001c00c00050001000000000013046b646331076578616d706c65047465737400c02d001c000100000000001020010db8000000000000000000000010';
const DNSMASQ_NXDOMAIN = '123481830001000000000000026e78076578616d706c6504746573740000010001';
const DNSMASQ_PTR =
  '123485800001000100000000023130013201300331393207696e2d61646472046172706100000c0001c00c000c0001000000000013046b646331076578616d706c65047465737400';

describe('queries', () => {
  it('encodes byte-for-byte what dig sends (RD set, one question, class IN)', () => {
    const dig = hex(DIG_SRV_QUERY);
    expect(encodeQuery({ id: dig.readUInt16BE(0), name: '_kerberos._udp.EXAMPLE.TEST', type: DnsType.SRV })).toEqual(dig);
    // an absolute name encodes the same
    expect(encodeQuery({ id: dig.readUInt16BE(0), name: '_kerberos._udp.EXAMPLE.TEST.', type: DnsType.SRV })).toEqual(dig);
  });

  it('adds an RFC 6891 OPT record when asked for EDNS0', () => {
    const q = encodeQuery({ id: 1, name: 'a.test', type: DnsType.A, ednsUdpSize: 1232 });
    expect(q.readUInt16BE(10)).toBe(1);
    // root owner, TYPE 41, CLASS = payload size 1232, TTL 0, RDLEN 0
    expect(q.subarray(q.length - 11).toString('hex')).toBe('00' + '0029' + '04d0' + '00000000' + '0000');
  });

  it('rejects names that cannot be encoded', () => {
    expect(() => encodeName('a..b')).toThrow(DnsNameError);
    expect(() => encodeName(`${'x'.repeat(64)}.test`)).toThrow(/label longer than 63/);
    expect(() => encodeName(Array(130).fill('ab').join('.'))).toThrow(/longer than 255/);
    expect(encodeName('.')).toEqual(Buffer.from([0]));
    expect(encodeName('a\\.b.test')).toEqual(Buffer.from('03612e6204746573740' + '0', 'hex'));
  });
});

describe('dnsmasq answers', () => {
  it('SRV answer with compressed names and additional A/AAAA (RFC 2782)', () => {
    const m = decodeMessage(hex(DNSMASQ_SRV));
    expect(m.id).toBe(0x1234);
    expect(m.flags).toMatchObject({ response: true, authoritative: true, truncated: false, recursionDesired: true, rcode: 0 });
    expect(m.questions).toEqual([{ name: '_kerberos._udp.EXAMPLE.TEST', type: 33, class: 1 }]);
    expect(m.answers.map((a) => a.data)).toEqual([
      { type: 'SRV', priority: 10, weight: 0, port: 750, target: 'kdc2.example.test' },
      { type: 'SRV', priority: 0, weight: 100, port: 88, target: 'kdc1.example.test' },
    ]);
    expect(m.additionals.map((a) => [a.name, a.data])).toEqual([
      ['kdc1.example.test', { type: 'A', address: '192.0.2.10' }],
      ['kdc1.example.test', { type: 'AAAA', address: '2001:db8::10' }],
    ]);
  });

  it('URI answer, type 256 (RFC 7553)', () => {
    const m = decodeMessage(hex(DNSMASQ_URI));
    expect(m.answers).toEqual([
      {
        name: '_kerberos.EXAMPLE.TEST',
        type: 256,
        class: 1,
        ttl: 0,
        data: { type: 'URI', priority: 10, weight: 1, target: 'krb5srv:m:tcp:kdc1.example.test:88' },
      },
    ]);
  });

  it('CNAME chains for A and AAAA', () => {
    const a = decodeMessage(hex(DNSMASQ_CNAME_A));
    expect(a.answers.map((r) => [r.name, r.data])).toEqual([
      ['fs.example.test', { type: 'CNAME', target: 'kdc1.example.test' }],
      ['kdc1.example.test', { type: 'A', address: '192.0.2.10' }],
    ]);
    const aaaa = decodeMessage(hex(DNSMASQ_CNAME_AAAA));
    expect(aaaa.answers[1]!.data).toEqual({ type: 'AAAA', address: '2001:db8::10' });
  });

  it('NXDOMAIN and PTR', () => {
    const nx = decodeMessage(hex(DNSMASQ_NXDOMAIN));
    expect(nx.flags.rcode).toBe(3);
    expect(nx.answers).toEqual([]);
    const ptr = decodeMessage(hex(DNSMASQ_PTR));
    expect(ptr.questions[0]!.name).toBe('10.2.0.192.in-addr.arpa');
    expect(ptr.answers[0]!.data).toEqual({ type: 'PTR', target: 'kdc1.example.test' });
  });
});

describe('malformed messages are rejected with DnsFormatError', () => {
  it('every truncation of a real answer', () => {
    const full = hex(DNSMASQ_SRV);
    for (let n = 0; n < full.length; n++) expect(() => decodeMessage(full.subarray(0, n)), `length ${n}`).toThrow(DnsFormatError);
  });

  it('a compression pointer that loops or points forward', () => {
    // header with one question whose name is a pointer to itself (offset 12)
    const self = Buffer.concat([hex('000081800001000000000000'), hex('c00c'), hex('00010001')]);
    expect(() => decodeMessage(self)).toThrow(/does not point backwards/);
    const forward = Buffer.concat([hex('000081800001000000000000'), hex('c010'), hex('00010001'), hex('0161' + '00')]);
    expect(() => decodeMessage(forward)).toThrow(/does not point backwards/);
  });

  it('reserved label types and wrong rdata lengths', () => {
    expect(() => decodeMessage(Buffer.concat([hex('000081800001000000000000'), hex('4100'), hex('00010001')]))).toThrow(/label type 0x40/);
    // an A record with 5 bytes of rdata
    const badA = Buffer.concat([hex('000081800000000100000000'), hex('00'), hex('00010001000000000005'), hex('0102030405')]);
    expect(() => decodeMessage(badA)).toThrow(/A rdata of 5 bytes/);
    // an SRV whose rdlength is longer than its content
    const badSrv = Buffer.concat([
      hex('000081800000000100000000'),
      hex('00'),
      hex('00210001000000000009'),
      hex('000000000058'),
      hex('00'),
      hex('0000'),
    ]);
    expect(() => decodeMessage(badSrv)).toThrow(/SRV rdata length 9 does not match/);
  });
});

describe('round trip', () => {
  const label = fc.stringMatching(/^[a-z0-9_-]{1,20}$/);
  const name = fc.array(label, { minLength: 1, maxLength: 5 }).map((l) => l.join('.'));
  it('decode(encode(m)) = m for SRV, URI, TXT, A, AAAA, PTR records (property)', () => {
    fc.assert(
      fc.property(
        name,
        name,
        fc.integer({ min: 0, max: 65535 }),
        fc.array(fc.string({ maxLength: 30 }), { minLength: 1, maxLength: 3 }),
        (owner, target, port, texts) => {
          const m: DnsMessage = {
            id: port,
            flags: {
              response: true,
              opcode: 0,
              authoritative: false,
              truncated: false,
              recursionDesired: true,
              recursionAvailable: true,
              authenticData: false,
              checkingDisabled: false,
              rcode: 0,
            },
            questions: [{ name: owner, type: DnsType.SRV, class: 1 }],
            answers: [
              { name: owner, type: DnsType.SRV, class: 1, ttl: 60, data: { type: 'SRV', priority: 1, weight: 2, port, target } },
              {
                name: owner,
                type: DnsType.URI,
                class: 1,
                ttl: 60,
                data: { type: 'URI', priority: 3, weight: 4, target: `krb5srv::tcp:${target}` },
              },
              { name: owner, type: DnsType.TXT, class: 1, ttl: 60, data: { type: 'TXT', strings: texts } },
              { name: target, type: DnsType.A, class: 1, ttl: 60, data: { type: 'A', address: '10.1.2.3' } },
              { name: target, type: DnsType.AAAA, class: 1, ttl: 60, data: { type: 'AAAA', address: 'fe80::1:2' } },
              { name: '3.2.1.10.in-addr.arpa', type: DnsType.PTR, class: 1, ttl: 60, data: { type: 'PTR', target } },
            ],
            authorities: [],
            additionals: [],
          };
          expect(decodeMessage(encodeMessage(m))).toEqual(m);
        },
      ),
      { numRuns: 200 },
    );
  });
});
