// Reference behaviour of Debian's cifs.upcall 7.0 on this test bed (through the keyutils shim):
// what our parity tests compare against. If these fail, the oracle is broken, not our code.
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { Acceptor } from '../harness/common/acceptor.ts';
import { clearGssproxyCache, kinit, logMark, logSince, type RealmUser } from '../harness/realm/realm.ts';
import { runStockUpcall, splitPayload } from '../harness/common/stock-upcall.ts';

const env = inject('realm');
const acceptor = new Acceptor(env);
const apps: ChildProcess[] = [];
afterAll(() => {
  acceptor.close();
  for (const a of apps) a.kill();
});

/** A long-running "application" process of the user, as the kernel's pid= would name it. */
function appProcess(user: RealmUser, environment: Record<string, string>): number {
  const child = spawn('/bin/sleep', ['120'], { uid: user.uid, gid: user.gid, env: environment, stdio: 'ignore' });
  apps.push(child);
  return child.pid!;
}

function description(user: RealmUser, pid: number, host = 'fs1.example.test'): string {
  const id = `0x${user.uid.toString(16)}`;
  return `ver=0x2;host=${host};ip4=127.0.0.1;sec=krb5;uid=${id};creduid=${id};user=root;pid=0x${pid.toString(16)};upcall_target=app`;
}

describe("Debian's cifs.upcall through the keyutils shim", () => {
  it('native path: a user with a TGT in a FILE cache', async () => {
    const bob = env.users.bob!;
    const cc = `FILE:${env.ccacheDir}/stock_bob`;
    kinit(env, bob, cc);
    const pid = appProcess(bob, { KRB5CCNAME: cc });
    const r = runStockUpcall(description(bob, pid), { args: ['-k', env.krb5Conf], scratchDir: env.ccacheDir });
    expect(r.syslog.join('\n')).toContain('handle_krb5_mech: using native krb5');
    expect(r.payload, r.syslog.join('\n')).not.toBeNull();
    const msg = splitPayload(r.payload!);
    expect([msg.version, msg.flags, msg.sessionKey.length, msg.trailing]).toEqual([2, 0, 32, 4]);
    const a = await acceptor.accept(env.keytabs.fs1, msg.blob);
    expect(a.ok, a.error).toBe(true);
    expect(a.initiator).toBe('bob@EXAMPLE.TEST');
    expect(a.key).toBe(msg.sessionKey.toString('hex'));
  });

  it('GSS path through gssproxy impersonation: a user with no ticket at all', async () => {
    const alice = env.users.alice!;
    clearGssproxyCache(env);
    const pid = appProcess(alice, { KRB5CCNAME: `FILE:${env.ccacheDir}/absent_alice` });
    const mark = logMark(env.kdc.log);
    const r = runStockUpcall(description(alice, pid), {
      args: ['-k', env.krb5Conf],
      scratchDir: env.ccacheDir,
      env: { GSS_USE_PROXY: 'yes', GSSPROXY_SOCKET: env.gssproxy.socket, GSSPROXY_BEHAVIOR: 'REMOTE_ONLY' },
    });
    expect(r.syslog.join('\n')).toContain('handle_krb5_mech: using GSS-API');
    expect(r.payload, r.syslog.join('\n')).not.toBeNull();
    const msg = splitPayload(r.payload!);
    const a = await acceptor.accept(env.keytabs.fs1, msg.blob);
    expect(a.ok, a.error).toBe(true);
    expect(a.initiator).toBe('alice@EXAMPLE.TEST');
    expect(a.key).toBe(msg.sessionKey.toString('hex'));
    const log = logSince(env.kdc.log, mark);
    expect(log).toContain('PROTOCOL-TRANSITION s4u-client=alice@EXAMPLE.TEST');
    // cifs.upcall 7.0 first tries user= (root) from the default keytab as the user: wasted work
    expect(r.syslog.join('\n')).toMatch(/keytab/);
  });

  it('failure exits 0 and never negates the key (the C bugs we do not copy)', () => {
    const dave = env.users.dave!;
    const pid = appProcess(dave, { KRB5CCNAME: `FILE:${env.ccacheDir}/absent_dave` });
    const r = runStockUpcall(description(dave, pid), { args: ['-k', env.krb5Conf], scratchDir: env.ccacheDir });
    expect(r.payload).toBeNull();
    expect(r.negated).toBe(false);
    expect(r.status).toBe(0);
  });
});
