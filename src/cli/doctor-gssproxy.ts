// --doctor: the gssproxy daemons of this host and the services they offer, read from their
// configuration files (gssproxy.conf(5)) and /proc, never by talking to them.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_GSSPROXY_SOCKET } from '../gssproxy/socket-path.ts';

export const GSSPROXY_CONFIG_DIR = '/etc/gssproxy';

// ---- gssproxy ------------------------------------------------------------------------------------

export interface GssproxyService {
  name: string;
  file: string;
  socket: string;
  values: Map<string, string[]>;
}

export interface GssproxyInstance {
  pid: number;
  configFile: string;
  configDir: string;
  defaultSocket: string;
  krb5Config: string;
  services: GssproxyService[];
}

export function cmdlineOption(args: string[], short: string, long: string): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === short || a === long) return args[i + 1];
    if (a.startsWith(`${long}=`)) return a.slice(long.length + 1);
    if (a.startsWith(short) && a.length > short.length && !a.startsWith('--')) return a.slice(short.length);
  }
  return undefined;
}

/** gssproxy.conf(5): `[service/NAME]` sections of `key = value`; a key may repeat (cred_store). */
export function parseGssproxyConfig(text: string, file: string, defaultSocket: string): GssproxyService[] {
  const services: GssproxyService[] = [];
  let current: GssproxyService | null = null;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      const name = header[1]!.trim();
      current = name.startsWith('service/') ? { name, file, socket: defaultSocket, values: new Map() } : null;
      if (current) services.push(current);
      continue;
    }
    const eq = line.indexOf('=');
    if (!current || eq < 0) continue;
    const key = line.slice(0, eq).trim().toLowerCase();
    const value = line.slice(eq + 1).trim();
    current.values.set(key, [...(current.values.get(key) ?? []), value]);
    if (key === 'socket') current.socket = value;
  }
  return services;
}

export function readGssproxyInstance(pid: number): GssproxyInstance | null {
  let args: string[];
  let environ: string[] = [];
  try {
    args = readFileSync(`/proc/${pid}/cmdline`, 'latin1')
      .split('\0')
      .filter((a) => a !== '');
  } catch {
    return null;
  }
  try {
    environ = readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0');
  } catch {
    /* not root: KRB5_CONFIG unknown, the default is assumed */
  }
  const configFile = cmdlineOption(args, '-c', '--config') ?? join(GSSPROXY_CONFIG_DIR, 'gssproxy.conf');
  // an explicit -c without -C reads that file alone; neither reads /etc/gssproxy (gssproxy(8))
  const explicitFile = cmdlineOption(args, '-c', '--config') !== undefined;
  const configDir = cmdlineOption(args, '-C', '--configdir') ?? (explicitFile ? '' : GSSPROXY_CONFIG_DIR);
  const defaultSocket = cmdlineOption(args, '-s', '--socket') ?? DEFAULT_GSSPROXY_SOCKET;
  const krb5Config = environ.find((e) => e.startsWith('KRB5_CONFIG='))?.slice('KRB5_CONFIG='.length) || '/etc/krb5.conf';
  const files = [configFile];
  try {
    for (const f of configDir === ''
      ? []
      : readdirSync(configDir)
          .filter((n) => /^\d\d-.*\.conf$/.test(n))
          .sort()) {
      const p = join(configDir, f);
      if (p !== configFile) files.push(p);
    }
  } catch {
    /* no directory */
  }
  const services: GssproxyService[] = [];
  for (const f of files) {
    try {
      services.push(...parseGssproxyConfig(readFileSync(f, 'utf8'), f, defaultSocket));
    } catch {
      /* unreadable: gssproxy would not have it either */
    }
  }
  // gssproxy discards sections without mechs
  return { pid, configFile, configDir, defaultSocket, krb5Config, services: services.filter((s) => s.values.has('mechs')) };
}

export function gssproxyInstances(): GssproxyInstance[] {
  const found: GssproxyInstance[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    let comm = '';
    try {
      comm = readFileSync(`/proc/${d}/comm`, 'utf8').trim();
    } catch {
      continue;
    }
    if (comm !== 'gssproxy') continue;
    const inst = readGssproxyInstance(Number(d));
    if (inst) found.push(inst);
  }
  return found;
}

export const yes = (v: string | undefined): boolean => v !== undefined && /^(yes|true|on|1)$/i.test(v);
export const first = (s: GssproxyService, key: string): string | undefined => s.values.get(key)?.[0];

export function describeService(s: GssproxyService): string {
  const keytabs = (s.values.get('cred_store') ?? []).filter((c) => c.startsWith('keytab:')).map((c) => c.slice('keytab:'.length));
  return (
    `[${s.name}] (${s.file}): impersonate ${yes(first(s, 'impersonate')) ? 'yes' : 'no'}, trusted ${yes(first(s, 'trusted')) ? 'yes' : 'no'}, ` +
    `allow_any_uid ${yes(first(s, 'allow_any_uid')) ? 'yes' : 'no'}, euid ${first(s, 'euid') ?? '(any)'}, keytab ${keytabs.join(' ') || '(none)'}`
  );
}
