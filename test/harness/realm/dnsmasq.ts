// A real DNS server on loopback for resolver and KDC-discovery tests: dnsmasq (dnsmasq-base) in
// the foreground on a free 127.0.0.1 port, answering only from the records given here (no
// upstream, no /etc/hosts, no config file), stopped by PID. Names under the `local` domains that
// have no record, and A/AAAA queries for names without a dot, get NXDOMAIN; anything else is
// REFUSED (there is no upstream).
import { mkdtempSync, rmSync, writeFileSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findFreePort, run, startDaemon, stopDaemon, waitFor, type Daemon } from '../common/processes.ts';
import type { DnsServer } from '../../../src/net/dns/index.ts';

export type DnsmasqRecord =
  | { type: 'host'; name: string; addresses: string[] }
  | { type: 'cname'; alias: string; target: string }
  | { type: 'srv'; name: string; target: string; port: number; priority?: number; weight?: number }
  | { type: 'ptr'; name: string; target: string }
  | { type: 'txt'; name: string; strings: string[] }
  | { type: 'uri'; name: string; priority: number; weight: number; target: string }
  | { type: 'raw'; name: string; rrtype: number; rdata: Buffer };

export interface Dnsmasq {
  server: DnsServer;
  stateDir: string;
  log: string;
  pid: number;
  /**
   * a resolv.conf with the `search` line and `options timeout:1 attempts:1` (resolv.conf cannot
   * name a port: pass `server` as DnsOptions.servers too)
   */
  resolvConf: string;
  /** the query log so far (dnsmasq --log-queries) */
  queries(): string[];
  stop(): Promise<void>;
}

export interface DnsmasqOptions {
  records: DnsmasqRecord[];
  /** domains answered locally (unknown names → NXDOMAIN); default test, in-addr.arpa, ip6.arpa */
  local?: string[];
  /** search line of the generated resolv.conf */
  search?: string[];
}

function recordArgs(r: DnsmasqRecord): string[] {
  switch (r.type) {
    case 'host':
      return [`--host-record=${r.name},${r.addresses.join(',')}`];
    case 'cname':
      return [`--cname=${r.alias},${r.target}`];
    case 'srv':
      return [`--srv-host=${r.name},${r.target},${r.port},${r.priority ?? 0},${r.weight ?? 0}`];
    case 'ptr':
      return [`--ptr-record=${r.name},${r.target}`];
    case 'txt':
      // each string is one argument field; dnsmasq keeps quote characters literally when no shell strips them
      return [`--txt-record=${r.name},${r.strings.join(',')}`];
    case 'uri': {
      // RFC 7553 rdata: priority u16, weight u16, target (rest of the rdata)
      const fixed = Buffer.alloc(4);
      fixed.writeUInt16BE(r.priority, 0);
      fixed.writeUInt16BE(r.weight, 2);
      const rdata = Buffer.concat([fixed, Buffer.from(r.target, 'utf8')]);
      return [`--dns-rr=${r.name},256,${rdata.toString('hex')}`];
    }
    case 'raw':
      return [`--dns-rr=${r.name},${r.rrtype},${r.rdata.toString('hex')}`];
  }
}

export async function startDnsmasq(options: DnsmasqOptions): Promise<Dnsmasq> {
  const stateDir = mkdtempSync(join(tmpdir(), 'cifs-upcall-dnsmasq-'));
  writeFileSync(join(stateDir, '.cifs-upcall-dnsmasq'), 'state directory of test/harness/realm/dnsmasq.ts\n');
  const port = findFreePort(63000, 64000);
  const log = join(stateDir, 'dnsmasq.log');
  const pidFile = join(stateDir, 'dnsmasq.pid');
  const local = options.local ?? ['test', 'in-addr.arpa', 'ip6.arpa'];
  const args = [
    '--no-daemon',
    `--port=${port}`,
    '--listen-address=127.0.0.1',
    '--bind-interfaces',
    '--no-resolv',
    '--no-hosts',
    '--conf-file=/dev/null',
    `--pid-file=${pidFile}`,
    '--log-queries=extra',
    `--log-facility=${log}`,
    '--user=root',
    // A/AAAA for names without a dot: NXDOMAIN instead of REFUSED
    '--domain-needed',
    ...local.map((d) => `--local=/${d}/`),
    ...options.records.flatMap(recordArgs),
  ];
  const daemon: Daemon = startDaemon('dnsmasq', '/usr/sbin/dnsmasq', args, {
    env: { PATH: process.env.PATH },
    log: join(stateDir, 'dnsmasq.out'),
    marker: `--port=${port}`,
  });
  const resolvConf = join(stateDir, 'resolv.conf');
  writeFileSync(
    resolvConf,
    [...(options.search ? [`search ${options.search.join(' ')}`] : []), 'options timeout:1 attempts:1', ''].join('\n'),
  );
  const stop = async (): Promise<void> => {
    await stopDaemon(daemon);
    if (existsSync(join(stateDir, '.cifs-upcall-dnsmasq'))) rmSync(stateDir, { recursive: true, force: true });
  };
  try {
    await waitFor(
      `dnsmasq on 127.0.0.1:${port}`,
      () => {
        const udp = run('ss', ['-Hlunp', `sport = :${port}`], { allowFail: true }).stdout;
        const tcp = run('ss', ['-Hltnp', `sport = :${port}`], { allowFail: true }).stdout;
        return udp.includes(`pid=${daemon.pid},`) && tcp.includes(`pid=${daemon.pid},`);
      },
      { daemon, timeoutMs: 10_000 },
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    server: { address: '127.0.0.1', port },
    stateDir,
    log,
    pid: daemon.pid,
    resolvConf,
    queries: () =>
      existsSync(log)
        ? readFileSync(log, 'utf8')
            .split('\n')
            .filter((l) => / query\[/.test(l))
        : [],
    stop,
  };
}
