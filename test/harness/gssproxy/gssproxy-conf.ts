// gssproxy.conf as the test daemons use it, written in one place: the test beds' configuration
// (the MIT realm, test/harness/realm/realm.ts, and the AD domain, test/harness/ad/samba-ad.ts: an
// impersonating service on the default socket and a non-impersonating one on its own socket) and
// the renderer the private daemon (gssproxy-daemon.ts) uses for its own services.

export interface GssproxyService {
  name: string;
  /** omitted: the service listens on the daemon's default socket */
  socket?: string;
  /** `cred_store` lines, in order (keytab:…, ccache:…) */
  credStore: string[];
  allowAnyUid?: boolean;
  trusted?: boolean;
  impersonate?: boolean;
  /** e.g. `+MUTUAL_AUTH` */
  enforceFlags?: string;
}

/** A gssproxy.conf: the [gssproxy] section, then each service (krb5, initiate only, euid 0). */
export function gssproxyConf(global: { debugLevel: number; workerThreads: number }, services: GssproxyService[]): string {
  const sections = services.map((s) =>
    [
      `[service/${s.name}]`,
      '  mechs = krb5',
      ...(s.socket ? [`  socket = ${s.socket}`] : []),
      ...s.credStore.map((c) => `  cred_store = ${c}`),
      '  cred_usage = initiate',
      ...(s.allowAnyUid ? ['  allow_any_uid = yes'] : []),
      ...(s.trusted ? ['  trusted = yes'] : []),
      ...(s.impersonate ? ['  impersonate = true'] : []),
      ...(s.enforceFlags ? [`  enforce_flags = ${s.enforceFlags}`] : []),
      '  euid = 0',
    ].join('\n'),
  );
  return `[gssproxy]\n  debug_level = ${global.debugLevel}\n  worker threads = ${global.workerThreads}\n\n${sections.join('\n\n')}\n`;
}

/**
 * The test beds' gssproxy.conf under `state`/gssproxy: [service/cifs-client] impersonates with
 * `keytab` (allow_any_uid, trusted, euid 0; per-user ccaches in clients/), and
 * [service/cifs-client-noimpersonate] on noimpersonate.sock only uses the caller's forwarded
 * credentials (ccaches in clients-noimp/).
 */
export function testBedGssproxyConf(state: string, keytab: string, debugLevel: number): string {
  return gssproxyConf({ debugLevel, workerThreads: 4 }, [
    {
      name: 'cifs-client',
      credStore: [`keytab:${keytab}`, `ccache:FILE:${state}/gssproxy/clients/krb5cc_%U`],
      allowAnyUid: true,
      trusted: true,
      impersonate: true,
    },
    {
      name: 'cifs-client-noimpersonate',
      socket: `${state}/gssproxy/noimpersonate.sock`,
      credStore: [`ccache:FILE:${state}/gssproxy/clients-noimp/krb5cc_%U`],
      allowAnyUid: true,
    },
  ]);
}
