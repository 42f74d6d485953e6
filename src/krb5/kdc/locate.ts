// The KDC list of a realm (docs/kerberos.md#locating-the-kdc, MIT os/locate_kdc.c): `[realms] R kdc` entries if
// there are any (DNS is then not consulted); else, with dns_lookup_kdc, URI records for
// `_kerberos.R.` (RFC 7553, `krb5srv:<flags>:<udp|tcp|kkdcp>:<host[:port]>`) when dns_uri_lookup,
// else SRV records `_kerberos._udp.R.` then `_kerberos._tcp.R.` (RFC 2782). Each DNS list is
// ordered by priority (weight ignored, as MIT does); a lone SRV target "." means the realm says
// it has no KDC. Host names are resolved later, by the transport, when it reaches the entry.
import type { Trace } from '../../trace.ts';
import { DnsLookupError, resolveSrv, resolveUri, type DnsOptions, type SrvRecord } from '../../net/dns/index.ts';
import { parseKdcSpec, type Krb5Config, type KdcTransport } from '../config/krb5-config.ts';

export interface KdcServer {
  /** host name or address literal (IPv6 without brackets) */
  host: string;
  port: number;
  /** pinned transport, or `any` (both, the request size picks the first) */
  transport: KdcTransport;
  origin: 'config' | 'uri' | 'srv';
  /** URI flag `m`: a primary KDC */
  primary: boolean;
  /** for traces and errors: `host:port` with IPv6 in brackets */
  label: string;
}

export type KdcLocateFailure = 'invalid-realm' | 'no-kdc' | 'no-service' | 'unusable-entries';

/** No KDC can be named for the realm (MIT: KRB5_REALM_UNKNOWN, KRB5_ERR_NO_SERVICE). */
export class KdcLocateError extends Error {
  constructor(
    readonly realm: string,
    readonly kind: KdcLocateFailure,
    detail?: string,
  ) {
    const head = kind === 'invalid-realm' ? 'Cannot find KDC for invalid realm ""' : `Cannot find KDC for realm "${realm}"`;
    super(detail ? `${head}: ${detail}` : head);
    this.name = 'KdcLocateError';
  }
}

export interface LocateOptions {
  dns?: DnsOptions;
  trace?: Trace;
}

function label(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

function byPriority<T extends { priority: number }>(records: T[]): T[] {
  // Array.prototype.sort is stable: equal priorities keep the DNS answer order
  return [...records].sort((a, b) => a.priority - b.priority);
}

/** The servers to try for `realm`, in order. */
export async function locateKdcs(realm: string, config: Krb5Config, options: LocateOptions = {}): Promise<KdcServer[]> {
  const trace = options.trace;
  if (realm === '') throw new KdcLocateError(realm, 'invalid-realm');
  const { entries, skipped } = config.realmKdcs(realm);
  for (const s of skipped)
    trace?.event('kdc', `skipping [realms] ${realm} kdc = ${s.text}: ${s.reason}`, { file: s.source.file, line: s.source.line });
  if (entries.length > 0 || skipped.length > 0) {
    if (entries.length === 0) {
      throw new KdcLocateError(
        realm,
        'unusable-entries',
        `every [realms] ${realm} kdc entry is unsupported (${skipped.map((s) => s.text).join(', ')})`,
      );
    }
    const servers = entries.map((e) => ({
      host: e.host,
      port: e.port,
      transport: e.transport,
      origin: 'config' as const,
      primary: false,
      label: label(e.host, e.port),
    }));
    trace?.event('kdc', `KDCs for ${realm} from krb5.conf: ${servers.map((s) => describe(s)).join(', ')}`);
    return servers;
  }
  if (!config.dnsLookupKdc()) {
    throw new KdcLocateError(realm, 'no-kdc', `no [realms] ${realm} kdc entry and dns_lookup_kdc is off`);
  }
  const dns: DnsOptions = { ...options.dns, trace: options.dns?.trace ?? trace };
  const dnsProblems: string[] = [];
  if (config.dnsUriLookup()) {
    const servers = await uriServers(realm, dns, dnsProblems, trace);
    if (servers.length > 0) {
      trace?.event('kdc', `KDCs for ${realm} from URI records: ${servers.map((s) => describe(s)).join(', ')}`);
      return servers;
    }
  }
  const found: Array<{ record: SrvRecord; transport: 'udp' | 'tcp'; name: string }> = [];
  for (const transport of ['udp', 'tcp'] as const) {
    const name = `_kerberos._${transport}.${realm}.`;
    const records = await lookup(() => resolveSrv(name, dns), name, dnsProblems);
    for (const record of byPriority(records)) found.push({ record, transport, name });
  }
  // RFC 2782: target "." = the service is decidedly not available. MIT 1.20 only honours it
  // when it is the one record of both queries (a "." next to real targets is tried and fails to
  // resolve); we skip such entries, and also say "no service" when every record is ".".
  if (found.length > 0 && found.every((f) => f.record.target === '')) {
    throw new KdcLocateError(realm, 'no-service', `SRV ${found.map((f) => f.name).join(', ')} target "." (no Kerberos service)`);
  }
  const servers: KdcServer[] = [];
  for (const { record, transport, name } of found) {
    if (record.target === '') {
      trace?.event('kdc', `ignoring SRV ${name} target "."`);
      continue;
    }
    // SRV targets are absolute: keep the trailing dot so no search domain is appended
    servers.push({
      host: `${record.target}.`,
      port: record.port,
      transport,
      origin: 'srv',
      primary: false,
      label: label(record.target, record.port),
    });
  }
  if (servers.length > 0) {
    trace?.event('kdc', `KDCs for ${realm} from SRV records: ${servers.map((s) => describe(s)).join(', ')}`);
    return servers;
  }
  throw new KdcLocateError(
    realm,
    'no-kdc',
    dnsProblems.length > 0 ? `DNS: ${dnsProblems.join('; ')}` : 'no [realms] entry, no URI or SRV records',
  );
}

function describe(s: KdcServer): string {
  return s.transport === 'any' ? s.label : `${s.transport}/${s.label}`;
}

async function lookup<T>(ask: () => Promise<T[]>, name: string, problems: string[]): Promise<T[]> {
  try {
    return await ask();
  } catch (err) {
    if (!(err instanceof DnsLookupError)) throw err;
    // MIT treats a failed query like an empty answer; we keep the reason for the final error
    problems.push(`${name}: ${err.message}`);
    return [];
  }
}

/** Parse a `krb5srv:` URI target (docs/kerberos.md#locating-the-kdc); undefined when malformed or unsupported. */
export function parseKrb5srvUri(
  target: string,
): { host: string; port: number; transport: 'udp' | 'tcp'; primary: boolean } | { skip: string } | undefined {
  const m = /^krb5srv:([^:]*):([^:]+):(.*)$/i.exec(target);
  if (!m) return undefined;
  const primary = /m/i.test(m[1]!);
  const transport = m[2]!.toLowerCase();
  if (transport === 'kkdcp') return { skip: 'MS-KKDCP (kkdcp) transport is not supported' };
  if (transport !== 'udp' && transport !== 'tcp') return undefined;
  const spec = parseKdcSpec(m[3]!);
  if (!('host' in spec) || spec.transport !== 'any') return undefined;
  return { host: spec.host, port: spec.port, transport, primary };
}

async function uriServers(realm: string, dns: DnsOptions, problems: string[], trace?: Trace): Promise<KdcServer[]> {
  const name = `_kerberos.${realm}.`;
  const records = await lookup(() => resolveUri(name, dns), name, problems);
  const servers: KdcServer[] = [];
  for (const r of byPriority(records)) {
    const parsed = parseKrb5srvUri(r.target);
    if (parsed === undefined) {
      trace?.event('kdc', `ignoring malformed URI record ${name} ${JSON.stringify(r.target)}`);
      continue;
    }
    if ('skip' in parsed) {
      trace?.event('kdc', `ignoring URI record ${JSON.stringify(r.target)}: ${parsed.skip}`);
      continue;
    }
    servers.push({ ...parsed, origin: 'uri', label: label(parsed.host, parsed.port) });
  }
  return servers;
}
