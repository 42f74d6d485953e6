// The production preparation of one upcall (the pipeline's UpcallPreparer): the configuration
// (root's /etc/cifs-upcall.conf, resolved once per server and container with the command line)
// and the strategy that asks the credential sources in its order.
//
// It runs in the host namespaces, as root, before the pipeline enters the caller's
// namespaces. Only the modules the strategy can use are ever imported (proxy-only never the
// Kerberos initiator; local-only never the gssproxy client). Where import() may read a file, all
// of them are imported here, before the switch: after it, a file would come from the caller's
// filesystem. In the production bundle import() reads nothing (see IN_MEMORY_IMPORTS), so each
// module is evaluated only when the strategy reaches its source: a user whose ticket suffices
// never evaluates the gssproxy client, and DNS code runs only for a short name or -t.
import { closeSync, constants, fstatSync, lstatSync, openSync, readFileSync, renameSync } from 'node:fs';
import type { CredentialSource } from '../credentials.ts';
import { ConfigError, loadConfig, resolveSettings, type ResolvedSettings, type UpcallConfig } from '../pipeline/config.ts';
import type { SpnegoKeyDescription } from '../kernel/key-description.ts';
import { cifsHostForms, type HostResolver } from '../pipeline/host-forms.ts';
import { planFor, StrategySource, type SourceFactory, type SourceName } from '../pipeline/strategy.ts';
import type { UpcallPreparer } from '../pipeline/upcall.ts';
import { resolveGssproxySocket } from '../gssproxy/socket-path.ts';
import type { Trace } from '../trace.ts';
import { DEFAULT_CONFIG_PATH, type RunOptions } from './options.ts';
import { DeferredTrace, type TraceLabel } from './trace-sink.ts';

declare const __CIFS_UPCALL_ONE_FILE__: boolean | undefined;

/**
 * True in the production bundle only (scripts/build.mjs defines it): one CommonJS file in which
 * import() of a source module runs that module's initialiser from memory — the code was read
 * and compiled with the rest of the file at start-up — and the build fails if any import() or
 * require() of a file survives. Running src/ any other way, import() may read files.
 */
const IN_MEMORY_IMPORTS = typeof __CIFS_UPCALL_ONE_FILE__ === 'boolean' && __CIFS_UPCALL_ONE_FILE__;

/** A module import done at most once, on first use, with a trace line saying when. */
function deferredModule<T>(what: string, load: () => Promise<T>, trace: () => Trace | undefined): () => Promise<T> {
  let pending: Promise<T> | undefined;
  return () => {
    if (!pending) {
      trace()?.event('strategy', `evaluating the ${what}${IN_MEMORY_IMPORTS ? ' (in memory: its code was loaded at start-up)' : ''}`);
      pending = load();
    }
    return pending;
  };
}

/** The cgroup v2 path of a thread ("0::/path" in /proc/<pid>/cgroup), read via the host procfs. */
export function readCgroupPath(pid: number): string | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/cgroup`, 'utf8');
    for (const line of text.split('\n')) {
      if (line.startsWith('0::')) return line.slice(3);
    }
  } catch {
    /* gone: the pipeline reports it */
  }
  return undefined;
}

function describeSettings(settings: ResolvedSettings): string {
  return [
    `strategy ${settings.strategy}`,
    `gssproxy socket ${settings.gssproxySocket ?? '(GSSPROXY_SOCKET or default)'}`,
    `naming ${settings.gssproxyNaming}`,
    `keytab fallback ${settings.keytabFallback}`,
    `env probe ${settings.envProbe ? 'on' : 'off'}`,
    `trust DNS ${settings.trustDns ? 'on' : 'off'}`,
    `negative timeout ${settings.negativeTimeout} s`,
    `budget ${settings.timeout} s`,
    `KDC attempt ${settings.kdcTimeout} s`,
  ].join(', ');
}

/**
 * trace_file: open it now (root, host namespaces — the rest of the upcall only writes to the
 * descriptor) and send the held events and the rest of this upcall there. Every upcall opens the
 * file afresh with O_APPEND, so logrotate may move it away at any time (no copytruncate needed);
 * when it has reached trace_max_size, it is first moved to FILE.1 (replacing an older FILE.1), so
 * the file and its one predecessor stay bounded even without logrotate.
 */
function attachTraceFile(t: Trace, settings: ResolvedSettings, commandLine: RunOptions): void {
  if (!(t instanceof DeferredTrace)) return;
  if (settings.traceFile === undefined) {
    t.discard();
    return;
  }
  const flags = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW;
  let fd: number | undefined;
  try {
    fd = openSync(settings.traceFile, flags, 0o600);
    const st = fstatSync(fd);
    if (!st.isFile()) throw Object.assign(new Error('not a regular file'), { code: 'not a regular file' });
    if (settings.traceMaxSize > 0 && st.size >= settings.traceMaxSize) {
      // rotate only the file we opened: a concurrent upcall may have rotated it already
      const now = lstatSync(settings.traceFile, { throwIfNoEntry: false });
      if (now && now.ino === st.ino && now.dev === st.dev) renameSync(settings.traceFile, `${settings.traceFile}.1`);
      closeSync(fd);
      fd = openSync(settings.traceFile, flags, 0o600);
    }
    const label: TraceLabel = commandLine.keySerial !== undefined ? { key: commandLine.keySerial } : { replay: process.pid };
    t.attach(fd, settings.traceFormat, label, settings.traceLevel === 'failures');
  } catch (e) {
    if (fd !== undefined) {
      try {
        closeSync(fd);
      } catch {
        /* already closed */
      }
    }
    t.discard();
    throw new ConfigError(`trace_file ${settings.traceFile}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/**
 * The production preparation of one upcall: read root's configuration, resolve this upcall's
 * settings once (server and container sections, then the command line), open the trace file, and
 * build the strategy with the sources it may ask.
 */
export function productionPreparer(commandLine: RunOptions): UpcallPreparer {
  return async ({ description, host, trace }) => {
    // an explicit --config must exist; the default file is optional
    const config: UpcallConfig = loadConfig(commandLine.configPath, commandLine.configPath !== DEFAULT_CONFIG_PATH);
    const cgroup = readCgroupPath(description.pid);
    const settings = resolveSettings(config, { host, cgroup }, commandLine.settings);
    trace.event(
      'config',
      config.path === null
        ? `no ${commandLine.configPath}: built-in defaults${settings.applied.length ? ` + ${settings.applied.join(', ')}` : ''}`
        : `${config.path}: applied ${settings.applied.length ? settings.applied.join(', ') : 'no section'} for host ${host}${cgroup !== undefined ? `, cgroup ${cgroup}` : ''}`,
    );
    attachTraceFile(trace, settings, commandLine);
    trace.event('config', describeSettings(settings));
    return { settings, source: await strategyFor(settings, description, host, trace) };
  };
}

/** The strategy and the sources it may ask; only their modules are imported. */
async function strategyFor(
  settings: ResolvedSettings,
  description: SpnegoKeyDescription,
  host: string,
  trace: Trace,
): Promise<CredentialSource> {
  const steps = new Set(planFor(settings.strategy).map((step) => step.source));
  const wantKrb5 = steps.has('ccache') || steps.has('keytab');
  const wantGssproxy = steps.has('gssproxy');
  const wantDns = settings.trustDns || !host.includes('.');
  const traceNow = () => trace;
  const krb5 = wantKrb5 ? deferredModule('Kerberos initiator', () => import('../krb5/initiator.ts'), traceNow) : null;
  const gssproxy = wantGssproxy ? deferredModule('gssproxy client', () => import('../gssproxy/source.ts'), traceNow) : null;
  const dns = wantDns ? deferredModule('DNS resolver', () => import('../net/dns/index.ts'), traceNow) : null;
  const usable =
    [krb5 && 'Kerberos initiator', gssproxy && 'gssproxy client', dns && 'DNS resolver'].filter(Boolean).join(', ') || 'nothing';
  if (IN_MEMORY_IMPORTS) {
    trace.event('strategy', `usable: ${usable}; each evaluated when the strategy reaches it`);
  } else {
    // import() may read files here: everything this strategy may use, before the switch
    await Promise.all([krb5?.(), gssproxy?.(), dns?.()]);
    trace.event('strategy', `loaded before the namespace switch: ${usable}`);
  }

  const factories: Partial<Record<SourceName, SourceFactory>> = {};
  const krb5Options = {
    krb5ConfigFile: settings.krb5Conf,
    keytabName: settings.keytab,
    kdcTimeoutMs: settings.kdcTimeout * 1000,
  };
  if (krb5) {
    factories.ccache = async () => new (await krb5()).CcacheSource(krb5Options);
    factories.keytab = async () => new (await krb5()).KeytabSource(krb5Options);
  }
  if (gssproxy) {
    // one route: the resolved gssproxy_socket says whether the command line or the file set it
    const socket = resolveGssproxySocket(
      settings.gssproxySocket === undefined
        ? {}
        : settings.gssproxySocketFrom === 'command line'
          ? { option: settings.gssproxySocket }
          : { config: settings.gssproxySocket },
    );
    for (const skipped of socket.skipped) trace.event('gssproxy', skipped);
    trace.event('gssproxy', `socket ${socket.path} (from ${socket.origin})`);
    factories.gssproxy = async () => new (await gssproxy()).GssproxySource({ socketPath: socket.path, naming: settings.gssproxyNaming });
  }
  const resolver: HostResolver | null = dns && {
    lookupHost: async (name, options) => (await dns()).lookupHost(name, options),
    reverseLookup: async (ip, options) => (await dns()).reverseLookup(ip, options),
  };
  return new StrategySource({
    strategy: settings.strategy,
    sources: factories,
    keytabFallback: settings.keytabFallback,
    hostForms: cifsHostForms({
      resolver,
      trustDns: settings.trustDns,
      ip: description.ip,
      timeoutMs: Math.max(250, settings.kdcTimeout * 1000),
    }),
  });
}
