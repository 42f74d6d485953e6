// A user with no ticket at all gets, through the real gssproxy's S4U2Self +
// S4U2Proxy, a krb5 token the real MIT acceptor (python3-gssapi, cifs/fs1 keytab) accepts as
// that user, with the acceptor's session key equal to ours, and the KDC log shows
// PROTOCOL-TRANSITION and CONSTRAINED-DELEGATION for the user — with both ways of naming the
// user (connect as the user's euid; root naming the uid as GSS_C_NT_STRING_UID_NAME). The
// source returns the raw RFC 2743 token (SPNEGO is src/spnego's), so the acceptor runs in krb5 mode.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { existsSync, readdirSync } from 'node:fs';
import { Acceptor } from '../harness/common/acceptor.ts';
import { bundleGssproxyClient, runGssproxyClientAs, type BundledClient } from '../harness/gssproxy/gssproxy-run-as.ts';
import { clearGssproxyCache, logMark, logSince, type RealmUser } from '../harness/realm/realm.ts';
import { GssproxyClient } from '../../src/gssproxy/client.ts';
import { CredUsage, Oid, OptionName, OptionValue } from '../../src/gssproxy/constants.ts';
import { parseExportedContext, sessionKeyFromExportedContext } from '../../src/gssproxy/exported-context.ts';
import { parseLucidContext } from '../../src/gssproxy/lucid.ts';
import { hostbasedServiceName, stringUidName } from '../../src/gssproxy/protocol.ts';
import { GssproxySource, type GssproxyToken } from '../../src/gssproxy/source.ts';
import { MemoryTrace } from '../../src/trace.ts';
import { CredentialError } from '../../src/credentials.ts';

const env = inject('realm');
const acceptor = new Acceptor(env);
let bundle: BundledClient;
const FS1 = 'cifs/fs1.example.test@EXAMPLE.TEST';

beforeAll(async () => {
  bundle = await bundleGssproxyClient();
});
afterAll(() => {
  acceptor.close();
  bundle?.dispose();
});

function user(name: string): RealmUser {
  const u = env.users[name];
  if (!u) throw new Error(`no realm user ${name}`);
  return u;
}

function asRoot(options: { naming?: 'euid' | 'uid-name' | 'auto'; contextExport?: 'mit' | 'lucid' } = {}): GssproxySource {
  return new GssproxySource({ socketPath: env.gssproxy.socket, callTimeoutMs: 10_000, ...options });
}

function requestFor(u: RealmUser, host = env.hosts.fs1) {
  return {
    host,
    isMountSession: false,
    identity: { uid: u.uid, gid: u.gid, username: u.name },
    signal: AbortSignal.timeout(20_000),
    trace: new MemoryTrace(),
  };
}

/**
 * No ticket the user's upcall could find: no default cache (the realm's default_ccache_name,
 * krb5cc_<uid>), none in gssproxy's. Other files keep scratch caches with random names in the
 * same directory; nothing resolves to them.
 */
function assertNoTicket(u: RealmUser): void {
  expect(readdirSync(env.ccacheDir).filter((f) => f === `krb5cc_${u.uid}` || f.startsWith(`krb5cc_${u.uid}_`))).toEqual([]);
  expect(existsSync(`${env.gssproxy.clientsDir}/krb5cc_${u.uid}`)).toBe(false);
}

async function expectAccepted(token: Buffer, key: Buffer, principal: string): Promise<void> {
  expect(token[0]).toBe(0x60);
  const a = await acceptor.accept(env.keytabs.fs1, token, 'krb5');
  expect(a.ok, a.error).toBe(true);
  expect(a.initiator).toBe(principal);
  expect(a.target).toBe(FS1);
  expect(a.complete).toBe(true);
  expect(a.key).toBe(key.toString('hex'));
}

/** What the KDC did in a log excerpt: AS and TGS exchanges, S4U steps. */
function kdcSummary(log: string): { as: number; tgs: number; s4u2self: number; s4u2proxy: number; text: string } {
  const count = (re: RegExp): number => (log.match(re) ?? []).length;
  const r = {
    as: count(/AS_REQ/g),
    tgs: count(/TGS_REQ/g),
    s4u2self: count(/PROTOCOL-TRANSITION/g),
    s4u2proxy: count(/CONSTRAINED-DELEGATION/g),
  };
  return { ...r, text: `${r.as} AS, ${r.tgs} TGS (${r.s4u2self} S4U2Self, ${r.s4u2proxy} S4U2Proxy)` };
}

const timings: string[] = [];
afterAll(() => {
  if (timings.length) process.stderr.write(`[gssproxy latency]\n  ${timings.join('\n  ')}\n`);
});

describe('impersonation of a user with no ticket', () => {
  it("euid naming: alice's own process (uid 2001) gets a token accepted as alice@EXAMPLE.TEST, keys equal, S4U in the KDC log", async () => {
    const alice = user('alice');
    clearGssproxyCache(env);
    assertNoTicket(alice);
    const mark = logMark(env.kdc.log);
    const { result, wallMs } = await runGssproxyClientAs(bundle, alice, {
      socketPath: env.gssproxy.socket,
      host: env.hosts.fs1,
      uid: alice.uid,
      gid: alice.gid,
      username: alice.name,
    });
    if (!result.ok) throw new Error(`${result.kind}: ${result.message}\n${result.trace.join('\n')}`);
    expect(result.euid).toBe(alice.uid);
    expect(result.naming).toBe('euid');
    expect(result.rpcs).toBe(1);
    expect(result.client).toBe('alice@EXAMPLE.TEST');
    expect(result.service).toBe(FS1);
    expect(result.enctype).toBe(18);
    await expectAccepted(Buffer.from(result.token, 'hex'), Buffer.from(result.key, 'hex'), 'alice@EXAMPLE.TEST');
    const kdc = logSince(env.kdc.log, mark);
    expect(kdc).toContain('PROTOCOL-TRANSITION s4u-client=alice@EXAMPLE.TEST');
    expect(kdc).toContain('CONSTRAINED-DELEGATION s4u-client=alice@EXAMPLE.TEST');
    expect(result.trace.join('\n')).toMatch(/connected to .* as euid 2001 egid 100/);
    timings.push(`euid, cold (S4U2Self+S4U2Proxy): ${result.ms.toFixed(1)} ms in the source, ${wallMs.toFixed(0)} ms child process wall`);

    // the same user again: gssproxy reuses its cached host TGT (no AS exchange); measure what
    // the KDC still sees
    const mark2 = logMark(env.kdc.log);
    const again = await runGssproxyClientAs(bundle, alice, {
      socketPath: env.gssproxy.socket,
      host: env.hosts.fs1,
      uid: alice.uid,
      gid: alice.gid,
      username: alice.name,
    });
    if (!again.result.ok) throw new Error(again.result.message);
    await expectAccepted(Buffer.from(again.result.token, 'hex'), Buffer.from(again.result.key, 'hex'), 'alice@EXAMPLE.TEST');
    const kdc2 = kdcSummary(logSince(env.kdc.log, mark2));
    expect(kdc2.as).toBe(0);
    timings.push(
      `euid, warm: ${again.result.ms.toFixed(1)} ms in the source, ${again.wallMs.toFixed(0)} ms child process wall; KDC saw ${kdc2.text}`,
    );
  });

  it('uid-name naming: root names uid 2001 as GSS_C_NT_STRING_UID_NAME → alice@EXAMPLE.TEST, keys equal, S4U in the KDC log', async () => {
    const alice = user('alice');
    clearGssproxyCache(env);
    assertNoTicket(alice);
    expect(process.geteuid?.()).toBe(0);
    const mark = logMark(env.kdc.log);
    const req = requestFor(alice);
    const t: GssproxyToken = await asRoot({ naming: 'auto' }).acquire(req);
    expect(t.gssproxy.naming).toBe('uid-name');
    expect(t.gssproxy.rpcs).toBe(2);
    expect(t.clientPrincipal).toBe('alice@EXAMPLE.TEST');
    expect(t.servicePrincipal).toBe(FS1);
    await expectAccepted(t.gssToken, t.sessionKey, 'alice@EXAMPLE.TEST');
    const kdc = logSince(env.kdc.log, mark);
    expect(kdc).toContain('PROTOCOL-TRANSITION s4u-client=alice@EXAMPLE.TEST');
    expect(kdc).toContain('CONSTRAINED-DELEGATION s4u-client=alice@EXAMPLE.TEST');
    expect(req.trace.messages('gssproxy').join('\n')).toMatch(
      /GSSX_ACQUIRE_CRED .*\n.*credential for uid 2001: alice@EXAMPLE.TEST[\s\S]*GSSX_INIT_SEC_CONTEXT/,
    );
    timings.push(`uid-name, cold: ${t.gssproxy.ms.toFixed(1)} ms (2 RPCs)`);

    const cached: number[] = [];
    const mark2 = logMark(env.kdc.log);
    for (let i = 0; i < 5; i++) {
      const c = await asRoot({ naming: 'uid-name' }).acquire(requestFor(alice));
      await expectAccepted(c.gssToken, c.sessionKey, 'alice@EXAMPLE.TEST');
      cached.push(c.gssproxy.ms);
    }
    const kdc2 = kdcSummary(logSince(env.kdc.log, mark2));
    expect(kdc2.as).toBe(0);
    cached.sort((a, b) => a - b);
    timings.push(`uid-name, warm: median ${cached[2]!.toFixed(1)} ms, min ${cached[0]!.toFixed(1)} ms (5 calls); KDC saw ${kdc2.text}`);
  });

  it('root without naming anyone on the impersonating service: RPC SYSTEM_ERR → "gssproxy internal error — check its log"', async () => {
    // docs/gssproxy-protocol.md#impersonation (gssproxy PR #30): the daemon goes down the impersonation path with no
    // user name and cannot render the resulting calling error, so the whole RPC fails
    const root = { name: 'root', uid: 0, gid: 0, principal: null, password: null };
    const req = requestFor(root);
    let error: unknown;
    try {
      await asRoot({ naming: 'auto' }).acquire(req);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(CredentialError);
    expect((error as CredentialError).kind).toBe('config');
    expect((error as Error).message).toMatch(/^gssproxy internal error — check its log .*GSSX_INIT_SEC_CONTEXT ended in RPC SYSTEM_ERR/);
    expect(req.trace.messages('gssproxy').join('\n')).toMatch(/as euid 0 egid 0/);
  });
});

describe('latency (measured and printed, not asserted: the machine is shared)', () => {
  it('one RPC round trip, cold and warm tokens through uid-name naming', async () => {
    const median = (v: number[]): number => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
    const client = new GssproxyClient({ socketPath: env.gssproxy.socket, timeoutMs: 10_000 });
    const rtt: number[] = [];
    try {
      for (let i = 0; i < 20; i++) {
        const t0 = performance.now();
        await client.getCallContext();
        rtt.push(performance.now() - t0);
      }
    } finally {
      client.close();
    }
    const grace = user('grace');
    const cold: number[] = [];
    const warm: number[] = [];
    for (let i = 0; i < 5; i++) {
      clearGssproxyCache(env);
      cold.push((await asRoot({ naming: 'uid-name' }).acquire(requestFor(grace))).gssproxy.ms);
      for (let j = 0; j < 2; j++) warm.push((await asRoot({ naming: 'uid-name' }).acquire(requestFor(grace))).gssproxy.ms);
    }
    timings.push(`GET_CALL_CONTEXT round trip on an open connection: median ${median(rtt).toFixed(2)} ms (20 calls)`);
    timings.push(
      `uid-name token (ACQUIRE_CRED + INIT_SEC_CONTEXT, connect included): cold median ${median(cold).toFixed(1)} ms (5, cache cleared: AS + S4U2Self + S4U2Proxy), ` +
        `warm median ${median(warm).toFixed(1)} ms (10: S4U2Self + S4U2Proxy)`,
    );
    expect(cold.length + warm.length).toBe(15);
  });
});

describe('session key: MIT export (fast path and full walk) and linux_lucid_v1, each against the acceptor', () => {
  it('default export: the subkey from the fast path equals the acceptor key; the full walk agrees and consumes every byte', async () => {
    const bob = user('bob');
    const client = new GssproxyClient({ socketPath: env.gssproxy.socket, timeoutMs: 10_000 });
    try {
      const acq = await client.acquireCred({
        desiredName: stringUidName(bob.uid),
        desiredMechs: [Oid.KRB5],
        credUsage: CredUsage.INITIATE,
      });
      expect(acq.status.majorStatus).toBe(0);
      const res = await client.initSecContext({
        credHandle: acq.outputCredHandle,
        targetName: hostbasedServiceName('cifs', env.hosts.fs1),
        mechType: Oid.KRB5,
      });
      expect(res.status.majorStatus).toBe(0);
      const blob = res.contextHandle!.exportedContextToken;
      const fast = sessionKeyFromExportedContext(blob);
      const full = parseExportedContext(blob, { full: true });
      expect(fast.from).toBe('subkey');
      expect(full.full!.trailingBytes).toBe(0);
      expect(full.full!.krb5ContextLayout).toBe('1.19+');
      expect(full.full!.acceptorSubkey).toBeNull();
      expect(full.full!.sendSubkey!.key).toEqual(fast.key);
      expect(full.full!.profileFiles).toEqual([env.krb5Conf]);
      expect(full.principals).toEqual(['bob@EXAMPLE.TEST', FS1]);
      await expectAccepted(res.outputToken!, fast.key, 'bob@EXAMPLE.TEST');
      // the ticket session key is not the SMB key
      expect(full.full!.ticketSessionKey!.key).not.toEqual(fast.key);
    } finally {
      client.close();
    }
  });

  it('linux_lucid_v1 export: the lucid key equals the acceptor key (and the source can use it)', async () => {
    const bob = user('bob');
    const client = new GssproxyClient({ socketPath: env.gssproxy.socket, timeoutMs: 10_000 });
    try {
      const acq = await client.acquireCred({
        desiredName: stringUidName(bob.uid),
        desiredMechs: [Oid.KRB5],
        credUsage: CredUsage.INITIATE,
      });
      const res = await client.initSecContext({
        callCtx: { options: [{ option: OptionName.EXPORTED_CONTEXT_TYPE, value: OptionValue.LINUX_LUCID_V1 }] },
        credHandle: acq.outputCredHandle,
        targetName: hostbasedServiceName('cifs', env.hosts.fs1),
        mechType: Oid.KRB5,
      });
      expect(res.status.majorStatus).toBe(0);
      const blob = res.contextHandle!.exportedContextToken;
      expect(blob.length).toBe(52);
      const lucid = parseLucidContext(blob);
      expect(lucid.flags).toBe(3);
      expect(lucid.enctype).toBe(18);
      await expectAccepted(res.outputToken!, lucid.key, 'bob@EXAMPLE.TEST');
    } finally {
      client.close();
    }
    const t = await asRoot({ naming: 'uid-name', contextExport: 'lucid' }).acquire(requestFor(bob));
    expect(t.gssproxy.keyFrom).toBe('lucid');
    await expectAccepted(t.gssToken, t.sessionKey, 'bob@EXAMPLE.TEST');
  });

  it('both exports of one user, the acceptor agreeing with each', async () => {
    const erin = user('erin');
    const mit = await asRoot({ naming: 'uid-name', contextExport: 'mit' }).acquire(requestFor(erin));
    const lucid = await asRoot({ naming: 'uid-name', contextExport: 'lucid' }).acquire(requestFor(erin));
    expect(mit.gssproxy.keyFrom).toBe('subkey');
    expect(lucid.gssproxy.keyFrom).toBe('lucid');
    await expectAccepted(mit.gssToken, mit.sessionKey, 'erin@EXAMPLE.TEST');
    await expectAccepted(lucid.gssToken, lucid.sessionKey, 'erin@EXAMPLE.TEST');
    expect(mit.enctype).toBe(lucid.enctype);
    expect(mit.sessionKey).not.toEqual(lucid.sessionKey); // two contexts, two random subkeys
  });
});
