// Socket audit: one upcall of each helper under `strace -f`, every connect/sendto/sendmsg
// classified by destination. Counts what the logs cannot show: DNS queries (port 53), NSS or nscd
// sockets, netlink (getaddrinfo's AI_ADDRCONFIG), syslog.
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { RealmEnv } from '../harness/realm/realm.ts';
import type { PreparedRun } from './helpers.ts';

export interface TrafficAudit {
  key: string;
  helper: string;
  state: string;
  /** connect()s and addressed sends to the KDC's port */
  kdc: number;
  /** connect()s to the gssproxy socket */
  gssproxy: number;
  syslog: number;
  dns: number;
  other: string[];
  ok: boolean;
}

const SYSCALL = /^\d+\s+(connect|sendto|sendmsg)\((\d+), (.*)$/;

export function auditTraffic(
  key: string,
  helper: string,
  state: string,
  run: PreparedRun,
  env: RealmEnv,
  scratch: string,
  _runstat: string,
): TrafficAudit {
  const file = join(scratch, `strace-${key}`);
  const r = spawnSync('/usr/bin/strace', ['-f', '-qq', '-e', 'trace=connect,sendto,sendmsg', '-o', file, ...run.job.argv], {
    env: run.job.env,
    encoding: 'utf8',
    timeout: 60_000,
  });
  const payload = run.payload();
  run.cleanup();
  const audit: TrafficAudit = {
    key,
    helper,
    state,
    kdc: 0,
    gssproxy: 0,
    syslog: 0,
    dns: 0,
    other: [],
    ok: r.status === 0 && payload !== null,
  };
  const other = new Map<string, number>();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = SYSCALL.exec(line);
    if (!m) continue;
    const [, call, , rest] = m;
    const unix = /sun_path="([^"]*)"/.exec(rest!);
    const port = /sin6?_port=htons\((\d+)\)/.exec(rest!);
    const family = /sa_family=(AF_\w+)/.exec(rest!);
    if (unix) {
      const path = unix[1]!;
      if (path === env.gssproxy.socket) {
        if (call === 'connect') audit.gssproxy++;
      } else if (path === '/dev/log' || path.endsWith('/dev-log')) {
        if (call === 'connect') audit.syslog++;
      } else other.set(`unix ${path}`, (other.get(`unix ${path}`) ?? 0) + 1);
    } else if (port) {
      const p = Number(port[1]);
      if (p === 53) audit.dns++;
      else if (p === env.kdc.port) audit.kdc++;
      else other.set(`${family?.[1] ?? 'inet'} port ${p}`, (other.get(`${family?.[1] ?? 'inet'} port ${p}`) ?? 0) + 1);
    } else if (family && family[1] !== 'AF_UNSPEC') {
      other.set(family[1]!, (other.get(family[1]!) ?? 0) + 1);
    }
  }
  rmSync(file, { force: true });
  audit.other = [...other].map(([k, n]) => `${k} ×${n}`);
  return audit;
}
