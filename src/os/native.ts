// Typed access to the native addon (native/src/addon.cc). The addon is loaded once, on first
// use, from a fixed location next to this module (never from an environment-controlled path:
// this code runs as root).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Error thrown by the addon: the failing call and its errno. */
export interface SystemCallError extends Error {
  errno: number;
  /** symbolic errno, e.g. "ENOKEY" */
  code: string;
  /** the system call or library function that failed, e.g. "keyctl_instantiate" */
  syscall: string;
}

export function isSystemCallError(e: unknown): e is SystemCallError {
  return (
    e instanceof Error &&
    typeof (e as Partial<SystemCallError>).errno === 'number' &&
    typeof (e as Partial<SystemCallError>).syscall === 'string'
  );
}

export interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  dir: string;
  shell: string;
}

export interface ResIds {
  ruid: number;
  euid: number;
  suid: number;
  rgid: number;
  egid: number;
  sgid: number;
}

export interface CapabilitySets {
  effective: bigint;
  permitted: bigint;
  inheritable: bigint;
}

/** The hashes of native/src/crypto.cc, by node:crypto's names. */
export type CryptoHashName = 'md5' | 'sha1' | 'sha256' | 'sha384';

export interface NativeAddon {
  // keyctl(2) and friends; key and keyring ids are signed 32-bit serials (special ids < 0)
  keyDescribe(key: number): string;
  keyRead(key: number): Buffer;
  keyInstantiate(key: number, payload: Buffer, keyring: number): void;
  keyNegate(key: number, timeoutSeconds: number, keyring: number): void;
  keyReject(key: number, timeoutSeconds: number, error: number, keyring: number): void;
  keySetTimeout(key: number, timeoutSeconds: number): void;
  keyGetKeyringId(id: number, create: boolean): number;
  keyGetPersistent(uid: number, destKeyring: number): number;
  keySearch(keyring: number, type: string, description: string, destKeyring: number): number;
  keyLink(key: number, keyring: number): void;
  keyUnlink(key: number, keyring: number): void;
  keyClear(keyring: number): void;
  keyInvalidate(key: number): void;
  keyAssumeAuthority(key: number): void;
  keySetPerm(key: number, perm: number): void;
  keyChown(key: number, uid: number, gid: number): void;
  addKey(type: string, description: string, payload: Buffer | null, keyring: number): number;
  requestKey(type: string, description: string, calloutInfo: string | null, destKeyring: number): number;
  // namespaces (act on the calling thread: always the main thread here)
  setns(fd: number, nstype: number): void;
  unshare(flags: number): void;
  gettid(): number;
  /** _exit(2): ends the process at once, no exit handlers, no V8 teardown */
  exitNow(status: number): never;
  // identity and privileges (set*id/setgroups are glibc wrappers: every thread changes)
  getpwuid(uid: number): PasswdEntry | null;
  setgroups(gids: number[]): void;
  setresgid(rgid: number, egid: number, sgid: number): void;
  setresuid(ruid: number, euid: number, suid: number): void;
  getresids(): ResIds;
  capget(): CapabilitySets;
  capset(effective: bigint, permitted: bigint, inheritable: bigint): void;
  capBoundingDrop(cap: number): void;
  /** PR_CAPBSET_READ on the calling thread; throws EINVAL past the kernel's last capability */
  capBoundingRead(cap: number): boolean;
  getgroups(): number[];
  getNoNewPrivs(): boolean;
  setNoNewPrivs(): void;
  clearAmbient(): void;
  // syslog(3)
  openlog(ident: string, option: number, facility: number): void;
  syslog(priority: number, message: string): void;
  closelog(): void;
  // Kerberos crypto on the OpenSSL the node binary exports (native/src/crypto.cc; used through
  // src/krb5/crypto/primitives.ts). AES: 16- or 32-byte keys, whole blocks, no padding.
  aesCbc(encrypt: boolean, key: Uint8Array, iv: Uint8Array, data: Uint8Array): Buffer;
  aesEcb(encrypt: boolean, key: Uint8Array, data: Uint8Array): Buffer;
  hmac(hash: CryptoHashName, key: Uint8Array, data: readonly Uint8Array[]): Buffer;
  digest(hash: CryptoHashName, data: readonly Uint8Array[]): Buffer;
  pbkdf2(hash: CryptoHashName, password: Uint8Array, salt: Uint8Array, iterations: number, length: number): Buffer;
  randomBytes(length: number): Buffer;
  /** CRYPTO_memcmp; throws RangeError for inputs of different lengths */
  timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean;
}

/** Special keyring ids (include/uapi/linux/keyctl.h). */
export const KeySpec = {
  THREAD_KEYRING: -1,
  PROCESS_KEYRING: -2,
  SESSION_KEYRING: -3,
  USER_KEYRING: -4,
  USER_SESSION_KEYRING: -5,
  GROUP_KEYRING: -6,
  REQKEY_AUTH_KEY: -7,
  REQUESTOR_KEYRING: -8,
} as const;

const ADDON_FILE = 'cifs_upcall_native.node';

let loaded: NativeAddon | undefined;

/** Candidate locations, relative to this module (source tree, bundle in dist/, installed). */
function candidates(): string[] {
  // import.meta.dirname: the bundle's directory in the production build (defined by
  // scripts/build.mjs; no URL round trip at start-up), Node's own value elsewhere
  const here = import.meta.dirname ?? dirname(fileURLToPath(import.meta.url));
  return [
    join(here, ADDON_FILE),
    join(here, '..', 'native', 'build', 'Release', ADDON_FILE),
    join(here, '..', '..', 'native', 'build', 'Release', ADDON_FILE),
  ];
}

export function native(): NativeAddon {
  if (loaded) return loaded;
  const found = candidates().find((p) => existsSync(p));
  if (!found) {
    throw new Error(`native addon ${ADDON_FILE} not found (looked in: ${candidates().join(', ')}); run npm ci`);
  }
  // what require() does for a .node file, without its module resolution (package.json scope
  // walk, realpath, module cache) on the start-up path: the path is already absolute and fixed
  const addon = { exports: {} };
  process.dlopen(addon, found);
  loaded = addon.exports as NativeAddon;
  return loaded;
}

/**
 * End the process with `status`. When the addon is loaded (every upcall loads it before the
 * first namespace switch) and nothing asked Node for work at exit (a profiler, a coverage or
 * inspector session), _exit(2): all our output is written synchronously, so Node's exit would
 * only tear V8 and its platform down (~2 ms of CPU). Otherwise process.exit().
 */
export function exitProcess(status: number): never {
  const nodeWantsItsExit =
    process.env.NODE_V8_COVERAGE !== undefined ||
    process.execArgv.some((a) => /^--(cpu-prof|heap-prof|prof|inspect|experimental-test-coverage|report-)/.test(a));
  if (loaded && !nodeWantsItsExit) loaded.exitNow(status);
  process.exit(status);
}
