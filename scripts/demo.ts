// The demo (the README's first command, after scripts/demo.sh has installed and built): a
// throwaway loopback realm with gssproxy impersonation, then real upcalls through the production
// bundle for a user with a ticket, a user without one, and a user the KDC does not know — each
// with its trace, each payload checked by MIT's own acceptor. Leaves nothing running.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Acceptor } from '../test/harness/common/acceptor.ts';
import { clearGssproxyCache, kinit, logMark, logSince, startRealm, type RealmEnv, type RealmUser } from '../test/harness/realm/realm.ts';

const repo = resolve(process.argv[2] ?? '.');
const bundle = join(repo, 'dist', 'cifs-upcall.mjs');

const bold = (s: string) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);

function description(user: RealmUser, pid: number): string {
  const id = `0x${user.uid.toString(16)}`;
  return `ver=0x2;host=fs1.example.test;ip4=127.0.0.1;sec=krb5;uid=${id};creduid=${id};user=root;pid=0x${pid.toString(16)};upcall_target=app`;
}

interface Outcome {
  user: string;
  state: string;
  exit: number;
  result: string;
  kdc: string;
  ms: number;
}

async function upcall(
  env: RealmEnv,
  acceptor: Acceptor,
  scratch: string,
  config: string,
  user: RealmUser,
  state: string,
  appEnv: Record<string, string>,
  apps: ChildProcess[],
): Promise<Outcome> {
  const app = spawn('/bin/sleep', ['60'], { uid: user.uid, gid: user.gid, env: appEnv, stdio: 'ignore' });
  apps.push(app);
  const desc = description(user, app.pid!);
  const payloadFile = join(scratch, `payload-${user.name}`);
  const traceFile = join(scratch, `trace-${user.name}`);
  const mark = logMark(env.kdc.log);
  clearGssproxyCache(env);
  console.log(`\n${bold(`── ${user.name} (uid ${user.uid}): ${state}`)}`);
  console.log(`$ cifs-upcall --replay '${desc}' --config ${config} -k ${env.krb5Conf} --trace --payload-out ${payloadFile}`);
  const started = performance.now();
  const r = spawnSync(
    process.execPath,
    [bundle, '--replay', desc, '--config', config, '-k', env.krb5Conf, `--trace=${traceFile}`, '--payload-out', payloadFile],
    {
      env: { HOME: '/', PATH: '/sbin:/bin:/usr/sbin:/usr/bin' },
      encoding: 'utf8',
      timeout: 60_000,
    },
  );
  const ms = performance.now() - started;
  const trace = readFileSync(traceFile, 'utf8');
  process.stdout.write(
    trace
      .split('\n')
      .map((l) => (l ? `  ${l}` : l))
      .join('\n'),
  );
  const kdcLog = logSince(env.kdc.log, mark);
  const s4u = kdcLog.includes(`PROTOCOL-TRANSITION s4u-client=${user.name}@`);
  const tgs = new RegExp(`TGS_REQ.*${user.name}@EXAMPLE.TEST for cifs/fs1`).test(kdcLog);
  const kdc = s4u ? 'S4U2Self + S4U2Proxy (impersonation)' : tgs ? `plain TGS for ${user.name}` : 'no ticket issued';
  let result: string;
  if (r.status === 0) {
    const payload = readFileSync(payloadFile);
    const keyLen = payload.readUInt32LE(8);
    const blobLen = payload.readUInt32LE(12);
    const key = payload.subarray(16, 16 + keyLen);
    const blob = payload.subarray(16 + keyLen, 16 + keyLen + blobLen);
    const a = await acceptor.accept(env.keytabs.fs1, blob);
    result =
      a.ok && a.key === key.toString('hex')
        ? `accepted by the MIT acceptor as ${a.initiator}, session keys equal`
        : `REJECTED by the acceptor: ${a.error ?? 'session keys differ'}`;
  } else {
    // cifs-upcall's one-line cause on stderr: "Unable to obtain service ticket for <user> to <service>: <reasons>"
    result =
      (r.stderr || '')
        .trim()
        .split('\n')
        .pop()
        ?.replace(/^cifs-upcall: /, '') ?? '';
  }
  // the case's last line is its result: the acceptor's verdict, or the cause, one sentence
  console.log(`  KDC: ${kdc}`);
  console.log(`  ${bold('→')} ${r.status === 0 ? result : `exit ${r.status}: ${result}`}`);
  return { user: user.name, state, exit: r.status ?? -1, result, kdc, ms };
}

async function main(): Promise<number> {
  if (process.getuid?.() !== 0) {
    console.error('the demo needs root (it starts daemons and runs the upcall as request-key would)');
    return 1;
  }
  console.log(bold('Starting a throwaway loopback realm: slapd + MIT KDC (S4U) + gssproxy with impersonation…'));
  const realm = await startRealm();
  const env = realm.env;
  const scratch = mkdtempSync(join(tmpdir(), 'cifs-upcall-demo-'));
  chmodSync(scratch, 0o755);
  const acceptor = new Acceptor(env, join(repo, 'test', 'harness', 'common', 'acceptor.py'));
  const apps: ChildProcess[] = [];
  try {
    const config = join(scratch, 'cifs-upcall.conf');
    writeFileSync(config, `[global]\nstrategy = local-first\ngssproxy_socket = ${env.gssproxy.socket}\n`, { mode: 0o644 });
    console.log(`realm ${env.realm} ready (${env.stateDir}); /etc/cifs-upcall.conf for the demo:\n${readFileSync(config, 'utf8')}`);

    const bob = env.users.bob!;
    const bobCache = `FILE:${env.ccacheDir}/demo_bob`;
    kinit(env, bob, bobCache);
    const outcomes = [
      await upcall(
        env,
        acceptor,
        scratch,
        config,
        bob,
        'has a TGT in a FILE cache (KRB5CCNAME in his process)',
        { KRB5CCNAME: bobCache },
        apps,
      ),
      await upcall(
        env,
        acceptor,
        scratch,
        config,
        env.users.alice!,
        'no ticket at all (a cron job)',
        { KRB5CCNAME: `FILE:${env.ccacheDir}/demo_absent_alice` },
        apps,
      ),
      await upcall(
        env,
        acceptor,
        scratch,
        config,
        env.users.dave!,
        'a local user without a Kerberos principal',
        { KRB5CCNAME: 'FILE:/run/user/2004/krb5cc' },
        apps,
      ),
    ];
    console.log(`\n${bold('Summary')}`);
    for (const o of outcomes) {
      // the cause without its "Unable to obtain service ticket for … to …:" head
      const shown = o.exit === 0 ? `${o.result}; KDC: ${o.kdc}` : o.result.replace(/^Unable to obtain service ticket for .*? to \S+: /, '');
      console.log(`  ${o.user.padEnd(6)} exit ${String(o.exit).padEnd(2)} ${o.ms.toFixed(0).padStart(5)} ms  ${shown}`);
    }
    const ok = outcomes[0]!.exit === 0 && outcomes[1]!.exit === 0 && outcomes[2]!.exit !== 0;
    console.log(ok ? '\nAll as expected.' : '\nUNEXPECTED results above.');
    return ok ? 0 : 1;
  } finally {
    for (const a of apps) a.kill();
    acceptor.close();
    await realm.stop();
    rmSync(scratch, { recursive: true, force: true });
    console.log('realm stopped, nothing left running');
  }
}

process.exitCode = await main();
