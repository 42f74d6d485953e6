// Opening a credential cache by name (krb5_cc_resolve), for every type we support, and listing
// the caches of a collection (krb5_cccol_cursor) for collection types.
import { listDirCollection, openDirCcache } from './dir.ts';
import { CcacheError } from './errors.ts';
import { FileCredentialCache } from './file.ts';
import { listKcmCollection, openKcmCcache, type KcmOptions } from './kcm.ts';
import { listKeyringCollection, openKeyringCcache, type KeyringOptions } from './keyring.ts';
import { MemoryCredentialCache } from './memory.ts';
import type { CredentialCache } from './model.ts';
import { splitCcacheName } from './name.ts';

export interface OpenCcacheOptions {
  /** FILE/DIR: refuse caches not owned by this uid (default the effective uid; null: no check) */
  expectedOwner?: number | null;
  /** FILE/DIR: size cap, default 16 MiB */
  maxBytes?: number;
  /** KEYRING: see KeyringOptions.helperProcess */
  helperProcess?: boolean;
  /** KEYRING: effective uid for "persistent:" without a uid */
  euid?: number;
  /** KCM: [libdefaults] kcm_socket */
  kcmSocket?: string;
  /** KCM: per-request timeout */
  timeoutMs?: number;
  signal?: AbortSignal;
}

function fileOptions(o: OpenCcacheOptions) {
  return {
    ...(o.expectedOwner !== undefined ? { expectedOwner: o.expectedOwner } : {}),
    ...(o.maxBytes !== undefined ? { maxBytes: o.maxBytes } : {}),
  };
}

function keyringOptions(o: OpenCcacheOptions): KeyringOptions {
  return {
    ...(o.helperProcess !== undefined ? { helperProcess: o.helperProcess } : {}),
    ...(o.euid !== undefined ? { euid: o.euid } : {}),
  };
}

function kcmOptions(o: OpenCcacheOptions): KcmOptions {
  return {
    ...(o.kcmSocket !== undefined ? { socketPath: o.kcmSocket } : {}),
    ...(o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {}),
    ...(o.signal !== undefined ? { signal: o.signal } : {}),
  };
}

/**
 * Open the cache `name` designates (for collection names, the primary cache). FILE, DIR and
 * KEYRING use synchronous calls only; KCM talks to the daemon.
 */
export async function openCredentialCache(name: string, options: OpenCcacheOptions = {}): Promise<CredentialCache> {
  const { type, residual } = splitCcacheName(name);
  switch (type) {
    case 'FILE':
      if (residual === '') throw new CcacheError('bad-name', 'empty FILE: credential cache path', name);
      return new FileCredentialCache(residual, fileOptions(options));
    case 'DIR':
      return openDirCcache(residual, fileOptions(options));
    case 'KEYRING':
      return openKeyringCcache(residual, keyringOptions(options));
    case 'KCM':
      return openKcmCcache(residual, kcmOptions(options));
    case 'MEMORY':
      return MemoryCredentialCache.resolve(residual);
  }
}

/**
 * Every cache of the collection `name` belongs to, primary first: DIR directory entries, the
 * keyring collection's cache keyrings, the KCM daemon's caches for the caller. FILE and MEMORY
 * names are collections of one.
 */
export async function listCredentialCaches(name: string, options: OpenCcacheOptions = {}): Promise<CredentialCache[]> {
  const { type, residual } = splitCcacheName(name);
  switch (type) {
    case 'DIR': {
      if (residual.startsWith(':')) return [openDirCcache(residual, fileOptions(options))];
      return listDirCollection(residual, fileOptions(options));
    }
    case 'KEYRING':
      return listKeyringCollection(residual, keyringOptions(options));
    case 'KCM': {
      if (residual !== '') return [await openKcmCcache(residual, kcmOptions(options))];
      const names = await listKcmCollection(kcmOptions(options));
      const out: CredentialCache[] = [];
      for (const n of names) out.push(await openKcmCcache(n.slice('KCM:'.length), kcmOptions(options)));
      return out;
    }
    default:
      return [await openCredentialCache(name, options)];
  }
}
