// What the host kernel offers, probed before the tests that depend on it. Host kernels differ
// between machines: on some, request_key(2) called by a non-root user never reaches
// /sbin/request-key (the call fails with ENOKEY/ENOENT before any request-key.d line runs), on
// others it does. A test that needs such a facility asks its probe first; when the probe fails the
// test is skipped *visibly*: the finding goes to stderr at once and into `.work/probe-skips.jsonl`,
// which scripts/test.sh summarises at the end of the run. The same scenario is always proven under
// the QEMU kernels (test/kernel), where request-key is the real thing (docs/testing.md).
import { spawnSync } from 'node:child_process';
import { appendFileSync, chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { release } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface ProbeFinding {
  available: boolean;
  /** one line: what was tried and what happened */
  finding: string;
}

const here = dirname(fileURLToPath(import.meta.url));
/** Where skipped-by-probe records go (scripts/test.sh prints them and clears the file). */
export const PROBE_SKIP_LOG = join(here, '..', '..', '..', '.work', 'probe-skips.jsonl');

const cache = new Map<string, ProbeFinding>();

/**
 * Does request_key(2) from `uid:gid` (not root) reach a request-key.d helper? Installs a private
 * request-key.d line for a unique `user` key description whose helper only touches a marker file,
 * asks for the key as root (control) and as the user, and removes everything it made.
 */
export function probeNonRootRequestKey(uid: number, gid: number): ProbeFinding {
  const memo = `request-key:${uid}:${gid}`;
  const known = cache.get(memo);
  if (known) return known;
  const tag = randomBytes(4).toString('hex');
  const dir = `/tmp/cifs-upcall-probe-${tag}`;
  const conf = `/etc/request-key.d/cifs-upcall-probe-${tag}.conf`;
  mkdirSync(dir, { mode: 0o755 });
  const helper = join(dir, 'helper.sh');
  // request-key runs the helper as root; it records the key's owner uid (%u) and gives no key
  writeFileSync(helper, '#!/bin/sh\necho "$2" >> "$1"\nexit 1\n', { mode: 0o755 });
  writeFileSync(conf, `create user cifs-upcall-probe-${tag}:* * /bin/sh ${helper} ${dir}/ran %u\n`, { mode: 0o644 });
  try {
    const ask = (who: 'root' | 'user'): { status: number; stderr: string } => {
      const argv = ['keyctl', 'session', '-', 'keyctl', 'request2', 'user', `cifs-upcall-probe-${tag}:${who}`, 'probe', '@s'];
      const cmd = who === 'root' ? argv : ['setpriv', `--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', ...argv];
      const r = spawnSync(cmd[0] as string, cmd.slice(1), { encoding: 'utf8', timeout: 15_000 });
      const said = (r.stderr ?? '').split('\n').filter((l) => l !== '' && !l.startsWith('Joined session keyring'));
      return { status: r.status ?? -1, stderr: `${said.join('; ')}${r.error ? ` ${r.error.message}` : ''}`.trim() };
    };
    const rootAsk = ask('root');
    const userAsk = ask('user');
    const ran = existsSync(join(dir, 'ran')) ? readFileSync(join(dir, 'ran'), 'utf8').split('\n').filter(Boolean) : [];
    const rootRan = ran.includes('0');
    const userRan = ran.includes(String(uid));
    const kernel = `host kernel ${release()}`;
    let finding: ProbeFinding;
    if (userRan) {
      finding = { available: true, finding: `${kernel}: request_key(2) as uid ${uid} ran the request-key.d helper` };
    } else if (!rootRan) {
      finding = {
        available: false,
        finding: `${kernel}: request_key(2) ran no request-key.d helper even for root (root: ${rootAsk.stderr || `exit ${rootAsk.status}`})`,
      };
    } else {
      finding = {
        available: false,
        finding: `${kernel}: request_key(2) as uid ${uid} returned "${userAsk.stderr || `exit ${userAsk.status}`}" before /sbin/request-key ran any helper (the same request as root ran it)`,
      };
    }
    cache.set(memo, finding);
    return finding;
  } finally {
    rmSync(conf, { force: true });
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The first finding that is not available, else an available one (several needs of one test). */
export function allOf(...findings: ProbeFinding[]): ProbeFinding {
  return findings.find((f) => !f.available) ?? { available: true, finding: findings.map((f) => f.finding).join('; ') };
}

/**
 * Can root make a user namespace and write its maps (what the container tests need)? Some hosts
 * forbid user namespaces altogether (user.max_user_namespaces = 0, a hardened kernel).
 */
export function probeRootUserNamespace(launcher: string): ProbeFinding {
  const memo = 'userns:root';
  const known = cache.get(memo);
  if (known) return known;
  const r = spawnSync('/usr/bin/python3', [launcher, '--uid-map', '0 100000 65536', '--uid', '0', '--gid', '0', '--', '/bin/true'], {
    encoding: 'utf8',
    timeout: 15_000,
  });
  const said = `${(r.stderr ?? '').trim()}${r.error ? ` ${r.error.message}` : ''}`.trim();
  const finding: ProbeFinding =
    r.status === 0
      ? { available: true, finding: `host kernel ${release()}: root makes a user namespace with a written map` }
      : {
          available: false,
          finding: `host kernel ${release()}: root cannot make a user namespace with a map (${said || `exit ${r.status}`})`,
        };
  cache.set(memo, finding);
  return finding;
}

/** Can an unprivileged user make a user namespace (`unshare --user`, no map)? Some hosts forbid it. */
export function probeUnprivilegedUserNamespace(uid: number, gid: number): ProbeFinding {
  const memo = `userns:${uid}:${gid}`;
  const known = cache.get(memo);
  if (known) return known;
  const r = spawnSync('setpriv', [`--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', 'unshare', '--user', '--', '/bin/true'], {
    encoding: 'utf8',
    timeout: 15_000,
  });
  const said = `${(r.stderr ?? '').trim()}${r.error ? ` ${r.error.message}` : ''}`.trim();
  const finding: ProbeFinding =
    r.status === 0
      ? { available: true, finding: `host kernel ${release()}: uid ${uid} makes a user namespace` }
      : { available: false, finding: `host kernel ${release()}: uid ${uid} cannot make a user namespace (${said || `exit ${r.status}`})` };
  cache.set(memo, finding);
  return finding;
}

/** Has this host the IPv6 loopback address (::1 on lo, /proc/net/if_inet6)? */
export function probeIpv6Loopback(): ProbeFinding {
  const known = cache.get('ipv6-loopback');
  if (known) return known;
  let finding: ProbeFinding;
  try {
    const lines = readFileSync('/proc/net/if_inet6', 'utf8').split('\n');
    const loopback = lines.some((l) => l.startsWith('00000000000000000000000000000001 '));
    finding = loopback
      ? { available: true, finding: '::1 is configured' }
      : { available: false, finding: `host kernel ${release()}: no ::1 in /proc/net/if_inet6 (IPv6 loopback not configured)` };
  } catch (e) {
    finding = {
      available: false,
      finding: `host kernel ${release()}: /proc/net/if_inet6 unreadable (${(e as NodeJS.ErrnoException).code ?? e}): no IPv6`,
    };
  }
  cache.set('ipv6-loopback', finding);
  return finding;
}

/**
 * Record that `test` is skipped because of `finding`, visibly: on stderr now, and in the run's
 * skip log for the summary. Call it from the test file's top level, next to `it.skipIf`.
 */
export function reportProbeSkip(file: string, test: string, finding: ProbeFinding): void {
  if (finding.available) return;
  process.stderr.write(`[probe] SKIPPED ${file} › ${test}: ${finding.finding}\n`);
  mkdirSync(dirname(PROBE_SKIP_LOG), { recursive: true });
  appendFileSync(PROBE_SKIP_LOG, `${JSON.stringify({ file, test, finding: finding.finding })}\n`);
  try {
    chmodSync(PROBE_SKIP_LOG, 0o644);
  } catch {
    /* best effort */
  }
}

/** The test's title with the reason when the probe failed, so the skip shows why in the report. */
export function probedTitle(title: string, finding: ProbeFinding): string {
  return finding.available ? title : `${title} [skipped by probe: ${finding.finding}]`;
}
