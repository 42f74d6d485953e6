// Runs the production bundle against the AD test domain (samba-ad.ts) the way request-key would,
// with --replay: an "application" process of the user (its pid and KRB5CCNAME go into the
// description / are probed), a root-owned configuration file per upcall (strategy,
// gssproxy_socket, krb5_conf, trace_file as JSON lines), -k, optionally -K, --payload-out, and
// --verbose, which copies every syslog line — byte for byte the line sent to syslog — to stderr.
// Then the SPNEGO blob goes to the acceptor holding the server's exported keytab (acceptWithPac)
// and its session key is compared with the payload's.
//
// Everything is asynchronous (no spawnSync while an upcall runs), so a KDC tap in the test process
// (samba-ad-kdc-tap.ts) keeps relaying.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TraceRecord } from '../../../src/trace.ts';
import { logMark, logSince } from '../realm/realm.ts';
import { acceptWithPac, kdcRequestLines, type AdAcceptance, type AdEnv, type AsUser } from './samba-ad.ts';
import { buildChassisBundles, type ChassisBundles } from '../standin/build.ts';
import { splitPayload } from '../common/stock-upcall.ts';

export type AdStrategy = 'compat' | 'local-first' | 'local-only' | 'proxy-first' | 'proxy-only';

export interface AdUpcallOptions {
  /** the credential uid's account; the application process runs as it (uid 0: root) */
  as: AsUser;
  /** host= of the description (the server's name as the kernel gives it) */
  host: string;
  strategy: AdStrategy;
  /** user= of the description (default "root", a multiuser mount's identity) */
  mountUser?: string;
  /** the application's environment (e.g. KRB5CCNAME); null: no application (upcall_target=mount, our own pid) */
  app?: Record<string, string> | null;
  /** krb5.conf for the upcall (config krb5_conf and -k); default the domain's */
  krb5Conf?: string;
  /** -K */
  keytab?: string;
  /** gssproxy_socket (default the domain's impersonating socket) */
  gssproxySocket?: string;
  /** the whole upcall's budget, seconds (config timeout; default 20) */
  timeoutSeconds?: number;
}

export interface SyslogLine {
  level: string;
  /** without the "[replay] " prefix */
  message: string;
}

export interface AdUpcallResult {
  description: string;
  status: number;
  ms: number;
  trace: TraceRecord[];
  syslog: SyslogLine[];
  /** the LOG_ERR lines */
  errors: string[];
  stderr: string;
  payload: { sessionKey: Buffer; blob: Buffer; version: number; flags: number } | null;
  /** the DC's one-line KDC summaries written during the upcall (AS-REQ/TGS-REQ … reason=…) */
  kdc: string[];
}

export function traceText(r: AdUpcallResult): string {
  return r.trace.map((t) => `${t.area.padEnd(8)} ${t.message}`).join('\n');
}

/** Every trace message of these areas, joined (for "the trace says …" checks). */
export function traceOf(r: AdUpcallResult, ...areas: string[]): string {
  return r.trace
    .filter((t) => areas.length === 0 || areas.includes(t.area))
    .map((t) => t.message)
    .join('\n');
}

const hex = (n: number): string => `0x${n.toString(16)}`;

/**
 * With an application process: upcall_target=app and its pid. Without one: upcall_target=mount
 * with our own pid (not followed; pid 0 is refused, as by cifs.upcall 7.6).
 */
function descriptionFor(o: AdUpcallOptions, app: { pid: number } | null): string {
  const id = hex(o.as.uid);
  const target = app ? `pid=${hex(app.pid)};upcall_target=app` : `pid=${hex(process.pid)};upcall_target=mount`;
  return `ver=0x2;host=${o.host};ip4=127.0.0.1;sec=krb5;uid=${id};creduid=${id};user=${o.mountUser ?? 'root'};${target}`;
}

function parseSyslog(stderr: string): SyslogLine[] {
  const out: SyslogLine[] = [];
  for (const line of stderr.split('\n')) {
    const m = /^cifs\.upcall: <(\w+)> \[replay\] (.*)$/.exec(line);
    if (m) out.push({ level: m[1]!, message: m[2]! });
  }
  return out;
}

function runNode(args: string[], timeoutMs: number): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      env: { HOME: '/', PATH: '/sbin:/bin:/usr/sbin:/usr/bin' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ status: code ?? (signal ? 128 : -1), stdout, stderr });
    });
  });
}

/** One test file's runner: its own production bundle and scratch directory. */
export class AdUpcallRunner {
  private bundles: ChassisBundles | null = null;
  private readonly apps: ChildProcess[] = [];
  readonly scratch: string;
  private n = 0;

  private constructor(
    readonly env: AdEnv,
    scratch: string,
  ) {
    this.scratch = scratch;
  }

  static async create(env: AdEnv, label: string): Promise<AdUpcallRunner> {
    // under the domain's state dir: removed with it; 0755 so the upcall (as the user) may pass
    const scratch = mkdtempSync(join(env.stateDir, `upcall-${label}-`));
    chmodSync(scratch, 0o755);
    const runner = new AdUpcallRunner(env, scratch);
    runner.bundles = await buildChassisBundles(label);
    return runner;
  }

  get bundle(): string {
    if (!this.bundles) throw new Error('runner closed');
    return this.bundles.production;
  }

  /** A long-lived process of `user` with this environment: the triggering "application". */
  private async application(user: AsUser, environment: Record<string, string>): Promise<ChildProcess> {
    const child = spawn('/bin/sleep', ['300'], { uid: user.uid, gid: user.gid, env: environment, stdio: 'ignore' });
    this.apps.push(child);
    // the upcall reads /proc/<pid>/environ: wait until the exec happened (comm is "sleep")
    for (let i = 0; i < 200; i++) {
      try {
        if (readFileSync(`/proc/${child.pid}/comm`, 'utf8').trim() === 'sleep') return child;
      } catch {
        /* not there yet */
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    throw new Error('application process did not start');
  }

  async upcall(o: AdUpcallOptions): Promise<AdUpcallResult> {
    const id = `${++this.n}`;
    const app = o.app === null || (o.as.uid === 0 && o.app === undefined) ? null : await this.application(o.as, o.app ?? {});
    const description = descriptionFor(o, app?.pid === undefined ? null : { pid: app.pid });
    const krb5Conf = o.krb5Conf ?? this.env.krb5Conf;
    const traceFile = join(this.scratch, `trace-${id}.json`);
    const payloadFile = join(this.scratch, `payload-${id}`);
    const config = join(this.scratch, `cifs-upcall-${id}.conf`);
    writeFileSync(
      config,
      [
        '[global]',
        `strategy = ${o.strategy}`,
        `gssproxy_socket = ${o.gssproxySocket ?? this.env.gssproxy.socket}`,
        `krb5_conf = ${krb5Conf}`,
        `trace_file = ${traceFile}`,
        'trace_format = json',
        `timeout = ${o.timeoutSeconds ?? 20}`,
        '',
      ].join('\n'),
      { mode: 0o644 },
    );
    const mark = logMark(this.env.dc.log);
    const started = performance.now();
    try {
      const r = await runNode(
        [
          this.bundle,
          '--replay',
          description,
          '--config',
          config,
          '-k',
          krb5Conf,
          ...(o.keytab ? ['-K', o.keytab] : []),
          '--payload-out',
          payloadFile,
          '--verbose',
        ],
        ((o.timeoutSeconds ?? 20) + 10) * 1000,
      );
      const ms = performance.now() - started;
      const trace = existsSync(traceFile)
        ? readFileSync(traceFile, 'utf8')
            .split('\n')
            .filter(Boolean)
            .map((l) => JSON.parse(l) as TraceRecord)
        : [];
      const syslog = parseSyslog(r.stderr);
      let payload: AdUpcallResult['payload'] = null;
      if (r.status === 0 && existsSync(payloadFile)) {
        const p = splitPayload(readFileSync(payloadFile));
        payload = { sessionKey: p.sessionKey, blob: p.blob, version: p.version, flags: p.flags };
      }
      // the DC writes its one-line summary right after replying
      await new Promise((res) => setTimeout(res, 60));
      const kdc = kdcRequestLines(logSince(this.env.dc.log, mark));
      return {
        description,
        status: r.status,
        ms,
        trace,
        syslog,
        errors: syslog.filter((l) => l.level === 'err').map((l) => l.message),
        stderr: r.stderr,
        payload,
        kdc,
      };
    } finally {
      if (app) app.kill();
      rmSync(payloadFile, { force: true });
    }
  }

  async close(): Promise<void> {
    for (const a of this.apps) a.kill();
    this.bundles?.remove();
    this.bundles = null;
  }
}

/** The acceptor holding `keytab` accepts the payload's blob; the caller checks identity and keys. */
export function acceptPayload(env: AdEnv, keytab: string, r: AdUpcallResult): AdAcceptance {
  if (!r.payload) throw new Error(`no payload (exit ${r.status}):\n${r.errors.join('\n')}\n${traceText(r)}`);
  return acceptWithPac(env, keytab, r.payload.blob.toString('hex'));
}

/**
 * Wait (≤ 2 s) until the DC's log has a line since `mark` matching `re` (it logs after replying):
 * by default among the KDC's one-line summaries ("Kerberos: TGS-REQ ERR_… reason=…"), with
 * `anyLine` in every line (e.g. the authentication audit "Auth: … status [NT_STATUS_…]").
 */
export async function dcLogLine(env: AdEnv, mark: number, re: RegExp, options: { anyLine?: boolean } = {}): Promise<string | undefined> {
  for (let i = 0; i < 40; i++) {
    const text = logSince(env.dc.log, mark);
    const lines = options.anyLine ? text.split('\n') : kdcRequestLines(text);
    const hit = lines.find((l) => re.test(l));
    if (hit) return hit;
    await new Promise((r) => setTimeout(r, 50));
  }
  return undefined;
}
