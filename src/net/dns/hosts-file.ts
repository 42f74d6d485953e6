// hosts(5) as glibc's "files" NSS back end reads it.
//
//   ADDRESS CANONICAL-NAME [ALIAS…]      # comment to the end of the line
// Names match case-insensitively; the canonical name of a lookup is the first name of the first
// matching line; with `multi on` (Debian's /etc/host.conf) every matching line adds addresses.
// Lines whose first field is not an IPv4/IPv6 literal are skipped.
import { readFileSync } from 'node:fs';
import { parseIpAddress, sameAddress, type IpAddress } from './ip.ts';

export const DEFAULT_HOSTS_FILE = '/etc/hosts';

export interface HostsEntry {
  address: IpAddress;
  /** as written in the file */
  addressText: string;
  /** canonical name first, then aliases */
  names: string[];
  line: number;
}

export function parseHostsFile(text: string): HostsEntry[] {
  const entries: HostsEntry[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const hash = lines[i]!.indexOf('#');
    const content = hash >= 0 ? lines[i]!.slice(0, hash) : lines[i]!;
    const fields = content.split(/[ \t\r\f\v]+/).filter((f) => f !== '');
    if (fields.length < 2) continue;
    const addressText = fields[0]!;
    // the hosts file has no legacy hex form; only real literals
    if (!addressText.includes('.') && !addressText.includes(':')) continue;
    const address = parseIpAddress(addressText);
    if (!address) continue;
    entries.push({ address, addressText, names: fields.slice(1), line: i + 1 });
  }
  return entries;
}

/** Read a hosts file synchronously; a missing file has no entries. */
export function readHostsFile(path: string = DEFAULT_HOSTS_FILE): HostsEntry[] {
  try {
    return parseHostsFile(readFileSync(path, 'utf8'));
  } catch (err) {
    const code = err && typeof err === 'object' && 'code' in err ? err.code : undefined;
    if (code === 'ENOENT') return [];
    throw err;
  }
}

export interface HostsMatch {
  canonicalName: string;
  addresses: IpAddress[];
}

/** Forward lookup: every line naming `name` (case-insensitive), filtered by family. */
export function hostsLookup(entries: readonly HostsEntry[], name: string, family?: 4 | 6): HostsMatch | undefined {
  const wanted = (name.length > 1 && name.endsWith('.') ? name.slice(0, -1) : name).toLowerCase();
  let canonicalName: string | undefined;
  const addresses: IpAddress[] = [];
  for (const entry of entries) {
    if (family && entry.address.family !== family) continue;
    if (!entry.names.some((n) => n.toLowerCase() === wanted)) continue;
    canonicalName ??= entry.names[0]!;
    if (!addresses.some((a) => sameAddress(a, entry.address))) addresses.push(entry.address);
  }
  return canonicalName === undefined ? undefined : { canonicalName, addresses };
}

/** Reverse lookup: the canonical name of the first line with this address. */
export function hostsReverse(entries: readonly HostsEntry[], address: IpAddress): string | undefined {
  for (const entry of entries) {
    if (sameAddress(entry.address, address)) return entry.names[0];
  }
  return undefined;
}
