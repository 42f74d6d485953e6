// Scenario 7: the Samba 4.22 AD DC's own smbd as the file server. The DC runs on the
// host (test/harness/ad/samba-ad.ts, started by host/ad.ts); the guest reaches it only through its
// restricted user-mode NIC, whose guestfwd rules map AD.dcAddress:88 and :445 to the DC's KDC and
// smbd on the host's 127.0.0.1. Runs after every handler's EXAMPLE.TEST scenarios:
//   switch   NIC up; dc1.ad.test in /etc/hosts; /etc/krb5.conf → default realm AD.TEST, KDC over
//            TCP only (guestfwd forwards TCP only); /etc/krb5.keytab = CLIENT$'s exported keytab;
//            gssproxy restarted with that keytab (impersonates as its first entry, CLIENT$)
//   7-ad-dc-rbcd, per handler:
//            root mounts //dc1.ad.test/share sec=krb5,multiuser,user=CLIENT$ (keytab upcall),
//            reads and writes; then ad-alice, who has no ticket, reads, lists and writes: gssproxy
//            does S4U2Self + S4U2Proxy to cifs/dc1.ad.test, allowed only by resource-based
//            constrained delegation (DC1$'s msDS-AllowedToActOnBehalfOfOtherIdentity names
//            CLIENT$; CLIENT$'s own msDS-AllowedToDelegateTo does not list cifs/dc1.ad.test).
//            In the guest: upcalls, descriptions, and the NT owner SID smbd gave ad-alice's file
//            (getcifsacl over her own session). The host adds the DC's side after the VM ends
//            (host/ad.ts: owner uid on disk, smbd's "connect … as user AD\ad-alice", the KDC's
//            S4U2Proxy line).
import { chmodSync, copyFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AdGuestConfig, Check } from '../shared/types.ts';
import { keyOutcome } from './evidence.ts';
import { canConnect, exec, mustExec, waitFor, type ExecResult } from './proc.ts';
import { clearGssproxyCache, MACHINE_KEYTAB, restartGssproxy, STATE, type GuestUser } from './realm.ts';
import {
  access,
  check,
  checkPositiveUpcall,
  finish,
  selected,
  startResult,
  upcallsFor,
  type AccessLine,
  type AccessRun,
  type ScenarioContext,
} from './scenarios.ts';

export const AD_SCENARIO = '7-ad-dc-rbcd';
const AD_KEYTAB = `${STATE}/keytabs/ad-machine.keytab`;
const MOUNT_POINT = '/mnt/ad';

function adUser(ad: AdGuestConfig): GuestUser {
  return { name: ad.user.name, uid: ad.user.uid, gid: ad.user.gid, home: `/home/${ad.user.name}`, password: null };
}

async function bringUpNic(ad: AdGuestConfig, say: (l: string) => void): Promise<void> {
  await mustExec('modprobe', ['virtio_net']);
  const links = await mustExec('ip', ['-o', 'link', 'show']);
  const nic = /^\d+: (\w+):/m.exec(
    links.stdout
      .split('\n')
      .filter((l) => !/: lo:/.test(l))
      .join('\n'),
  )?.[1];
  if (!nic) throw new Error(`no NIC in the guest:\n${links.stdout}`);
  await mustExec('ip', ['addr', 'add', `${ad.guestAddress}/${ad.prefixLength}`, 'dev', nic]);
  await mustExec('ip', ['link', 'set', nic, 'up']);
  await waitFor(`the DC's KDC through guestfwd (${ad.dcAddress}:88)`, () => canConnect({ host: ad.dcAddress, port: 88 }, 3000), {
    timeoutMs: 30_000,
  });
  say(`    ${nic} ${ad.guestAddress}/${ad.prefixLength} up; ${ad.dcAddress}:88 and :445 lead to the DC on the host`);
  // restrict=on: the user-mode network's host alias must lead nowhere, though the port listens
  // on the host's loopback (an unrestricted NIC would connect)
  const hostAlias = `${ad.dcAddress.split('.').slice(0, 3).join('.')}.2`;
  if (await canConnect({ host: hostAlias, port: ad.hostLoopbackPort }, 3000)) {
    throw new Error(`the guest reached the host's loopback as ${hostAlias}:${ad.hostLoopbackPort}: the NIC is not restricted`);
  }
  say(`    ${hostAlias}:${ad.hostLoopbackPort} (listening on the host's 127.0.0.1) is unreachable: the NIC is restricted`);
}

function appendLine(path: string, line: string): void {
  writeFileSync(path, `${readFileSync(path, 'utf8').trimEnd()}\n${line}\n`);
}

/** Names, user, krb5.conf and keytab for AD.TEST; gssproxy with CLIENT$'s keytab. */
export async function switchToAdRealm(ad: AdGuestConfig, say: (l: string) => void): Promise<void> {
  await bringUpNic(ad, say);
  appendLine('/etc/hosts', `${ad.dcAddress}\t${ad.dcHost} dc1`);
  const u = adUser(ad);
  appendLine('/etc/passwd', `${u.name}:x:${u.uid}:${u.gid}::${u.home}:/bin/bash`);
  appendLine('/etc/shadow', `${u.name}:*:19000:0:99999:7:::`);
  await mustExec('install', ['-d', '-m', '700', '-o', String(u.uid), '-g', String(u.gid), u.home]);
  const domain = ad.dcHost.split('.').slice(1).join('.');
  writeFileSync(
    '/etc/krb5.conf',
    [
      '[libdefaults]',
      ` default_realm = ${ad.realm}`,
      ' dns_lookup_kdc = false',
      ' dns_lookup_realm = false',
      ' rdns = false',
      ' dns_canonicalize_hostname = false',
      ' forwardable = true',
      // guestfwd forwards TCP only: every KDC exchange must start on TCP
      ' udp_preference_limit = 1',
      '[realms]',
      ` ${ad.realm} = {`,
      `  kdc = ${ad.dcAddress}:88`,
      ' }',
      '[domain_realm]',
      ` .${domain} = ${ad.realm}`,
      ` ${domain} = ${ad.realm}`,
      '',
    ].join('\n'),
  );
  copyFileSync(ad.machineKeytab, AD_KEYTAB);
  chmodSync(AD_KEYTAB, 0o600);
  // cifs.upcall's and our user= keytab path reads the default keytab
  copyFileSync(ad.machineKeytab, MACHINE_KEYTAB);
  chmodSync(MACHINE_KEYTAB, 0o600);
  await restartGssproxy(AD_KEYTAB);
  say(`    krb5.conf: default realm ${ad.realm}, KDC ${ad.dcAddress}:88 (TCP); gssproxy impersonates with ${ad.machineAccount}'s keytab`);
}

async function mountShare(ctx: ScenarioContext, ad: AdGuestConfig, options: string): Promise<ExecResult> {
  await mustExec('mkdir', ['-p', MOUNT_POINT]);
  ctx.say(`    mount -t cifs //${ad.dcHost}/${ad.share} ${MOUNT_POINT} -o ${options}`);
  const r = await exec('mount', ['-t', 'cifs', `//${ad.dcHost}/${ad.share}`, MOUNT_POINT, '-o', options], {
    timeoutMs: ctx.config.accessTimeoutMs,
  });
  ctx.say(
    `    → ${r.timedOut ? 'timed out' : r.code === 0 ? 'mounted' : `failed (${r.code}): ${(r.stdout + r.stderr).trim()}`} in ${r.ms} ms`,
  );
  return r;
}

function checkReadHello(checks: Check[], a: AccessRun, who: string, hello: string): AccessLine | undefined {
  const read = a.lines.find((l) => l.op === 'read');
  check(
    checks,
    `${who} reads hello.txt from the DC's share`,
    read?.ok === true && read.detail === hello,
    read ? `${read.ok ? 'ok' : 'error'}: ${read.detail}` : 'no read',
  );
  return read;
}

/** `pub/<who>-<handler>-<tag>.txt`: the host finds the same names in the DC's share after the run. */
export function adFileName(who: string, handler: string, tag: string): string {
  return `${who}-${handler}-${tag}.txt`;
}

/** 7-ad-dc-rbcd for the current handler. */
export async function runAdScenario(ctx: ScenarioContext, ad: AdGuestConfig): Promise<void> {
  if (!selected(ctx, AD_SCENARIO)) return;
  const alice = adUser(ad);
  const options = `sec=krb5,vers=3.1.1,multiuser,noperm,cache=none,actimeo=0,user=${ad.machineAccount}`;
  ctx.say(`\n== [${ctx.handler.name}] scenario ${AD_SCENARIO}: //${ad.dcHost}/${ad.share} (the AD DC's smbd) ${options}`);
  for (const f of ['/tmp/krb5cc_0', `/tmp/krb5cc_${alice.uid}`]) rmSync(f, { force: true });
  clearGssproxyCache();

  const r = startResult(ctx, AD_SCENARIO, `open(hello.txt) by ${alice.name} (impersonated)`, alice.uid);
  ctx.evidence.begin();
  const m = await mountShare(ctx, ad, options);
  const mounted = check(
    r.checks,
    `root mounts the DC's share with ${ad.machineAccount}'s keytab`,
    m.code === 0,
    m.code === 0 ? `${m.ms} ms` : (m.stdout + m.stderr).trim(),
  );
  if (mounted) {
    const rootFile = adFileName('root', ctx.handler.name, ad.fileTag);
    const root = await access(ctx, null, [`read=${MOUNT_POINT}/hello.txt`, `write=${MOUNT_POINT}/pub/${rootFile}`]);
    checkReadHello(r.checks, root, 'root', ad.helloText);
    const rw = root.lines.find((l) => l.op === 'write');
    check(r.checks, `root writes pub/${rootFile}`, rw?.ok === true, rw ? rw.detail || 'ok' : 'no write');

    const aliceFile = adFileName(alice.name, ctx.handler.name, ad.fileTag);
    const a = await access(ctx, alice, [`read=${MOUNT_POINT}/hello.txt`, `list=${MOUNT_POINT}`, `write=${MOUNT_POINT}/pub/${aliceFile}`]);
    const read = checkReadHello(r.checks, a, alice.name, ad.helloText);
    r.firstAccessMs = read?.ok ? read.micros / 1000 : null;
    const list = a.lines.find((l) => l.op === 'list');
    check(r.checks, `${alice.name} lists the share`, list?.ok === true && list.detail.includes('hello.txt'), list?.detail ?? 'no list');
    const w = a.lines.find((l) => l.op === 'write');
    check(r.checks, `${alice.name} writes pub/${aliceFile}`, w?.ok === true, w ? w.detail || 'ok' : 'no write');
    // the owner smbd recorded, asked over alice's own SMB session (raw SIDs: no idmap plugin needed)
    const acl = await exec('getcifsacl', ['-r', `${MOUNT_POINT}/pub/${aliceFile}`], {
      uid: alice.uid,
      gid: alice.gid,
      env: { PATH: '/usr/bin:/bin', LANG: 'C', HOME: alice.home },
      timeoutMs: 30_000,
    });
    const owner = /^OWNER:(\S+)/m.exec(acl.stdout)?.[1] ?? null;
    check(
      r.checks,
      `the DC's smbd made ${alice.name}'s SID the owner of her file`,
      owner === ad.user.sid,
      owner
        ? `OWNER:${owner}${owner === ad.user.sid ? ` (${alice.name})` : ` (expected ${ad.user.sid})`}`
        : (acl.stdout + acl.stderr).trim().slice(0, 200),
    );
  }
  const ev = ctx.evidence.end(ctx.handler.name, r.id);
  const rootUps = upcallsFor(ev, 0).filter((u) => u.serial !== null);
  check(
    r.checks,
    `root's upcall names host=${ad.dcHost} and user=${ad.machineAccount} and is instantiated`,
    rootUps.length === 1 &&
      rootUps[0].kernelDescription?.includes(`;host=${ad.dcHost};`) === true &&
      rootUps[0].kernelDescription.includes(`;ip4=${ad.dcAddress};`) &&
      rootUps[0].kernelDescription.includes(`;user=${ad.machineAccount};`) &&
      keyOutcome(rootUps[0]) === 'instantiated',
    rootUps.map((u) => `${u.kernelDescription} → ${keyOutcome(u)}`).join('; ') || 'no upcall',
  );
  if (mounted) checkPositiveUpcall(r.checks, ev, alice.uid, alice.name);
  finish(ctx, r, ev);
  if (mounted) {
    const u = await exec('umount', [MOUNT_POINT], { timeoutMs: 30_000 });
    if (u.code !== 0) await exec('umount', ['-l', MOUNT_POINT], { timeoutMs: 30_000 });
  }
}
