// Runs the own-ticket sources as a realm user in a child process (child-as-user.ts), with the
// native addon beside the bundle (KEYRING caches go through keyctl in the addon) — as the upcall
// runs after its privilege drop.
import { fileURLToPath } from 'node:url';
import { bundleChildEntry, runChildAs, type BundledChild } from '../common/child-as-user.ts';
import type { Krb5ChildRequest, Krb5ChildResult } from './krb5-initiator-main.ts';

export type { Krb5ChildRequest, Krb5ChildResult };
export type BundledInitiator = BundledChild;

/** Bundle the child entry (about 150 ms); dispose() removes the directory. */
export function bundleKrb5Initiator(): Promise<BundledInitiator> {
  return bundleChildEntry(fileURLToPath(new URL('./krb5-initiator-main.ts', import.meta.url)), { withAddon: true });
}

export interface Krb5RunResult {
  results: Krb5ChildResult[];
  euid: number;
  /** wall time of the child process (Node start-up included) */
  wallMs: number;
  stderr: string;
}

/**
 * Run the acquisitions of `request` as `user` (as root when uid is 0) with KRB5_CONFIG =
 * `krb5Conf`; the child is killed after `timeoutMs`.
 */
export async function runKrb5InitiatorAs(
  bundle: BundledInitiator,
  user: { uid: number; gid: number; name: string },
  request: Omit<Krb5ChildRequest, 'uid' | 'gid' | 'username'>,
  options: { krb5Conf: string; env?: NodeJS.ProcessEnv; timeoutMs?: number },
): Promise<Krb5RunResult> {
  const full: Krb5ChildRequest = { ...request, uid: user.uid, gid: user.gid, username: user.name };
  const r = await runChildAs<{ euid: number; results: Krb5ChildResult[] }>(bundle, user, full, {
    env: { KRB5_CONFIG: options.krb5Conf, ...options.env },
    timeoutMs: options.timeoutMs ?? 60_000,
    what: 'krb5 initiator',
  });
  return { results: r.answer.results, euid: r.answer.euid, wallMs: r.wallMs, stderr: r.stderr };
}
