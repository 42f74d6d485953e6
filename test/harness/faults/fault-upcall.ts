// Runs the production bundle for the fault-matrix and security tests, the two ways an upcall
// starts: `--replay` (the whole pipeline without a key) and the real request-key path
// (request_key(2) in a fresh session keyring → /sbin/request-key → our line in
// /etc/request-key.d → the bundle with --key-type user, since this kernel has no cifs.ko), and
// collects what an operator would see: exit status, wall time, the JSON trace, the upcall's
// syslog lines (by its pid, from a private /dev/log: test/harness/faults/fault-syslog.ts), and the key's
// state in /proc/keys (negative? timeout? payload?).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { release } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { expect } from 'vitest';
import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { hex, installRequestKeyLine, readJsonTrace, uniqueTag } from '../standin/harness.ts';
import type { LocalUser } from '../common/users.ts';
import type { ProbeFinding } from '../common/host-probes.ts';
import type { SyslogCapture, SyslogLine } from './fault-syslog.ts';
import type { TraceRecord } from '../../../src/trace.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

export interface ProductionBundle {
  path: string;
  remove(): void;
}

/** scripts/build.mjs's bundle of src/cli/main.ts, in a private directory under .work/. */
export async function buildProduction(label: string): Promise<ProductionBundle> {
  const base = join(root, '.work');
  mkdirSync(base, { recursive: true });
  const dir = mkdtempSync(join(base, `fault-${label}-`));
  const script = (await import(join(root, 'scripts', 'build.mjs'))) as {
    bundleOptions(entry: string, name: string, dir: string): Parameters<typeof build>[0];
    copyAddon(dir: string): void;
  };
  await build(script.bundleOptions(join(root, 'src', 'cli', 'main.ts'), 'cifs-upcall', dir));
  script.copyAddon(dir);
  return { path: join(dir, 'cifs-upcall.mjs'), remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface KeyState {
  /** exit status of `keyctl request2` (0: instantiated) */
  requestStatus: number;
  /** keyctl's error text, e.g. "Required key not available" */
  requestError: string;
  /** /proc/keys flags, e.g. "I--Q--N" (N = negative) */
  flags: string;
  /** /proc/keys expiry column, e.g. "4s", "perm" */
  expiry: string;
  owner: string;
  negative: boolean;
  /** the payload read back with `keyctl pipe` (hex), when instantiated */
  payloadHex: string | null;
}

export interface UpcallOutcome {
  /** the upcall's exit status (from its trace for request-key runs) */
  status: number;
  /** wall time: the process (replay) or the request_key(2) call (request-key) */
  ms: number;
  pid: number;
  trace: TraceRecord[];
  syslog: SyslogLine[];
  /** the LOG_ERR line(s) */
  errors: string[];
  stderr: string;
  stdout: string;
  key?: KeyState;
}

export interface DescriptionFields {
  host?: string;
  ip4?: string;
  uid: number;
  creduid?: number;
  pid: number;
  target?: 'app' | 'mount' | null;
  user?: string;
  sec?: string;
}

export function describeKey(f: DescriptionFields): string {
  return [
    'ver=0x2',
    `host=${f.host ?? 'fs1.example.test'}`,
    `ip4=${f.ip4 ?? '127.0.0.2'}`,
    `sec=${f.sec ?? 'krb5'}`,
    `uid=${hex(f.uid)}`,
    `creduid=${hex(f.creduid ?? f.uid)}`,
    ...(f.user !== undefined ? [`user=${f.user}`] : []),
    `pid=${hex(f.pid)}`,
    ...(f.target === null ? [] : [`upcall_target=${f.target ?? 'app'}`]),
  ].join(';');
}

/** A unique 127/8 address for one request-key scenario (its description glob keys on it). */
export function uniqueIp4(): string {
  const b = Buffer.from(uniqueTag(), 'hex');
  return `127.${(b[0]! % 250) + 3}.${b[1]}.${(b[2]! % 254) + 1}`;
}

/**
 * Run a command without blocking the event loop (fake daemons in this process must keep
 * answering while the upcall runs).
 */
export function runAsync(
  command: string,
  argv: string[],
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number; cwd?: string } = {},
): Promise<{ status: number; stdout: string; stderr: string; ms: number }> {
  return new Promise((resolveRun, reject) => {
    const t0 = performance.now();
    const child = spawn(command, argv, { env: options.env ?? process.env, cwd: options.cwd ?? '/', stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolveRun({ status: code ?? (signal ? 128 : -1), stdout, stderr, ms: performance.now() - t0 });
    });
  });
}

/** `keyctl session - sh -c SCRIPT`, optionally as a user (setpriv, no groups). */
function inSessionKeyringAsync(script: string, asUser?: LocalUser): Promise<{ status: number; stdout: string; stderr: string }> {
  const argv = ['keyctl', 'session', '-', '/bin/sh', '-c', script];
  const cmd = asUser ? ['setpriv', `--reuid=${asUser.uid}`, `--regid=${asUser.gid}`, '--clear-groups', ...argv] : argv;
  return runAsync(cmd[0]!, cmd.slice(1));
}

function syslogOf(syslog: SyslogCapture, pid: number): Promise<SyslogLine[]> {
  return pid > 0 ? syslog.waitFor(pid) : Promise.resolve([]);
}

function exitStatusOf(trace: TraceRecord[]): number {
  const r = [...trace].reverse().find((t) => t.area === 'result' && typeof t.fields?.['exitStatus'] === 'number');
  return r ? (r.fields!['exitStatus'] as number) : -1;
}

/** `node bundle --replay DESCRIPTION …` with request-key's minimal environment. */
export async function replayUpcall(options: {
  bundle: string;
  description: string;
  args?: string[];
  env?: Record<string, string>;
  work: string;
  /** the upcall runs with this capture's private /dev/log */
  syslog: SyslogCapture;
  timeoutMs?: number;
}): Promise<UpcallOutcome> {
  const traceFile = join(options.work, `trace-${uniqueTag()}.jsonl`);
  const [command, ...prefix] = options.syslog.wrapper;
  const r = await runAsync(
    command!,
    [
      ...prefix,
      '/usr/bin/node',
      options.bundle,
      '--replay',
      options.description,
      `--trace=${traceFile}`,
      '--trace-format=json',
      ...(options.args ?? []),
    ],
    {
      env: { HOME: '/', PATH: '/sbin:/bin:/usr/sbin:/usr/bin', ...options.env },
      timeoutMs: options.timeoutMs ?? 60_000,
    },
  );
  const ms = r.ms;
  const trace = readJsonTrace(traceFile);
  const pid = Number(trace[0]?.fields?.['pid'] ?? 0);
  const syslog = await syslogOf(options.syslog, pid);
  return {
    status: r.status,
    ms,
    pid,
    trace,
    syslog,
    stderr: r.stderr,
    stdout: r.stdout,
    errors: syslog.filter((l) => l.pri === 27).map((l) => l.message),
  };
}

/**
 * request_key("user", DESCRIPTION) in a fresh session keyring (as `asUser` when given); the
 * request-key line for this description runs the bundle with --key-type user and `args`.
 */
export async function requestKeyUpcall(options: {
  bundle: string;
  /** ip4 must be unique (uniqueIp4()): the request-key line and /proc/keys are matched on it */
  fields: DescriptionFields & { ip4: string };
  /** a description to request instead of describeKey(fields) */
  description?: string;
  /** the request-key glob (default: ver, host and the unique ip4 of `fields`, then *) */
  glob?: string;
  args?: string[];
  /** prefix of the program line (e.g. an strace wrapper); the bundle path follows it */
  wrapper?: string[];
  asUser?: LocalUser;
  work: string;
  /** the upcall runs with this capture's private /dev/log (its wrapper comes first on the line) */
  syslog: SyslogCapture;
  /** where the JSON trace goes (default: a fresh file in `work`) */
  traceFile?: string;
}): Promise<UpcallOutcome> {
  const tag = uniqueTag();
  const description = options.description ?? describeKey(options.fields);
  const glob = options.glob ?? `ver=0x2;host=${options.fields.host ?? 'fs1.example.test'};ip4=${options.fields.ip4};*`;
  const needle = `ip4=${options.fields.ip4};`;
  const traceFile = options.traceFile ?? join(options.work, `trace-${tag}.jsonl`);
  const program = [
    ...options.syslog.wrapper,
    ...(options.wrapper ?? []),
    '/usr/bin/node',
    options.bundle,
    '--key-type',
    'user',
    `--trace=${traceFile}`,
    '--trace-format=json',
    ...(options.args ?? []),
    '%k',
  ];
  const line = installRequestKeyLine(tag, `create user ${glob} * ${program.join(' ')}`);
  let r;
  try {
    r = await inSessionKeyringAsync(
      [
        `D='${description}'`,
        't0=$(date +%s%N)',
        'id=$(keyctl request2 user "$D" \'\' @s 2>/tmp/.cu-fault-err-$$); rc=$?',
        'echo "@RC@$rc@MS@$(( ($(date +%s%N) - t0) / 1000 ))@ERR@$(cat /tmp/.cu-fault-err-$$ | tr -d "\\n")@"; rm -f /tmp/.cu-fault-err-$$',
        'if [ "$rc" = 0 ]; then echo "@PAYLOAD@$(keyctl pipe "$id" | od -An -tx1 -v | tr -d \' \\n\')@"; fi',
        'echo @KEYS@; cat /proc/keys; echo @KEYS@',
      ].join('\n'),
      options.asUser,
    );
  } finally {
    line.remove();
  }
  const m = /@RC@(\d+)@MS@(\d+)@ERR@(.*)@/.exec(r.stdout);
  if (!m) throw new Error(`request-key run produced no result: ${r.stdout} ${r.stderr}`);
  const payload = /@PAYLOAD@([0-9a-f]*)@/.exec(r.stdout)?.[1] ?? null;
  const keysText = r.stdout.split('@KEYS@')[1] ?? '';
  const keyLine = keysText.split('\n').find((l) => l.includes(needle));
  const f = keyLine?.trim().split(/\s+/) ?? [];
  const trace = readJsonTrace(traceFile);
  const pid = Number(trace[0]?.fields?.['pid'] ?? 0);
  const syslog = await syslogOf(options.syslog, pid);
  return {
    status: exitStatusOf(trace),
    ms: Number(m[2]) / 1000,
    pid,
    trace,
    syslog,
    errors: syslog.filter((l) => l.pri === 27).map((l) => l.message),
    stderr: r.stderr,
    stdout: r.stdout,
    key: {
      requestStatus: Number(m[1]),
      requestError: m[3]!.replace(/^.*?: /, ''),
      flags: f[1] ?? '',
      expiry: f[3] ?? '',
      owner: f.length > 6 ? `${f[5]}:${f[6]}` : '',
      negative: (f[1] ?? '').includes('N'),
      payloadHex: payload,
    },
  };
}

/** The trace messages, one per line (for assertion messages). */
export function traceText(o: UpcallOutcome): string {
  return o.trace.map((t) => `${t.t.toFixed(1).padStart(8)} ${t.area.padEnd(9)} ${t.message}`).join('\n');
}

/** One row of the fault matrix as SECURITY.md shows it. */
export interface MatrixRow {
  fault: string;
  boundMs: number;
  observedMs: number;
  cause: string;
  exit: number;
  key: string;
}

/** Rows collected by a test file, printed at its end (copied into SECURITY.md). */
export function matrixRow(rows: MatrixRow[], fault: string, boundMs: number, o: UpcallOutcome): void {
  const negatedFor = o.trace.find((t) => t.area === 'result' && typeof t.fields?.['timeoutSeconds'] === 'number')?.fields?.[
    'timeoutSeconds'
  ];
  const key = o.key
    ? o.key.negative
      ? `/proc/keys: negative (${o.key.expiry} left${negatedFor === undefined ? ", the kernel's timeout" : ` of ${String(negatedFor)} s`}), ${o.key.requestError === 'Required key not available' ? 'ENOKEY' : o.key.requestError}`
      : o.key.payloadHex
        ? 'INSTANTIATED'
        : `none (${o.key.requestError || 'n/a'})`
    : `trace: "would be negated for ${String(negatedFor)} s" (replay)`;
  rows.push({ fault, boundMs, observedMs: Math.round(o.ms), cause: o.errors[0] ?? '(no LOG_ERR line)', exit: o.status, key });
}

export function printMatrix(title: string, rows: MatrixRow[]): void {
  const lines = rows.map(
    (r) =>
      `| ${r.fault} | ${(r.boundMs / 1000).toFixed(1)} s | ${r.observedMs} ms | ${r.cause.replace(/\|/g, '\\|')} | ${r.exit} | ${r.key} |`,
  );
  process.stderr.write(`\n[fault matrix] ${title}\n${lines.join('\n')}\n`);
}

/**
 * Does request_key(2) as root reach /sbin/request-key and a request-key.d helper on this host?
 * (Installs a private line for a unique `user` key whose helper leaves a marker, asks for the key
 * in a fresh session keyring, removes everything.) The fault rows go through the real
 * request-key path when it does, and fall back to --replay — asserting the "would be negated"
 * trace line instead of /proc/keys — when it does not.
 */
export function probeRootRequestKey(): ProbeFinding {
  if (rootProbe) return rootProbe;
  const tag = uniqueTag();
  const marker = `/tmp/cifs-upcall-rk-probe-${tag}`;
  const helper = `${marker}.sh`;
  writeFileSync(helper, `#!/bin/sh\ntouch ${marker}\nexit 1\n`, { mode: 0o755 });
  const line = installRequestKeyLine(`probe-${tag}`, `create user cifs-upcall-rk-probe-${tag} * /bin/sh ${helper}`);
  try {
    const r = spawnSync('keyctl', ['session', '-', 'keyctl', 'request2', 'user', `cifs-upcall-rk-probe-${tag}`, 'x', '@s'], {
      encoding: 'utf8',
      timeout: 15_000,
    });
    const ran = existsSync(marker);
    rootProbe = ran
      ? { available: true, finding: `host kernel ${release()}: request_key(2) as root ran the request-key.d helper` }
      : {
          available: false,
          finding: `host kernel ${release()}: request_key(2) as root ran no request-key.d helper (${(r.stderr || r.error?.message || `exit ${r.status}`).trim()})`,
        };
    return rootProbe;
  } finally {
    line.remove();
    spawnSync('rm', ['-f', marker, helper]);
  }
}
let rootProbe: ProbeFinding | undefined;

/**
 * One fault upcall: through the real request-key path (a fresh unique ip4, the `user` key type)
 * when `requestKey` says the host allows it, else --replay of the same description.
 */
export function faultUpcall(options: {
  requestKey: ProbeFinding;
  bundle: string;
  fields: DescriptionFields;
  args: string[];
  work: string;
  syslog: SyslogCapture;
}): Promise<UpcallOutcome> {
  if (options.requestKey.available) {
    return requestKeyUpcall({
      bundle: options.bundle,
      work: options.work,
      syslog: options.syslog,
      args: options.args,
      fields: { ...options.fields, ip4: uniqueIp4() },
    });
  }
  return replayUpcall({
    bundle: options.bundle,
    work: options.work,
    syslog: options.syslog,
    args: options.args,
    description: describeKey(options.fields),
  });
}

/** A positive control: exit 0 and a payload (an instantiated key with one, through request-key). */
export function expectKeyInstantiated(o: UpcallOutcome): Buffer {
  const why = `${traceText(o)}\n${o.stdout}\n${o.stderr}`;
  expect(o.status, why).toBe(0);
  if (o.key) {
    expect(o.key.requestStatus, why).toBe(0);
    expect(o.key.negative).toBe(false);
    expect(o.key.payloadHex, why).toMatch(/^[0-9a-f]{200,}$/);
    return Buffer.from(o.key.payloadHex!, 'hex');
  }
  expect(o.stdout, why).toMatch(/^[0-9a-f]{200,}\n?$/);
  return Buffer.from(o.stdout.trim(), 'hex');
}

/**
 * The assertions every failed fault row shares: it ended within `boundMs`, exited `exit`, its
 * trace has an event of `traceArea` matching `traceCause` (default `cause`) and ends with the exit
 * status, syslog got exactly one LOG_ERR line, "[key N] …" (or "[replay] …"), matching `cause` —
 * and the key's state: through request-key, /proc/keys shows the key negative with at most
 * `negativeS` seconds left, request_key(2) failed with ENOKEY, no payload, and the trace says
 * "key N negated for <negativeS> s"; on --replay the trace says "the key would be negated for
 * <negativeS> s" and nothing was printed.
 */
export function expectFaultRefused(
  o: UpcallOutcome,
  options: {
    boundMs: number;
    cause: RegExp;
    traceCause?: RegExp;
    traceArea?: string;
    exit?: number;
    negativeS: number;
    errorPrefix?: RegExp;
  },
): void {
  const why = `${traceText(o)}\n${o.stdout}`;
  const exit = options.exit ?? 8;
  const traceCause = options.traceCause ?? options.cause;
  expect(o.ms, why).toBeLessThan(options.boundMs);
  expect(o.status, why).toBe(exit);
  expect(
    o.trace.some((t) => (options.traceArea === undefined || t.area === options.traceArea) && traceCause.test(t.message)),
    why,
  ).toBe(true);
  expect(o.trace.at(-1)?.message, why).toBe(`exit status ${exit}`);
  const serial = o.trace[0]?.fields?.['key'];
  const prefix = o.key ? `[key ${String(serial)}] ` : '[replay] ';
  expect(o.errors, o.syslog.map((l) => l.message).join('\n')).toHaveLength(1);
  expect(o.errors[0]!.startsWith(prefix), o.errors[0]).toBe(true);
  expect(o.errors[0]!.slice(prefix.length)).toMatch(
    options.errorPrefix ?? /^Unable to obtain service ticket for \S+ \(uid \d+\) to cifs\/\S+: /,
  );
  expect(o.errors[0]).toMatch(options.cause);
  expect(
    o.syslog.every((l) => l.message.startsWith(prefix)),
    o.syslog.map((l) => l.message).join('\n'),
  ).toBe(true);
  if (o.key) {
    expect(o.key.requestStatus, why).not.toBe(0);
    expect(o.key.requestError, why).toBe('Required key not available');
    expect(o.key.negative, why).toBe(true);
    expect(o.key.payloadHex).toBeNull();
    const left = /^(\d+)s$/.exec(o.key.expiry);
    expect(left, `expiry ${o.key.expiry}`).not.toBeNull();
    expect(Number(left![1])).toBeGreaterThan(0);
    expect(Number(left![1])).toBeLessThanOrEqual(options.negativeS);
    expect(
      o.trace.some(
        (t) =>
          t.area === 'result' && t.message === `key ${String(serial)} negated for ${options.negativeS} s: request_key() callers get ENOKEY`,
      ),
      why,
    ).toBe(true);
  } else {
    expect(o.stdout).toBe('');
    expect(
      o.trace.some((t) => t.area === 'result' && t.message === `replay: the key would be negated for ${options.negativeS} s`),
      why,
    ).toBe(true);
  }
}
