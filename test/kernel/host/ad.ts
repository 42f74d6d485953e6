// Scenario 7's host side: the Samba 4.22 AD DC (test/harness/ad/samba-ad.ts) runs natively on the
// host's 127.0.0.1 for the whole kernel run, and each VM gets a user-mode NIC that can reach it and
// nothing else:
//   -netdev user,restrict=on,ipv6=off,…  no route out of the user-mode network (restrict=on: guest
//                                         packets are never sent anywhere but to the forwards below)
//   guestfwd=tcp:10.0.2.100:88-cmd:…     every guest TCP connection to the DC's address runs
//   guestfwd=tcp:10.0.2.100:445-cmd:…    guestfwd-relay.py, which relays it to 127.0.0.1:<KDC port>
//                                         or 127.0.0.1:<smbd port> (guestfwd is TCP only, so the
//                                         guest's krb5.conf uses TCP for the KDC)
// A chardev target (guestfwd=…-tcp:127.0.0.1:P) would be opened once at start-up and serve a
// single connection; the KDC gets a new connection per request, hence one relay per connection.
// After each VM the DC's side of the scenario is checked here: the owner uid of the files the guest
// wrote (from the DC's share on disk), smbd's "connect to service share … as user AD\<user>" and the
// KDC's S4U2Proxy success for cifs/dc1.ad.test with the user as impersonatee.
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SambaAdNotInstalledError, startAdDomain, type AdDomain } from '../../harness/ad/samba-ad.ts';
import type { AdGuestConfig, Check, ScenarioResult } from '../shared/types.ts';

export const AD_SCENARIO_ID = '7-ad-dc-rbcd';
/** guest-visible addresses in QEMU's default user-mode network 10.0.2.0/24 */
const DC_GUEST_ADDRESS = '10.0.2.100';
const GUEST_ADDRESS = '10.0.2.15';
const AD_USER = 'ad-alice';
const HELLO_TEXT = 'hello from the AD DC';
const KEYTAB_IN_RUN_DIR = 'ad-machine.keytab';

export interface KernelAd {
  domain: AdDomain;
  startMs: number;
}

/**
 * Start the DC, or say why scenario 7 cannot run. Only a missing Samba 4.22 install is a skip;
 * any other failure is thrown (and fails the run).
 */
export async function startKernelAd(log: (l: string) => void): Promise<KernelAd | { skipped: string }> {
  const start = performance.now();
  let domain: AdDomain;
  try {
    domain = await startAdDomain({ logLevel: 3 });
  } catch (e) {
    if (e instanceof SambaAdNotInstalledError) return { skipped: e.message };
    throw e;
  }
  const { env } = domain;
  const share = env.dc.shareDir;
  writeFileSync(join(share, 'hello.txt'), `${HELLO_TEXT}\n`);
  mkdirSync(join(share, 'pub'), { recursive: true });
  chmodSync(join(share, 'pub'), 0o1777);
  const startMs = Math.round(performance.now() - start);
  log(
    `AD DC: Samba ${env.sambaVersion} on 127.0.0.1 (KDC ${env.kdc.port}, smbd ${env.dc.smbPort}), state ${env.stateDir}; ` +
      `guests reach it as ${env.dc.hostName} = ${DC_GUEST_ADDRESS} (started in ${(startMs / 1000).toFixed(1)} s)`,
  );
  return { domain, startMs };
}

/** QEMU arguments for the restricted NIC whose only exits are the DC's KDC and smbd. */
export function adQemuArgs(ad: KernelAd, relayScript: string): string[] {
  const { env } = ad.domain;
  if (/[, ]/.test(relayScript)) throw new Error(`${relayScript}: a guestfwd command path must not contain a comma or space`);
  const fwd = (guestPort: number, hostPort: number) =>
    `guestfwd=tcp:${DC_GUEST_ADDRESS}:${guestPort}-cmd:/usr/bin/python3 ${relayScript} ${hostPort}`;
  return [
    '-netdev',
    ['user', 'id=adnet', 'restrict=on', 'ipv6=off', 'net=10.0.2.0/24', fwd(88, env.kdc.port), fwd(445, env.dc.smbPort)].join(','),
    '-device',
    'virtio-net-pci,netdev=adnet,romfile=',
  ];
}

/** The guest's part of the config; copies CLIENT$'s keytab into the run directory (removed after the VM). */
export function adGuestConfig(ad: KernelAd, runDir: string, guestOutDir: string, fileTag: string): AdGuestConfig {
  const { env } = ad.domain;
  const user = env.users[AD_USER];
  if (!user?.principal || !user.sid) throw new Error(`${AD_USER} is missing from the AD domain`);
  const keytab = join(runDir, KEYTAB_IN_RUN_DIR);
  copyFileSync(env.keytabs.machine, keytab);
  chmodSync(keytab, 0o600);
  return {
    realm: env.realm,
    dcHost: env.dc.hostName,
    dcAddress: DC_GUEST_ADDRESS,
    guestAddress: GUEST_ADDRESS,
    prefixLength: 24,
    share: env.dc.share,
    machineKeytab: `${guestOutDir}/${KEYTAB_IN_RUN_DIR}`,
    machineAccount: 'CLIENT$',
    user: { name: user.name, uid: user.uid, gid: user.gid, principal: user.principal, sid: user.sid },
    helloText: HELLO_TEXT,
    hostLoopbackPort: env.dc.smbPort,
    fileTag,
  };
}

/** Byte offsets of the DC's logs before a VM, so the checks after it see only that VM's lines. */
export interface AdLogMark {
  dc: number;
  smbd: Map<string, number>;
}

function size(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

function smbdLogs(ad: KernelAd): string[] {
  const dir = ad.domain.env.dc.logDir;
  return existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => f.startsWith('log.'))
        .map((f) => join(dir, f))
    : [];
}

export function markAdLogs(ad: KernelAd): AdLogMark {
  return { dc: size(ad.domain.env.dc.log), smbd: new Map(smbdLogs(ad).map((f) => [f, size(f)])) };
}

function since(path: string, offset: number): string {
  try {
    return readFileSync(path).subarray(offset).toString('utf8');
  } catch {
    return '';
  }
}

/**
 * The DC's side of scenario 7, added to each handler's result: file owners on disk per handler, and
 * (for the VM as a whole: both handlers' lines share one log window) smbd's session and the KDC's
 * S4U2Proxy lines, at least one per handler that ran the scenario.
 */
export function addServerSideChecks(
  ad: KernelAd,
  mark: AdLogMark,
  config: AdGuestConfig,
  runDir: string,
  results: ScenarioResult[],
  log: (l: string) => void,
): void {
  rmSync(join(runDir, KEYTAB_IN_RUN_DIR), { force: true });
  const mine = results.filter((r) => r.id === AD_SCENARIO_ID);
  if (mine.length === 0) return;
  const { env } = ad.domain;
  const user = config.user;
  const dcLog = since(env.dc.log, mark.dc);
  const smbdText = smbdLogs(ad)
    .map((f) => since(f, mark.smbd.get(f) ?? 0))
    .join('\n');
  const sessionLine = `connect to service ${env.dc.share} initially as user ${env.netbiosDomain}\\${user.name} (uid=${user.uid}, gid=${user.gid})`;
  const sessions = smbdText.split('\n').filter((l) => l.includes(sessionLine));
  // Samba logs an S4U2Proxy success under the impersonated client's name, with the impersonatee and
  // cname-in-addl-tkt (the evidence ticket rode in additional-tickets)
  const s4u2proxy = dcLog
    .split('\n')
    .filter(
      (l) =>
        /^Kerberos: TGS-REQ SUCCESS /.test(l) &&
        l.includes(` ${user.principal} cifs/${env.dc.hostName}@${env.realm} `) &&
        l.includes(`impersonatee=${user.principal}`) &&
        /flags=\S*cname-in-addl-tkt/.test(l),
    );
  const machineAs = dcLog
    .split('\n')
    .filter((l) => /^Kerberos: AS-REQ SUCCESS /.test(l) && l.includes(`${config.machineAccount}@${env.realm}`));
  const rbcdNotV1 =
    !env.delegation.protocolTransition.includes(`cifs/${env.dc.hostName}`) &&
    env.delegation.resourceBased.includes(`cifs/${env.dc.hostName}`);
  log(
    `[AD DC] smbd: ${sessions.length} session(s) "${sessionLine}"; KDC: ${s4u2proxy.length} S4U2Proxy success(es) for cifs/${env.dc.hostName} impersonating ${user.principal}; ${machineAs.length} AS-REQ success(es) for ${config.machineAccount}`,
  );
  for (const r of mine) {
    const add = (c: Check) => {
      r.checks.push(c);
      log(`      ${c.ok ? 'ok  ' : 'FAIL'} [${r.handler}] ${c.name}${c.detail ? `: ${c.detail}` : ''}`);
    };
    const file = join(env.dc.shareDir, 'pub', `${user.name}-${r.handler}-${config.fileTag}.txt`);
    let owner: number | null = null;
    try {
      owner = statSync(file).uid;
    } catch {
      /* not written */
    }
    add({
      name: `DC side: ${user.name}'s file on the DC's disk is owned by uid ${user.uid}`,
      ok: owner === user.uid,
      detail: owner === null ? `${file}: missing` : `uid ${owner}`,
    });
    add({
      name: `DC side: smbd logged the session as ${env.netbiosDomain}\\${user.name}`,
      ok: sessions.length >= mine.length,
      detail: `${sessions.length} line(s) for ${mine.length} handler(s)${sessions[0] ? `: ${sessions[0].trim()}` : ''}`,
    });
    add({
      name: `DC side: KDC answered the S4U2Proxy for ${user.principal} to cifs/${env.dc.hostName}${rbcdNotV1 ? ` (RBCD: the target is not in ${config.machineAccount}'s msDS-AllowedToDelegateTo)` : ''}`,
      ok: rbcdNotV1 && s4u2proxy.length >= mine.length,
      detail: `${s4u2proxy.length} line(s)${s4u2proxy[0] ? `: ${s4u2proxy[0].replace(/ (elapsed|etypes|end|auth|renew|start)=\S+/g, '')}` : ''}`,
    });
    r.ok = r.checks.every((c) => c.ok);
  }
}
