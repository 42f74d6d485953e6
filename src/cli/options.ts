// The command line of cifs-upcall: every cifs.upcall option with the same meaning
// (docs/cifs-upcall-behaviour.md#command-line), plus the replay, trace and configuration options.
import { splitDescribeString, type DescribedKey } from '../kernel/key-description.ts';
import { applySetting, ConfigError, type UpcallSettings } from '../pipeline/config.ts';
import { DEFAULT_KEY_TYPE } from '../pipeline/upcall.ts';
import { scanArguments, type LongOption } from './getopt.ts';

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** cifs.upcall's optstring, plus -h. */
export const OPTSTRING = 'cEhk:K:ltve:';

const SHORT_IDS: Record<string, string> = {
  c: 'legacy-c',
  E: 'no-env-probe',
  h: 'help',
  k: 'krb5conf',
  K: 'keytab',
  l: 'legacy-uid',
  t: 'trust-dns',
  v: 'version',
  e: 'expire',
};

export const LONG_OPTIONS: readonly LongOption[] = [
  // cifs.upcall's own
  { name: 'no-env-probe', argument: 'none', id: 'no-env-probe', compat: true },
  { name: 'krb5conf', argument: 'required', id: 'krb5conf', compat: true },
  { name: 'keytab', argument: 'required', id: 'keytab', compat: true },
  { name: 'legacy-uid', argument: 'none', id: 'legacy-uid', compat: true },
  { name: 'trust-dns', argument: 'none', id: 'trust-dns', compat: true },
  { name: 'expire', argument: 'required', id: 'expire', compat: true },
  { name: 'version', argument: 'none', id: 'version', compat: true },
  // ours
  { name: 'help', argument: 'none', id: 'help' },
  { name: 'verbose', argument: 'none', id: 'verbose' },
  { name: 'replay', argument: 'required', id: 'replay' },
  { name: 'pid', argument: 'required', id: 'pid' },
  { name: 'key-owner', argument: 'required', id: 'key-owner' },
  { name: 'payload-out', argument: 'required', id: 'payload-out' },
  { name: 'trace', argument: 'optional', id: 'trace' },
  { name: 'trace-format', argument: 'required', id: 'trace-format' },
  { name: 'key-type', argument: 'required', id: 'key-type' },
  { name: 'config', argument: 'required', id: 'config' },
  { name: 'negative-timeout', argument: 'required', id: 'negative-timeout' },
  { name: 'gssproxy-socket', argument: 'required', id: 'gssproxy-socket' },
  { name: 'strategy', argument: 'required', id: 'strategy' },
  { name: 'check-config', argument: 'optional', id: 'check-config' },
  { name: 'doctor', argument: 'none', id: 'doctor' },
  { name: 'json', argument: 'none', id: 'json' },
  { name: 'train-code-cache', argument: 'none', id: 'train-code-cache' },
];

export const DEFAULT_CONFIG_PATH = '/etc/cifs-upcall.conf';
export const DEFAULT_DNS_EXPIRE_SECONDS = 600;
/** Largest key serial: serials are positive signed 32-bit numbers. */
const MAX_KEY_SERIAL = 0x7fffffff;

export type TraceFormat = 'text' | 'json';

export interface RunOptions {
  mode: 'kernel' | 'replay';
  /** kernel mode: the key serial (first operand) */
  keySerial?: number;
  /** replay mode: the key as if KEYCTL_DESCRIBE had returned it */
  replayKey?: DescribedKey;
  /** replay mode, --pid: a live process of the credential user to stand for the description's pid */
  replayPid?: number;
  /** replay: where the payload goes; undefined = hex on stdout */
  payloadOut?: string;
  /** undefined = no trace; null = stderr; string = file */
  trace?: string | null;
  traceFormat: TraceFormat;
  keyType: string;
  configPath: string;
  /**
   * The command line's layer of the settings (-E, -k, -K, -t, --negative-timeout,
   * --gssproxy-socket, --strategy), parsed by the configuration file's own parser; it beats the
   * file when the settings are resolved (src/pipeline/config.ts resolveSettings).
   */
  settings: Partial<UpcallSettings>;
  verbose: boolean;
  legacyUid: boolean;
  /** -e: timeout of dns_resolver keys (which this helper refuses; kept for compatibility) */
  dnsExpireSeconds: number;
  /** operands after the key serial (ignored, as cifs.upcall does) */
  ignoredOperands: string[];
}

/** --check-config [FILE]: validate the configuration file without running an upcall */
export interface CheckConfigCommand {
  mode: 'check-config';
  configPath: string;
}

/** --doctor [--config FILE] [--json]: check the host's set-up, change nothing */
export interface DoctorCommand {
  mode: 'doctor';
  configPath: string;
  json: boolean;
}

export type CommandLine =
  | { mode: 'help' }
  | { mode: 'version' }
  | { mode: 'train-code-cache' }
  | CheckConfigCommand
  | DoctorCommand
  | RunOptions;

/**
 * Interpret argv. -h/-v act as soon as they appear (getopt order), like cifs.upcall's -v; any
 * other problem is a UsageError.
 */
export function parseCommandLine(argv: readonly string[]): CommandLine {
  const scan = scanArguments(argv, OPTSTRING, SHORT_IDS, LONG_OPTIONS);
  const parsed: RunOptions = {
    mode: 'kernel',
    traceFormat: 'text',
    keyType: DEFAULT_KEY_TYPE,
    configPath: DEFAULT_CONFIG_PATH,
    settings: {},
    verbose: false,
    legacyUid: false,
    dnsExpireSeconds: DEFAULT_DNS_EXPIRE_SECONDS,
    ignoredOperands: [],
  };
  let replay: string | undefined;
  let keyOwner: { uid: number; gid: number } | undefined;
  let checkConfig: string | null | undefined;
  let doctor = false;
  let json = false;
  let configGiven = false;

  for (const item of scan.items) {
    if (item.kind === 'error') throw new UsageError(item.message);
    const value = item.value ?? '';
    switch (item.id) {
      case 'help':
        return { mode: 'help' };
      case 'version':
        return { mode: 'version' };
      case 'legacy-c':
        break; // -c: accepted and ignored, as cifs.upcall
      case 'no-env-probe':
        parsed.settings.envProbe = false;
        break;
      case 'krb5conf':
        Object.assign(parsed.settings, setting(item.spelling, 'krb5_conf', value));
        break;
      case 'keytab':
        parsed.settings.keytab = nonEmpty(item.spelling, value);
        break;
      case 'legacy-uid':
        parsed.legacyUid = true;
        break;
      case 'trust-dns':
        parsed.settings.trustDns = true;
        break;
      case 'expire':
        parsed.dnsExpireSeconds = decimal(item.spelling, value, 0, 0xffffffff);
        break;
      case 'verbose':
        parsed.verbose = true;
        break;
      case 'replay':
        replay = nonEmpty(item.spelling, value);
        break;
      case 'pid':
        parsed.replayPid = decimal(item.spelling, value, 1, 0x3fffffff);
        break;
      case 'key-owner':
        keyOwner = parseOwner(item.spelling, value);
        break;
      case 'payload-out':
        parsed.payloadOut = nonEmpty(item.spelling, value);
        break;
      case 'trace':
        parsed.trace = item.value === undefined ? null : nonEmpty(item.spelling, value);
        break;
      case 'trace-format':
        if (value !== 'text' && value !== 'json') throw new UsageError(`${item.spelling}: expected text or json, got '${value}'`);
        parsed.traceFormat = value;
        break;
      case 'key-type':
        if (!/^[A-Za-z0-9._-]+$/.test(value)) throw new UsageError(`${item.spelling}: '${value}' is not a key type name`);
        parsed.keyType = value;
        break;
      case 'config':
        parsed.configPath = nonEmpty(item.spelling, value);
        configGiven = true;
        break;
      // the same parser and ranges as the configuration file's settings
      case 'negative-timeout':
        Object.assign(parsed.settings, setting(item.spelling, 'negative_timeout', value));
        break;
      case 'gssproxy-socket':
        Object.assign(parsed.settings, setting(item.spelling, 'gssproxy_socket', value));
        break;
      case 'strategy':
        Object.assign(parsed.settings, setting(item.spelling, 'strategy', value));
        break;
      case 'check-config':
        checkConfig = item.value === undefined ? null : nonEmpty(item.spelling, value);
        break;
      case 'doctor':
        doctor = true;
        break;
      case 'json':
        json = true;
        break;
      case 'train-code-cache':
        if (argv.length !== 1) throw new UsageError('--train-code-cache takes no other option or operand');
        return { mode: 'train-code-cache' };
      default:
        throw new UsageError(`internal: unhandled option ${item.spelling}`);
    }
  }

  if (checkConfig !== undefined) {
    if (replay !== undefined || doctor) throw new UsageError('--check-config cannot be combined with --replay or --doctor');
    if (scan.operands.length > 1) throw new UsageError(`--check-config takes one file (unexpected '${scan.operands[1]}')`);
    const named = checkConfig ?? scan.operands[0];
    if (named !== undefined && configGiven && named !== parsed.configPath) {
      throw new UsageError(`--check-config names ${named} and --config names ${parsed.configPath}: give one file`);
    }
    return { mode: 'check-config', configPath: named ?? parsed.configPath };
  }
  if (doctor) {
    if (replay !== undefined) throw new UsageError('--doctor cannot be combined with --replay');
    if (scan.operands.length > 0) throw new UsageError(`--doctor takes no operand (unexpected '${scan.operands[0]}'; use --config FILE)`);
    return { mode: 'doctor', configPath: parsed.configPath, json };
  }
  if (json) throw new UsageError('--json is only meaningful with --doctor (use --trace-format=json for the trace)');
  if (replay !== undefined) {
    parsed.mode = 'replay';
    if (scan.operands.length > 0) {
      throw new UsageError(`--replay takes the description instead of a key serial (unexpected '${scan.operands[0]}')`);
    }
    parsed.replayKey = replayKey(replay, parsed.keyType, keyOwner);
    return parsed;
  }
  if (keyOwner) throw new UsageError('--key-owner is only meaningful with --replay');
  if (parsed.replayPid !== undefined) throw new UsageError('--pid is only meaningful with --replay');
  if (parsed.payloadOut !== undefined) throw new UsageError('--payload-out is only meaningful with --replay');
  const [serial, ...rest] = scan.operands;
  if (serial === undefined) throw new UsageError('no key serial given');
  parsed.keySerial = keySerial(serial);
  parsed.ignoredOperands = rest;
  return parsed;
}

/**
 * Strict decimal 1..2^31-1. Deliberately stricter than cifs.upcall's strtol without end check
 * (`12abc` → 12, `0x10` → 0, negatives accepted): a wrong serial here is a configuration error.
 */
export function keySerial(text: string): number {
  if (!/^[1-9][0-9]{0,9}$/.test(text) || Number(text) > MAX_KEY_SERIAL) {
    throw new UsageError(`'${text}' is not a key serial (a decimal number from 1 to ${MAX_KEY_SERIAL})`);
  }
  return Number(text);
}

/** Perm of a kernel-made cifs.spnego key (docs/test-environments.md#what-the-helper-receives). */
const KERNEL_KEY_PERM = 0x39010000;

/**
 * `--replay` takes the full describe form `type;uid;gid;perm;description` (as keyctl rdescribe
 * prints it) or just the description; the latter gets --key-type and --key-owner (default 0:0).
 */
export function replayKey(text: string, keyType: string, owner: { uid: number; gid: number } | undefined): DescribedKey {
  let described: DescribedKey | undefined;
  try {
    described = splitDescribeString(text);
    if (described.type.includes('=')) described = undefined;
  } catch {
    described = undefined;
  }
  if (described) {
    if (owner) throw new UsageError('--key-owner conflicts with a --replay description that names its owner (type;uid;gid;perm;…)');
    return described;
  }
  return { type: keyType, uid: owner?.uid ?? 0, gid: owner?.gid ?? 0, perm: KERNEL_KEY_PERM, description: text };
}

function parseOwner(spelling: string, value: string): { uid: number; gid: number } {
  const m = /^(\d{1,10}):(\d{1,10})$/.exec(value);
  if (!m || Number(m[1]) > 0xffffffff || Number(m[2]) > 0xffffffff) {
    throw new UsageError(`${spelling}: expected UID:GID in decimal, got '${value}'`);
  }
  return { uid: Number(m[1]), gid: Number(m[2]) };
}

function decimal(spelling: string, value: string, min: number, max: number): number {
  if (!/^[0-9]{1,10}$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new UsageError(`${spelling}: expected a whole number from ${min} to ${max}, got '${value}'`);
  }
  return Number(value);
}

/** A command-line value parsed exactly as the configuration file's setting of that name. */
function setting(spelling: string, name: string, value: string): Partial<UpcallSettings> {
  const target: Partial<UpcallSettings> = {};
  try {
    applySetting(target, name, value, spelling);
  } catch (e) {
    if (e instanceof ConfigError) throw new UsageError(e.message);
    throw e;
  }
  return target;
}

function nonEmpty(spelling: string, value: string): string {
  if (value === '') throw new UsageError(`${spelling}: empty argument`);
  return value;
}
