// /etc/cifs-upcall.conf: which credential strategy and which gssproxy socket to use, per host
// (the default), per SMB server and per container (matched by the triggering process's cgroup).
//
//   # comment                     ; comment
//   [global]                      # a comment may follow a header or a value after a blank
//   strategy = local-first        compat | local-first | local-only | proxy-first | proxy-only
//   gssproxy_socket = /var/lib/gssproxy/cifs-upcall.sock
//   gssproxy_naming = auto        euid | uid-name | auto
//   negative_timeout = 5          whole seconds a failed key stays negative (0..86400)
//   timeout = 30                  overall budget of one upcall, seconds
//   kdc_timeout = 1               per-attempt KDC wait, seconds (krb5.conf's kdc_timeout wins)
//   keytab_fallback = mount-session     mount-session | never
//   env_probe = yes               read KRB5CCNAME from the triggering process (like no -E)
//   trust_dns = no                like -t
//   trace_file = /var/log/cifs-upcall.trace   append a --trace of every upcall (root's file)
//   trace_format = text           text | json
//   trace_level = all             all | failures (only upcalls that failed are written)
//   trace_max_size = 16M          the trace file is moved to FILE.1 when it reaches this size (0: never)
//   krb5_conf = /etc/krb5.conf    like -k
//   keytab = FILE:/etc/krb5.keytab      like -K
//   [server fs1.example.com]      host glob (case-insensitive): *.hpc.example.com
//   [cgroup /kubepods.slice/*]    glob on the cgroup v2 path of the triggering process
//
// Comments: a line whose first non-blank character is `#` or `;`, and anything from a `#` or `;`
// that follows a blank (space or tab) after a header or a value. A `#` or `;` not preceded by a
// blank is part of the value. A setting may appear once per section.
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
  /** all: every upcall is written to trace_file; failures: only upcalls that failed */
  traceLevel: TraceLevel;
  /** bytes at which trace_file is moved to FILE.1 before an upcall appends (0: never) */
  traceMaxSize: number;
}

export const TRACE_LEVELS = ['all', 'failures'] as const;
export type TraceLevel = (typeof TRACE_LEVELS)[number];

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
  traceLevel: 'all',
  traceMaxSize: 16 * 1024 * 1024,
};

/** Every setting of the file, in the order the man page documents them. */
export const SETTING_NAMES = [
  'strategy',
  'gssproxy_socket',
  'gssproxy_naming',
  'negative_timeout',
  'timeout',
  'kdc_timeout',
  'keytab_fallback',
  'env_probe',
  'trust_dns',
  'krb5_conf',
  'keytab',
  'trace_file',
  'trace_format',
  'trace_level',
  'trace_max_size',
] as const;
export type SettingName = (typeof SETTING_NAMES)[number];

/** Ranges shared by the file and the command line (one parser for both). */
export const NEGATIVE_TIMEOUT_MAX = 86400;

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

function parseWholeSeconds(v: string, where: string, min: number, max: number): number {
  if (!/^\d{1,10}$/.test(v)) throw new ConfigError(`${where}: expected a whole number of seconds from ${min} to ${max}, got "${v}"`);
  const n = Number(v);
  if (n < min || n > max) throw new ConfigError(`${where}: expected a whole number of seconds from ${min} to ${max}, got "${v}"`);
  return n;
}

function parseSize(v: string, where: string): number {
  const m = /^(\d{1,12})([KMG]?)$/i.exec(v);
  if (!m) throw new ConfigError(`${where}: expected a size in bytes with an optional K, M or G suffix (0: unbounded), got "${v}"`);
  const unit = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[(m[2] ?? '').toUpperCase() as '' | 'K' | 'M' | 'G'];
  const n = Number(m[1]) * unit;
  if (n !== 0 && n < 4096) throw new ConfigError(`${where}: ${v} is too small for a trace file (0, or at least 4K)`);
  return n;
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
  if (value === '') throw new ConfigError(`${where}: no value`);
  switch (key) {
    case 'strategy':
      target.strategy = oneOf(value, STRATEGIES, where);
      break;
    case 'gssproxy_socket':
      target.gssproxySocket = absolutePath(value, where);
      break;
    case 'gssproxy_naming':
      target.gssproxyNaming = oneOf(value, GSSPROXY_NAMINGS, where);
      break;
    case 'negative_timeout':
      target.negativeTimeout = parseWholeSeconds(value, where, 0, NEGATIVE_TIMEOUT_MAX);
      break;
    case 'timeout':
      target.timeout = parseSeconds(value, where, 1, 600);
      break;
    case 'kdc_timeout':
      target.kdcTimeout = parseSeconds(value, where, 0.05, 60);
      break;
    case 'keytab_fallback':
      target.keytabFallback = oneOf(value, ['mount-session', 'never'] as const, where);
      break;
    case 'env_probe':
      target.envProbe = parseBoolean(value, where);
      break;
    case 'trust_dns':
      target.trustDns = parseBoolean(value, where);
      break;
    case 'krb5_conf':
      target.krb5Conf = absolutePath(value, where);
      break;
    case 'keytab':
      target.keytab = value;
      break;
    case 'trace_file':
      target.traceFile = absolutePath(value, where);
      break;
    case 'trace_format':
      target.traceFormat = oneOf(value, ['text', 'json'] as const, where);
      break;
    case 'trace_level':
      target.traceLevel = oneOf(value, TRACE_LEVELS, where);
      break;
    case 'trace_max_size':
      target.traceMaxSize = parseSize(value, where);
      break;
    default:
      throw new ConfigError(`${where}: unknown setting "${key}"`);
  }
}

/** Strip a comment that starts with `#` or `;` after a blank (see the header of this file). */
export function stripComment(line: string): string {
  const at = line.search(/[ \t][#;]/);
  return (at >= 0 ? line.slice(0, at) : line).trim();
}

/**
 * Parse the file. Problems are reported as `FILE:LINE: what is wrong`: the first one is thrown
 * (ConfigError) unless `problems` is given, in which case every problem is collected there and
 * the lines at fault are skipped (cifs-upcall --check-config).
 */
export function parseConfig(text: string, path: string | null, problems?: string[]): UpcallConfig {
  const sections: ConfigSection[] = [];
  let current: ConfigSection | null = null;
  let seen = new Map<string, number>();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const where = `${path ?? 'config'}:${i + 1}`;
    try {
      const raw = (lines[i] ?? '').replace(/\r$/, '').trim();
      if (raw === '' || raw.startsWith('#') || raw.startsWith(';')) continue;
      const line = stripComment(raw);
      if (line.startsWith('[')) {
        const header = /^\[\s*(global|server|cgroup)(?:\s+(\S+))?\s*\]$/.exec(line);
        const kind = header?.[1] as SectionKind | undefined;
        const pattern = header?.[2] ?? '';
        const bad =
          !header || kind === undefined
            ? `bad section header ${line} (expected [global], [server GLOB] or [cgroup GLOB]; a comment needs a blank before # or ;)`
            : kind === 'global' && pattern
              ? '[global] takes no pattern'
              : kind !== 'global' && !pattern
                ? `[${kind}] needs a pattern`
                : null;
        seen = new Map();
        if (bad !== null || kind === undefined) {
          // the lines up to the next header still get checked, but belong to no section
          current = { kind: 'global', pattern: '', line: i + 1, values: {} };
          throw new ConfigError(`${where}: ${bad}`);
        }
        current = { kind, pattern: kind === 'server' ? pattern.toLowerCase() : pattern, line: i + 1, values: {} };
        sections.push(current);
        continue;
      }
      const eq = line.indexOf('=');
      if (eq < 0) throw new ConfigError(`${where}: expected "key = value", got "${line}"`);
      const key = line.slice(0, eq).trim();
      const value = line.slice(eq + 1).trim();
      if (!current) throw new ConfigError(`${where}: setting "${key}" outside a section (start with [global])`);
      const before = seen.get(key);
      if (before !== undefined) throw new ConfigError(`${where}: "${key}" is already set on line ${before} of this section`);
      if (!(SETTING_NAMES as readonly string[]).includes(key)) {
        throw new ConfigError(`${where}: unknown setting "${key}" (known: ${SETTING_NAMES.join(', ')})`);
      }
      applySetting(current.values, key, value, `${where}: ${key}`);
      seen.set(key, i + 1);
    } catch (e) {
      if (!(e instanceof ConfigError) || !problems) throw e;
      problems.push(e.message);
    }
  }
  return { path, sections };
}

/**
 * Read the configuration file; a missing file is an empty configuration. The file is root's
 * (trusted input): refuse it when another user could have written it.
 */
export function loadConfig(path: string, required: boolean, problems?: string[]): UpcallConfig {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && !required) return { path: null, sections: [] };
    throw new ConfigError(
      `${path}: cannot open it: ${code === 'ENOENT' ? 'no such file' : code === 'ELOOP' ? 'a symbolic link (refused)' : (code ?? String(e))}`,
    );
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new ConfigError(`${path}: not a regular file`);
    if (st.uid !== 0) throw new ConfigError(`${path}: owned by uid ${st.uid}, not root: refusing it (chown root ${path})`);
    if ((st.mode & 0o022) !== 0) throw new ConfigError(`${path}: writable by group or others: refusing it (chmod go-w ${path})`);
    if (st.size > MAX_CONFIG_BYTES) throw new ConfigError(`${path}: larger than ${MAX_CONFIG_BYTES} bytes`);
    const buf = Buffer.alloc(st.size);
    let off = 0;
    while (off < buf.length) {
      const n = readSync(fd, buf, off, buf.length - off, off);
      if (n === 0) break;
      off += n;
    }
    return parseConfig(buf.subarray(0, off).toString('utf8'), path, problems);
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
/**
 * The settings of one upcall, resolved once and never changed after: built-in defaults <
 * [global] < matching [cgroup] < matching [server] < the command line. Everything downstream (the
 * pipeline, the credential sources, the trace file) reads this one object.
 */
export type ResolvedSettings = Readonly<UpcallSettings> & {
  /** the sections and layers that contributed, for the trace */
  readonly applied: readonly string[];
  /** where gssproxy_socket came from, when it was set */
  readonly gssproxySocketFrom?: 'command line' | 'configuration';
};

/** An empty configuration: what the built-in defaults and the command line alone give. */
export const NO_CONFIG: UpcallConfig = { path: null, sections: [] };

export function resolveSettings(config: UpcallConfig, match: MatchContext, commandLine: Partial<UpcallSettings>): ResolvedSettings {
  const settings: UpcallSettings = { ...DEFAULT_SETTINGS };
  const applied: string[] = [];
  let gssproxySocketFrom: 'command line' | 'configuration' | undefined;
  for (const kind of ['global', 'cgroup', 'server'] as const) {
    for (const s of config.sections) {
      if (s.kind !== kind) continue;
      const hit =
        kind === 'global' ||
        (kind === 'server' && globMatch(s.pattern, match.host)) ||
        (kind === 'cgroup' && match.cgroup !== undefined && globMatch(s.pattern, match.cgroup));
      if (!hit) continue;
      Object.assign(settings, s.values);
      if (s.values.gssproxySocket !== undefined) gssproxySocketFrom = 'configuration';
      applied.push(kind === 'global' ? `[global] (line ${s.line})` : `[${kind} ${s.pattern}] (line ${s.line})`);
    }
  }
  const given = Object.entries(commandLine).filter(([, v]) => v !== undefined);
  for (const [k, v] of given) (settings as unknown as Record<string, unknown>)[k] = v;
  if (commandLine.gssproxySocket !== undefined) gssproxySocketFrom = 'command line';
  if (given.length > 0) applied.push('command line');
  return Object.freeze({ ...settings, applied: Object.freeze(applied), ...(gssproxySocketFrom ? { gssproxySocketFrom } : {}) });
}
