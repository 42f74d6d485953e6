// The passwd entry of the credential uid, looked up through the addon's getpwuid_r in the HOST's
// namespaces, as root, BEFORE any setns: getpwuid loads NSS modules named by nsswitch.conf, and
// doing that inside the caller's mount namespace as root runs code the caller chose
// (CVE-2026-12505, fixed in cifs-utils 7.6). The host database is also the right one: the
// description's uids are init-namespace ids (see namespaces.ts). os.userInfo() is never used.
import { native, type PasswdEntry } from './native.ts';
import { foreignNamespacesEntered } from './upcall-state.ts';

export type { PasswdEntry };

const NOT_FOUND = new Set(['ENOENT', 'ESRCH', 'EBADF', 'EPERM']);

export class PasswdLookupError extends Error {
  override readonly name = 'PasswdLookupError';
}

/** The host passwd entry for `uid`, or null when there is none. */
export function lookupHostPasswd(uid: number): PasswdEntry | null {
  const entered = foreignNamespacesEntered();
  if (entered.length > 0) {
    throw new PasswdLookupError(
      `refusing a passwd lookup after entering the caller's ${entered.join('/')} namespace(s): NSS would load the caller's modules`,
    );
  }
  try {
    return native().getpwuid(uid);
  } catch (e) {
    // getpwuid_r(3): "0 or ENOENT or ESRCH or EBADF or EPERM or …: the given uid was not found"
    // (which one depends on the NSS modules; glibc's files module here says ENOENT).
    if (NOT_FOUND.has((e as NodeJS.ErrnoException).code ?? '')) return null;
    throw new PasswdLookupError(`getpwuid_r(${uid}) failed: ${(e as Error).message}`, { cause: e });
  }
}
