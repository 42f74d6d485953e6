// Which gssproxy socket the upcall talks to. Precedence, first one set wins:
//   1. --gssproxy-socket on the command line
//   2. gssproxy_socket in /etc/cifs-upcall.conf (the section that matched)
//   3. GSSPROXY_SOCKET in the helper's environment (what libgssapi's interposer reads)
//   4. the compiled default of Debian/Fedora/upstream builds, /var/lib/gssproxy/default.sock

export const DEFAULT_GSSPROXY_SOCKET = '/var/lib/gssproxy/default.sock';

export type SocketOrigin = 'option' | 'config' | 'env' | 'default';

export interface ResolvedSocket {
  path: string;
  origin: SocketOrigin;
  /** candidates that were present but not usable, with the reason (for the trace) */
  skipped: string[];
}

export class GssproxySocketPathError extends Error {
  override readonly name = 'GssproxySocketPathError';
}

export interface SocketSources {
  /** value of --gssproxy-socket */
  option?: string;
  /** gssproxy_socket from the configuration file */
  config?: string;
  /** the environment to read GSSPROXY_SOCKET from (default: this process's) */
  env?: Readonly<Record<string, string | undefined>>;
}

export function resolveGssproxySocket(sources: SocketSources = {}): ResolvedSocket {
  const skipped: string[] = [];
  const explicit: Array<[SocketOrigin, string | undefined, string]> = [
    ['option', sources.option, '--gssproxy-socket'],
    ['config', sources.config, 'gssproxy_socket'],
  ];
  for (const [origin, value, label] of explicit) {
    if (value === undefined || value === '') continue;
    if (!value.startsWith('/')) throw new GssproxySocketPathError(`${label}: expected an absolute socket path, got "${value}"`);
    return { path: value, origin, skipped };
  }
  const env = (sources.env ?? process.env).GSSPROXY_SOCKET;
  if (env !== undefined && env !== '') {
    if (env.startsWith('/')) return { path: env, origin: 'env', skipped };
    skipped.push(`GSSPROXY_SOCKET="${env}" ignored: not an absolute path`);
  }
  return { path: DEFAULT_GSSPROXY_SOCKET, origin: 'default', skipped };
}
