// Typed view of krb5.conf: the relations the upcall uses, with MIT krb5 1.20 defaults and MIT's
// handling of bad values (some fall back to the default, some are fatal — noted per accessor).
// Sources: docs/kerberos.md#krb5conf (relations used, [domain_realm], fallback host realm), checked
// against libkrb5 1.20.1 on Debian 12.
import type { Trace } from '../../trace.ts';
import { ipFamily, primarySearchDomain, resolveTxt, DnsLookupError, type DnsOptions } from '../../net/dns/index.ts';
import { enctypeName, IMPLEMENTED_ENCTYPES, MIT_DEFAULT_ENCTYPES, parseEnctypeList } from './enctype-list.ts';
import { krb5ConfigPaths, Profile, type ProfileSource, type ProfileValue } from './profile.ts';
import { krb5ConfBoolean, parseDuration, parseProfileBoolean, parseProfileInteger } from './values.ts';

/** A relation has a value MIT would refuse; the message names the file and line. */
export class Krb5ConfigError extends Error {
  constructor(
    readonly relation: string,
    reason: string,
    readonly source?: ProfileSource,
  ) {
    super(source ? `${source.file}:${source.line}: ${relation}: ${reason}` : `krb5.conf ${relation}: ${reason}`);
    this.name = 'Krb5ConfigError';
  }
}

export type KdcTransport = 'udp' | 'tcp' | 'any';

/** One usable `[realms] R kdc` entry. */
export interface KdcEntry {
  /** host name or address literal (IPv6 without brackets) */
  host: string;
  port: number;
  /** `any` unless pinned with a Heimdal-style `udp/` or `tcp/` prefix */
  transport: KdcTransport;
  /** the relation value as written */
  text: string;
  source: ProfileSource;
}

/** An entry we cannot use (MS-KKDCP https://, Unix-socket path, Heimdal http/). */
export interface SkippedKdcEntry {
  text: string;
  reason: string;
  source: ProfileSource;
}

export type DnsCanonicalize = boolean | 'fallback';

export const DEFAULTS = {
  ccacheName: 'FILE:/tmp/krb5cc_%{uid}',
  keytabName: 'FILE:/etc/krb5.keytab',
  clientKeytabName: 'FILE:/etc/krb5/user/%{euid}/client.keytab',
  kcmSocket: '/var/run/.heim_org.h5l.kcm-socket',
  udpPreferenceLimit: 1465,
  udpHardLimit: 32700,
  clockskewSeconds: 300,
  kdcTimesync: 1,
  kdcPort: 88,
} as const;

const LIBDEFAULTS = 'libdefaults';

export interface LoadKrb5ConfigOptions {
  /** cifs.upcall `-k FILE` (replaces the list; `:` separates files as in KRB5_CONFIG) */
  configFile?: string;
  /** where KRB5_CONFIG comes from (default process.env) */
  env?: { KRB5_CONFIG?: string };
  trace?: Trace;
}

/** Read the krb5.conf file list (synchronously) and return its typed view. */
export function loadKrb5Config(options: LoadKrb5ConfigOptions = {}): Krb5Config {
  const paths = krb5ConfigPaths(options);
  const profile = Profile.load(paths);
  const trace = options.trace;
  for (const r of profile.report) {
    trace?.event('krb5conf', r.status === 'read' ? `read ${r.path}` : `skipped ${r.path} (${r.status}${r.detail ? `: ${r.detail}` : ''})`);
  }
  for (const w of profile.warnings()) trace?.event('krb5conf', `warning: ${w}`);
  return new Krb5Config(profile, trace);
}

export class Krb5Config {
  constructor(
    readonly profile: Profile,
    private readonly trace?: Trace,
  ) {}

  /** Configuration from text (tests, fixed configs). */
  static fromText(text: string, name?: string, trace?: Trace): Krb5Config {
    return new Krb5Config(Profile.fromText(text, name), trace);
  }

  private lib(name: string, realm?: string): ProfileValue | undefined {
    if (realm !== undefined) {
      const perRealm = this.profile.value([LIBDEFAULTS, realm, name]);
      if (perRealm) return perRealm;
    }
    return this.profile.value([LIBDEFAULTS, name]);
  }

  /** profile_get_boolean semantics; `onInvalid` says what MIT does with a bad word. */
  private profileBoolean(name: string, fallback: boolean, onInvalid: 'default' | 'fatal'): boolean {
    const v = this.lib(name);
    if (!v) return fallback;
    const parsed = parseProfileBoolean(v.value);
    if (parsed !== undefined) return parsed;
    if (onInvalid === 'fatal')
      throw new Krb5ConfigError(name, `${JSON.stringify(v.value)} is not a boolean (yes/no, true/false, on/off, 1/0)`, v.source);
    this.trace?.event('krb5conf', `${name} = ${JSON.stringify(v.value)} is not a boolean; using ${fallback}`);
    return fallback;
  }

  /** [libdefaults] default_realm, or undefined (an empty value counts as unset). */
  defaultRealm(): string | undefined {
    const v = this.lib('default_realm');
    return v && v.value !== '' ? v.value : undefined;
  }

  /** default_ccache_name, unexpanded (`%{uid}` etc. are the ccache code's job). */
  defaultCcacheName(): string {
    return this.lib('default_ccache_name')?.value ?? DEFAULTS.ccacheName;
  }

  defaultKeytabName(): string {
    return this.lib('default_keytab_name')?.value ?? DEFAULTS.keytabName;
  }

  defaultClientKeytabName(): string {
    return this.lib('default_client_keytab_name')?.value ?? DEFAULTS.clientKeytabName;
  }

  /** dns_lookup_kdc, else dns_fallback, else true; any word but a "yes" word means false. */
  dnsLookupKdc(): boolean {
    const v = this.lib('dns_lookup_kdc') ?? this.lib('dns_fallback');
    return v ? krb5ConfBoolean(v.value) : true;
  }

  /** dns_lookup_realm, else dns_fallback, else false. */
  dnsLookupRealm(): boolean {
    const v = this.lib('dns_lookup_realm') ?? this.lib('dns_fallback');
    return v ? krb5ConfBoolean(v.value) : false;
  }

  /** dns_uri_lookup (default true; a bad value means the default). */
  dnsUriLookup(): boolean {
    return this.profileBoolean('dns_uri_lookup', true, 'default');
  }

  /** dns_canonicalize_hostname: boolean or `fallback` (default true; anything else is fatal, as in MIT). */
  dnsCanonicalizeHostname(): DnsCanonicalize {
    const v = this.lib('dns_canonicalize_hostname');
    if (!v) return true;
    const parsed = parseProfileBoolean(v.value);
    if (parsed !== undefined) return parsed;
    if (v.value.toLowerCase() === 'fallback') return 'fallback';
    throw new Krb5ConfigError('dns_canonicalize_hostname', `${JSON.stringify(v.value)} is not true, false or fallback`, v.source);
  }

  /** rdns (default true; a bad value means the default). */
  rdns(): boolean {
    return this.profileBoolean('rdns', true, 'default');
  }

  /**
   * qualify_shortname: the configured value, else the first resolv.conf search domain; '' means
   * "do not qualify".
   */
  qualifyShortname(dns: Pick<DnsOptions, 'resolvConfPath' | 'hostname' | 'search'> = {}): string {
    const v = this.lib('qualify_shortname');
    if (v) return v.value;
    return primarySearchDomain(dns) ?? '';
  }

  /**
   * udp_preference_limit: requests longer than this go over TCP first. Negative ⇒ 1465, above
   * 32700 ⇒ 32700; a non-integer is fatal (MIT fails the send).
   */
  udpPreferenceLimit(): number {
    const v = this.lib('udp_preference_limit');
    if (!v) return DEFAULTS.udpPreferenceLimit;
    const n = parseProfileInteger(v.value);
    if (n === undefined) throw new Krb5ConfigError('udp_preference_limit', `${JSON.stringify(v.value)} is not an integer`, v.source);
    if (n < 0) return DEFAULTS.udpPreferenceLimit;
    return Math.min(n, DEFAULTS.udpHardLimit);
  }

  private durationMs(name: string): number | undefined {
    const v = this.lib(name);
    if (!v) return undefined;
    const seconds = parseDuration(v.value);
    if (seconds === undefined || seconds <= 0) {
      throw new Krb5ConfigError(name, `${JSON.stringify(v.value)} is not a positive duration (e.g. 3, 3s, 1m30s, 0:30)`, v.source);
    }
    return seconds * 1000;
  }

  /** kdc_timeout (Heimdal's per-KDC wait; used as our per-attempt timeout), milliseconds. */
  kdcTimeoutMs(): number | undefined {
    return this.durationMs('kdc_timeout');
  }

  /** request_timeout (MIT 1.22: budget of one KDC exchange), milliseconds. */
  requestTimeoutMs(): number | undefined {
    return this.durationMs('request_timeout');
  }

  /** clockskew in seconds: an integer (strtol base 0) or a duration; a bad value means 300. */
  clockskewSeconds(): number {
    const v = this.lib('clockskew');
    if (!v) return DEFAULTS.clockskewSeconds;
    const n = parseProfileInteger(v.value) ?? parseDuration(v.value);
    if (n === undefined) {
      this.trace?.event('krb5conf', `clockskew = ${JSON.stringify(v.value)} is not a duration; using ${DEFAULTS.clockskewSeconds}`);
      return DEFAULTS.clockskewSeconds;
    }
    return n;
  }

  /** kdc_timesync (default 1; a bad value means the default). */
  kdcTimesync(): number {
    const v = this.lib('kdc_timesync');
    const n = v ? parseProfileInteger(v.value) : undefined;
    return n ?? DEFAULTS.kdcTimesync;
  }

  /** allow_weak_crypto (default false; a bad value is fatal, as in MIT). */
  allowWeakCrypto(): boolean {
    return this.profileBoolean('allow_weak_crypto', false, 'fatal');
  }

  private enctypes(relation: string, text: string | undefined, source?: ProfileSource): number[] {
    const { mitList, unknown } = parseEnctypeList(text ?? 'DEFAULT', MIT_DEFAULT_ENCTYPES, this.allowWeakCrypto());
    if (unknown.length > 0) this.trace?.event('krb5conf', `${relation}: ignoring unknown enctype name(s) ${unknown.join(', ')}`);
    if (mitList.length === 0) {
      throw new Krb5ConfigError(relation, `no supported encryption types in ${JSON.stringify(text)}`, source);
    }
    const usable = mitList.filter((e) => IMPLEMENTED_ENCTYPES.includes(e));
    if (usable.length === 0) {
      throw new Krb5ConfigError(
        relation,
        `none of ${mitList.map(enctypeName).join(', ')} is supported here (aes256-cts, aes128-cts, aes256-sha2, aes128-sha2, rc4-hmac)`,
        source,
      );
    }
    return usable;
  }

  /** permitted_enctypes as numbers we implement, in MIT's order (default 18 17 20 19 23). */
  permittedEnctypes(): number[] {
    const v = this.lib('permitted_enctypes');
    return this.enctypes('permitted_enctypes', v?.value, v?.source);
  }

  /** default_tgs_enctypes, else permitted_enctypes' text (MIT ≥ 1.18), else the default. */
  defaultTgsEnctypes(): number[] {
    const tgs = this.lib('default_tgs_enctypes');
    const v = tgs ?? this.lib('permitted_enctypes');
    return this.enctypes(tgs ? 'default_tgs_enctypes' : 'permitted_enctypes', v?.value, v?.source);
  }

  /** forwardable ([libdefaults] R subsection first); default false. */
  forwardable(realm?: string): boolean {
    const v = this.lib('forwardable', realm);
    return v ? krb5ConfBoolean(v.value) : false;
  }

  /** canonicalize ([libdefaults] R subsection first); default false. */
  canonicalize(realm?: string): boolean {
    const v = this.lib('canonicalize', realm);
    return v ? krb5ConfBoolean(v.value) : false;
  }

  kcmSocket(): string {
    return this.lib('kcm_socket')?.value ?? DEFAULTS.kcmSocket;
  }

  /** Realms with a [realms] subsection. */
  realms(): string[] {
    return this.profile.subsectionNames(['realms']);
  }

  /**
   * `[realms] R kdc` entries in order. Entries we cannot use are returned in `skipped` with the
   * reason; a malformed host:port is fatal (MIT fails the lookup).
   */
  realmKdcs(realm: string): { entries: KdcEntry[]; skipped: SkippedKdcEntry[] } {
    const entries: KdcEntry[] = [];
    const skipped: SkippedKdcEntry[] = [];
    for (const v of this.profile.values(['realms', realm, 'kdc'])) {
      const parsed = parseKdcSpec(v.value);
      if ('skip' in parsed) skipped.push({ text: v.value, reason: parsed.skip, source: v.source });
      else if ('error' in parsed)
        throw new Krb5ConfigError(`[realms] ${realm} kdc`, `${JSON.stringify(v.value)}: ${parsed.error}`, v.source);
      else entries.push({ ...parsed, text: v.value, source: v.source });
    }
    return { entries, skipped };
  }

  /**
   * [domain_realm] mapping of a host (docs/kerberos.md#domain_realm-mapping): lower-case, one trailing dot removed,
   * then the host and each parent domain with and without the leading dot. '' (the referral
   * realm) when nothing matches or the host is an address literal.
   */
  domainRealm(host: string): string {
    const name = cleanHostname(host);
    if (ipFamily(name)) return '';
    let candidate: string | undefined = name;
    while (candidate !== undefined) {
      const v = this.profile.value(['domain_realm', candidate]);
      if (v) {
        this.trace?.event('krb5conf', `[domain_realm] ${candidate} = ${v.value} for host ${name}`);
        return v.value;
      }
      if (candidate.startsWith('.')) candidate = candidate.slice(1);
      else {
        const dot = candidate.indexOf('.');
        candidate = dot >= 0 ? candidate.slice(dot) : undefined;
      }
    }
    return '';
  }

  /**
   * krb5_get_fallback_host_realm (docs/kerberos.md#fallback-host-realm): with dns_lookup_realm a `_kerberos` TXT
   * record for the host or a parent domain; else the upper-cased parent domain; for a
   * single-label host or an address literal, default_realm (undefined when there is none).
   */
  async fallbackHostRealm(host: string, dns: DnsOptions = {}): Promise<string | undefined> {
    const name = cleanHostname(host);
    if (!ipFamily(name)) {
      if (this.dnsLookupRealm()) {
        for (let domain: string | undefined = name; domain; ) {
          const realm = await txtRealm(`_kerberos.${domain}.`, { ...dns, trace: dns.trace ?? this.trace });
          if (realm !== undefined) {
            this.trace?.event('krb5conf', `fallback realm of ${name} from TXT _kerberos.${domain}: ${realm}`);
            return realm;
          }
          const dot = domain.indexOf('.');
          domain = dot >= 0 ? domain.slice(dot + 1) : undefined;
        }
      }
      const dot = name.indexOf('.');
      if (dot >= 0 && dot + 1 < name.length) return name.slice(dot + 1).toUpperCase();
    }
    return this.defaultRealm();
  }

  /** [capaths] client = { server = … } values in order ('.' = direct), or undefined. */
  capaths(clientRealm: string, serverRealm: string): string[] | undefined {
    const values = this.profile.values(['capaths', clientRealm, serverRealm]).map((v) => v.value);
    return values.length > 0 ? values : undefined;
  }

  /**
   * Realm path from client to server realm, both ends included: [capaths] if configured, else
   * the hierarchical path through the common parent (or the top-level components when none).
   */
  realmPath(clientRealm: string, serverRealm: string): string[] {
    if (clientRealm === serverRealm) return [clientRealm];
    const configured = this.capaths(clientRealm, serverRealm);
    if (configured) {
      const middle = configured.filter((r) => r !== '.');
      return [clientRealm, ...middle, serverRealm];
    }
    return hierarchicalPath(clientRealm, serverRealm);
  }
}

function cleanHostname(host: string): string {
  const lower = host.toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}

async function txtRealm(name: string, dns: DnsOptions): Promise<string | undefined> {
  try {
    const records = await resolveTxt(name, dns);
    const first = records[0]?.[0];
    return first !== undefined && first !== '' ? first : undefined;
  } catch (err) {
    if (err instanceof DnsLookupError) return undefined;
    throw err;
  }
}

/** MIT walk_rtree.c default: up from the client to the common suffix, then down to the server. */
function hierarchicalPath(client: string, server: string): string[] {
  const c = client.split('.');
  const s = server.split('.');
  let common = 0;
  while (common < c.length && common < s.length && c[c.length - 1 - common] === s[s.length - 1 - common]) common++;
  const up: string[] = [];
  for (let i = 0; i <= c.length - Math.max(common, 1); i++) up.push(c.slice(i).join('.'));
  const down: string[] = [];
  for (let i = s.length - Math.max(common, 1); i >= 0; i--) down.push(s.slice(i).join('.'));
  // with a common suffix the two halves meet in it (listed once); without, they meet at the top
  if (common > 0) down.shift();
  return [...up, ...down];
}

type ParsedKdc = { host: string; port: number; transport: KdcTransport } | { skip: string } | { error: string };

/** A `kdc =` value: [udp/|tcp/]host[:port], [v6]:port, bare IPv6; https:// and /path are skipped. */
export function parseKdcSpec(text: string): ParsedKdc {
  let spec = text.trim();
  if (/^https:\/\//i.test(spec)) return { skip: 'MS-KKDCP (https://) KDC proxies are not supported' };
  if (/^http\//i.test(spec)) return { skip: "Heimdal's http/ KDC transport is not supported" };
  if (spec.startsWith('/')) return { skip: 'Unix-socket KDCs are not supported' };
  let transport: KdcTransport = 'any';
  const prefix = /^(udp|tcp)\//i.exec(spec);
  if (prefix) {
    transport = prefix[1]!.toLowerCase() as 'udp' | 'tcp';
    spec = spec.slice(prefix[0].length);
  }
  if (spec === '' || spec.startsWith(':')) return { error: 'no host' };
  if (/^[0-9]+$/.test(spec)) return { error: 'a port without a host' };
  let host: string;
  let portText: string | undefined;
  if (spec.startsWith('[')) {
    const close = spec.indexOf(']');
    if (close < 0) return { error: 'missing "]"' };
    host = spec.slice(1, close);
    const rest = spec.slice(close + 1);
    if (rest.startsWith(':')) portText = rest.slice(1);
    else if (rest !== '') return { error: `unexpected ${JSON.stringify(rest)} after "]"` };
  } else {
    const first = spec.indexOf(':');
    if (first >= 0 && spec.indexOf(':', first + 1) < 0) {
      host = spec.slice(0, first);
      portText = spec.slice(first + 1);
    } else {
      host = spec;
    }
  }
  if (host === '' || /[ \t]/.test(host)) return { error: 'bad host' };
  let port: number = DEFAULTS.kdcPort;
  if (portText !== undefined) {
    if (!/^[0-9]{1,5}$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535) {
      return { error: `bad port ${JSON.stringify(portText)}` };
    }
    port = Number(portText);
  }
  return { host, port, transport };
}
