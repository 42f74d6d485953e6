// Many concurrent calls (50 users at once) all succeed with the right
// identities, each token checked by the real acceptor (initiator name and session key). Two
// storms: 50 processes each running as its user (euid naming, one connection per process, as
// 50 simultaneous upcalls would), and 50 concurrent acquisitions in one root process (uid-name
// naming, one connection per acquisition).
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Acceptor } from '../harness/common/acceptor.ts';
import { bundleGssproxyClient, runGssproxyClientAs, type BundledClient } from '../harness/gssproxy/gssproxy-run-as.ts';
import { clearGssproxyCache, ensureStormUsers, logMark, logSince, type RealmUser } from '../harness/realm/realm.ts';
import { GssproxySource } from '../../src/gssproxy/source.ts';
import { MemoryTrace } from '../../src/trace.ts';

const env = inject('realm');
const acceptor = new Acceptor(env);
let bundle: BundledClient;
let users: RealmUser[];
const COUNT = 50;

beforeAll(async () => {
  bundle = await bundleGssproxyClient();
  users = ensureStormUsers(env, COUNT);
}, 120_000);
afterAll(() => {
  acceptor.close();
  bundle?.dispose();
});

function percentile(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

describe(`${COUNT} users at once`, () => {
  it(`${COUNT} processes, each as its own uid (euid naming): every token is the right user's, keys equal`, async () => {
    clearGssproxyCache(env);
    const mark = logMark(env.kdc.log);
    const t0 = performance.now();
    const runs = await Promise.all(
      users.map((u) =>
        runGssproxyClientAs(
          bundle,
          u,
          {
            socketPath: env.gssproxy.socket,
            host: env.hosts.fs1,
            uid: u.uid,
            gid: u.gid,
            username: u.name,
          },
          { timeoutMs: 60_000 },
        ),
      ),
    );
    const wall = performance.now() - t0;
    const failures = runs.filter((r) => !r.result.ok).map((r) => JSON.stringify(r.result));
    expect(failures).toEqual([]);
    for (const [i, { result }] of runs.entries()) {
      if (!result.ok) continue;
      const u = users[i]!;
      expect(result.euid).toBe(u.uid);
      expect(result.client).toBe(`${u.name}@EXAMPLE.TEST`);
      const a = await acceptor.accept(env.keytabs.fs1, Buffer.from(result.token, 'hex'), 'krb5');
      expect(a.ok, a.error).toBe(true);
      expect(a.initiator).toBe(`${u.name}@EXAMPLE.TEST`);
      expect(a.key).toBe(result.key);
    }
    const kdc = logSince(env.kdc.log, mark);
    for (const u of users) expect(kdc).toContain(`CONSTRAINED-DELEGATION s4u-client=${u.name}@EXAMPLE.TEST`);
    const ms = runs.map((r) => (r.result.ok ? r.result.ms : 0));
    process.stderr.write(
      `[gssproxy storm/euid] ${COUNT} processes in ${wall.toFixed(0)} ms wall; per token in the source: ` +
        `median ${percentile(ms, 50).toFixed(1)} ms, p95 ${percentile(ms, 95).toFixed(1)} ms, max ${Math.max(...ms).toFixed(1)} ms\n`,
    );
  }, 120_000);

  it(`${COUNT} concurrent acquisitions in one root process (uid-name naming)`, async () => {
    clearGssproxyCache(env);
    const source = new GssproxySource({ socketPath: env.gssproxy.socket, naming: 'auto', callTimeoutMs: 30_000 });
    const traces = users.map(() => new MemoryTrace());
    const t0 = performance.now();
    const tokens = await Promise.all(
      users.map((u, i) =>
        source.acquire({
          host: env.hosts.fs1,
          isMountSession: false,
          identity: { uid: u.uid, gid: u.gid, username: u.name },
          signal: AbortSignal.timeout(60_000),
          trace: traces[i]!,
        }),
      ),
    );
    const wall = performance.now() - t0;
    for (const [i, t] of tokens.entries()) {
      const u = users[i]!;
      expect(t.gssproxy.naming).toBe('uid-name');
      expect(t.clientPrincipal).toBe(`${u.name}@EXAMPLE.TEST`);
      const a = await acceptor.accept(env.keytabs.fs1, t.gssToken, 'krb5');
      expect(a.ok, a.error).toBe(true);
      expect(a.initiator).toBe(`${u.name}@EXAMPLE.TEST`);
      expect(a.key).toBe(t.sessionKey.toString('hex'));
    }
    // every token is a different context: no two session keys alike
    expect(new Set(tokens.map((t) => t.sessionKey.toString('hex'))).size).toBe(COUNT);
    const ms = tokens.map((t) => t.gssproxy.ms);
    // gssproxy listens with a backlog of 10: simultaneous connects beyond it see EAGAIN and wait
    const waited = traces.filter((t) => t.messages('gssproxy').some((m) => m.includes('listen queue was full'))).length;
    process.stderr.write(
      `[gssproxy storm/uid-name] ${COUNT} acquisitions in ${wall.toFixed(0)} ms wall; per token: ` +
        `median ${percentile(ms, 50).toFixed(1)} ms, p95 ${percentile(ms, 95).toFixed(1)} ms, max ${Math.max(...ms).toFixed(1)} ms; ` +
        `${waited} waited for room in the daemon's listen queue\n`,
    );
  }, 120_000);
});
