// A private sssd-kcm (Debian sssd-kcm 2.8.2) for KCM ccache tests. sssd_kcm has no option for its
// configuration or database paths: it reads the confdb /var/lib/sss/db/config.ldb (generated from
// /etc/sssd/sssd.conf by `sssd --genconf-section=kcm`, as the systemd unit's ExecStartPre does)
// and keeps caches in /var/lib/sss/secrets/secrets.ldb. So it runs in a private mount namespace
// where our own directories are bind-mounted over /etc/sssd, /var/lib/sss and /var/log/sssd;
// [kcm] socket_path puts its socket in our directory, outside that namespace, where clients
// (any uid: the socket is mode 0666) connect. Nothing of the host's sssd is touched. Stopped by
// PID (the daemon's own: unshare and sh exec into it).
import { existsSync, mkdirSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { startDaemon, stopDaemon, waitFor } from '../common/processes.ts';

export const SSSD_KCM = '/usr/libexec/sssd/sssd_kcm';

export interface KcmDaemon {
  /** the Unix socket: put it in krb5.conf as [libdefaults] kcm_socket */
  socket: string;
  dir: string;
  pid: number;
  log: string;
  stop(): Promise<void>;
}

function canConnect(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ path });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/**
 * Start sssd_kcm under `parent` (which must be traversable by the test users). `kcmOptions` are
 * extra lines for the [kcm] section, e.g. "client_idle_timeout = 10".
 */
export async function startKcm(parent: string, kcmOptions: string[] = []): Promise<KcmDaemon> {
  if (!existsSync(SSSD_KCM)) throw new Error(`${SSSD_KCM} missing: install the sssd-kcm package`);
  const dir = join(parent, `kcm-${process.pid}-${Date.now().toString(36)}`);
  for (const [d, mode] of [
    ['', 0o755],
    ['etc', 0o755],
    ['etc/conf.d', 0o755],
    ['lib', 0o755],
    ['lib/db', 0o700],
    ['lib/secrets', 0o700],
    ['lib/pipes', 0o755],
    ['lib/pipes/private', 0o700],
    ['lib/mc', 0o755],
    ['log', 0o750],
  ] as const) {
    mkdirSync(join(dir, d), { recursive: true, mode });
    chmodSync(join(dir, d), mode);
  }
  const socket = join(dir, 'kcm.sock');
  if (socket.length > 100) throw new Error(`KCM socket path too long: ${socket}`);
  writeFileSync(
    join(dir, 'etc', 'sssd.conf'),
    `[sssd]
services = kcm
domains =

[kcm]
socket_path = ${socket}
debug_level = 2
${kcmOptions.join('\n')}
`,
    { mode: 0o600 },
  );
  chmodSync(join(dir, 'etc', 'sssd.conf'), 0o600);
  const log = join(dir, 'sssd_kcm.log');
  const script = [
    `mount --bind "$0/lib" /var/lib/sss`,
    `mount --bind "$0/etc" /etc/sssd`,
    `mount --bind "$0/log" /var/log/sssd`,
    `/usr/sbin/sssd --genconf-section=kcm -c /etc/sssd/sssd.conf`,
    `exec ${SSSD_KCM} --uid 0 --gid 0 --logger=stderr --debug-level=2`,
  ].join(' && ');
  const daemon = startDaemon('sssd_kcm', '/usr/bin/unshare', ['--mount', '--propagation', 'private', '/bin/sh', '-c', script, dir], {
    env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C' },
    log,
    marker: 'sssd_kcm',
  });
  const stop = async (): Promise<void> => {
    await stopDaemon(daemon);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor('sssd_kcm socket', () => existsSync(socket) && canConnect(socket), { daemon, timeoutMs: 20_000 });
  } catch (e) {
    await stop();
    throw e;
  }
  return { socket, dir, pid: daemon.pid, log, stop };
}
