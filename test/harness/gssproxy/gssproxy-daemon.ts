// A second, private real gssproxy daemon next to the realm's, for service configurations the
// realm's daemon does not have: a service only root matches (so another uid gets "no service
// matches" = EOF), and a service that forces mutual authentication (CONTINUE_NEEDED). Same
// isolation as realm.ts: own config via -c (no /etc/gssproxy), private mount namespace with a
// tmpfs /run for the hard-coded pid file, stopped by PID.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { startDaemon, stopDaemon, waitFor, type Daemon } from '../common/processes.ts';
import type { RealmEnv } from '../realm/realm.ts';
import { gssproxyConf } from './gssproxy-conf.ts';

export interface PrivateGssproxy {
  dir: string;
  /** default socket (-s): no service is bound to it */
  defaultSocket: string;
  /** only euid 0 matches (no allow_any_uid): other uids are dropped without a reply */
  rootOnlySocket: string;
  /** impersonating like the realm's, but enforce_flags = +MUTUAL_AUTH */
  mutualSocket: string;
  log: string;
  pid: number;
  stop(): Promise<void>;
}

export async function startPrivateGssproxy(env: RealmEnv): Promise<PrivateGssproxy> {
  const dir = mkdtempSync(join(env.stateDir, 'gp-private-'));
  chmodSync(dir, 0o755);
  mkdirSync(join(dir, 'ccache'), { mode: 0o700 });
  const defaultSocket = join(dir, 'default.sock');
  const rootOnlySocket = join(dir, 'rootonly.sock');
  const mutualSocket = join(dir, 'mutual.sock');
  const conf = join(dir, 'gssproxy.conf');
  const log = join(dir, 'gssproxy.out');
  writeFileSync(
    conf,
    gssproxyConf({ debugLevel: 2, workerThreads: 2 }, [
      { name: 'root-only', socket: rootOnlySocket, credStore: [`keytab:${env.keytabs.client}`], trusted: true },
      {
        name: 'mutual',
        socket: mutualSocket,
        credStore: [`keytab:${env.keytabs.client}`, `ccache:FILE:${join(dir, 'ccache')}/krb5cc_%U`],
        allowAnyUid: true,
        trusted: true,
        impersonate: true,
        enforceFlags: '+MUTUAL_AUTH',
      },
    ]),
    { mode: 0o600 },
  );
  const daemon: Daemon = startDaemon(
    'gssproxy-private',
    '/usr/bin/unshare',
    [
      '--mount',
      '--propagation',
      'private',
      '/bin/sh',
      '-c',
      // no core file when a test makes it crash on purpose
      'ulimit -c 0; mount -t tmpfs -o mode=755,size=1m cu-gssproxy-private-run /run && exec /usr/sbin/gssproxy -i -d -c "$0" -s "$1"',
      conf,
      defaultSocket,
    ],
    {
      env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C', KRB5_CONFIG: env.krb5Conf, KRB5RCACHEDIR: env.rcacheDir },
      log,
      marker: conf,
      cwd: dir,
    },
  );
  const stop = async (): Promise<void> => {
    await stopDaemon(daemon);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(
      'private gssproxy',
      () =>
        existsSync(rootOnlySocket) &&
        existsSync(mutualSocket) &&
        existsSync(log) &&
        readFileSync(log, 'utf8').includes('Initialization complete'),
      { daemon },
    );
  } catch (e) {
    await stop();
    throw e;
  }
  return { dir, defaultSocket, rootOnlySocket, mutualSocket, log, pid: daemon.pid, stop };
}
