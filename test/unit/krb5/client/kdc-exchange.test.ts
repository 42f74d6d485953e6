// The reply classifier given to the KDC transport (docs/kerberos.md#kdc-transport: KDC_ERR_SVC_UNAVAILABLE → next
// KDC, KRB_ERR_RESPONSE_TOO_BIG over UDP → TCP, undecodable → ignore that server) and the
// session's error mapping for what happens before any packet leaves.
import { describe, expect, it } from 'vitest';
import { KdcSession, classifyKdcReply } from '../../../../src/krb5/client/kdc-exchange.ts';
import { Krb5ClientError } from '../../../../src/krb5/client/errors.ts';
import { Krb5Config } from '../../../../src/krb5/config/krb5-config.ts';
import { ErrorCode } from '../../../../src/krb5/iana/index.ts';
import { encodeKrbError } from '../../../../src/krb5/messages/index.ts';
import { MemoryTrace } from '../../../../src/trace.ts';

const krbError = (code: number): Buffer =>
  encodeKrbError({
    stime: new Date(1_800_000_000_000),
    susec: 0,
    errorCode: code,
    server: { nameType: 2, components: ['krbtgt', 'EXAMPLE.TEST'], realm: 'EXAMPLE.TEST' },
  });

describe('classifyKdcReply', () => {
  it('KDC_ERR_SVC_UNAVAILABLE: try the next KDC, on either transport', () => {
    expect(classifyKdcReply(krbError(ErrorCode.KDC_ERR_SVC_UNAVAILABLE), 'udp')).toBe('svc-unavailable');
    expect(classifyKdcReply(krbError(ErrorCode.KDC_ERR_SVC_UNAVAILABLE), 'tcp')).toBe('svc-unavailable');
  });

  it('RESPONSE_TOO_BIG: over UDP means "use TCP"; over TCP it is final', () => {
    expect(classifyKdcReply(krbError(ErrorCode.KRB_ERR_RESPONSE_TOO_BIG), 'udp')).toBe('too-big');
    expect(classifyKdcReply(krbError(ErrorCode.KRB_ERR_RESPONSE_TOO_BIG), 'tcp')).toBe('final');
  });

  it('every other KRB-ERROR, and AS-REP / TGS-REP by their tag, end the exchange', () => {
    for (const code of [6, 7, 13, 14, 24, 25, 32, 37, 41, 60, 68]) expect(classifyKdcReply(krbError(code), 'udp')).toBe('final');
    expect(classifyKdcReply(Buffer.from([0x6b, 0x00]), 'udp')).toBe('final');
    expect(classifyKdcReply(Buffer.from([0x6d, 0x00]), 'tcp')).toBe('final');
  });

  it('anything else, or a KRB-ERROR tag with garbage behind it, is unusable', () => {
    expect(classifyKdcReply(Buffer.from('7e03020105', 'hex'), 'udp')).toBe('invalid');
    expect(classifyKdcReply(Buffer.from('300100', 'hex'), 'udp')).toBe('invalid');
    expect(classifyKdcReply(Buffer.alloc(0), 'udp')).toBe('invalid');
  });
});

describe('KdcSession before anything is sent', () => {
  const config = Krb5Config.fromText('[libdefaults]\n  dns_lookup_kdc = false\n[realms]\n  EXAMPLE.TEST = {\n    kdc = 127.0.0.1:1\n  }\n');

  it('a realm without KDC entries and DNS off: config', async () => {
    const s = new KdcSession({ config, trace: new MemoryTrace() });
    const e = await s.send('NOWHERE.TEST', Buffer.from([0x6c]), 'TGS-REQ', 'cifs/x@NOWHERE.TEST').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(Krb5ClientError);
    expect(e).toMatchObject({
      kind: 'config',
      message: expect.stringMatching(
        /Cannot find KDC for realm "NOWHERE\.TEST": no \[realms\] NOWHERE\.TEST kdc entry and dns_lookup_kdc is off/,
      ),
    });
    expect(s.exchanges).toEqual([]);
  });

  it('an upcall budget already spent: unreachable, naming the budget', async () => {
    const s = new KdcSession({ config, trace: new MemoryTrace(), signal: AbortSignal.abort() });
    const e = await s.send('EXAMPLE.TEST', Buffer.from([0x6c]), 'TGS-REQ', 'cifs/x@EXAMPLE.TEST').catch((x: unknown) => x);
    expect(e).toMatchObject({
      kind: 'unreachable',
      message: expect.stringMatching(/^the upcall's time budget ran out after \d+ ms while waiting for a KDC of EXAMPLE\.TEST/),
    });
  });
});
