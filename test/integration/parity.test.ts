// Drop-in parity with Debian's cifs.upcall 7.0 (issue 5 item 3): for the same key description and
// the same user state, both produce a payload a SPNEGO acceptor accepts with the same identity,
// with the same layout — version 2, flags 0, key length, one mech OID, mechToken only, no mutual
// authentication, C's 4 trailing zero bytes. The C program runs on a fake key through the
// keyutils LD_PRELOAD shim (test/harness/stock-upcall.ts); ours through --replay.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { decodeApReq } from '../../src/krb5/messages/index.ts';
import { decodeNegotiationToken, parseInitialContextToken, unframeKrb5ApReq } from '../../src/spnego/index.ts';
import { Acceptor } from '../harness/acceptor.ts';
import { clearGssproxyCache, kinit, type RealmUser } from '../harness/realm.ts';
import { buildChassisBundles, type ChassisBundles } from '../harness/standin/build.ts';
import { runStockUpcall, splitPayload } from '../harness/stock-upcall.ts';

const env = inject('realm');
const acceptor = new Acceptor(env);
const apps: ChildProcess[] = [];
let bundles: ChassisBundles;
let scratch: string;

beforeAll(async () => {
  bundles = await buildChassisBundles('parity');
  scratch = mkdtempSync(join(env.ccacheDir, 'parity-'));
  // cifs.upcall records its instantiate after setuid() to the user: the shim's file must be reachable
  chmodSync(scratch, 0o755);
  // cifs.upcall's behaviour is our "compat" strategy, the default: an empty configuration
  writeFileSync(join(scratch, 'compat.conf'), '[global]\nstrategy = compat\n', { mode: 0o644 });
}, 120_000);

afterAll(() => {
  acceptor.close();
  for (const a of apps) a.kill();
  bundles?.remove();
  rmSync(scratch, { recursive: true, force: true });
});

function appProcess(user: RealmUser, environment: Record<string, string>): number {
  const child = spawn('/bin/sleep', ['120'], { uid: user.uid, gid: user.gid, env: environment, stdio: 'ignore' });
  apps.push(child);
  return child.pid!;
}

interface Case {
  uid: number;
  pid: number;
  sec?: 'krb5' | 'mskrb5';
  ip?: string;
  user?: string;
}

function description(c: Case): string {
  const id = `0x${c.uid.toString(16)}`;
  const ip = c.ip ?? 'ip4=127.0.0.1';
  return `ver=0x2;host=fs1.example.test;${ip};sec=${c.sec ?? 'krb5'};uid=${id};creduid=${id};${c.user ? `user=${c.user};` : ''}pid=0x${c.pid.toString(16)};upcall_target=app`;
}

/** Ours: the production bundle with --replay; C's options where they have the same meaning. */
function ours(desc: string, args: string[]): Buffer {
  const out = join(scratch, `ours-${Date.now()}-${Math.random().toString(36).slice(2)}`);
  const r = spawnSync(process.execPath, [bundles.production, '--replay', desc, '--payload-out', out,
    '--config', join(scratch, 'compat.conf'), ...args], {
    env: { HOME: '/', PATH: '/sbin:/bin:/usr/sbin:/usr/bin' }, encoding: 'utf8', timeout: 60_000,
  });
  if (r.status !== 0) throw new Error(`ours exited ${r.status}\n${r.stderr}`);
  return readFileSync(out);
}

interface Shape {
  version: number;
  flags: number;
  keyLength: number;
  trailing: number;
  mechTypes: string[];
  onlyMechToken: boolean;
  innerOid: string;
  apOptions: number;
  ticketEtype: number;
}

async function accepted(payload: Buffer): Promise<{ shape: Shape; initiator: string | undefined }> {
  const msg = splitPayload(payload);
  const neg = decodeNegotiationToken(msg.blob);
  if (neg.kind !== 'negTokenInit') throw new Error('not a NegTokenInit');
  const inner = parseInitialContextToken(neg.mechToken!);
  const apReq = decodeApReq(unframeKrb5ApReq(neg.mechToken!));
  const a = await acceptor.accept(env.keytabs.fs1, msg.blob);
  expect(a.ok, a.error).toBe(true);
  expect(a.key).toBe(msg.sessionKey.toString('hex'));
  return {
    initiator: a.initiator,
    shape: {
      version: msg.version, flags: msg.flags, keyLength: msg.sessionKey.length, trailing: msg.trailing,
      mechTypes: neg.mechTypes, onlyMechToken: neg.reqFlags === undefined && neg.mechListMIC === undefined,
      innerOid: inner.mechOid, apOptions: apReq.apOptions, ticketEtype: apReq.ticket.encPart.etype,
    },
  };
}

async function compare(c: Case, options: { ourArgs?: string[]; stockArgs?: string[]; stockEnv?: NodeJS.ProcessEnv } = {}) {
  const desc = description(c);
  const stock = runStockUpcall(desc, {
    args: ['-k', env.krb5Conf, ...(options.stockArgs ?? [])], scratchDir: scratch, ...(options.stockEnv ? { env: options.stockEnv } : {}),
  });
  expect(stock.payload, `cifs.upcall produced no payload:\n${stock.syslog.join('\n')}`).not.toBeNull();
  const c1 = await accepted(stock.payload!);
  const c2 = await accepted(ours(desc, ['-k', env.krb5Conf, ...(options.ourArgs ?? [])]));
  expect(c2.initiator).toBe(c1.initiator);
  expect(c2.shape).toEqual(c1.shape);
  return c1;
}

describe('parity with cifs.upcall 7.0', () => {
  it('own ticket in a FILE cache (KRB5CCNAME from the caller)', async () => {
    const bob = env.users.bob!;
    const cc = `FILE:${env.ccacheDir}/parity_bob`;
    kinit(env, bob, cc);
    const pid = appProcess(bob, { KRB5CCNAME: cc });
    const r = await compare({ uid: bob.uid, pid });
    expect(r.initiator).toBe('bob@EXAMPLE.TEST');
    expect(r.shape).toMatchObject({ version: 2, flags: 0, keyLength: 32, trailing: 4, mechTypes: ['1.2.840.113554.1.2.2'], onlyMechToken: true, apOptions: 0 });
  });

  it('sec=mskrb5: the MS OID in the mech list, the standard OID inside', async () => {
    const bob = env.users.bob!;
    const cc = `FILE:${env.ccacheDir}/parity_bob_ms`;
    kinit(env, bob, cc);
    const r = await compare({ uid: bob.uid, pid: appProcess(bob, { KRB5CCNAME: cc }), sec: 'mskrb5' });
    expect(r.shape.mechTypes).toEqual(['1.2.840.48018.1.2.2']);
    expect(r.shape.innerOid).toBe('1.2.840.113554.1.2.2');
  });

  it('IPv6 description (the kernel\'s expanded ip6= form)', async () => {
    const bob = env.users.bob!;
    const cc = `FILE:${env.ccacheDir}/parity_bob_v6`;
    kinit(env, bob, cc);
    await compare({
      uid: bob.uid, pid: appProcess(bob, { KRB5CCNAME: cc }), ip: 'ip6=0000:0000:0000:0000:0000:0000:0000:0001',
    });
  });

  it('no ticket: through gssproxy impersonation (C needs GSS_USE_PROXY in request-key.d, we talk to the socket)', async () => {
    const alice = env.users.alice!;
    clearGssproxyCache(env);
    const pid = appProcess(alice, { KRB5CCNAME: `FILE:${env.ccacheDir}/parity_absent_alice` });
    const r = await compare({ uid: alice.uid, pid, user: 'root' }, {
      ourArgs: ['--gssproxy-socket', env.gssproxy.socket],
      stockEnv: { GSS_USE_PROXY: 'yes', GSSPROXY_SOCKET: env.gssproxy.socket, GSSPROXY_BEHAVIOR: 'REMOTE_ONLY' },
    });
    expect(r.initiator).toBe('alice@EXAMPLE.TEST');
  });

  it('user= keytab fallback for the mount\'s own session (root, user=CLIENT$)', async () => {
    const r = await compare({ uid: 0, pid: 0, user: 'CLIENT$' }, {
      ourArgs: ['-K', env.keytabs.machine], stockArgs: ['-K', env.keytabs.machine],
    });
    expect(r.initiator).toBe('CLIENT$@EXAMPLE.TEST');
  });
});
