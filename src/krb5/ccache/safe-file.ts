// Reading and appending to user-named files (ccaches, keytabs) safely from the upcall helper.
// Synchronous fs calls only: after the pipeline has entered a foreign mount namespace, the libuv
// thread pool may still live in the host's namespace (docs/ARCHITECTURE.md).
//
// The helper opens these files after dropping to the target user, so the kernel's permission
// checks are the main defence. On top of that:
//  * O_NONBLOCK on open, then fstat: anything but a regular file (FIFO, device such as /dev/zero,
//    socket, directory) is refused before a single byte is read, so nothing can block or stream.
//  * the file must be owned by the expected uid (fstat of the opened file, so a symlink swap
//    between check and use changes nothing). Symlinks are followed, as libkrb5 does; a link
//    planted by someone else to a file of theirs fails the owner check.
//  * a size cap (16 MiB by default) bounds memory.
import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from 'node:fs';
import { CcacheError, systemError } from './errors.ts';

export const DEFAULT_MAX_FILE_BYTES = 16 * 1024 * 1024;

export interface SafeFileOptions {
  /** refuse a file not owned by this uid; default: the process's effective uid; null: no check */
  expectedOwner?: number | null;
  /** refuse larger files; default 16 MiB */
  maxBytes?: number;
  /** what the file is, for messages: "credential cache", "keytab" */
  what: string;
  /** name to report in errors (e.g. "FILE:/tmp/krb5cc_1000"); default the path */
  name?: string;
}

function fileKind(st: Stats): string {
  if (st.isFIFO()) return 'a FIFO';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  if (st.isDirectory()) return 'a directory';
  return 'not a regular file';
}

function defaultOwner(): number | null {
  return typeof process.geteuid === 'function' ? process.geteuid() : null;
}

/** fstat checks shared by read and append: regular file, owner, size. */
function checkOpened(fd: number, path: string, options: SafeFileOptions): Stats {
  const name = options.name ?? path;
  const st = fstatSync(fd);
  if (!st.isFile()) {
    throw new CcacheError('unsafe', `refusing ${options.what} ${path}: it is ${fileKind(st)}, not a regular file`, name);
  }
  const owner = options.expectedOwner === undefined ? defaultOwner() : options.expectedOwner;
  if (owner !== null && st.uid !== owner) {
    throw new CcacheError('unsafe', `refusing ${options.what} ${path}: owned by uid ${st.uid}, not by uid ${owner}`, name);
  }
  const max = options.maxBytes ?? DEFAULT_MAX_FILE_BYTES;
  if (st.size > max) {
    throw new CcacheError('unsafe', `refusing ${options.what} ${path}: ${st.size} bytes is more than the ${max}-byte limit`, name);
  }
  return st;
}

function openChecked(path: string, flags: number, options: SafeFileOptions): number {
  if (path === '') throw new CcacheError('bad-name', `empty ${options.what} path`, options.name ?? path);
  try {
    return openSync(path, flags | constants.O_NONBLOCK);
  } catch (e) {
    throw systemError(e, `cannot open ${options.what} ${path}`, options.name ?? path);
  }
}

/** Read a whole user file after the checks above. */
export function readUserFileSync(path: string, options: SafeFileOptions): Buffer {
  const fd = openChecked(path, constants.O_RDONLY, options);
  try {
    const st = checkOpened(fd, path, options);
    const max = options.maxBytes ?? DEFAULT_MAX_FILE_BYTES;
    // the file may grow while we read (an appending writer): read to EOF, within the cap
    let buf = Buffer.allocUnsafe(Math.min(max + 1, st.size + 4096));
    let used = 0;
    for (;;) {
      if (used === buf.length) {
        if (buf.length > max) break;
        const bigger = Buffer.allocUnsafe(Math.min(max + 1, buf.length * 2));
        buf.copy(bigger, 0, 0, used);
        buf = bigger;
      }
      let n: number;
      try {
        n = readSync(fd, buf, used, buf.length - used, null);
      } catch (e) {
        throw systemError(e, `cannot read ${options.what} ${path}`, options.name ?? path);
      }
      if (n === 0) break;
      used += n;
    }
    if (used > max) {
      throw new CcacheError('unsafe', `refusing ${options.what} ${path}: it grew beyond the ${max}-byte limit`, options.name ?? path);
    }
    return buf.subarray(0, used);
  } finally {
    closeSync(fd);
  }
}

/**
 * Open an existing user file for appending (O_RDWR|O_APPEND, never created), after the checks
 * above. The caller owns the descriptor and must close it.
 */
export function openUserFileForAppendSync(path: string, options: SafeFileOptions): number {
  const fd = openChecked(path, constants.O_RDWR | constants.O_APPEND, options);
  try {
    checkOpened(fd, path, options);
    return fd;
  } catch (e) {
    closeSync(fd);
    throw e;
  }
}
