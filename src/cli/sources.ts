// The production wiring of one upcall: the configuration (root's /etc/cifs-upcall.conf, merged
// per server and per container with the command line) and the credential sources in the order
// of the chosen strategy.
//
// Both hooks run in the host namespaces, as root, before the pipeline enters the caller's
// namespaces: this is where source modules are imported. Only the modules the strategy can use
// are loaded (proxy-only never loads the Kerberos initiator; local-only never loads the gssproxy
// client); a dynamic import() after the switch would load code from the caller's filesystem.
import { constants, openSync, readFileSync } from 'node:fs';
import type { CredentialSource } from '../credentials.ts';
import {
  applySetting,
  ConfigError,
  loadConfig,
  resolveSettings,
  type UpcallConfig,
  type UpcallSettings,
} from '../pipeline/config.ts';
import { cifsHostForms, type HostResolver } from '../pipeline/host-forms.ts';
import { planFor, StrategySource, type SourceFactory, type SourceName } from '../pipeline/strategy.ts';
import { servicePrincipalHost } from '../pipeline/target.ts';
import type { SourceResolver, UpcallConfigurer, UpcallOverrides } from '../pipeline/upcall.ts';
import { resolveGssproxySocket } from '../gssproxy/socket-path.ts';
import type { Trace } from '../trace.ts';
import { DEFAULT_CONFIG_PATH, type RunOptions } from './options.ts';
import { DeferredTrace } from './trace-sink.ts';

export interface UpcallWiring {
  configure: UpcallConfigurer;
  sources: SourceResolver;
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

/** Command-line options that override the file (only those actually given). */
export function commandLineSettings(o: RunOptions): Partial<UpcallSettings> {
  const s: Partial<UpcallSettings> = {};
  if (o.strategy !== undefined) applySetting(s, 'strategy', o.strategy, '--strategy');
  if (o.gssproxySocket !== undefined) applySetting(s, 'gssproxy_socket', o.gssproxySocket, '--gssproxy-socket');
  if (o.krb5Conf !== undefined) s.krb5Conf = o.krb5Conf;
  if (o.keytab !== undefined) s.keytab = o.keytab;
  if (o.trustDns) s.trustDns = true;
  if (!o.envProbe) s.envProbe = false;
  if (o.negativeTimeoutSeconds !== undefined) s.negativeTimeout = o.negativeTimeoutSeconds;
  return s;
}

function describeSettings(s: UpcallSettings): string {
  return [
    `strategy ${s.strategy}`,
    `gssproxy socket ${s.gssproxySocket ?? '(GSSPROXY_SOCKET or default)'}`,
    `naming ${s.gssproxyNaming}`,
    `keytab fallback ${s.keytabFallback}`,
    `env probe ${s.envProbe ? 'on' : 'off'}`,
    `trust DNS ${s.trustDns ? 'on' : 'off'}`,
    `negative timeout ${s.negativeTimeout} s`,
    `budget ${s.timeout} s`,
    `KDC attempt ${s.kdcTimeout} s`,
  ].join(', ');
}

/**
 * trace_file: open it now (root, host namespaces — the rest of the upcall only writes to the
 * descriptor) and send the held events and the rest of this upcall there.
 */
function attachTraceFile(t: Trace, s: UpcallSettings, o: RunOptions): void {
  if (!(t instanceof DeferredTrace)) return;
  if (s.traceFile === undefined) {
    t.discard();
    return;
  }
  try {
    const fd = openSync(s.traceFile, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW, 0o600);
    t.attach(fd, s.traceFormat, o.keySerial !== undefined ? `key ${o.keySerial}` : `replay ${process.pid}`);
  } catch (e) {
    t.discard();
    throw new ConfigError(`trace_file ${s.traceFile}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

export function productionWiring(o: RunOptions): UpcallWiring {
  let settings: UpcallSettings | undefined;
  let trace: Trace | undefined;

  const configure: UpcallConfigurer = ({ description, trace: t }) => {
    trace = t;
    // an explicit --config must exist; the default file is optional
    const config: UpcallConfig = loadConfig(o.configPath, o.configPath !== DEFAULT_CONFIG_PATH);
    const host = servicePrincipalHost(description.host);
    const cgroup = description.pid !== 0 ? readCgroupPath(description.pid) : undefined;
    const resolved = resolveSettings(config, { host, ...(cgroup !== undefined ? { cgroup } : {}) }, commandLineSettings(o));
    settings = resolved.settings;
    t.event('config', config.path === null
      ? `no ${o.configPath}: built-in defaults${resolved.applied.length ? ` + ${resolved.applied.join(', ')}` : ''}`
      : `${config.path}: applied ${resolved.applied.length ? resolved.applied.join(', ') : 'no section'} for host ${host}${cgroup !== undefined ? `, cgroup ${cgroup}` : ''}`);
    attachTraceFile(t, settings, o);
    t.event('config', describeSettings(settings));
    const overrides: UpcallOverrides = {
      envProbe: settings.envProbe,
      negativeTimeoutSeconds: settings.negativeTimeout,
      timeBudgetMs: settings.timeout * 1000,
    };
    return overrides;
  };

  const sources: SourceResolver = async ({ description }) => {
    const s = settings ?? resolveSettings({ path: null, sections: [] }, { host: servicePrincipalHost(description.host) }, commandLineSettings(o)).settings;
    const steps = new Set(planFor(s.strategy).map((step) => step.source));
    const wantKrb5 = steps.has('ccache') || steps.has('keytab');
    const wantGssproxy = steps.has('gssproxy');
    const host = servicePrincipalHost(description.host);
    const wantDns = s.trustDns || !host.includes('.');
    // the code of every source this strategy may use is loaded here, before the switch
    const [krb5, gssproxy, dns] = await Promise.all([
      wantKrb5 ? import('../krb5/initiator.ts') : null,
      wantGssproxy ? import('../gssproxy/source.ts') : null,
      wantDns ? import('../net/dns/index.ts') : null,
    ]);
    trace?.event('strategy', `loaded: ${[krb5 && 'Kerberos initiator', gssproxy && 'gssproxy client', dns && 'DNS resolver'].filter(Boolean).join(', ') || 'nothing'}`);

    const factories: Partial<Record<SourceName, SourceFactory>> = {};
    const krb5Options = {
      ...(s.krb5Conf !== undefined ? { krb5ConfigFile: s.krb5Conf } : {}),
      ...(s.keytab !== undefined ? { keytabName: s.keytab } : {}),
      kdcTimeoutMs: s.kdcTimeout * 1000,
    };
    if (krb5) {
      factories.ccache = async () => new krb5.CcacheSource(krb5Options);
      factories.keytab = async () => new krb5.KeytabSource(krb5Options);
    }
    if (gssproxy) {
      const socket = resolveGssproxySocket({
        ...(o.gssproxySocket !== undefined ? { option: o.gssproxySocket } : {}),
        ...(s.gssproxySocket !== undefined ? { config: s.gssproxySocket } : {}),
      });
      for (const skipped of socket.skipped) trace?.event('gssproxy', skipped);
      trace?.event('gssproxy', `socket ${socket.path} (from ${socket.origin})`);
      factories.gssproxy = async () => new gssproxy.GssproxySource({ socketPath: socket.path, naming: s.gssproxyNaming });
    }
    const resolver: HostResolver | null = dns;
    const strategy = new StrategySource({
      strategy: s.strategy,
      sources: factories,
      keytabFallback: s.keytabFallback,
      hostForms: cifsHostForms({
        resolver,
        trustDns: s.trustDns,
        ...(description.ip !== undefined ? { ip: description.ip } : {}),
        timeoutMs: Math.max(250, s.kdcTimeout * 1000),
      }),
    });
    const list: CredentialSource[] = [strategy];
    return list;
  };

  return { configure, sources };
}
