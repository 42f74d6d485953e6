// MEMORY credential caches: process-local, never written anywhere (MIT cc_memory.c). The keytab
// fallback puts the TGT it obtains into one (docs/cifs-upcall-behaviour.md#keytab-fallback). Stores append, like
// mcc_store; names are looked up in a per-process registry.
import { cryptoPrimitives } from '../crypto/primitives.ts';
import { CcacheError } from './errors.ts';
import {
  classifyRecords,
  wipeKeys,
  type CacheConfigEntry,
  type CcacheContents,
  type Credential,
  type CredentialCache,
  type KdcTimeOffset,
  type Principal,
} from './model.ts';

const registry = new Map<string, MemoryCredentialCache>();

export class MemoryCredentialCache implements CredentialCache {
  readonly type = 'MEMORY';
  readonly name: string;
  private defaultPrincipal: Principal | null = null;
  private records: Credential[] = [];
  private offset: KdcTimeOffset | null = null;

  private constructor(readonly residual: string) {
    this.name = `MEMORY:${residual}`;
  }

  /** A new, initialized cache with a unique name (krb5_cc_new_unique("MEMORY") + initialize). */
  static create(principal: Principal, options: { residual?: string; kdcTimeOffset?: KdcTimeOffset | null } = {}): MemoryCredentialCache {
    const residual = options.residual ?? cryptoPrimitives().randomBytes(6).toString('base64url');
    const cache = MemoryCredentialCache.resolve(residual);
    cache.initialize(principal, options.kdcTimeOffset ?? null);
    return cache;
  }

  /** The cache of that name in this process; an unknown name yields an empty, uninitialized cache. */
  static resolve(residual: string): MemoryCredentialCache {
    let cache = registry.get(residual);
    if (!cache) {
      cache = new MemoryCredentialCache(residual);
      registry.set(residual, cache);
    }
    return cache;
  }

  /** Forget all credentials and set the default principal (krb5_cc_initialize). */
  initialize(principal: Principal, kdcTimeOffset: KdcTimeOffset | null = null): void {
    wipeKeys(this.records);
    this.defaultPrincipal = principal;
    this.records = [];
    this.offset = kdcTimeOffset;
  }

  /** Zero the keys and drop the cache from the registry (krb5_cc_destroy). */
  destroy(): void {
    wipeKeys(this.records);
    this.records = [];
    this.defaultPrincipal = null;
    registry.delete(this.residual);
  }

  private requirePrincipal(): Principal {
    if (!this.defaultPrincipal) throw new CcacheError('not-found', `credential cache ${this.name} not found (not initialized)`, this.name);
    return this.defaultPrincipal;
  }

  async read(): Promise<CcacheContents> {
    const principal = this.requirePrincipal();
    const { credentials, config } = classifyRecords(this.records);
    return { principal, credentials, config, kdcTimeOffset: this.offset };
  }

  async principal(): Promise<Principal> {
    return this.requirePrincipal();
  }

  async credentials(): Promise<Credential[]> {
    return (await this.read()).credentials;
  }

  async configEntries(): Promise<CacheConfigEntry[]> {
    return (await this.read()).config;
  }

  async kdcTimeOffset(): Promise<KdcTimeOffset | null> {
    this.requirePrincipal();
    return this.offset;
  }

  async store(credential: Credential): Promise<void> {
    this.requirePrincipal();
    this.records.push(credential);
  }
}
