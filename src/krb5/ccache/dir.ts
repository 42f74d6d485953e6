// DIR credential-cache collections (MIT cc_dir.c). A collection is a directory of FILE caches:
//
//   DIR:<dir>           the collection; its primary cache is named by <dir>/primary, whose first
//                       line must end with "\n", fit in 63 bytes (newline included), start with
//                       "tkt" and contain no "/" or "\"; a missing or empty primary file means
//                       "tkt" (libkrb5 would create it; as a reader we only assume it)
//   DIR::<dir>/tktXXX   one subsidiary cache directly (its file name must begin with "tkt")
//
// Each subsidiary is an ordinary FILE cache and is reported as "DIR::<dir>/<file>".
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { CcacheError, systemError } from './errors.ts';
import { FileCredentialCache, type FileCcacheOptions } from './file.ts';
import { readUserFileSync } from './safe-file.ts';

const PRIMARY_LINE_MAX = 63;

export type DirCcacheOptions = Omit<FileCcacheOptions, 'name'>;

function isCacheFileName(name: string): boolean {
  return name.startsWith('tkt');
}

function checkDirectory(dir: string, collectionName: string): void {
  let isDir: boolean;
  try {
    isDir = statSync(dir).isDirectory();
  } catch (e) {
    throw systemError(e, `credential cache directory ${dir} does not exist`, collectionName);
  }
  if (!isDir) throw new CcacheError('format', `${dir} exists but is not a directory`, collectionName);
}

/** The primary subsidiary file name of a DIR collection (MIT read_primary_file). */
export function readPrimaryName(dir: string, options: DirCcacheOptions = {}): string {
  const collection = `DIR:${dir}`;
  checkDirectory(dir, collection);
  const path = join(dir, 'primary');
  let content: Buffer;
  try {
    content = readUserFileSync(path, {
      what: 'DIR primary file',
      name: collection,
      maxBytes: 64 * 1024,
      ...(options.expectedOwner !== undefined ? { expectedOwner: options.expectedOwner } : {}),
    });
  } catch (e) {
    if (e instanceof CcacheError && e.kind === 'not-found') return 'tkt';
    throw e;
  }
  if (content.length === 0) return 'tkt';
  // fgets(buf, 64): the first line, cut at 63 bytes
  const newline = content.indexOf(0x0a);
  const lineEnd = newline < 0 ? content.length : newline + 1;
  const line = content.subarray(0, Math.min(lineEnd, PRIMARY_LINE_MAX)).toString('latin1');
  const name = line.slice(0, -1);
  if (!line.endsWith('\n') || !isCacheFileName(name) || name.includes('/') || name.includes('\\') || name.includes('\0')) {
    throw new CcacheError('format', `${path} contains an invalid cache file name (${JSON.stringify(line.slice(0, 40))})`, collection);
  }
  return name;
}

/** The FILE cache a DIR name designates: the collection's primary, or the named subsidiary. */
export function openDirCcache(residual: string, options: DirCcacheOptions = {}): FileCredentialCache {
  if (residual.startsWith(':')) {
    const path = residual.slice(1);
    const slash = path.lastIndexOf('/');
    if (slash < 0) throw new CcacheError('bad-name', `subsidiary cache path ${path} has no parent directory`, `DIR:${residual}`);
    const dir = slash === 0 ? '/' : path.slice(0, slash);
    const file = path.slice(slash + 1);
    if (!isCacheFileName(file)) {
      throw new CcacheError('bad-name', `subsidiary cache file name ${file} does not begin with "tkt"`, `DIR:${residual}`);
    }
    checkDirectory(dir, `DIR:${residual}`);
    return new FileCredentialCache(path, { ...options, name: `DIR::${path}` });
  }
  if (residual === '') throw new CcacheError('bad-name', 'empty DIR: collection directory', 'DIR:');
  const primary = readPrimaryName(residual, options);
  const path = join(residual, primary);
  return new FileCredentialCache(path, { ...options, name: `DIR::${path}` });
}

/** Every cache of a DIR collection, primary first (MIT dcc_ptcursor order). */
export function listDirCollection(dir: string, options: DirCcacheOptions = {}): FileCredentialCache[] {
  const primary = readPrimaryName(dir, options);
  const out = [new FileCredentialCache(join(dir, primary), { ...options, name: `DIR::${join(dir, primary)}` })];
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (e) {
    throw systemError(e, `cannot list credential cache directory ${dir}`, `DIR:${dir}`);
  }
  for (const name of names.sort()) {
    if (!isCacheFileName(name) || name === primary) continue;
    const path = join(dir, name);
    out.push(new FileCredentialCache(path, { ...options, name: `DIR::${path}` }));
  }
  return out;
}
