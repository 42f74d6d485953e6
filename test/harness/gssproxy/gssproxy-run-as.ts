// Runs the gssproxy source as a realm user in a child process (child-as-user.ts): gssproxy takes
// the caller's identity from SO_PEERCRED (euid at connect), so each user is a process of its own.
import { fileURLToPath } from 'node:url';
import { bundleChildEntry, runChildAs, type BundledChild } from '../common/child-as-user.ts';
import type { ChildRequest, ChildResult } from './gssproxy-client-main.ts';

export type { ChildRequest, ChildResult };
export type BundledClient = BundledChild;

/** Bundle the child entry (about 100 ms); dispose() removes the directory. */
export function bundleGssproxyClient(): Promise<BundledClient> {
  return bundleChildEntry(fileURLToPath(new URL('./gssproxy-client-main.ts', import.meta.url)), { withAddon: false });
}

export interface RunAsResult {
  result: ChildResult;
  /** wall time of the whole child process (Node start-up included) */
  wallMs: number;
  stderr: string;
}

/**
 * Run one acquisition as `user` (uid/gid) — or as root when uid is 0 — and return the child's
 * JSON answer. The child gets a minimal environment and is killed after `timeoutMs`.
 */
export async function runGssproxyClientAs(
  bundle: BundledClient,
  user: { uid: number; gid: number },
  request: ChildRequest,
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<RunAsResult> {
  const r = await runChildAs<ChildResult>(bundle, user, request, {
    env: options.env ?? {},
    timeoutMs: options.timeoutMs ?? 30_000,
    what: 'gssproxy client',
  });
  return { result: r.answer, wallMs: r.wallMs, stderr: r.stderr };
}
