// Failures of the own-ticket source end within a bounded time, with a clear cause and the
// CredentialError kind the strategy acts on (src/credentials.ts), against the real components:
//   expired TGT (kinit -l 5s)             no-credentials, no KDC traffic
//   unknown service                       service-unknown (the pipeline's next host form)
//   KDC down (nothing on the port)        unreachable, at once (ICMP / RST)
//   KDC silent (a listener that never     unreachable, bounded by request_timeout or by the
//     answers, UDP and TCP)               upcall's budget (the request's AbortSignal)
//   clock skew                            the real KDC answers KRB_AP_ERR_SKEW to a TGS-REQ whose
//                                         authenticator time is an hour off: we make the cache
//                                         say so (FILE v4 header tag 1, KDC time offset −3600 s);
//                                         with kdc_timesync (default) one retry with the KDC's time
//                                         succeeds, with kdc_timesync = 0 it is 'refused'
//   corrupt cache                         truncated, garbage, another user's, a ticket that is
//                                         not DER, missing: no-credentials (cifs.upcall treats an
//                                         unreadable cache as absent) or protocol (bad ticket)
import { chownSync, readFileSync, writeFileSync, chmodSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Acceptor } from '../harness/common/acceptor.ts';
import { bundleKrb5Initiator, runKrb5InitiatorAs, type BundledInitiator, type Krb5ChildResult } from '../harness/realm/krb5-run-as.ts';
import { krb5ConfVariant, tgsLines, workDir } from '../harness/realm/krb5-test-users.ts';
import { findFreePort, sleep } from '../harness/common/processes.ts';
import { kinit, logMark, logSince, type RealmUser } from '../harness/realm/realm.ts';
import { encodeFileCcache, parseFileCcache } from '../../src/krb5/ccache/marshal.ts';

const env = inject('realm');
const acceptor = new Acceptor(env);
let bundle: BundledInitiator;
let dir: string;
let alice: RealmUser;
const rand = (): string => Math.random().toString(36).slice(2, 8);
const figures: string[] = [];

/** a cache of alice's, made by kinit (optionally with a short lifetime) */
function aliceCache(tag: string, lifetime?: string): string {
  const path = join(env.ccacheDir, `k5fail_${tag}_${rand()}`);
  kinit(env, alice, `FILE:${path}`, lifetime ? { lifetime } : {});
  return path;
}

/** write `bytes` as a cache file owned by `owner` (mode 0600) */
function plant(bytes: Buffer, owner: RealmUser, tag: string): string {
  const path = join(env.ccacheDir, `k5fail_${tag}_${rand()}`);
  writeFileSync(path, bytes, { mode: 0o600 });
  chownSync(path, owner.uid, owner.gid);
  return path;
}

async function acquire(
  path: string,
  options: { conf?: string; host?: string; budgetMs?: number; kdcTimeoutMs?: number } = {},
): Promise<Krb5ChildResult> {
  const run = await runKrb5InitiatorAs(
    bundle,
    alice,
    {
      source: 'ccache',
      hosts: [options.host ?? env.hosts.fs1],
      probedCcacheName: `FILE:${path}`,
      ...(options.budgetMs !== undefined ? { budgetMs: options.budgetMs } : {}),
      ...(options.kdcTimeoutMs !== undefined ? { kdcTimeoutMs: options.kdcTimeoutMs } : {}),
    },
    { krb5Conf: options.conf ?? env.krb5Conf },
  );
  return run.results[0]!;
}

function failed(r: Krb5ChildResult): { kind: string; message: string; ms: number } {
  if (r.ok) throw new Error(`expected a failure, got a token for ${r.client}`);
  return { kind: r.kind, message: r.message, ms: r.ms };
}

/** a krb5.conf whose EXAMPLE.TEST KDC is 127.0.0.1:port */
function confWithKdc(port: number, name: string, extra: string[] = []): string {
  return krb5ConfVariant(env.krb5Conf, join(dir, name), extra, (text) =>
    text.replace(`kdc = 127.0.0.1:${env.kdc.port}`, `kdc = 127.0.0.1:${port}`),
  );
}

let expiringCache = '';
let expiringSince = 0;

beforeAll(async () => {
  dir = workDir(env, 'krb5-failures');
  bundle = await bundleKrb5Initiator();
  alice = env.users.alice!;
  // started first, checked last: its 5 s run out while the other cases run
  expiringCache = aliceCache('expiring', '5s');
  expiringSince = Date.now();
}, 60_000);

afterAll(() => {
  acceptor.close();
  bundle?.dispose();
  process.stderr.write(`[krb5-failures figures]\n${figures.join('\n')}\n`);
});

describe('unknown service', () => {
  it('KDC_ERR_S_PRINCIPAL_UNKNOWN → service-unknown, after the canonicalize request and one plain retry', async () => {
    const r = await acquire(aliceCache('unknown'), { host: 'nosuch.example.test' });
    const f = failed(r);
    expect(f.kind).toBe('service-unknown');
    expect(f.message).toMatch(
      /^EXAMPLE\.TEST KDC refused TGS-REQ for cifs\/nosuch\.example\.test@EXAMPLE\.TEST: server not found in Kerberos database \(KDC_ERR_S_PRINCIPAL_UNKNOWN, 7\)/,
    );
    expect(r.exchanges.map((x) => [x.subject, x.errorCode])).toEqual([
      ['cifs/nosuch.example.test@EXAMPLE.TEST (canonicalize)', 7],
      ['cifs/nosuch.example.test@EXAMPLE.TEST', 7],
    ]);
    expect(f.ms).toBeLessThan(2000);
    figures.push(`unknown service: 2 KDC round trips, ${f.ms.toFixed(1)} ms`);
  });

  it("referral realm: the fallback realm (upper-cased parent domain) is the client's, one plain retry there", async () => {
    const path = join(env.ccacheDir, `k5fail_refunknown_${rand()}`);
    kinit(env, alice, `FILE:${path}`, { krb5Conf: env.krb5ConfReferrals });
    const r = await acquire(path, { host: 'nosuch.example.test', conf: env.krb5ConfReferrals });
    expect(failed(r).kind).toBe('service-unknown');
    expect(r.trace.some((l) => l.includes('fallback realm of nosuch.example.test is EXAMPLE.TEST'))).toBe(true);
    expect(r.exchanges).toHaveLength(2);
  });
});

describe('KDC down or silent', () => {
  it('nothing listening on the KDC port: unreachable at once (UDP ICMP and TCP RST)', async () => {
    const port = findFreePort(35000, 36000);
    const conf = confWithKdc(port, 'krb5-dead-kdc.conf');
    const f = failed(await acquire(aliceCache('dead'), { conf }));
    expect(f.kind).toBe('unreachable');
    expect(f.message).toContain(
      `Cannot contact any KDC for realm "EXAMPLE.TEST": 127.0.0.1:${port} udp: connection refused; 127.0.0.1:${port} tcp: connection refused`,
    );
    expect(f.ms).toBeLessThan(1500);
    figures.push(`KDC down (port closed): unreachable after ${f.ms.toFixed(1)} ms`);
  });

  describe('a listener that never answers', () => {
    let port = 0;
    let udp: UdpSocket;
    let tcp: Server;
    const sockets: Socket[] = [];
    let datagrams = 0;

    beforeAll(async () => {
      port = findFreePort(36000, 37000);
      udp = createSocket('udp4');
      udp.on('message', () => {
        datagrams++;
      });
      await new Promise<void>((resolve) => udp.bind(port, '127.0.0.1', resolve));
      tcp = createServer((s) => {
        sockets.push(s);
        s.on('error', () => undefined);
      });
      await new Promise<void>((resolve) => tcp.listen(port, '127.0.0.1', resolve));
    });
    afterAll(async () => {
      for (const s of sockets) s.destroy();
      udp?.close();
      await new Promise<void>((resolve) => (tcp ? tcp.close(() => resolve()) : resolve()));
    });

    it('bounded by krb5.conf request_timeout (3 s)', async () => {
      const conf = confWithKdc(port, 'krb5-silent-kdc.conf', ['request_timeout = 3']);
      const before = datagrams;
      const f = failed(await acquire(aliceCache('silent'), { conf, kdcTimeoutMs: 500 }));
      expect(f.kind).toBe('unreachable');
      expect(f.message).toMatch(/Cannot contact any KDC for realm "EXAMPLE\.TEST": .*udp: no reply.*tcp: no reply.*gave up after 3000 ms/);
      expect(datagrams).toBeGreaterThan(before);
      expect(f.ms).toBeGreaterThan(2900);
      expect(f.ms).toBeLessThan(4000);
      figures.push(`KDC silent, request_timeout = 3: unreachable after ${f.ms.toFixed(0)} ms`);
    });

    it("bounded by the upcall's time budget (AbortSignal after 2.5 s)", async () => {
      const conf = confWithKdc(port, 'krb5-silent-kdc-nolimit.conf');
      const f = failed(await acquire(aliceCache('silent2'), { conf, budgetMs: 2500 }));
      expect(f.kind).toBe('unreachable');
      expect(f.message).toMatch(
        /^the upcall's time budget ran out after \d+ ms while waiting for a KDC of EXAMPLE\.TEST \(TGS-REQ for cifs\/fs1\.example\.test@EXAMPLE\.TEST/,
      );
      expect(f.ms).toBeGreaterThan(2400);
      expect(f.ms).toBeLessThan(3500);
      figures.push(`KDC silent, 2.5 s budget: unreachable after ${f.ms.toFixed(0)} ms`);
    });
  });
});

describe('clock skew (the cache claims the KDC is an hour behind)', () => {
  function skewedCache(): string {
    const path = aliceCache('skew');
    const bytes = readFileSync(path);
    // FILE v4 header: 05 04, u16 length 12, tag 1 (KDC time offset), u16 8, i32 seconds, i32 µs
    expect(bytes.subarray(0, 8).toString('hex')).toBe('0504000c00010008');
    bytes.writeInt32BE(-3600, 8);
    writeFileSync(path, bytes);
    return path;
  }

  it('kdc_timesync (default): the KDC says KRB_AP_ERR_SKEW, one retry with its time succeeds, the acceptor agrees', async () => {
    const mark = logMark(env.kdc.log);
    const r = await acquire(skewedCache());
    if (!r.ok) throw new Error(r.message);
    expect(r.exchanges.map((x) => x.errorCode)).toEqual([37, undefined]);
    expect(r.skewCorrected).toBe(true);
    expect(Math.abs(r.kdcOffsetSeconds)).toBeLessThan(2);
    expect(r.trace.some((l) => /says our clock is off \(KRB_AP_ERR_SKEW\).* was (59|60|61) min behind; retrying once/.test(l))).toBe(true);
    expect(logSince(env.kdc.log, mark)).toMatch(
      /TGS_REQ.*alice@EXAMPLE\.TEST for cifs\/fs1\.example\.test@EXAMPLE\.TEST, Clock skew too great/,
    );
    // the authenticator of our token uses the corrected time too: the acceptor's skew check passes
    const a = await acceptor.accept(env.keytabs.fs1, Buffer.from(r.token, 'hex'), 'krb5');
    expect(a.ok, a.error).toBe(true);
    expect(a.key).toBe(r.key);
    figures.push(`skew corrected: 2 KDC round trips, ${r.ms.toFixed(1)} ms`);
  });

  it('kdc_timesync = 0: refused, saying by how much the clocks differ', async () => {
    const conf = krb5ConfVariant(env.krb5Conf, join(dir, 'krb5-no-timesync.conf'), ['kdc_timesync = 0']);
    const r = await acquire(skewedCache(), { conf });
    const f = failed(r);
    expect(f.kind).toBe('refused');
    expect(f.message).toMatch(
      /clock skew too great \(KRB_AP_ERR_SKEW, 37\).* — the KDC's time is \S+, ours was \S+ \((59|60|61) min behind; KDC time offset in use -3600 s\)/,
    );
    expect(r.exchanges).toHaveLength(1);
    expect(f.ms).toBeLessThan(1000);
  });
});

describe('corrupt or foreign caches', () => {
  it('a missing cache', async () => {
    const f = failed(await acquire(join(env.ccacheDir, `k5fail_absent_${rand()}`)));
    expect(f.kind).toBe('no-credentials');
    expect(f.message).toMatch(/^no credential cache \(FILE:.*k5fail_absent_\w+\)$/);
  });

  it('truncated inside the header: corrupt', async () => {
    const f = failed(await acquire(plant(readFileSync(aliceCache('t')).subarray(0, 30), alice, 'trunc')));
    expect(f.kind).toBe('no-credentials');
    expect(f.message).toMatch(/ is corrupt: /);
    expect(f.ms).toBeLessThan(1000);
  });

  it('truncated inside the TGT record: no TGT (an incomplete tail record ends the cache)', async () => {
    const whole = readFileSync(aliceCache('t2'));
    const f = failed(await acquire(plant(whole.subarray(0, whole.length - 100), alice, 'trunc2')));
    expect(f.kind).toBe('no-credentials');
    expect(f.message).toMatch(
      /\(alice@EXAMPLE\.TEST\) holds neither a valid ticket for cifs\/fs1\.example\.test@EXAMPLE\.TEST nor a TGT krbtgt\/EXAMPLE\.TEST@EXAMPLE\.TEST/,
    );
  });

  it('garbage: corrupt', async () => {
    const garbage = Buffer.from(Array.from({ length: 700 }, (_, i) => (i * 73 + 11) & 0xff));
    const f = failed(await acquire(plant(garbage, alice, 'garbage')));
    expect(f.kind).toBe('no-credentials');
    expect(f.message).toMatch(/ is corrupt: /);
  });

  it("another user's cache (readable, planted under the name alice uses): refused by the owner check", async () => {
    const bob = env.users.bob!;
    const path = join(env.ccacheDir, `k5fail_bob_${rand()}`);
    kinit(env, bob, `FILE:${path}`);
    chmodSync(path, 0o644);
    const f = failed(await acquire(path));
    expect(f.kind).toBe('no-credentials');
    expect(f.message).toMatch(new RegExp(`was refused: refusing credential cache .*: owned by uid ${bob.uid}, not by uid ${alice.uid}`));
  });

  it('a TGT whose ticket is not DER: protocol, nothing sent', async () => {
    const path = aliceCache('badticket');
    const parsed = parseFileCcache(readFileSync(path));
    // kinit writes config entries (X-CACHECONF:) too: keep them, spoil only the TGT's ticket
    const records = parsed.records.map((x) => x.credential);
    expect(records.filter((c) => c.server.components[0] === 'krbtgt')).toHaveLength(1);
    const bytes = encodeFileCcache({
      principal: parsed.principal,
      kdcTimeOffset: parsed.kdcTimeOffset,
      credentials: records.map((c) => (c.server.components[0] === 'krbtgt' ? { ...c, ticket: Buffer.from('not a ticket at all') } : c)),
    });
    const r = await acquire(plant(bytes, alice, 'badticket2'));
    const f = failed(r);
    expect(f.kind).toBe('protocol');
    expect(f.message).toMatch(/the cached krbtgt\/EXAMPLE\.TEST@EXAMPLE\.TEST does not hold a DER Ticket/);
    expect(r.exchanges).toEqual([]);
  });
});

describe('expired TGT', () => {
  it('kinit -l 5s, then: no-credentials, "expired … ago", no KDC traffic', async () => {
    const left = expiringSince + 6500 - Date.now();
    if (left > 0) await sleep(left);
    const mark = logMark(env.kdc.log);
    const r = await acquire(expiringCache);
    const f = failed(r);
    expect(f.kind).toBe('no-credentials');
    expect(f.message).toMatch(
      /^TGT krbtgt\/EXAMPLE\.TEST@EXAMPLE\.TEST in FILE:.* expired \d+ s ago \(at \S+Z\), and there is no valid ticket for cifs\/fs1\.example\.test@EXAMPLE\.TEST$/,
    );
    expect(r.exchanges).toEqual([]);
    expect(tgsLines(logSince(env.kdc.log, mark), 'alice@EXAMPLE.TEST')).toEqual([]);
    expect(f.ms).toBeLessThan(1000);
  }, 30_000);

  it('but a still-valid cifs/ ticket in that cache is used without the KDC (cifs.upcall 7.2+)', async () => {
    const path = aliceCache('svc', '10h');
    const first = await acquire(path);
    expect(first.ok).toBe(true);
    // keep only the service ticket: the TGT is gone, the cifs/ ticket remains
    const parsed = parseFileCcache(readFileSync(path));
    const onlyService = parsed.records.map((x) => x.credential).filter((c) => c.server.components[0] === 'cifs');
    const trimmed = plant(
      encodeFileCcache({ principal: parsed.principal, kdcTimeOffset: parsed.kdcTimeOffset, credentials: onlyService }),
      alice,
      'svconly',
    );
    const r = await acquire(trimmed);
    if (!r.ok) throw new Error(r.message);
    expect(r.ticketFrom).toBe('cache');
    expect(r.exchanges).toEqual([]);
    expect(r.trace.some((l) => l.includes('accepted: valid ticket cifs/fs1.example.test@EXAMPLE.TEST'))).toBe(true);
    const a = await acceptor.accept(env.keytabs.fs1, Buffer.from(r.token, 'hex'), 'krb5');
    expect(a.ok, a.error).toBe(true);
    expect(a.key).toBe(r.key);
  });
});
