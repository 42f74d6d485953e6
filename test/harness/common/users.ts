// Local test users (created once per machine, idempotently, left in place). uid 1000 is taken on
// these images, so test users live at 2001+ (realm users) and 3000+ (storm users).
import { readFileSync } from 'node:fs';
import { run } from './processes.ts';

export interface LocalUser {
  name: string;
  uid: number;
  gid: number;
}

const USERS_GID = 100;

function passwdEntry(name: string): LocalUser | null {
  for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
    const f = line.split(':');
    if (f[0] === name) return { name, uid: Number(f[2]), gid: Number(f[3]) };
  }
  return null;
}

function uidTaken(uid: number): string | null {
  for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
    const f = line.split(':');
    if (f.length > 2 && Number(f[2]) === uid) return f[0] ?? null;
  }
  return null;
}

export function ensureLocalUser(name: string, uid: number): LocalUser {
  const existing = passwdEntry(name);
  if (existing) {
    if (existing.uid !== uid) throw new Error(`local user ${name} exists with uid ${existing.uid}, expected ${uid}`);
    return existing;
  }
  const owner = uidTaken(uid);
  if (owner) throw new Error(`uid ${uid} is taken by ${owner}; cannot create test user ${name}`);
  // useradd takes the passwd lock itself; a concurrent creation of the same user shows as exit 9
  const r = run('useradd', ['-M', '-N', '-g', 'users', '-s', '/usr/sbin/nologin', '-u', String(uid), name], {
    allowFail: true,
  });
  const created = passwdEntry(name);
  if (!created) throw new Error(`useradd ${name} failed (${r.status}): ${r.stderr}`);
  return created;
}

export const USERS_GROUP_GID = USERS_GID;
