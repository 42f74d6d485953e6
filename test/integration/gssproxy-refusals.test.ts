// Refusals carry the KDC's reason — a target not allowed for delegation
// (fs2), a non-delegable user (carol, -allow_forwardable), a user with no principal (dave), the
// socket without impersonation, no gssproxy running (connection refused), a hung gssproxy
// (timeout). Each runs as the user in a child process (euid naming) against the real daemon and
// the real KDC; the KDC's own log line for the refusal is checked too. A private second daemon
// (test/harness/gssproxy/gssproxy-daemon.ts) shows the service-selection failures: no service for this
// uid (connection closed without reply) and a service that forces MUTUAL (CONTINUE_NEEDED).
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { join } from 'node:path';
import { bundleGssproxyClient, runGssproxyClientAs, type BundledClient, type ChildResult } from '../harness/gssproxy/gssproxy-run-as.ts';
import { startPrivateGssproxy, type PrivateGssproxy } from '../harness/gssproxy/gssproxy-daemon.ts';
import { makeDeadSocket, socketDir, startHungGssproxy, type FakeGssproxy } from '../harness/gssproxy/gssproxy-fakes.ts';
import { clearGssproxyCache, logMark, logSince, type RealmUser } from '../harness/realm/realm.ts';
import { CredentialError } from '../../src/credentials.ts';
import { GssproxySource } from '../../src/gssproxy/source.ts';
import { MemoryTrace } from '../../src/trace.ts';
import { probeGssproxy } from '../../src/gssproxy/client.ts';
import { Oid, Proc } from '../../src/gssproxy/constants.ts';
import { GssproxyTransportError } from '../../src/gssproxy/errors.ts';
import { GssproxyTransport } from '../../src/gssproxy/transport.ts';
import { XdrWriter } from '../../src/gssproxy/xdr.ts';
import { isAlive, waitFor } from '../harness/common/processes.ts';

const env = inject('realm');
let bundle: BundledClient;
let sockets: { dir: string; cleanup(): void };
let hung: FakeGssproxy;
let deadSocket: string;
let priv: PrivateGssproxy;

beforeAll(async () => {
  bundle = await bundleGssproxyClient();
  sockets = socketDir();
  hung = await startHungGssproxy(join(sockets.dir, 'hung.sock'));
  deadSocket = join(sockets.dir, 'dead.sock');
  makeDeadSocket(deadSocket);
  priv = await startPrivateGssproxy(env);
  clearGssproxyCache(env);
});
afterAll(async () => {
  bundle?.dispose();
  await hung?.close();
  sockets?.cleanup();
  await priv?.stop();
});

function user(name: string): RealmUser {
  const u = env.users[name];
  if (!u) throw new Error(`no realm user ${name}`);
  return u;
}

async function failAs(
  u: RealmUser,
  options: { socketPath?: string; host?: string; callTimeoutMs?: number } = {},
): Promise<Extract<ChildResult, { ok: false }>> {
  const { result } = await runGssproxyClientAs(bundle, u, {
    socketPath: options.socketPath ?? env.gssproxy.socket,
    host: options.host ?? env.hosts.fs1,
    uid: u.uid,
    gid: u.gid,
    username: u.name,
    callTimeoutMs: options.callTimeoutMs,
  });
  if (result.ok) throw new Error(`expected a refusal for ${u.name}, got a token for ${result.client}`);
  expect(result.euid).toBe(u.uid);
  return result;
}

async function failAsRoot(u: RealmUser, host = env.hosts.fs1): Promise<CredentialError> {
  try {
    await new GssproxySource({ socketPath: env.gssproxy.socket, naming: 'uid-name', callTimeoutMs: 10_000 }).acquire({
      host,
      isMountSession: false,
      identity: { uid: u.uid, gid: u.gid, username: u.name },
      signal: AbortSignal.timeout(20_000),
      trace: new MemoryTrace(),
    });
  } catch (e) {
    expect(e).toBeInstanceOf(CredentialError);
    return e as CredentialError;
  }
  throw new Error(`expected a refusal for ${u.name}`);
}

describe('the KDC refuses (real daemon, real KDC)', () => {
  it('alice → cifs/fs2 (not an allowed delegation target): refused, "KDC can\'t fulfill requested option"', async () => {
    const mark = logMark(env.kdc.log);
    const r = await failAs(user('alice'), { host: env.hosts.fs2 });
    expect(r.kind).toBe('refused');
    expect(r.message).toMatch(/^KDC can't fulfill requested option/);
    // the GSS detail (procedure, target, major/minor) is in the trace, once; the cause is the KDC's reason
    expect(r.trace.some((l) => l.includes('GSS status:') && l.includes('cifs@fs2.example.test'))).toBe(true);
    expect(r.message).not.toContain('major 0x');
    const kdc = logSince(env.kdc.log, mark);
    expect(kdc).toContain('PROTOCOL-TRANSITION s4u-client=alice@EXAMPLE.TEST');
    expect(kdc).toMatch(/UNSUPPORTED_S4U2PROXY_REQUEST: .*for cifs\/fs2.example.test@EXAMPLE.TEST, KDC can't fulfill requested option/);
    expect(r.trace.join('\n')).toMatch(/GSSX_INIT_SEC_CONTEXT status: .*KDC can't fulfill requested option/);
  });

  it('carol (-allow_forwardable, "account is sensitive"): refused with the KDC\'s reason', async () => {
    const mark = logMark(env.kdc.log);
    const r = await failAs(user('carol'));
    expect(r.kind).toBe('refused');
    expect(r.message).toMatch(/^KDC can't fulfill requested option/);
    expect(logSince(env.kdc.log, mark)).toMatch(
      /EVIDENCE_TKT_NOT_FORWARDABLE: .*for cifs\/fs1.example.test@EXAMPLE.TEST, KDC can't fulfill requested option/,
    );
  });

  it('dave (local user without a principal): refused, "no principal for dave in the realm"', async () => {
    const mark = logMark(env.kdc.log);
    const r = await failAs(user('dave'));
    expect(r.kind).toBe('refused');
    expect(r.message).toBe('no principal for dave in the realm');
    expect(r.trace.join('\n')).toMatch(
      /the KDC: Client not found in Kerberos database \(S4U2Self found no such client; KDC_ERR_C_PRINCIPAL_UNKNOWN\)/,
    );
    expect(logSince(env.kdc.log, mark)).toMatch(/UNKNOWN_S4U2SELF_PRINCIPAL: .*Client not found in Kerberos database/);
  });

  it('an unknown service principal: service-unknown (the strategy then tries the next host form)', async () => {
    const r = await failAs(user('alice'), { host: 'nosuch.example.test' });
    expect(r.kind).toBe('service-unknown');
    expect(r.message).toMatch(/^Server cifs\/nosuch.example.test@EXAMPLE.TEST not found in Kerberos database/);
  });

  it('the same refusals through uid-name naming as root', async () => {
    const fs2 = await failAsRoot(user('alice'), env.hosts.fs2);
    expect(fs2.kind).toBe('refused');
    expect(fs2.message).toMatch(/^KDC can't fulfill requested option/);
    const carol = await failAsRoot(user('carol'));
    expect(carol.kind).toBe('refused');
    const dave = await failAsRoot(user('dave'));
    expect(dave.kind).toBe('refused');
    expect(dave.message).toBe('no principal for dave in the realm');
  });
});

describe('gssproxy cannot or will not help', () => {
  it('the socket without impersonation: no-credentials (GSS_S_NO_CRED)', async () => {
    const r = await failAs(user('alice'), { socketPath: env.gssproxy.noImpersonateSocket });
    expect(r.kind).toBe('no-credentials');
    expect(r.trace.some((l) => l.includes('GSS status:') && /GSS_S_NO_CRED/.test(l))).toBe(true);
  });

  it('no gssproxy running (a socket file with nothing behind it): unreachable, connection refused', async () => {
    const r = await failAs(user('alice'), { socketPath: deadSocket });
    expect(r.kind).toBe('unreachable');
    expect(r.message).toMatch(/connection refused on .*dead.sock \(ECONNREFUSED\): nothing listens there — gssproxy is not running/);
  });

  it('a hung gssproxy (accepts, never answers): unreachable after the per-call timeout', async () => {
    const t0 = performance.now();
    const r = await failAs(user('alice'), { socketPath: hung.path, callTimeoutMs: 500 });
    expect(r.kind).toBe('unreachable');
    expect(r.message).toMatch(/no reply from gssproxy on .*hung.sock within 500 ms/);
    expect(performance.now() - t0).toBeLessThan(5000);
  });

  it('no service section matches the uid (private daemon, root-only service): no-credentials, "no gssproxy service matches uid 2001"', async () => {
    const r = await failAs(user('alice'), { socketPath: priv.rootOnlySocket });
    expect(r.kind).toBe('no-credentials');
    expect(r.message).toContain(`no gssproxy service matches uid 2001 on socket ${priv.rootOnlySocket}`);
    expect(r.trace.join('\n')).toMatch(/GET_CALL_CONTEXT probe after the closed connection/);
  });

  it('a service that forces MUTUAL_AUTH (private daemon): config, CONTINUE_NEEDED cannot be completed by the kernel', async () => {
    const r = await failAs(user('bob'), { socketPath: priv.mutualSocket });
    expect(r.kind).toBe('config');
    expect(r.message).toMatch(/CONTINUE_NEEDED.*MUTUAL_AUTH/);
  });
});

describe('why the encoder refuses INIT_SEC_CONTEXT without a target name (private daemon, last)', () => {
  it('gssproxy 0.9.1 dies on it: the connection closes and the daemon is gone', async () => {
    // hand-built: the client's encoder would refuse this request
    const w = new XdrWriter();
    w.u32(0).u32(0).u32(0); // call_ctx
    w.u32(0).u32(0).u32(0); // context_handle, cred_handle, target_name: all absent
    w.opaque(Oid.KRB5).u64(0n).u64(0n).u32(0).u32(0).u32(0);
    const transport = new GssproxyTransport({ socketPath: priv.rootOnlySocket, timeoutMs: 5000 });
    const e = await transport.call(Proc.INIT_SEC_CONTEXT, w.finish()).then(
      () => null,
      (x: unknown) => x,
    );
    transport.close();
    expect(e).toBeInstanceOf(GssproxyTransportError);
    expect((e as GssproxyTransportError).kind).toMatch(/eof|reset/);
    await waitFor('private gssproxy to die', () => !isAlive(priv.pid), { timeoutMs: 5000 });
    const after = await probeGssproxy({ socketPath: priv.rootOnlySocket, timeoutMs: 1000 });
    expect(after.matched).toBe(false);
    // refused, or reset when the probe raced the daemon's exit: either way nothing serves the socket
    expect((after as { error: GssproxyTransportError }).error.kind).toMatch(/^(refused|reset)$/);
  });
});
