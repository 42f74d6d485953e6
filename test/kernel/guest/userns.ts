// Scenarios 8 and 9 under the real kernel, once per handler, on their own multiuser mount:
//   8-forged-request     bob (not root) asks request_key(2) for a cifs.spnego key whose description
//                        names root: the key is his, not the kernel's; the handler must leave it alone
//                        (the kernel negates it for 60 s) and nobody gets a ticket
//   9a-userns-mapped     a container (user + mount namespace, host 100000+N is container N) whose
//                        process is container uid 2002 (host 102002) with bob's TGT at the container
//                        uid's default cache name reads the mount
//   9b-userns-unmapped   alice in a user namespace she made without a map reads the mount
// docs/user-namespaces.md explains what each handler does and why; the stock results asserted here
// are the ones measured for cifs-utils 2:7.0-2+deb12u1 (docs/cifs-upcall-reference.md).
import { appendFileSync, chmodSync, copyFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { keyOutcome, type CaseEvidence } from './evidence.ts';
import { exec, mustExec } from './proc.ts';
import { clearGssproxyCache, FS_HOST, HELLO_TEXT, MACHINE_ACCOUNT, REALM, SHARE, USERS } from './realm.ts';
import { check, finish, parseAccessLines, selected, startResult, upcallsFor, type ScenarioContext } from './scenarios.ts';

const MOUNT_POINT = '/mnt/userns';
const SUBID_BASE = 100000;
const CONTAINER_UID = 2002;
const HOST_UID = SUBID_BASE + CONTAINER_UID;
const HOST_GID = SUBID_BASE + 100;
const LAUNCHER = 'userns-container.py';

export const USERNS_SCENARIOS = ['8-forged-request', '9a-userns-mapped', '9b-userns-unmapped'];

/** A host passwd entry for the container user (the updated stock needs one; ours does not). */
function addContainerHostUser(): void {
  const passwd = readFileSync('/etc/passwd', 'utf8');
  if (!passwd.split('\n').some((l) => l.split(':')[2] === String(HOST_UID))) {
    appendFileSync('/etc/group', `ct-users:x:${HOST_GID}:\n`);
    appendFileSync('/etc/passwd', `ct-bob:x:${HOST_UID}:${HOST_GID}:container 2002:/nonexistent:/usr/sbin/nologin\n`);
  }
}

function kdcTgs(ev: CaseEvidence, principal: string): boolean {
  return new RegExp(`TGS_REQ .*ISSUE: .*${principal.replace(/[.$]/g, '\\$&')} for cifs/${FS_HOST.replace(/\./g, '\\.')}@`).test(ev.kdc);
}

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

async function mountShare(ctx: ScenarioContext): Promise<boolean> {
  await mustExec('mkdir', ['-p', MOUNT_POINT]);
  const options = `sec=krb5,vers=3.1.1,multiuser,noperm,cache=none,actimeo=0,user=${MACHINE_ACCOUNT}`;
  ctx.say(`    mount -t cifs //${FS_HOST}/share ${MOUNT_POINT} -o ${options}`);
  const r = await exec('mount', ['-t', 'cifs', `//${FS_HOST}/share`, MOUNT_POINT, '-o', options], {
    timeoutMs: ctx.config.accessTimeoutMs,
  });
  ctx.say(`    → ${r.code === 0 ? 'mounted' : `failed (${r.code}): ${(r.stdout + r.stderr).trim()}`} in ${r.ms} ms`);
  return r.code === 0;
}

/** /proc/keys line of a key, as its owner sees it: serial flags usage timeout perm uid gid type description. */
function procKey(
  procKeys: string,
  type: string,
  description: string,
): { flags: string; timeout: string; uid: number; gid: number } | undefined {
  // the type column is padded: "user      ver=0x2;…"
  const line = procKeys.split('\n').find((l) => {
    const f = l.trim().split(/\s+/);
    return f[7] === type && (f[8] ?? '').startsWith(description.slice(0, 40));
  });
  if (!line) return undefined;
  const f = line.trim().split(/\s+/);
  return { flags: f[1] ?? '', timeout: f[3] ?? '', uid: Number(f[5]), gid: Number(f[6]) };
}

/** bob asks for a key in a fresh session keyring; returns the exit line and /proc/keys as he sees it. */
async function requestAsBob(type: string, description: string): Promise<{ rc: string; said: string; procKeys: string }> {
  const { bob } = USERS;
  const script = [`keyctl request2 ${type} '${description}' '' @s; echo rc=$?`, 'echo @KEYS@; cat /proc/keys'].join('\n');
  const run = await exec('keyctl', ['session', '-', '/bin/sh', '-c', script], {
    uid: bob.uid,
    gid: bob.gid,
    timeoutMs: 60_000,
    env: { PATH: '/usr/bin:/bin', LANG: 'C', HOME: bob.home },
  });
  const said = run.stderr
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith('Joined session keyring'))
    .join(' ');
  return { rc: /rc=(\d+)/.exec(run.stdout)?.[1] ?? '?', said, procKeys: run.stdout.split('@KEYS@')[1] ?? '' };
}

/**
 * 8: a forged request from a non-root user, naming root's credentials. (a) As a cifs.spnego key:
 * these kernels carry the CIFSwitch fix (the key type's vet_description), so request_key(2) itself
 * fails with EPERM and no handler runs. (b) The same description as a `user` key, through the real
 * request-key with a line that runs the handler for it (ours with --key-type user): what a kernel
 * without that fix would hand the handler. Ours must leave the key alone and get no ticket.
 */
async function forgedRequest(ctx: ScenarioContext): Promise<void> {
  const id = '8-forged-request';
  if (!selected(ctx, id)) return;
  const { bob } = USERS;
  const r = startResult(ctx, id, 'request_key by bob with a description naming root', null);
  const forged = `ver=0x2;host=${FS_HOST};ip4=127.0.0.2;sec=krb5;uid=0x0;creduid=0x0;user=${MACHINE_ACCOUNT};pid=0x1;upcall_target=app`;

  ctx.evidence.begin();
  const a = await requestAsBob('cifs.spnego', forged);
  const evA = ctx.evidence.end(ctx.handler.name, id);
  ctx.say(`    bob: keyctl request2 cifs.spnego '${forged}' → rc=${a.rc} ${a.said}`);
  check(
    r.checks,
    '(a) cifs.spnego: the kernel refuses the request itself (EPERM)',
    a.rc === '1' && /Operation not permitted/.test(a.said),
    a.said || `rc=${a.rc}`,
  );
  check(
    r.checks,
    '(a) no handler ran, no key exists',
    evA.upcalls.every((u) => u.serial === null) && procKey(a.procKeys, 'cifs.spnego', forged) === undefined,
    `${evA.upcalls.filter((u) => u.serial !== null).length} upcall(s)`,
  );

  // (b) the user-key stand-in, through the logging wrapper like every other upcall
  const standIn = forged.replace('ip4=127.0.0.2', 'ip4=127.0.0.9');
  const handlerArgv = ctx.handler.name === 'ours' ? [...ctx.handler.argv.slice(0, -1), '--key-type', 'user', '%k'] : ctx.handler.argv;
  const conf = '/etc/request-key.d/vmtest-forged-user.conf';
  writeFileSync(
    conf,
    `create\tuser\tver=0x2;host=${FS_HOST};ip4=127.0.0.9;*\t*\t/bin/sh ${ctx.config.guestScriptsDir}/upcall-wrapper.sh %k %d %u key=%k -- ${handlerArgv.join(' ')}\n`,
  );
  ctx.evidence.begin();
  let b: Awaited<ReturnType<typeof requestAsBob>>;
  try {
    b = await requestAsBob('user', standIn);
  } finally {
    rmSync(conf, { force: true });
  }
  const ev = ctx.evidence.end(ctx.handler.name, id);
  ctx.say(`    bob: keyctl request2 user '${standIn}' → rc=${b.rc} ${b.said}`);
  const ups = ev.upcalls.filter((u) => u.wrapperDescription === standIn && u.serial !== null);
  const up = ups[0];
  const key = procKey(b.procKeys, 'user', standIn);
  check(r.checks, '(b) request-key ran the handler once for the user key', ups.length === 1, `${ups.length} upcall(s)`);
  check(
    r.checks,
    `(b) the key belongs to bob (${bob.uid}:${bob.gid}), not to the kernel's 0:0`,
    key !== undefined && key.uid === bob.uid,
    key ? `${key.uid}:${key.gid} ${key.flags} ${key.timeout}` : 'not in /proc/keys',
  );
  const said = ev.syslog
    .split('\n')
    .filter((l) => l.includes('cifs.upcall'))
    .slice(-4)
    .join(' | ');
  if (ctx.handler.name === 'ours') {
    // request-key runs as root, which cannot view bob's key: the state comes from bob's own view
    check(
      r.checks,
      '(b) ours: exit 3, no payload and no negation of its own',
      up?.exitStatus === 3 && !ev.trace.includes('negated for'),
      up ? `exit ${up.exitStatus}` : 'no upcall',
    );
    check(
      r.checks,
      "(b) the key ends negative with the kernel's 60 s (not our 5 s)",
      key !== undefined && key.flags[5] === 'N' && /^(1m|[5]\ds)$/.test(key.timeout),
      key ? `${key.flags} ${key.timeout}` : '-',
    );
    check(
      r.checks,
      `(b) ours: trace says the key is owned by ${bob.uid}:${bob.gid}, not 0:0`,
      ev.trace.includes(`refused: key owned by ${bob.uid}:${bob.gid}, not 0:0`),
    );
    check(
      r.checks,
      '(b) no ticket: the KDC issued nothing',
      !/ISSUE:/.test(ev.kdc),
      ev.kdc.trim().split('\n').slice(-2).join(' | ') || 'KDC silent',
    );
  } else {
    // measured: the stock has no check of its own. It honours the forged description, gets
    // CLIENT$'s tickets from the keytab and instantiates bob's key with them (on a kernel without
    // the fix, the same happens to a cifs.spnego key: CIFSwitch)
    check(
      r.checks,
      "(b) stock: exit 0, bob's key instantiated (positive)",
      up?.exitStatus === 0 && key !== undefined && key.flags[0] === 'I' && key.flags[5] !== 'N',
      `${up ? `exit ${up.exitStatus}` : 'no upcall'}; ${key ? `${key.flags} ${key.timeout}` : 'no key'}`,
    );
    check(
      r.checks,
      `(b) stock: the KDC issued ${MACHINE_ACCOUNT}'s tickets for it`,
      new RegExp(`ISSUE: .*${MACHINE_ACCOUNT.replace('$', '\\$')}@${REALM}`).test(ev.kdc),
      said,
    );
  }
  finish(ctx, r, ev);
}

/** 9a: the mapped container user. */
async function mappedContainer(ctx: ScenarioContext): Promise<void> {
  const id = '9a-userns-mapped';
  if (!selected(ctx, id)) return;
  const { bob } = USERS;
  addContainerHostUser();
  // bob's TGT, to become the container user's cache (readable by host 102002 for the copy only)
  const own = `/tmp/krb5cc_ct_${ctx.handler.name}`;
  await mustExec('kinit', [`${bob.name}@${REALM}`], {
    uid: bob.uid,
    gid: bob.gid,
    env: { PATH: '/usr/bin:/bin', LANG: 'C', HOME: bob.home, KRB5CCNAME: `FILE:${own}` },
    input: `${bob.password}\n`,
    timeoutMs: 30_000,
  });
  const ticket = `/var/lib/vmtest/ct-ticket-${ctx.handler.name}`;
  copyFileSync(own, ticket);
  chmodSync(ticket, 0o644);
  rmSync(own, { force: true });
  clearGssproxyCache();
  const r = startResult(ctx, id, 'open(hello.txt) by container uid 2002', HOST_UID);
  const write = `pub/ct-${ctx.handler.name}.txt`;
  ctx.evidence.begin();
  const run = await exec(
    '/usr/bin/python3',
    [
      `${ctx.config.guestScriptsDir}/${LAUNCHER}`,
      '--uid-map',
      `0 ${SUBID_BASE} 65536`,
      '--gid-map',
      `0 ${SUBID_BASE} 65536`,
      '--uid',
      String(CONTAINER_UID),
      '--gid',
      '100',
      '--tmpfs',
      '/tmp',
      '--copy',
      `${ticket}=/tmp/krb5cc_${CONTAINER_UID}`,
      '--',
      '/bin/bash',
      `${ctx.config.guestScriptsDir}/access.sh`,
      `read=${MOUNT_POINT}/hello.txt`,
      `write=${MOUNT_POINT}/${write}`,
    ],
    { timeoutMs: ctx.config.accessTimeoutMs, env: { PATH: '/usr/bin:/bin', LANG: 'C', HOME: '/' } },
  );
  const ev = ctx.evidence.end(ctx.handler.name, id);
  rmSync(ticket, { force: true });
  const lines = parseAccessLines(run.stdout);
  for (const a of lines)
    ctx.say(
      `    container 2002: ${a.op} ${a.arg} → ${a.ok ? 'ok' : 'ERROR'} in ${(a.micros / 1000).toFixed(1)} ms${a.detail ? ` (${a.detail})` : ''}`,
    );
  if (run.code !== 0 || run.stderr.trim()) ctx.say(`    launcher exit ${run.code}: ${run.stderr.trim()}`);
  const read = lines.find((l) => l.op === 'read');
  const ups = upcallsFor(ev, HOST_UID).filter((u) => u.serial !== null);
  const said = ev.syslog.split('\n').filter((l) => l.includes('cifs.upcall'));
  if (ctx.handler.name === 'ours') {
    r.firstAccessMs = read?.ok ? read.micros / 1000 : null;
    check(
      r.checks,
      'the container user reads hello.txt',
      read?.ok === true && read.detail === HELLO_TEXT,
      read ? `${read.ok ? 'ok' : 'error'}: ${read.detail}` : 'no read',
    );
    check(
      r.checks,
      `one upcall for creduid ${hex(HOST_UID)}, key instantiated`,
      ups.length === 1 && keyOutcome(ups[0]) === 'instantiated',
      ups.map((u) => `key ${u.serial} ${keyOutcome(u)} exit ${u.exitStatus}`).join('; ') || 'no upcall',
    );
    check(
      r.checks,
      `ours: host ${HOST_UID}:${HOST_GID} is ${CONTAINER_UID}:100 in the caller's namespace (trace)`,
      ev.trace.includes(`host ${HOST_UID}:${HOST_GID} is ${CONTAINER_UID}:100 in the caller's user namespace`),
    );
    check(
      r.checks,
      `ours: the cache at the container uid's name, FILE:/tmp/krb5cc_${CONTAINER_UID}`,
      ev.trace.includes(`credential cache FILE:/tmp/krb5cc_${CONTAINER_UID} (`),
    );
    check(
      r.checks,
      `KDC: bob's own TGS for the share (the container user's principal)`,
      kdcTgs(ev, `${bob.name}@${REALM}`),
      ev.kdc
        .split('\n')
        .filter((l) => l.includes('TGS_REQ'))
        .slice(-2)
        .join(' | '),
    );
    check(r.checks, 'KDC: no impersonation', !/PROTOCOL-TRANSITION/.test(ev.kdc));
    const w = lines.find((l) => l.op === 'write');
    check(r.checks, 'the container user writes a file', w?.ok === true, w ? w.detail || 'ok' : 'no write');
    const owner = (await exec('stat', ['-c', '%U', `${SHARE}/${write}`], { timeoutMs: 10_000 })).stdout.trim() || '(no such file)';
    check(r.checks, `server-side owner of the file is ${bob.name} (smbd's session user)`, owner === bob.name, owner);
  } else {
    // The updated stock maps the ids and gets the ticket, but it entered the user namespace, which
    // dropped the request-key authority from its credentials: keyctl_instantiate fails (EPERM).
    check(
      r.checks,
      'stock: the access fails (EACCES)',
      read?.ok === false && read.detail === 'Permission denied',
      read ? read.detail : 'no read',
    );
    check(
      r.checks,
      `stock: logs host ${HOST_UID}:${HOST_GID} -> NS ${CONTAINER_UID}:100`,
      said.some((l) => l.includes(`host ${HOST_UID}:${HOST_GID} -> NS ${CONTAINER_UID}:100`)),
      said.slice(-6).join(' | '),
    );
    check(r.checks, "stock: obtained the ticket: KDC issued bob's TGS", kdcTgs(ev, `${bob.name}@${REALM}`));
    check(
      r.checks,
      'stock: setup_key: keyctl_instantiate: Operation not permitted',
      said.some((l) => /keyctl_instantiate: Operation not permitted/.test(l)),
    );
    check(
      r.checks,
      'stock: no key for the container user',
      ups.length >= 1 && ups.every((u) => keyOutcome(u) !== 'instantiated'),
      ups.map((u) => keyOutcome(u)).join(', ') || 'no upcall',
    );
  }
  finish(ctx, r, ev);
}

/** 9b: alice in a user namespace without a map: both refuse before any credential work. */
async function unmappedCaller(ctx: ScenarioContext): Promise<void> {
  const id = '9b-userns-unmapped';
  if (!selected(ctx, id)) return;
  const { alice } = USERS;
  clearGssproxyCache();
  rmSync(`/tmp/krb5cc_${alice.uid}`, { force: true });
  const r = startResult(ctx, id, 'open(hello.txt) by alice in an unmapped user namespace (fails)', alice.uid);
  ctx.evidence.begin();
  const run = await exec(
    'unshare',
    ['--user', '--', '/bin/bash', `${ctx.config.guestScriptsDir}/access.sh`, `read=${MOUNT_POINT}/hello.txt`],
    {
      uid: alice.uid,
      gid: alice.gid,
      timeoutMs: ctx.config.accessTimeoutMs,
      env: { PATH: '/usr/bin:/bin', LANG: 'C', HOME: alice.home },
    },
  );
  const ev = ctx.evidence.end(ctx.handler.name, id);
  const read = parseAccessLines(run.stdout).find((l) => l.op === 'read');
  ctx.say(`    alice (unmapped): read → ${read ? `${read.ok ? 'ok' : 'ERROR'} (${read.detail})` : `none: ${run.stderr.trim()}`}`);
  r.firstAccessMs = read ? read.micros / 1000 : null;
  check(
    r.checks,
    'the access fails with EACCES',
    read?.ok === false && read.detail === 'Permission denied',
    read?.detail ?? `no read (${run.stderr.trim()})`,
  );
  const ups = upcallsFor(ev, alice.uid).filter((u) => u.serial !== null);
  check(
    r.checks,
    'one upcall, no key',
    ups.length === 1 && keyOutcome(ups[0]) !== 'instantiated',
    ups.map((u) => `${keyOutcome(u)} exit ${u.exitStatus}`).join(', ') || 'no upcall',
  );
  check(
    r.checks,
    'no ticket for alice: neither her own TGS nor S4U',
    !kdcTgs(ev, `${alice.name}@${REALM}`) && !/PROTOCOL-TRANSITION s4u-client=alice/.test(ev.kdc),
    ev.kdc
      .split('\n')
      .filter((l) => l.includes('alice'))
      .slice(-2)
      .join(' | ') || 'KDC: nothing for alice',
  );
  if (ctx.handler.name === 'ours') {
    check(
      r.checks,
      'ours: exit 5, uid 2001 not mapped (trace)',
      ups[0]?.exitStatus === 5 && ev.trace.includes(`uid ${alice.uid} is not mapped in the user namespace of thread`),
      `exit ${ups[0]?.exitStatus}`,
    );
    check(r.checks, "ours: logs stock's line", ev.syslog.includes(`UID ${alice.uid} not mapped in this namespace (unsupported)`));
    check(r.checks, 'ours: gssproxy was not asked', !ev.trace.includes('asking gssproxy'));
  } else {
    check(
      r.checks,
      'stock: UID 2001 not mapped in this namespace (unsupported)',
      ev.syslog.includes(`UID ${alice.uid} not mapped in this namespace (unsupported)`),
    );
  }
  finish(ctx, r, ev);
}

/** Scenarios 8, 9a, 9b for one handler (its own mount for 9a/9b). */
export async function runUserNamespaceScenarios(ctx: ScenarioContext): Promise<void> {
  if (!USERNS_SCENARIOS.some((s) => selected(ctx, s))) return;
  ctx.say(`\n== [${ctx.handler.name}] forged requests and user namespaces`);
  await forgedRequest(ctx);
  if (!selected(ctx, '9a-userns-mapped') && !selected(ctx, '9b-userns-unmapped')) return;
  rmSync('/tmp/krb5cc_0', { force: true });
  const mounted = await mountShare(ctx);
  if (!mounted) {
    for (const id of ['9a-userns-mapped', '9b-userns-unmapped']) {
      if (!selected(ctx, id)) continue;
      const r = startResult(ctx, id, 'n/a', null);
      check(r.checks, 'the userns mount succeeds', false, 'mount failed');
      finish(ctx, r, null);
    }
    return;
  }
  try {
    await mappedContainer(ctx);
    await unmappedCaller(ctx);
  } finally {
    const u = await exec('umount', [MOUNT_POINT], { timeoutMs: 30_000 });
    if (u.code !== 0) await exec('umount', ['-l', MOUNT_POINT], { timeoutMs: 30_000 });
  }
}
