// Helpers of the own-ticket initiator tests (krb5-*.test.ts): dedicated realm users (the
// persistent and user keyrings are per uid and machine-wide, so these tests never share a uid
// with other suites), krb5.conf variants, klist as a user, and the KDC-log evidence.
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { kadminLocal, runAs, userEnv, type RealmEnv, type RealmUser } from './realm.ts';
import { ensureLocalUser } from '../common/users.ts';

/** Dedicated users: uid 2401+ (cu-k5<suffix>), principal <name>@EXAMPLE.TEST, password <name>-pw-1. */
export function krb5TestUsers(env: RealmEnv, suffixes: readonly string[], firstUid: number): Record<string, RealmUser> {
  const out: Record<string, RealmUser> = {};
  for (const [i, suffix] of suffixes.entries()) {
    const name = `cu-k5${suffix}`;
    const local = ensureLocalUser(name, firstUid + i);
    out[suffix] = { name, uid: local.uid, gid: local.gid, principal: `${name}@${env.realm}`, password: `${name}-pw-1` };
  }
  kadminLocal(
    env,
    Object.values(out).map((u) => `addprinc -pw ${u.password} ${u.name}`),
  );
  return out;
}

/** A work directory every test user can traverse. */
export function workDir(env: RealmEnv, name: string): string {
  const dir = join(env.stateDir, name);
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  chmodSync(dir, 0o755);
  return dir;
}

/** A copy of `base` with extra [libdefaults] lines (and optionally [realms] text replaced). */
export function krb5ConfVariant(base: string, path: string, libdefaults: string[], edit?: (text: string) => string): string {
  let text = readFileSync(base, 'utf8').replace('[libdefaults]', `[libdefaults]\n${libdefaults.map((l) => `  ${l}`).join('\n')}`);
  if (edit) text = edit(text);
  writeFileSync(path, text, { mode: 0o644 });
  chmodSync(path, 0o644);
  return path;
}

export interface KlistTicket {
  server: string;
  sessionEnctype: string;
  ticketEnctype: string;
}

/** `klist -e` run as the user: the tickets with their enctypes. */
export function klistAs(env: RealmEnv, user: RealmUser, cache: string, krb5Conf: string): { tickets: KlistTicket[]; raw: string } {
  const r = runAs(user, '/usr/bin/klist', ['-e', '-c', cache], {
    env: userEnv(env, { KRB5CCNAME: cache, KRB5_CONFIG: krb5Conf, TZ: 'UTC' }),
    allowFail: true,
  });
  const tickets: KlistTicket[] = [];
  const lines = r.stdout.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = /^\S+ \S+\s+\S+ \S+\s+(\S+)$/.exec(lines[i]!);
    if (!m) continue;
    for (let j = i + 1; j < Math.min(i + 3, lines.length); j++) {
      const e = /Etype \(skey, tkt\): (\S+), (\S+)/.exec(lines[j]!);
      if (e) {
        tickets.push({ server: m[1]!, sessionEnctype: e[1]!, ticketEnctype: e[2]! });
        break;
      }
    }
  }
  return { tickets, raw: r.stdout + r.stderr };
}

/** MIT klist -e names (arcfour is flagged DEPRECATED by MIT 1.20). */
export const KLIST_ENCTYPE: Record<number, string> = {
  17: 'aes128-cts-hmac-sha1-96',
  18: 'aes256-cts-hmac-sha1-96',
  19: 'aes128-cts-hmac-sha256-128',
  20: 'aes256-cts-hmac-sha384-192',
  23: 'DEPRECATED:arcfour-hmac',
};

/** krb5.conf enctype names. */
export const CONF_ENCTYPE: Record<number, string> = {
  17: 'aes128-cts-hmac-sha1-96',
  18: 'aes256-cts-hmac-sha1-96',
  19: 'aes128-cts-hmac-sha256-128',
  20: 'aes256-cts-hmac-sha384-192',
  23: 'arcfour-hmac',
};

/** TGS_REQ lines of the KDC log naming `client` (from what was appended after a mark). */
export function tgsLines(log: string, client: string): string[] {
  return log.split('\n').filter((l) => l.includes('TGS_REQ') && l.includes(` ${client} for `));
}
