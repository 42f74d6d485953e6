// Name resolution for the upcall without getaddrinfo/NSS: the hosts file, then DNS with the
// resolv.conf search list (glibc res_search rules), on sockets the main thread creates.
//   lookupHost     replaces getaddrinfo(AF_UNSPEC, AI_CANONNAME)   (short-name domain guess, KDC hosts)
//   reverseLookup  replaces getnameinfo(NI_NAMEREQD)                (cifs.upcall -t)
//   resolveSrv / resolveUri / resolveTxt                            (KDC discovery, realm TXT)
// Files are read synchronously (this may run inside the caller's mount namespace).
import { hostname as osHostname } from 'node:os';
import type { Trace } from '../../trace.ts';
import { DnsBadQueryError, type DnsLookupError, DnsNoDataError, DnsNotFoundError, DnsServerError, DnsTimeoutError } from './errors.ts';
import { exchange, type ExchangeOptions } from './exchange.ts';
import { hostsLookup, hostsReverse, readHostsFile, DEFAULT_HOSTS_FILE } from './hosts-file.ts';
import { ipFamily, parseIpAddress, reverseName, type IpFamily } from './ip.ts';
import { DnsNameError, DnsRcode, DnsType, dnsTypeName, sameName, type DnsMessage, type DnsRecord } from './message.ts';
import { readResolvConf, DEFAULT_RESOLV_CONF, type DnsServer, type ResolvConf } from './resolv-conf.ts';

export interface DnsOptions {
  /** resolv.conf to read (default /etc/resolv.conf) */
  resolvConfPath?: string;
  /** hosts file to read (default /etc/hosts); `false` skips the hosts file */
  hostsPath?: string | false;
  /** servers to ask instead of resolv.conf's nameservers (tests: a DNS server on loopback) */
  servers?: readonly DnsServer[];
  /** search list instead of resolv.conf's */
  search?: readonly string[];
  ndots?: number;
  /** per-try timeout instead of resolv.conf's `timeout:` (milliseconds) */
  timeoutMs?: number;
  attempts?: number;
  /** host name that supplies the default search domain (default: uname's) */
  hostname?: string;
  signal?: AbortSignal;
  trace?: Trace;
}

export interface HostAddress {
  address: string;
  family: IpFamily;
}

export interface HostLookup {
  /** what getaddrinfo's ai_canonname would be: hosts-file canonical name or the DNS owner after CNAMEs */
  canonicalName: string;
  addresses: HostAddress[];
  source: 'literal' | 'hosts' | 'dns';
}

export interface SrvRecord {
  priority: number;
  weight: number;
  port: number;
  /** target host without the trailing dot; '' for the root ("." = no service, RFC 2782) */
  target: string;
}

export interface UriRecord {
  priority: number;
  weight: number;
  target: string;
}

interface Context {
  conf: ResolvConf;
  exchange: Omit<ExchangeOptions, 'servers'> & { servers: readonly DnsServer[] };
  hostsPath: string | false;
  trace?: Trace;
  signal?: AbortSignal;
}

function context(options: DnsOptions): Context {
  const conf = readResolvConf(options.resolvConfPath ?? DEFAULT_RESOLV_CONF, options.hostname ?? osHostname());
  if (options.search) conf.search = [...options.search];
  if (options.ndots !== undefined) conf.ndots = options.ndots;
  if (options.timeoutMs !== undefined) conf.timeoutMs = options.timeoutMs;
  if (options.attempts !== undefined) conf.attempts = options.attempts;
  const servers = options.servers ?? conf.nameservers;
  return {
    conf,
    exchange: {
      servers,
      timeoutMs: conf.timeoutMs,
      attempts: conf.attempts,
      useTcp: conf.useTcp,
      ednsUdpSize: conf.edns0 ? 1232 : undefined,
      signal: options.signal,
      trace: options.trace,
    },
    hostsPath: options.hostsPath === undefined ? DEFAULT_HOSTS_FILE : options.hostsPath,
    trace: options.trace,
    signal: options.signal,
  };
}

/** The names res_search tries for `name`, in order (RFC 1536 §6 / resolv.conf `ndots`). */
export function searchCandidates(name: string, search: readonly string[], ndots: number): string[] {
  if (name.endsWith('.')) return [name];
  const dots = name.split('.').length - 1;
  const withDomains = search.map((d) => `${name}.${d}.`);
  const asIs = `${name}.`;
  return dots >= ndots ? [asIs, ...withDomains] : [...withDomains, asIs];
}

type SearchOutcome<T> =
  | { kind: 'found'; value: T; name: string }
  | { kind: 'failed'; failure: 'nxdomain' | 'nodata'; transient?: DnsLookupError };

/**
 * res_search: try each candidate until one has data; NXDOMAIN and NODATA move on, as do
 * timeouts and server failures (remembered: they decide the error when nothing is found).
 */
async function search<T>(
  ctx: Context,
  name: string,
  ask: (candidate: string) => Promise<T | 'nodata' | 'nxdomain'>,
): Promise<SearchOutcome<T>> {
  let sawNoData = false;
  let transient: DnsLookupError | undefined;
  for (const candidate of searchCandidates(name, ctx.conf.search, ctx.conf.ndots)) {
    let result: T | 'nodata' | 'nxdomain';
    try {
      result = await ask(candidate);
    } catch (err) {
      if (err instanceof DnsTimeoutError || err instanceof DnsServerError) {
        transient = err;
        continue;
      }
      throw err;
    }
    if (result === 'nodata') sawNoData = true;
    else if (result !== 'nxdomain') return { kind: 'found', value: result, name: candidate };
  }
  return { kind: 'failed', failure: sawNoData ? 'nodata' : 'nxdomain', transient };
}

function validateName(name: string): void {
  if (name === '' || name === '.') throw new DnsBadQueryError('empty host name', name);
}

async function query(ctx: Context, name: string, type: number): Promise<DnsMessage> {
  try {
    return (await exchange(name, type, ctx.exchange)).message;
  } catch (err) {
    if (err instanceof DnsNameError) throw new DnsBadQueryError(err.message, name);
    throw err;
  }
}

/** Records of `type` answering `name`, following CNAMEs inside the answer section. */
function answerRecords(message: DnsMessage, name: string, type: number): { owner: string; records: DnsRecord[] } {
  let owner = name.endsWith('.') ? name.slice(0, -1) : name;
  for (let hops = 0; hops < 16; hops++) {
    const direct = message.answers.filter((r) => r.type === type && sameName(r.name, owner));
    if (direct.length > 0) return { owner: direct[0]!.name, records: direct };
    const alias = message.answers.find((r) => r.type === DnsType.CNAME && sameName(r.name, owner));
    if (!alias || alias.data.type !== 'CNAME') break;
    owner = alias.data.target;
  }
  return { owner, records: [] };
}

/** glibc res_search: "no data" for some candidate wins, then a transient failure, then NXDOMAIN. */
function failureError(name: string, what: string, outcome: SearchOutcome<unknown> & { kind: 'failed' }): DnsLookupError {
  if (outcome.failure === 'nodata') return new DnsNoDataError(`${name} has no ${what} record`, name);
  if (outcome.transient) return outcome.transient;
  return new DnsNotFoundError(`${name}: no such host or domain`, name);
}

/**
 * getaddrinfo(name, AF_UNSPEC or `family`, AI_CANONNAME) without NSS: an address literal is
 * returned as is; else the hosts file; else A and AAAA over DNS for each search candidate.
 */
export async function lookupHost(name: string, options: DnsOptions & { family?: IpFamily } = {}): Promise<HostLookup> {
  validateName(name);
  const literal = parseIpAddress(name);
  if (literal && ipFamily(name)) {
    return { canonicalName: name, addresses: [{ address: literal.text, family: literal.family }], source: 'literal' };
  }
  const ctx = context(options);
  if (ctx.hostsPath !== false) {
    const match = hostsLookup(readHostsFile(ctx.hostsPath), name, options.family);
    if (match) {
      ctx.trace?.event('dns', `${name} found in ${ctx.hostsPath}: ${match.canonicalName}`, {
        addresses: match.addresses.map((a) => a.text),
      });
      return {
        canonicalName: match.canonicalName,
        addresses: match.addresses.map((a) => ({ address: a.text, family: a.family })),
        source: 'hosts',
      };
    }
  }
  const types = options.family === 4 ? [DnsType.A] : options.family === 6 ? [DnsType.AAAA] : [DnsType.A, DnsType.AAAA];
  const outcome = await search(ctx, name, async (candidate) => {
    const replies = await Promise.allSettled(types.map((t) => query(ctx, candidate, t)));
    let canonical: string | undefined;
    const addresses: HostAddress[] = [];
    let nxdomain = 0;
    let firstError: unknown;
    replies.forEach((reply, i) => {
      if (reply.status === 'rejected') {
        firstError ??= reply.reason;
        return;
      }
      if (reply.value.flags.rcode === DnsRcode.NXDOMAIN) {
        nxdomain++;
        return;
      }
      const { owner, records } = answerRecords(reply.value, candidate, types[i]!);
      for (const r of records) {
        if (r.data.type === 'A' || r.data.type === 'AAAA') {
          addresses.push({ address: r.data.address, family: r.data.type === 'A' ? 4 : 6 });
          canonical ??= owner;
        }
      }
    });
    if (addresses.length > 0) return { canonicalName: canonical!, addresses };
    if (firstError !== undefined) throw firstError;
    return nxdomain === types.length ? 'nxdomain' : 'nodata';
  });
  if (outcome.kind === 'found') {
    return { canonicalName: stripDot(outcome.value.canonicalName), addresses: outcome.value.addresses, source: 'dns' };
  }
  throw failureError(name, 'address', outcome);
}

/**
 * getnameinfo(NI_NAMEREQD) without NSS: the hosts file, then a PTR query. Accepts dotted IPv4,
 * any IPv6 text (the kernel's expanded form included) and the legacy 32-hex-digit IPv6 form.
 */
export async function reverseLookup(ip: string, options: DnsOptions = {}): Promise<string> {
  const address = parseIpAddress(ip);
  if (!address) throw new DnsBadQueryError(`${JSON.stringify(ip)} is not an IP address`, ip);
  const ctx = context(options);
  if (ctx.hostsPath !== false) {
    const name = hostsReverse(readHostsFile(ctx.hostsPath), address);
    if (name) {
      ctx.trace?.event('dns', `${address.text} found in ${ctx.hostsPath}: ${name}`);
      return name;
    }
  }
  const ptrName = reverseName(address);
  const message = await query(ctx, ptrName, DnsType.PTR);
  if (message.flags.rcode === DnsRcode.NXDOMAIN)
    throw new DnsNotFoundError(`no PTR record for ${address.text} (${ptrName} does not exist)`, ip);
  const { records } = answerRecords(message, ptrName, DnsType.PTR);
  const first = records.find((r) => r.data.type === 'PTR');
  if (!first || first.data.type !== 'PTR') throw new DnsNotFoundError(`no PTR record for ${address.text}`, ip);
  return stripDot(first.data.target);
}

async function resolveRecords(name: string, type: number, options: DnsOptions): Promise<DnsRecord[]> {
  validateName(name);
  const ctx = context(options);
  const outcome = await search(ctx, name, async (candidate) => {
    const message = await query(ctx, candidate, type);
    if (message.flags.rcode === DnsRcode.NXDOMAIN) return 'nxdomain';
    const { records } = answerRecords(message, candidate, type);
    return records.length > 0 ? records : 'nodata';
  });
  if (outcome.kind === 'found') return outcome.value;
  throw failureError(name, dnsTypeName(type), outcome);
}

/** SRV records of `name` in answer order (a trailing dot makes the name absolute). */
export async function resolveSrv(name: string, options: DnsOptions = {}): Promise<SrvRecord[]> {
  const records = await resolveRecords(name, DnsType.SRV, options);
  return records.flatMap((r) =>
    r.data.type === 'SRV' ? [{ priority: r.data.priority, weight: r.data.weight, port: r.data.port, target: stripDot(r.data.target) }] : [],
  );
}

/** URI records (RFC 7553, type 256) of `name` in answer order. */
export async function resolveUri(name: string, options: DnsOptions = {}): Promise<UriRecord[]> {
  const records = await resolveRecords(name, DnsType.URI, options);
  return records.flatMap((r) =>
    r.data.type === 'URI' ? [{ priority: r.data.priority, weight: r.data.weight, target: r.data.target }] : [],
  );
}

/** TXT records of `name`: each record is its list of character-strings. */
export async function resolveTxt(name: string, options: DnsOptions = {}): Promise<string[][]> {
  const records = await resolveRecords(name, DnsType.TXT, options);
  return records.flatMap((r) => (r.data.type === 'TXT' ? [r.data.strings] : []));
}

/** The first search-list domain resolv.conf gives (MIT's default `qualify_shortname`). */
export function primarySearchDomain(options: Pick<DnsOptions, 'resolvConfPath' | 'hostname' | 'search'> = {}): string | undefined {
  if (options.search) return options.search[0];
  return readResolvConf(options.resolvConfPath ?? DEFAULT_RESOLV_CONF, options.hostname ?? osHostname()).search[0];
}

function stripDot(name: string): string {
  return name.length > 1 && name.endsWith('.') ? name.slice(0, -1) : name;
}
