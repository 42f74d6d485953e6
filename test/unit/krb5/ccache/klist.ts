// Parser for MIT `klist -e [-C] [-f]` output (MIT 1.20, LANG=C, TZ=UTC), so tests can compare what
// our readers decode with what the real tool prints for the same cache.
import type { Credential } from '../../../../src/krb5/ccache/model.ts';
import { unparsePrincipal } from '../../../../src/krb5/ccache/model.ts';

export interface KlistTicket {
  start: string;
  expires: string;
  server: string;
  renewUntil: string | null;
  /** klist flag letters, e.g. "RIA" (only with -f) */
  flags: string | null;
  /** session key enctype name and ticket enctype name */
  etypes: [string, string] | null;
}

export interface KlistConfig {
  key: string;
  principal: string | null;
  value: string;
}

export interface KlistOutput {
  cache: string;
  principal: string;
  tickets: KlistTicket[];
  config: KlistConfig[];
}

export function parseKlist(text: string): KlistOutput {
  const lines = text.split('\n');
  const cache = /^Ticket cache: (.*)$/m.exec(text)?.[1] ?? '';
  const principal = /^Default principal: (.*)$/m.exec(text)?.[1] ?? '';
  const tickets: KlistTicket[] = [];
  const config: KlistConfig[] = [];
  for (const line of lines) {
    const conf = /^config: ([^(= ]+)(?:\((.*)\))? = (.*)$/.exec(line);
    if (conf) {
      config.push({ key: conf[1]!, principal: conf[2] ?? null, value: conf[3]! });
      continue;
    }
    const t = /^(\d\d\/\d\d\/\d\d \d\d:\d\d:\d\d)\s+(\d\d\/\d\d\/\d\d \d\d:\d\d:\d\d)\s+(\S+)/.exec(line);
    if (t) {
      tickets.push({ start: t[1]!, expires: t[2]!, server: t[3]!, renewUntil: null, flags: null, etypes: null });
      continue;
    }
    const last = tickets[tickets.length - 1];
    if (!last) continue;
    const renew = /renew until (\d\d\/\d\d\/\d\d \d\d:\d\d:\d\d)/.exec(line);
    if (renew) last.renewUntil = renew[1]!;
    const flags = /Flags: (\w*)/.exec(line);
    if (flags) last.flags = flags[1]!;
    const etypes = /Etype \(skey, tkt\): ([^,]+), (\S+)/.exec(line);
    if (etypes) last.etypes = [etypes[1]!.trim(), etypes[2]!.trim()];
  }
  return { cache, principal, tickets, config };
}

/** klist's timestamp format (%m/%d/%y %H:%M:%S), in UTC. */
export function klistTime(seconds: number): string {
  const d = new Date(seconds * 1000);
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${p(d.getUTCMonth() + 1)}/${p(d.getUTCDate())}/${p(d.getUTCFullYear() % 100)} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}`;
}

/** MIT klist flags_string letters for a TicketFlags word. */
export function klistFlags(flags: number): string {
  const table: [number, string][] = [
    [0x40000000, 'F'],
    [0x20000000, 'f'],
    [0x10000000, 'P'],
    [0x08000000, 'p'],
    [0x04000000, 'D'],
    [0x02000000, 'd'],
    [0x01000000, 'i'],
    [0x00800000, 'R'],
    [0x00400000, 'I'],
    [0x00100000, 'H'],
    [0x00200000, 'A'],
    [0x00080000, 'T'],
    [0x00040000, 'O'],
    [0x00008000, 'a'],
  ];
  return table
    .filter(([bit]) => (flags & bit) !== 0)
    .map(([, l]) => l)
    .join('');
}

const ETYPE_NAMES: Record<number, string> = {
  17: 'aes128-cts-hmac-sha1-96',
  18: 'aes256-cts-hmac-sha1-96',
  19: 'aes128-cts-hmac-sha256-128',
  20: 'aes256-cts-hmac-sha384-192',
  23: 'DEPRECATED:arcfour-hmac',
};

export function etypeName(e: number): string {
  return ETYPE_NAMES[e] ?? `etype ${e}`;
}

/** What klist would print for one of our decoded credentials (start time falls back to authtime). */
export function asKlistTicket(c: Credential, withFlags: boolean): Omit<KlistTicket, 'etypes'> & { skey: string } {
  return {
    start: klistTime(c.startTime || c.authTime),
    expires: klistTime(c.endTime),
    server: unparsePrincipal(c.server),
    renewUntil: c.renewTill ? klistTime(c.renewTill) : null,
    flags: withFlags ? klistFlags(c.flags) : null,
    skey: etypeName(c.key.enctype),
  };
}
