// /etc/cifs-upcall.conf: which credential strategy and which gssproxy socket to use, per host
// (the default), per SMB server and per container (matched by the triggering process's cgroup).
//
//   # comment                     ; comment
//   [global]
//   strategy = local-first        compat | local-first | local-only | proxy-first | proxy-only
//   gssproxy_socket = /var/lib/gssproxy/cifs-upcall.sock
//   gssproxy_naming = auto        euid | uid-name | auto
//   negative_timeout = 5          seconds a failed key stays negative
//   timeout = 30                  overall budget of one upcall, seconds
//   kdc_timeout = 1               per-attempt KDC wait, seconds (krb5.conf's kdc_timeout wins)
//   keytab_fallback = mount-session     mount-session | never
//   env_probe = yes               read KRB5CCNAME from the triggering process (like no -E)
//   trust_dns = no                like -t
//   trace_file = /var/log/cifs-upcall.trace   append a --trace of every upcall (root's file)
//   trace_format = text           text | json
//   krb5_conf = /etc/krb5.conf    like -k
//   keytab = FILE:/etc/krb5.keytab      like -K
//   [server fs1.example.com]      host glob (case-insensitive): *.hpc.example.com
//   [cgroup /kubepods.slice/*]    glob on the cgroup v2 path of the triggering process
//
// The gssproxy socket path is resolved where the credential sources run: in the caller's mount
// namespace for upcall_target=app (a container's own gssproxy, e.g. a daemon set sharing its socket
// on a host path mounted into the pods), in the host's for upcall_target=mount.
// Later matching sections override earlier ones; `[server]` beats `[cgroup]` beats `[global]`;
// command-line options beat the file. The file is root's: it is read as root in the host's mount
// namespace, before anything else, and refused unless owned by root and not writable by others.
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';

export const STRATEGIES = ['compat', 'local-first', 'local-only', 'proxy-first', 'proxy-only'] as const;
export type StrategyName = (typeof STRATEGIES)[number];
export const GSSPROXY_NAMINGS = ['auto', 'euid', 'uid-name'] as const;
export type GssproxyNaming = (typeof GSSPROXY_NAMINGS)[number];
export type KeytabFallback = 'mount-session' | 'never';

/** Settings after merging file sections and command-line overrides. */
export interface UpcallSettings {
  strategy: StrategyName;
  gssproxySocket?: string;
  gssproxyNaming: GssproxyNaming;
  negativeTimeout: number;
  timeout: number;
  kdcTimeout: number;
  keytabFallback: KeytabFallback;
  envProbe: boolean;
  trustDns: boolean;
  krb5Conf?: string;
  keytab?: string;
  traceFile?: string;
  traceFormat: 'text' | 'json';
}

export const DEFAULT_SETTINGS: UpcallSettings = {
  strategy: 'compat',
  gssproxyNaming: 'auto',
  negativeTimeout: 5,
  timeout: 30,
  kdcTimeout: 1,
  keytabFallback: 'mount-session',
  envProbe: true,
  trustDns: false,
  traceFormat: 'text',
};

export type SectionKind = 'global' | 'server' | 'cgroup';

export interface ConfigSection {
  kind: SectionKind;
  /** glob for server/cgroup sections */
  pattern: string;
  line: number;
  values: Partial<UpcallSettings>;
}

export interface UpcallConfig {
  path: string | null;
  sections: ConfigSection[];
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

const MAX_CONFIG_BYTES = 1 << 20;

function parseBoolean(v: string, where: string): boolean {
  const s = v.toLowerCase();
  if (['yes', 'true', 'on', '1'].includes(s)) return true;
  if (['no', 'false', 'off', '0'].includes(s)) return false;
  throw new ConfigError(`${where}: expected yes or no, got "${v}"`);
}

function parseSeconds(v: string, where: string, min: number, max: number): number {
  if (!/^\d+(\.\d+)?$/.test(v)) throw new ConfigError(`${where}: expected a number of seconds, got "${v}"`);
  const n = Number(v);
  if (n < min || n > max) throw new ConfigError(`${where}: ${n} is outside ${min}..${max}`);
  return n;
}

function oneOf<T extends string>(v: string, allowed: readonly T[], where: string): T {
  if ((allowed as readonly string[]).includes(v)) return v as T;
  throw new ConfigError(`${where}: expected one of ${allowed.join(', ')}, got "${v}"`);
}

function absolutePath(v: string, where: string): string {
  if (!v.startsWith('/')) throw new ConfigError(`${where}: expected an absolute path, got "${v}"`);
  return v;
}

/** Apply one `key = value` to a partial settings object (shared by the file and the CLI). */
export function applySetting(target: Partial<UpcallSettings>, key: string, value: string, where: string): void {
  switch (key) {
    case 'strategy': target.strategy = oneOf(value, STRATEGIES, where); break;
    case 'gssproxy_socket': target.gssproxySocket = absolutePath(value, where); break;
    case 'gssproxy_naming': target.gssproxyNaming = oneOf(value, GSSPROXY_NAMINGS, where); break;
    case 'negative_timeout': target.negativeTimeout = parseSeconds(value, where, 0, 86400); break;
    case 'timeout': target.timeout = parseSeconds(value, where, 1, 600); break;
    case 'kdc_timeout': target.kdcTimeout = parseSeconds(value, where, 0.05, 60); break;
    case 'keytab_fallback': target.keytabFallback = oneOf(value, ['mount-session', 'never'] as const, where); break;
    case 'env_probe': target.envProbe = parseBoolean(value, where); break;
    case 'trust_dns': target.trustDns = parseBoolean(value, where); break;
    case 'krb5_conf': target.krb5Conf = absolutePath(value, where); break;
    case 'keytab': target.keytab = value; break;
    case 'trace_file': target.traceFile = absolutePath(value, where); break;
    case 'trace_format': target.traceFormat = oneOf(value, ['text', 'json'] as const, where); break;
    default: throw new ConfigError(`${where}: unknown setting "${key}"`);
  }
}

export function parseConfig(text: string, path: string | null): UpcallConfig {
  const sections: ConfigSection[] = [];
  let current: ConfigSection | null = null;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const where = `${path ?? 'config'}:${i + 1}`;
    const line = (lines[i] ?? '').trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[\s*(global|server|cgroup)(?:\s+(\S+))?\s*\]$/.exec(line);
    if (header) {
      const kind = header[1] as SectionKind;
      const pattern = header[2] ?? '';
      if (kind === 'global' && pattern) throw new ConfigError(`${where}: [global] takes no pattern`);
      if (kind !== 'global' && !pattern) throw new ConfigError(`${where}: [${kind}] needs a pattern`);
      current = { kind, pattern: kind === 'server' ? pattern.toLowerCase() : pattern, line: i + 1, values: {} };
      sections.push(current);
      continue;
    }
    if (line.startsWith('[')) throw new ConfigError(`${where}: unknown section header ${line}`);
    const eq = line.indexOf('=');
    if (eq < 0) throw new ConfigError(`${where}: expected "key = value"`);
    if (!current) throw new ConfigError(`${where}: setting outside a section`);
    const key = line.slice(0, eq).trim();
    let value = line.slice(eq + 1).trim();
    const hash = value.search(/\s#/);
    if (hash >= 0) value = value.slice(0, hash).trim();
    applySetting(current.values, key, value, where);
  }
  return { path, sections };
}

/**
 * Read the configuration file; a missing file is an empty configuration. The file is root's
 * (trusted input): refuse it when another user could have written it.
 */
export function loadConfig(path: string, required: boolean): UpcallConfig {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && !required) return { path: null, sections: [] };
    throw new ConfigError(`cannot open ${path}: ${code ?? String(e)}`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new ConfigError(`${path} is not a regular file`);
    if (st.uid !== 0) throw new ConfigError(`${path} is owned by uid ${st.uid}, not root: refusing it`);
    if ((st.mode & 0o022) !== 0) throw new ConfigError(`${path} is writable by group or others: refusing it`);
    if (st.size > MAX_CONFIG_BYTES) throw new ConfigError(`${path} is larger than ${MAX_CONFIG_BYTES} bytes`);
    const buf = Buffer.alloc(st.size);
    let off = 0;
    while (off < buf.length) {
      const n = readSync(fd, buf, off, buf.length - off, off);
      if (n === 0) break;
      off += n;
    }
    return parseConfig(buf.subarray(0, off).toString('utf8'), path);
  } finally {
    closeSync(fd);
  }
}

/** fnmatch-style glob: `*` any run, `?` one character, case-sensitivity chosen by the caller. */
export function globMatch(pattern: string, text: string): boolean {
  // Iterative matching with one remembered `*` (O(pattern × text)): a regular expression with
  // several `.*` backtracks exponentially on a long host (the fuzz campaign hung on
  // "*a*a*a*…b" against 1024 bytes of "a"; the host can come from a DFS referral).
  const p = [...pattern];
  const t = [...text];
  let pi = 0;
  let ti = 0;
  let star = -1;
  let resume = 0;
  while (ti < t.length) {
    if (pi < p.length && (p[pi] === '?' || (p[pi] !== '*' && p[pi] === t[ti]))) {
      pi++;
      ti++;
    } else if (pi < p.length && p[pi] === '*') {
      star = pi++;
      resume = ti;
    } else if (star >= 0) {
      pi = star + 1;
      ti = ++resume;
    } else {
      return false;
    }
  }
  while (pi < p.length && p[pi] === '*') pi++;
  return pi === p.length;
}

export interface MatchContext {
  /** lower-cased server host */
  host: string;
  /** cgroup v2 path of the triggering process ("/user.slice/..."), when known */
  cgroup?: string;
}

/** Merge: defaults < [global] < matching [cgroup] < matching [server] < command line. */
export function resolveSettings(
  config: UpcallConfig,
  match: MatchContext,
  overrides: Partial<UpcallSettings>,
): { settings: UpcallSettings; applied: string[] } {
  const settings: UpcallSettings = { ...DEFAULT_SETTINGS };
  const applied: string[] = [];
  for (const kind of ['global', 'cgroup', 'server'] as const) {
    for (const s of config.sections) {
      if (s.kind !== kind) continue;
      const hit = kind === 'global' ||
        (kind === 'server' && globMatch(s.pattern, match.host)) ||
        (kind === 'cgroup' && match.cgroup !== undefined && globMatch(s.pattern, match.cgroup));
      if (!hit) continue;
      Object.assign(settings, s.values);
      applied.push(kind === 'global' ? `[global] (line ${s.line})` : `[${kind} ${s.pattern}] (line ${s.line})`);
    }
  }
  for (const [k, v] of Object.entries(overrides)) {
    if (v !== undefined) (settings as unknown as Record<string, unknown>)[k] = v;
  }
  if (Object.values(overrides).some((v) => v !== undefined)) applied.push('command line');
  return { settings, applied };
}
