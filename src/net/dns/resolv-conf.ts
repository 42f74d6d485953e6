// resolv.conf(5) as glibc's res_init reads it (Debian 12, glibc 2.36).
//
//   nameserver ADDR        up to 3 (MAXNS); IPv4 or IPv6 (a %scope suffix is kept), port 53
//   domain NAME            search list = [NAME]     } the last of the two wins
//   search NAME…           search list = NAME…      }
//   options ndots:N timeout:N attempts:N rotate edns0 use-vc …   (ndots ≤ 15, timeout ≤ 30,
//                          attempts ≤ 5; unknown options ignored)
//   # or ; in column 0     comment
// Defaults: nameserver 127.0.0.1, ndots 1, timeout 5 s, attempts 2, search list = the domain
// part of the host name when it has one.
import { readFileSync } from 'node:fs';
import { ipFamily } from './ip.ts';

export const DEFAULT_RESOLV_CONF = '/etc/resolv.conf';

/** A DNS server to query. */
export interface DnsServer {
  address: string;
  port: number;
}

export interface ResolvConf {
  nameservers: DnsServer[];
  search: string[];
  ndots: number;
  /** per-try timeout in milliseconds (resolv.conf gives seconds) */
  timeoutMs: number;
  attempts: number;
  rotate: boolean;
  edns0: boolean;
  /** `options use-vc`: always TCP */
  useTcp: boolean;
}

const MAXNS = 3;

/** Parse resolv.conf text; `hostname` supplies the default search domain. */
export function parseResolvConf(text: string, hostname?: string): ResolvConf {
  const conf: ResolvConf = {
    nameservers: [],
    search: [],
    ndots: 1,
    timeoutMs: 5000,
    attempts: 2,
    rotate: false,
    edns0: false,
    useTcp: false,
  };
  let searchSet = false;
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (line.startsWith('#') || line.startsWith(';')) continue;
    const words = line.split(/[ \t]+/).filter((w) => w !== '');
    const keyword = words[0];
    if (keyword === undefined || line[0] === ' ' || line[0] === '\t') continue;
    const args = takeUntilComment(words.slice(1));
    switch (keyword) {
      case 'nameserver': {
        const address = args[0];
        if (address && conf.nameservers.length < MAXNS && ipFamily(address)) {
          conf.nameservers.push({ address, port: 53 });
        }
        break;
      }
      case 'domain':
        if (args[0]) {
          conf.search = [stripDot(args[0])];
          searchSet = true;
        }
        break;
      case 'search':
        if (args.length > 0) {
          conf.search = args.map(stripDot).filter((d) => d !== '');
          searchSet = true;
        }
        break;
      case 'options':
        for (const option of args) applyOption(conf, option);
        break;
      default:
        break;
    }
  }
  if (conf.nameservers.length === 0) conf.nameservers.push({ address: '127.0.0.1', port: 53 });
  if (!searchSet && hostname) {
    const dot = hostname.indexOf('.');
    if (dot >= 0 && dot + 1 < hostname.length) conf.search = [stripDot(hostname.slice(dot + 1))];
  }
  return conf;
}

function takeUntilComment(words: string[]): string[] {
  const end = words.findIndex((w) => w.startsWith('#') || w.startsWith(';'));
  return end < 0 ? words : words.slice(0, end);
}

function stripDot(name: string): string {
  return name.length > 1 && name.endsWith('.') ? name.slice(0, -1) : name;
}

function applyOption(conf: ResolvConf, option: string): void {
  const [name, value] = option.split(':', 2) as [string, string | undefined];
  const n = value !== undefined && /^[0-9]+$/.test(value) ? Number(value) : undefined;
  switch (name) {
    case 'ndots':
      if (n !== undefined) conf.ndots = Math.min(n, 15);
      break;
    case 'timeout':
      if (n !== undefined) conf.timeoutMs = Math.max(1, Math.min(n, 30)) * 1000;
      break;
    case 'attempts':
      if (n !== undefined) conf.attempts = Math.max(1, Math.min(n, 5));
      break;
    case 'rotate':
      conf.rotate = true;
      break;
    case 'edns0':
      conf.edns0 = true;
      break;
    case 'use-vc':
      conf.useTcp = true;
      break;
    default:
      break;
  }
}

/** Read and parse a resolv.conf synchronously (a missing file gives the defaults, as in glibc). */
export function readResolvConf(path: string = DEFAULT_RESOLV_CONF, hostname?: string): ResolvConf {
  let text = '';
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = err && typeof err === 'object' && 'code' in err ? err.code : undefined;
    if (code !== 'ENOENT') throw err;
  }
  return parseResolvConf(text, hostname);
}
