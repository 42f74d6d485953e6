// The own-ticket sources inside the real upcall: the production CLI bundle (src/cli/main.ts) run
// with --replay as root, so the pipeline does what it does for the kernel — KRB5CCNAME probed
// from the triggering process's environ, privilege drop to the user, the strategy — and then our
// CcacheSource / KeytabSource. The payload's SPNEGO blob is accepted by MIT's SPNEGO acceptor as
// the right user, with the payload's session key; a second upcall needs no TGS-REQ; the keytab
// fallback runs for the mount's own session (uid 0, user=CLIENT$).
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Acceptor } from '../harness/common/acceptor.ts';
import { krb5TestUsers, tgsLines, workDir } from '../harness/realm/krb5-test-users.ts';
import { kinit, logMark, logSince, type RealmUser } from '../harness/realm/realm.ts';
import { buildChassisBundles, type ChassisBundles } from '../harness/standin/build.ts';
import { hex, readJsonTrace, runBundle, startPlainCaller, type CallerProcess } from '../harness/standin/harness.ts';

const env = inject('realm');
const acceptor = new Acceptor(env);
let bundles: ChassisBundles;
let dir: string;
let user: RealmUser;
let caller: CallerProcess;
let cache: string;
let upcallConf: string;

beforeAll(async () => {
  dir = workDir(env, 'krb5-pipeline');
  bundles = await buildChassisBundles('krb5');
  user = krb5TestUsers(env, ['pipe'], 2406).pipe!;
  cache = `FILE:${env.ccacheDir}/k5pipe_${Math.random().toString(36).slice(2, 8)}`;
  kinit(env, user, cache);
  caller = await startPlainCaller({ KRB5CCNAME: cache });
  // our own /etc/cifs-upcall.conf: local sources only (root-owned, not writable by others)
  upcallConf = join(dir, 'cifs-upcall.conf');
  writeFileSync(upcallConf, '[global]\nstrategy = local-only\n');
  chmodSync(upcallConf, 0o644);
}, 120_000);

afterAll(async () => {
  acceptor.close();
  await caller?.stop();
  bundles?.remove();
});

interface Payload {
  version: number;
  flags: number;
  key: Buffer;
  blob: Buffer;
}

/** struct cifs_spnego_msg in host (little-endian) byte order. */
function parsePayload(text: string): Payload {
  const b = Buffer.from(text.trim(), 'hex');
  const keyLength = b.readUInt32LE(8);
  const blobLength = b.readUInt32LE(12);
  return {
    version: b.readUInt32LE(0),
    flags: b.readUInt32LE(4),
    key: b.subarray(16, 16 + keyLength),
    blob: b.subarray(16 + keyLength, 16 + keyLength + blobLength),
  };
}

function upcall(description: Record<string, string>, extra: string[] = []): { status: number; payload: Payload | null; stderr: string } {
  const text = Object.entries({ ver: '0x2', host: env.hosts.fs1, ip4: '127.0.0.2', ...description })
    .map(([k, v]) => `${k}=${v}`)
    .join(';');
  const r = runBundle(bundles.production, ['--config', upcallConf, '-k', env.krb5Conf, ...extra, '--replay', text]);
  return { status: r.status, payload: r.status === 0 ? parsePayload(r.stdout) : null, stderr: r.stderr };
}

describe('cifs-upcall --replay with the own-ticket sources', () => {
  it.each(['krb5', 'mskrb5'])('sec=%s, KRB5CCNAME probed from the caller: accepted as the user, same key', async (sec) => {
    const r = upcall({ sec, uid: hex(user.uid), creduid: hex(user.uid), pid: hex(caller.pid), upcall_target: 'app' });
    expect(r.status, r.stderr).toBe(0);
    const p = r.payload!;
    expect(p.version).toBe(2);
    expect(p.flags).toBe(0);
    expect(p.key).toHaveLength(32);
    const a = await acceptor.accept(env.keytabs.fs1, p.blob, 'spnego');
    expect(a.ok, a.error).toBe(true);
    expect(a.initiator).toBe(user.principal);
    expect(a.target).toBe('cifs/fs1.example.test@EXAMPLE.TEST');
    expect(a.key).toBe(p.key.toString('hex'));
  });

  it('the ticket the first upcall stored serves the next one: no TGS-REQ', async () => {
    const mark = logMark(env.kdc.log);
    const r = upcall({ sec: 'krb5', uid: hex(user.uid), creduid: hex(user.uid), pid: hex(caller.pid), upcall_target: 'app' });
    expect(r.status, r.stderr).toBe(0);
    expect(tgsLines(logSince(env.kdc.log, mark), user.principal!)).toEqual([]);
    const a = await acceptor.accept(env.keytabs.fs1, r.payload!.blob, 'spnego');
    expect(a.ok, a.error).toBe(true);
    expect(a.key).toBe(r.payload!.key.toString('hex'));
  });

  it("the mount's own session (uid 0) with user=CLIENT$ and -K: the keytab fallback", async () => {
    // upcall_target=mount: the pid is not followed (any live one; pid 0 is refused, as cifs.upcall 7.6)
    const r = upcall({ sec: 'krb5', uid: '0x0', creduid: '0x0', user: 'CLIENT$', pid: hex(process.pid), upcall_target: 'mount' }, [
      '-K',
      env.keytabs.machine,
    ]);
    expect(r.status, r.stderr).toBe(0);
    const a = await acceptor.accept(env.keytabs.fs1, r.payload!.blob, 'spnego');
    expect(a.ok, a.error).toBe(true);
    expect(a.initiator).toBe('CLIENT$@EXAMPLE.TEST');
    expect(a.key).toBe(r.payload!.key.toString('hex'));
  });

  it('another uid on a multiuser mount with user=CLIENT$ gets no keytab identity: the upcall fails, saying why', () => {
    // multiuser: the kernel sends the mount's uid, the accessing user's creduid, upcall_target=app
    // (it refuses upcall_target=mount with multiuser, which is why the pipeline may call every
    // upcall_target=mount request the mount's own session)
    const traceFile = join(dir, 'multiuser-trace.jsonl');
    const dave = env.users.dave!;
    const r = upcall({ sec: 'krb5', uid: '0x0', creduid: hex(dave.uid), user: 'CLIENT$', pid: hex(process.pid), upcall_target: 'app' }, [
      '-K',
      env.keytabs.machine,
      `--trace=${traceFile}`,
      '--trace-format=json',
      '-E',
    ]);
    expect(r.status).not.toBe(0);
    expect(r.payload).toBeNull();
    const trace = readJsonTrace(traceFile).map((t) => `${t.area}: ${t.message}`);
    expect(
      trace.some((l) => /^ccache: rejected: credential cache FILE:.*krb5cc_2004 does not exist/.test(l)),
      trace.join('\n'),
    ).toBe(true);
    expect(
      trace.some((l) =>
        /^strategy: keytab skipped: user=CLIENT\$ is the mount.s identity, and uid 2004 is not the mount.s own session/.test(l),
      ),
      trace.join('\\n'),
    ).toBe(true);
  });
});
