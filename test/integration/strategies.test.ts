// Every credential strategy against the real MIT KDC and the real gssproxy,
// through the production bundle with --replay as root (the pipeline request-key runs: KRB5CCNAME
// probed from the triggering process, privilege drop, the strategy). The evidence for which way
// the ticket came is in the daemons' own logs between two marks: a plain TGS-REQ from the user's
// TGT, or S4U2Self (PROTOCOL-TRANSITION) + S4U2Proxy for the user, and the connections gssproxy
// accepted. Every payload is accepted by MIT's acceptor as the right user with the payload's key.
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Acceptor } from '../harness/common/acceptor.ts';
import { krb5TestUsers, workDir } from '../harness/realm/krb5-test-users.ts';
import { kinit, logMark, logSince, type RealmUser } from '../harness/realm/realm.ts';
import { buildChassisBundles, type ChassisBundles } from '../harness/standin/build.ts';
import { hex, runBundle, startPlainCaller, type CallerProcess } from '../harness/standin/harness.ts';

const env = inject('realm');
const acceptor = new Acceptor(env);
let bundles: ChassisBundles;
let dir: string;
let users: Record<'ticket' | 'none' | 'expired' | 'broken', RealmUser>;
const callers: CallerProcess[] = [];
const callerOf = new Map<string, CallerProcess>();
const rand = (): string => Math.random().toString(36).slice(2, 8);

/** Flip a byte inside the enc-part of the first ticket of a FILE cache: the KDC refuses it (integrity). */
function corruptFirstTicket(path: string): void {
  const b = readFileSync(path);
  for (let i = 4; i + 4 < b.length; i++) {
    // a ccache `data` field holding a Ticket: u32 length, then [APPLICATION 1] with a 2-byte length
    if (b[i] !== 0x61 || b[i + 1] !== 0x82) continue;
    const derLength = 4 + b.readUInt16BE(i + 2);
    if (b.readUInt32BE(i - 4) !== derLength) continue;
    b[i + derLength - 8] ^= 0x55; // the tail of the cipher text
    writeFileSync(path, b);
    return;
  }
  throw new Error(`no ticket found in ${path}`);
}

beforeAll(async () => {
  dir = workDir(env, 'strategies');
  bundles = await buildChassisBundles('strategies');
  const made = krb5TestUsers(env, ['sticket', 'snone', 'sexpired', 'sbroken'], 2410);
  users = { ticket: made.sticket!, none: made.snone!, expired: made.sexpired!, broken: made.sbroken! };
  const cacheOf = (u: RealmUser): string => `FILE:${env.ccacheDir}/strat_${u.name}_${rand()}`;
  const ticketCache = cacheOf(users.ticket);
  kinit(env, users.ticket, ticketCache);
  const expiredCache = cacheOf(users.expired);
  kinit(env, users.expired, expiredCache, { lifetime: '3s' });
  const brokenCache = cacheOf(users.broken);
  kinit(env, users.broken, brokenCache);
  corruptFirstTicket(brokenCache.slice('FILE:'.length));
  const caches: [RealmUser, string][] = [
    [users.ticket, ticketCache],
    [users.none, `FILE:${dir}/no-such-cache-${rand()}`],
    [users.expired, expiredCache],
    [users.broken, brokenCache],
  ];
  for (const [u, cache] of caches) {
    const c = await startPlainCaller({ KRB5CCNAME: cache });
    callers.push(c);
    callerOf.set(u.name, c);
  }
  await new Promise((r) => setTimeout(r, 4000)); // let the 3 s TGT expire
}, 120_000);

afterAll(async () => {
  acceptor.close();
  for (const c of callers) await c.stop();
  bundles?.remove();
});

interface Outcome {
  status: number;
  stderr: string;
  key: Buffer | null;
  blob: Buffer | null;
  /** KDC log lines of this upcall */
  kdc: string;
  /** gssproxy log lines of this upcall */
  gssproxy: string;
}

function writeConf(name: string, text: string): string {
  const path = join(dir, `${name}-${rand()}.conf`);
  writeFileSync(path, text);
  chmodSync(path, 0o644);
  return path;
}

function upcall(u: RealmUser, conf: string, host = env.hosts.fs1): Outcome {
  const caller = callerOf.get(u.name)!;
  const description = `ver=0x2;host=${host};ip4=127.0.0.2;sec=krb5;uid=${hex(u.uid)};creduid=${hex(u.uid)};user=root;pid=${hex(caller.pid)};upcall_target=app`;
  const kdcMark = logMark(env.kdc.log);
  const gpMark = logMark(env.gssproxy.log);
  const r = runBundle(bundles.production, [
    '--config',
    conf,
    '-k',
    env.krb5Conf,
    '--gssproxy-socket',
    env.gssproxy.socket,
    '--replay',
    description,
  ]);
  let key: Buffer | null = null;
  let blob: Buffer | null = null;
  if (r.status === 0) {
    const b = Buffer.from(r.stdout.trim(), 'hex');
    const keyLength = b.readUInt32LE(8);
    key = b.subarray(16, 16 + keyLength);
    blob = b.subarray(16 + keyLength, 16 + keyLength + b.readUInt32LE(12));
  }
  return {
    status: r.status,
    stderr: r.stderr,
    key,
    blob,
    kdc: logSince(env.kdc.log, kdcMark),
    gssproxy: logSince(env.gssproxy.log, gpMark),
  };
}

const ownTgs = (o: Outcome, u: RealmUser): boolean =>
  o.kdc.split('\n').some((l) => l.includes('TGS_REQ') && l.includes(': ISSUE: ') && l.includes(` ${u.principal} for cifs/`));
const s4u = (o: Outcome, u: RealmUser): boolean => o.kdc.includes(`PROTOCOL-TRANSITION s4u-client=${u.principal}`);
const gssproxyConnections = (o: Outcome): number => (o.gssproxy.match(/ connected \(fd = /g) ?? []).length;

async function expectAcceptedAs(o: Outcome, u: RealmUser, host = env.hosts.fs1): Promise<void> {
  expect(o.status, o.stderr).toBe(0);
  const a = await acceptor.accept(host === env.hosts.fs1 ? env.keytabs.fs1 : env.keytabs.fs2, o.blob!, 'spnego');
  expect(a.ok, a.error).toBe(true);
  expect(a.initiator).toBe(u.principal);
  expect(a.key).toBe(o.key!.toString('hex'));
}

describe('credential strategies against the real KDC and gssproxy', () => {
  it('compat (the default): a valid TGT → one TGS-REQ from it, no S4U, gssproxy not contacted', async () => {
    const o = upcall(users.ticket, writeConf('compat', '[global]\n'));
    await expectAcceptedAs(o, users.ticket);
    expect(ownTgs(o, users.ticket), o.kdc).toBe(true);
    expect(s4u(o, users.ticket)).toBe(false);
    expect(gssproxyConnections(o)).toBe(0);
  });

  it('compat: no cache → gssproxy impersonates (S4U2Self + S4U2Proxy for the user)', async () => {
    const o = upcall(users.none, writeConf('compat', '[global]\nstrategy = compat\n'));
    await expectAcceptedAs(o, users.none);
    expect(s4u(o, users.none), o.kdc).toBe(true);
    expect(gssproxyConnections(o)).toBe(1);
  });

  describe('local-first', () => {
    const conf = (): string => writeConf('local-first', '[global]\nstrategy = local-first\n');

    it('a valid TGT is used: a normal TGS-REQ, no S4U, gssproxy not contacted', async () => {
      // a cifs/fs2 ticket: the compat test above stored cifs/fs1 in this cache
      const o = upcall(users.ticket, conf(), env.hosts.fs2);
      await expectAcceptedAs(o, users.ticket, env.hosts.fs2);
      expect(ownTgs(o, users.ticket), o.kdc).toBe(true);
      expect(s4u(o, users.ticket)).toBe(false);
      expect(gssproxyConnections(o)).toBe(0);
    });

    it('the cache is missing → impersonation: S4U for the user in the KDC log', async () => {
      const o = upcall(users.none, conf());
      await expectAcceptedAs(o, users.none);
      expect(s4u(o, users.none), o.kdc).toBe(true);
      expect(o.kdc).toContain(`CONSTRAINED-DELEGATION s4u-client=${users.none.principal}`);
    });

    it('the TGT expired → impersonation, with no TGS-REQ from the expired TGT', async () => {
      const o = upcall(users.expired, conf());
      await expectAcceptedAs(o, users.expired);
      expect(s4u(o, users.expired), o.kdc).toBe(true);
      expect(ownTgs(o, users.expired)).toBe(false);
    });

    it('the TGS exchange fails (the KDC refuses a damaged TGT) → impersonation', async () => {
      const o = upcall(users.broken, conf());
      await expectAcceptedAs(o, users.broken);
      // the refused TGS-REQ first, then S4U for the same user
      expect(o.kdc).toMatch(/TGS_REQ .*(Decrypt integrity check failed|PROCESS_TGS)/);
      expect(s4u(o, users.broken), o.kdc).toBe(true);
    });
  });

  it('local-only: no cache → exit 8 with the cause, gssproxy never contacted', () => {
    const o = upcall(users.none, writeConf('local-only', '[global]\nstrategy = local-only\n'));
    expect(o.status).toBe(8);
    expect(o.stderr).toMatch(/no credential cache \(FILE:.*no-such-cache-\w+\)/);
    expect(gssproxyConnections(o)).toBe(0);
    expect(s4u(o, users.none)).toBe(false);
  });

  it('proxy-first: even with a valid TGT the ticket comes from gssproxy (S4U), not from the TGT', async () => {
    const o = upcall(users.ticket, writeConf('proxy-first', '[global]\nstrategy = proxy-first\n'));
    await expectAcceptedAs(o, users.ticket);
    expect(s4u(o, users.ticket), o.kdc).toBe(true);
    expect(ownTgs(o, users.ticket)).toBe(false);
    expect(gssproxyConnections(o)).toBe(1);
  });

  it("proxy-only: gssproxy refuses (the service does not impersonate) → exit 8, the user's TGT is not used", () => {
    const conf = writeConf('proxy-only', `[global]\nstrategy = proxy-only\n`);
    const caller = callerOf.get(users.ticket.name)!;
    const description = `ver=0x2;host=${env.hosts.fs2};ip4=127.0.0.2;sec=krb5;uid=${hex(users.ticket.uid)};creduid=${hex(users.ticket.uid)};pid=${hex(caller.pid)};upcall_target=app`;
    const kdcMark = logMark(env.kdc.log);
    const r = runBundle(bundles.production, [
      '--config',
      conf,
      '-k',
      env.krb5Conf,
      '--gssproxy-socket',
      `${dir}/absent-${rand()}.sock`,
      '--replay',
      description,
    ]);
    expect(r.status).toBe(8);
    expect(r.stderr).toMatch(
      /Unable to obtain service ticket for \S+ \(uid \d+\) to cifs\/fs2\.example\.test: gssproxy: .*no gssproxy socket at/,
    );
    expect(r.stderr).not.toMatch(/ccache:/);
    expect(logSince(env.kdc.log, kdcMark)).not.toContain(users.ticket.principal);
  });

  it('per server: [server fs1.*] proxy-only beats [global] local-only for the same user', async () => {
    const conf = writeConf('per-server', '[global]\nstrategy = local-only\n[server fs1.*]\nstrategy = proxy-only\n');
    // fs2 (not a delegation target of the realm's impersonator): local-only, gssproxy untouched
    const toFs2 = upcall(users.none, conf, env.hosts.fs2);
    expect(toFs2.status).toBe(8);
    expect(gssproxyConnections(toFs2)).toBe(0);
    const toFs1 = upcall(users.none, conf, env.hosts.fs1);
    await expectAcceptedAs(toFs1, users.none);
    expect(s4u(toFs1, users.none), toFs1.kdc).toBe(true);
  });
});
