// Runs the production bundle for the fault-matrix and security tests, the two ways an upcall
// starts: `--replay` (the whole pipeline without a key) and the real request-key path
// (request_key(2) in a fresh session keyring → /sbin/request-key → our line in
// /etc/request-key.d → the bundle with --key-type user, since this kernel has no cifs.ko), and
// collects what an operator would see: exit status, wall time, the JSON trace, the upcall's
// syslog lines (by its pid), and the key's state in /proc/keys (negative? timeout? payload?).
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { expect } from 'vitest';
import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { hex, installRequestKeyLine, readJsonTrace, uniqueTag } from './standin/harness.ts';
import type { LocalUser } from './users.ts';
import type { SyslogCapture, SyslogLine } from './fault-syslog.ts';
import type { TraceRecord } from '../../src/trace.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

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
    'ver=0x2', `host=${f.host ?? 'fs1.example.test'}`, `ip4=${f.ip4 ?? '127.0.0.2'}`, `sec=${f.sec ?? 'krb5'}`,
    `uid=${hex(f.uid)}`, `creduid=${hex(f.creduid ?? f.uid)}`, ...(f.user !== undefined ? [`user=${f.user}`] : []),
    `pid=${hex(f.pid)}`, ...(f.target === null ? [] : [`upcall_target=${f.target ?? 'app'}`]),
  ].join(';');
}

/** A unique 127/8 address for one request-key scenario (its description glob keys on it). */
export function uniqueIp4(): string {
  const b = Buffer.from(uniqueTag(), 'hex');
  return `127.${b[0]! % 250 + 3}.${b[1]}.${b[2]! % 254 + 1}`;
}

/**
 * Run a command without blocking the event loop (fake daemons in this process must keep
 * answering while the upcall runs).
 */
export function runAsync(command: string, argv: string[], options: { env?: NodeJS.ProcessEnv; timeoutMs?: number; cwd?: string } = {}): Promise<{ status: number; stdout: string; stderr: string; ms: number }> {
  return new Promise((resolveRun, reject) => {
    const t0 = performance.now();
    const child = spawn(command, argv, { env: options.env ?? process.env, cwd: options.cwd ?? '/', stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
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

function syslogOf(syslog: SyslogCapture | null, pid: number): Promise<SyslogLine[]> {
  return syslog && pid > 0 ? syslog.waitFor(pid) : Promise.resolve([]);
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
  syslog: SyslogCapture | null;
  timeoutMs?: number;
}): Promise<UpcallOutcome> {
  const traceFile = join(options.work, `trace-${uniqueTag()}.jsonl`);
  const r = await runAsync('/usr/bin/node', [options.bundle, '--replay', options.description, `--trace=${traceFile}`, '--trace-format=json', ...(options.args ?? [])], {
    env: { HOME: '/', PATH: '/sbin:/bin:/usr/sbin:/usr/bin', ...options.env },
    timeoutMs: options.timeoutMs ?? 60_000,
  });
  const ms = r.ms;
  const trace = readJsonTrace(traceFile);
  const pid = Number(trace[0]?.fields?.['pid'] ?? 0);
  const syslog = await syslogOf(options.syslog, pid);
  return {
    status: r.status, ms, pid, trace, syslog, stderr: r.stderr, stdout: r.stdout,
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
  syslog: SyslogCapture | null;
  /** where the JSON trace goes (default: a fresh file in `work`) */
  traceFile?: string;
}): Promise<UpcallOutcome> {
  const tag = uniqueTag();
  const description = options.description ?? describeKey(options.fields);
  const glob = options.glob ?? `ver=0x2;host=${options.fields.host ?? 'fs1.example.test'};ip4=${options.fields.ip4};*`;
  const needle = `ip4=${options.fields.ip4};`;
  const traceFile = options.traceFile ?? join(options.work, `trace-${tag}.jsonl`);
  const program = [...(options.wrapper ?? []), '/usr/bin/node', options.bundle, '--key-type', 'user',
    `--trace=${traceFile}`, '--trace-format=json', ...(options.args ?? []), '%k'];
  const line = installRequestKeyLine(tag, `create user ${glob} * ${program.join(' ')}`);
  let r;
  try {
    r = await inSessionKeyringAsync([
      `D='${description}'`,
      't0=$(date +%s%N)',
      'id=$(keyctl request2 user "$D" \'\' @s 2>/tmp/.cu-fault-err-$$); rc=$?',
      'echo "@RC@$rc@MS@$(( ($(date +%s%N) - t0) / 1000 ))@ERR@$(cat /tmp/.cu-fault-err-$$ | tr -d "\\n")@"; rm -f /tmp/.cu-fault-err-$$',
      'if [ "$rc" = 0 ]; then echo "@PAYLOAD@$(keyctl pipe "$id" | od -An -tx1 -v | tr -d \' \\n\')@"; fi',
      'echo @KEYS@; cat /proc/keys; echo @KEYS@',
    ].join('\n'), options.asUser);
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
  const key = o.key
    ? (o.key.negative ? `negative (${o.key.expiry}), ${o.key.requestError || 'ENOKEY'}` : o.key.payloadHex ? 'INSTANTIATED' : `none (${o.key.requestError || 'n/a'})`)
    : 'n/a (replay: "would be negated")';
  rows.push({ fault, boundMs, observedMs: Math.round(o.ms), cause: o.errors[0] ?? '(no LOG_ERR line)', exit: o.status, key });
}

export function printMatrix(title: string, rows: MatrixRow[]): void {
  const lines = rows.map((r) => `| ${r.fault} | ${(r.boundMs / 1000).toFixed(1)} s | ${r.observedMs} ms | ${r.cause.replace(/\|/g, '\\|')} | ${r.exit} | ${r.key} |`);
  process.stderr.write(`\n[fault matrix] ${title}\n${lines.join('\n')}\n`);
}

/**
 * The assertions every failed replay row shares: it ended within `boundMs`, exited `exit`, wrote
 * no payload, its trace has an event of `traceArea` matching `cause`, and (when syslog is
 * captured) exactly one LOG_ERR line, "Unable to obtain service ticket: …" matching `cause`.
 */
export function expectReplayFailed(o: UpcallOutcome, options: {
  boundMs: number; cause: RegExp; traceArea: string; syslogCaptured: boolean; exit?: number;
}): void {
  const why = traceText(o);
  expect(o.ms, why).toBeLessThan(options.boundMs);
  expect(o.status, why).toBe(options.exit ?? 8);
  expect(o.stdout).toBe('');
  expect(o.trace.some((t) => t.area === options.traceArea && options.cause.test(t.message)), why).toBe(true);
  expect(o.trace.at(-1)?.message).toBe(`exit status ${options.exit ?? 8}`);
  if (options.syslogCaptured) {
    expect(o.errors, o.syslog.map((l) => l.message).join('\n')).toHaveLength(1);
    expect(o.errors[0]).toMatch(/^\[replay\] Unable to obtain service ticket/);
    expect(o.errors[0]).toMatch(options.cause);
  }
}
