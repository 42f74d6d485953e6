// The caller's filesystem: the ONLY way pipeline and credential-source code reads or writes files
// that belong to the user or live in the caller's mount namespace (ccaches, the KRB5CCNAME
// target, krb5.conf seen by the user, a user's keytab, /proc/self/* after the switch).
//
// Why a module of its own: after the pipeline enters the caller's mount namespace only the MAIN
// thread is there; the libuv pool threads that serve async fs calls may still be in the host's.
// Everything here is synchronous (fs.*Sync runs on the calling thread), and it refuses to run in
// an upcall before the privilege drop (nothing user-controlled is read as root). The
// forbidden-API unit test (test/unit/os/forbidden-apis.test.ts) checks that no other module under
// src/ imports node:fs, except the few that run before any namespace switch.
import {
  closeSync,
  constants,
  fstatSync,
  fsyncSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
  type Stats,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { callerReadsForbidden } from './upcall-state.ts';

export type { Stats };

export class CallerFileError extends Error {
  override readonly name = 'CallerFileError';
  constructor(
    readonly path: string,
    /** errno code (ENOENT, EACCES, …) or TOOBIG / NOTFILE for our own refusals */
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${path}: ${message}`, options);
  }
}

/** Default cap on a single file read: ccaches and keytabs are small; a huge file is an attack or a mistake. */
export const DEFAULT_MAX_READ_BYTES = 16 * 1024 * 1024;

function guard(path: string): void {
  if (callerReadsForbidden()) {
    throw new CallerFileError(path, 'EPERM', 'refusing to touch a caller file before the upcall dropped its privileges');
  }
}

function wrap(path: string, e: unknown): CallerFileError {
  const err = e as NodeJS.ErrnoException;
  return new CallerFileError(path, err.code ?? 'EIO', err.message ?? String(e), { cause: e });
}

/** Read a whole regular file (following symlinks, as libkrb5 does). */
export function readCallerFile(path: string, options: { maxBytes?: number } = {}): Buffer {
  guard(path);
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_READ_BYTES;
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOCTTY | constants.O_NONBLOCK);
  } catch (e) {
    throw wrap(path, e);
  }
  try {
    const st = fstatSync(fd);
    // /proc files report size 0: read until EOF within the cap
    if (!st.isFile()) throw new CallerFileError(path, 'NOTFILE', 'not a regular file');
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = Buffer.allocUnsafe(Math.min(65536, maxBytes + 1 - total));
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      total += n;
      if (total > maxBytes) throw new CallerFileError(path, 'TOOBIG', `larger than ${maxBytes} bytes`);
      chunks.push(chunk.subarray(0, n));
    }
    return Buffer.concat(chunks, total);
  } catch (e) {
    throw e instanceof CallerFileError ? e : wrap(path, e);
  } finally {
    closeSync(fd);
  }
}

/** Like readCallerFile, but null when the file does not exist. */
export function readCallerFileIfExists(path: string, options: { maxBytes?: number } = {}): Buffer | null {
  try {
    return readCallerFile(path, options);
  } catch (e) {
    if (e instanceof CallerFileError && (e.code === 'ENOENT' || e.code === 'ENOTDIR')) return null;
    throw e;
  }
}

/** stat (follows symlinks); null when absent. */
export function statCallerPath(path: string): Stats | null {
  guard(path);
  try {
    return statSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw wrap(path, e);
  }
}

/** lstat (does not follow a final symlink); null when absent. */
export function lstatCallerPath(path: string): Stats | null {
  guard(path);
  try {
    return lstatSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw wrap(path, e);
  }
}

export function callerPathExists(path: string): boolean {
  return statCallerPath(path) !== null;
}

/** Names in a directory (no . or ..), sorted. */
export function listCallerDirectory(path: string): string[] {
  guard(path);
  try {
    return readdirSync(path).sort();
  } catch (e) {
    throw wrap(path, e);
  }
}

/**
 * Replace a file atomically (write a temporary file in the same directory, fsync, rename), as
 * the user — e.g. a ccache after storing a new service ticket. `mode` applies to a new file.
 */
export function writeCallerFileAtomically(path: string, data: Buffer, options: { mode?: number } = {}): void {
  guard(path);
  const temporary = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now().toString(36)}.tmp`);
  let fd: number;
  try {
    fd = openSync(temporary, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, options.mode ?? 0o600);
  } catch (e) {
    throw wrap(temporary, e);
  }
  try {
    for (let off = 0; off < data.length; ) off += writeSync(fd, data, off, data.length - off);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    try {
      unlinkSync(temporary);
    } catch {
      /* best effort */
    }
    throw wrap(temporary, e);
  }
  closeSync(fd);
  try {
    renameSync(temporary, path);
  } catch (e) {
    try {
      unlinkSync(temporary);
    } catch {
      /* best effort */
    }
    throw wrap(path, e);
  }
}

export function removeCallerFile(path: string): void {
  guard(path);
  try {
    unlinkSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw wrap(path, e);
  }
}

export function makeCallerDirectory(path: string, mode = 0o700): void {
  guard(path);
  try {
    mkdirSync(path, { mode });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw wrap(path, e);
  }
}
