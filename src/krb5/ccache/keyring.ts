// KEYRING credential caches in the Linux kernel keyring, with MIT's layout (cc_keyring.c), through
// the native addon's keyctl/add_key (no keyctl child processes):
//
//   residual   = anchor ":" collection [":" subsidiary]  |  collection   (bare name → anchor "legacy")
//   anchors    legacy/session → session keyring, user → @u, process → @p, thread → @t,
//              persistent → keyctl_get_persistent(uid = collection or euid), falling back to @u
//              when the kernel has no persistent keyrings and uid = euid
//   collection = keyring "_krb_<collection>" in the anchor (persistent: keyring "_krb" in it)
//     user key "krb_ccache:primary" = u32be 1 ‖ u32be len ‖ primary subsidiary name
//              (absent → the collection name, or "tkt" when that is empty)
//     keyring <subsidiary> per cache:
//       user key "__krb5_princ__"        default principal, FILE-v4 principal encoding
//       user key "__krb5_time_offsets__" i32be seconds ‖ i32be microseconds (optional)
//       one key per credential, described by the unparsed server principal, payload = one FILE-v4
//       credential record; type big_key when the kernel has it (never for legacy caches), else user
// Store sets a timeout of endtime − now on the credential key and of the latest endtime on the
// cache keyring. Collections under @u and the persistent keyring are linked into our process
// keyring while searching, so that we possess them (as MIT does).
import { KeySpec, native, type NativeAddon } from '../../os/native.ts';
import { CcacheError, systemError } from './errors.ts';
import { decodeCredential, decodePrincipal, encodeCredential } from './marshal.ts';
import {
  classifyRecords,
  SynchronousCredentialCache,
  unparsePrincipal,
  type CcacheContents,
  type Credential,
  type KdcTimeOffset,
} from './model.ts';

/** The keyctl calls this module uses (a subset of the native addon). */
export type KeyctlCalls = Pick<
  NativeAddon,
  'keySearch' | 'keyRead' | 'keyDescribe' | 'keyGetPersistent' | 'keyGetKeyringId' | 'addKey' | 'keySetTimeout'
>;

export const KEYRING_ANCHORS = ['legacy', 'session', 'user', 'persistent', 'process', 'thread'] as const;
export type KeyringAnchor = (typeof KEYRING_ANCHORS)[number];

/** Anchors that, inside the upcall helper, are the helper's own keyrings rather than the user's. */
const HELPER_OWNED_ANCHORS = new Set<KeyringAnchor>(['legacy', 'session', 'process', 'thread']);

const COLLECTION_PREFIX = '_krb_';
const PERSISTENT_COLLECTION = '_krb';
const PRIMARY_KEY = 'krb_ccache:primary';
const PRINCIPAL_KEY = '__krb5_princ__';
const TIME_OFFSETS_KEY = '__krb5_time_offsets__';
const COLLECTION_VERSION = 1;

export interface KeyringResidual {
  anchor: KeyringAnchor;
  collection: string;
  /** null: the collection's primary cache */
  subsidiary: string | null;
}

/** MIT parse_residual. */
export function parseKeyringResidual(residual: string): KeyringResidual {
  let anchor = 'legacy';
  let rest = residual;
  const first = residual.indexOf(':');
  if (first >= 0) {
    anchor = residual.slice(0, first);
    rest = residual.slice(first + 1);
  }
  if (!(KEYRING_ANCHORS as readonly string[]).includes(anchor)) {
    throw new CcacheError('bad-name', `unknown keyring anchor "${anchor}" in KEYRING:${residual}`, `KEYRING:${residual}`);
  }
  const second = rest.indexOf(':');
  return second < 0
    ? { anchor: anchor as KeyringAnchor, collection: rest, subsidiary: null }
    : { anchor: anchor as KeyringAnchor, collection: rest.slice(0, second), subsidiary: rest.slice(second + 1) };
}

export interface KeyringOptions {
  /**
   * We are the upcall helper: its session/process/thread keyrings are request-key's and its own,
   * never the user's, so names using those anchors (and bare legacy names) are refused with a
   * 'not-users-keyring' error instead of silently finding nothing.
   */
  helperProcess?: boolean;
  /** effective uid for "persistent:" with an empty collection; default process.geteuid() */
  euid?: number;
  /** current local time in seconds (tests); default Date.now() */
  now?: () => number;
  /** keyctl implementation; default the native addon */
  keyctl?: KeyctlCalls;
}

function errnoCode(e: unknown): string | undefined {
  const code = typeof e === 'object' && e !== null ? (e as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : undefined;
}

const GONE = new Set(['ENOKEY', 'EKEYREVOKED', 'EKEYEXPIRED', 'EACCES']);

/** keyctl_search that returns null for "no such key". */
function search(k: KeyctlCalls, ring: number, type: string, description: string, dest: number): number | null {
  try {
    return k.keySearch(ring, type, description, dest);
  } catch (e) {
    const code = errnoCode(e);
    if (code === 'ENOKEY' || code === 'EKEYREVOKED' || code === 'EKEYEXPIRED') return null;
    throw e;
  }
}

function keyTypeOf(description: string): string {
  return description.slice(0, description.indexOf(';'));
}

/** "type;uid;gid;perm;description" → description (which may itself contain ";"). */
function keyNameOf(description: string): string {
  let at = -1;
  for (let i = 0; i < 4; i++) {
    at = description.indexOf(';', at + 1);
    if (at < 0) return '';
  }
  return description.slice(at + 1);
}

function serialsOf(payload: Buffer): number[] {
  const out: number[] = [];
  for (let i = 0; i + 4 <= payload.length; i += 4) out.push(payload.readInt32LE(i));
  return out;
}

interface Collection {
  id: number;
  anchor: KeyringAnchor;
  collection: string;
}

function sessionWriteAnchor(k: KeyctlCalls): number {
  const session = k.keyGetKeyringId(KeySpec.SESSION_KEYRING, false);
  const userSession = k.keyGetKeyringId(KeySpec.USER_SESSION_KEYRING, false);
  return session === userSession ? KeySpec.USER_SESSION_KEYRING : KeySpec.SESSION_KEYRING;
}

/** MIT get_collection, without creating anything. */
function findCollection(k: KeyctlCalls, r: KeyringResidual, options: KeyringOptions, name: string): Collection {
  if (options.helperProcess && HELPER_OWNED_ANCHORS.has(r.anchor)) {
    throw new CcacheError(
      'not-users-keyring',
      `${name} uses the ${r.anchor} keyring anchor, which in the upcall is the helper's own ` +
        `(request-key's) keyring, not the user's; only KEYRING:persistent:… and KEYRING:user:… caches are reachable`,
      name,
    );
  }
  try {
    if (r.anchor === 'persistent') {
      const euid = options.euid ?? process.geteuid?.() ?? 0;
      if (r.collection !== '' && !/^\d+$/.test(r.collection)) {
        throw new CcacheError('bad-name', `persistent keyring collection "${r.collection}" is not a uid`, name);
      }
      const uid = r.collection === '' ? euid : Number(r.collection);
      let persistent: number;
      try {
        persistent = k.keyGetPersistent(uid, KeySpec.PROCESS_KEYRING);
      } catch (e) {
        const code = errnoCode(e);
        if ((code === 'EOPNOTSUPP' || code === 'ENOTSUP') && uid === euid) persistent = KeySpec.USER_KEYRING;
        else
          throw new CcacheError('permission', `cannot get the persistent keyring of uid ${uid}: ${code ?? String(e)}`, name, { cause: e });
      }
      const id = search(k, persistent, 'keyring', PERSISTENT_COLLECTION, KeySpec.PROCESS_KEYRING);
      if (id === null)
        throw new CcacheError(
          'not-found',
          `credential cache ${name} not found (no ${PERSISTENT_COLLECTION} keyring in the persistent keyring of uid ${uid})`,
          name,
        );
      // the name keeps the collection as written: "persistent::tkt" for an empty one (as MIT)
      return { id, anchor: r.anchor, collection: r.collection };
    }
    let anchorId: number;
    let possess = 0;
    switch (r.anchor) {
      case 'process':
        anchorId = KeySpec.PROCESS_KEYRING;
        break;
      case 'thread':
        anchorId = KeySpec.THREAD_KEYRING;
        break;
      case 'user':
        anchorId = KeySpec.USER_KEYRING;
        possess = KeySpec.PROCESS_KEYRING;
        break;
      default:
        anchorId = sessionWriteAnchor(k);
    }
    const id = search(k, anchorId, 'keyring', COLLECTION_PREFIX + r.collection, possess);
    if (id === null)
      throw new CcacheError(
        'not-found',
        `credential cache ${name} not found (no ${COLLECTION_PREFIX}${r.collection} keyring in the ${r.anchor} keyring)`,
        name,
      );
    return { id, anchor: r.anchor, collection: r.collection };
  } catch (e) {
    if (e instanceof CcacheError) throw e;
    throw systemError(e, `cannot look up keyring collection for ${name}`, name);
  }
}

/** MIT get_primary_name, read-only: a missing primary key means the collection name (or "tkt"). */
function primaryName(k: KeyctlCalls, c: Collection, name: string): string {
  const key = search(k, c.id, 'user', PRIMARY_KEY, 0);
  if (key === null) return c.collection === '' ? 'tkt' : c.collection;
  let payload: Buffer;
  try {
    payload = k.keyRead(key);
  } catch (e) {
    throw systemError(e, `cannot read ${PRIMARY_KEY} of ${name}`, name);
  }
  if (payload.length < 8) throw new CcacheError('format', `${PRIMARY_KEY} of ${name} is ${payload.length} bytes, too short`, name);
  const version = payload.readUInt32BE(0);
  const len = payload.readUInt32BE(4);
  if (len > payload.length - 8)
    throw new CcacheError('format', `${PRIMARY_KEY} of ${name} names ${len} bytes but holds ${payload.length - 8}`, name);
  if (version !== COLLECTION_VERSION) throw new CcacheError('format', `${PRIMARY_KEY} of ${name} has unknown version ${version}`, name);
  return payload.subarray(8, 8 + len).toString('utf8');
}

/** Open the cache a KEYRING residual designates (MIT krcc_resolve, without creating anything). */
export function openKeyringCcache(residual: string, options: KeyringOptions = {}): KeyringCredentialCache {
  const k = options.keyctl ?? native();
  const r = parseKeyringResidual(residual);
  const collection = findCollection(k, r, options, `KEYRING:${residual}`);
  const subsidiary = r.subsidiary ?? primaryName(k, collection, `KEYRING:${residual}`);
  const name = `KEYRING:${r.anchor}:${collection.collection}:${subsidiary}`;
  let cacheId: number | null;
  try {
    cacheId = search(k, collection.id, 'keyring', subsidiary, 0);
  } catch (e) {
    throw systemError(e, `cannot look up cache keyring ${subsidiary}`, name);
  }
  if (cacheId === null)
    throw new CcacheError('not-found', `credential cache ${name} not found (no keyring ${subsidiary} in the collection)`, name);
  return new KeyringCredentialCache(name, cacheId, r.anchor === 'legacy', k, options.now);
}

/** Every cache keyring of the collection a KEYRING residual belongs to, primary first. */
export function listKeyringCollection(residual: string, options: KeyringOptions = {}): KeyringCredentialCache[] {
  const k = options.keyctl ?? native();
  const r = parseKeyringResidual(residual);
  const collectionName = `KEYRING:${residual}`;
  const collection = findCollection(k, r, options, collectionName);
  const primary = primaryName(k, collection, collectionName);
  let serials: number[];
  try {
    serials = serialsOf(k.keyRead(collection.id));
  } catch (e) {
    throw systemError(e, `cannot list keyring collection ${collectionName}`, collectionName);
  }
  const caches: KeyringCredentialCache[] = [];
  for (const serial of serials) {
    let description: string;
    try {
      description = k.keyDescribe(serial);
    } catch (e) {
      if (GONE.has(errnoCode(e) ?? '')) continue;
      throw systemError(e, `cannot describe key ${serial} of ${collectionName}`, collectionName);
    }
    if (keyTypeOf(description) !== 'keyring') continue;
    const sub = keyNameOf(description);
    const cache = new KeyringCredentialCache(
      `KEYRING:${r.anchor}:${collection.collection}:${sub}`,
      serial,
      r.anchor === 'legacy',
      k,
      options.now,
    );
    if (sub === primary) caches.unshift(cache);
    else caches.push(cache);
  }
  return caches;
}

export class KeyringCredentialCache extends SynchronousCredentialCache {
  readonly type = 'KEYRING';

  constructor(
    readonly name: string,
    /** serial of the cache keyring */
    readonly keyringId: number,
    /** legacy caches store credentials as "user" keys only */
    private readonly legacy: boolean,
    private readonly k: KeyctlCalls,
    private readonly now: () => number = () => Math.floor(Date.now() / 1000),
  ) {
    super();
  }

  private readOffsets(): { id: number | null; offset: KdcTimeOffset | null } {
    const id = search(this.k, this.keyringId, 'user', TIME_OFFSETS_KEY, 0);
    if (id === null) return { id, offset: null };
    let payload: Buffer;
    try {
      payload = this.k.keyRead(id);
    } catch (e) {
      if (GONE.has(errnoCode(e) ?? '')) return { id, offset: null };
      throw systemError(e, `cannot read ${TIME_OFFSETS_KEY} of ${this.name}`, this.name);
    }
    if (payload.length < 8) return { id, offset: null };
    return { id, offset: { seconds: payload.readInt32BE(0), microseconds: payload.readInt32BE(4) } };
  }

  /** Read principal, time offset and every credential key (vanished keys are skipped). */
  readSync(): CcacheContents & { records: Credential[] } {
    try {
      const princId = search(this.k, this.keyringId, 'user', PRINCIPAL_KEY, 0);
      if (princId === null)
        throw new CcacheError('not-found', `credential cache ${this.name} not found (no ${PRINCIPAL_KEY} key: not initialized)`, this.name);
      const principal = decodePrincipal(this.k.keyRead(princId), 4, this.name);
      const { id: offsetsId, offset } = this.readOffsets();
      const records: Credential[] = [];
      for (const serial of serialsOf(this.k.keyRead(this.keyringId))) {
        if (serial === princId || serial === offsetsId) continue;
        let payload: Buffer;
        try {
          const type = keyTypeOf(this.k.keyDescribe(serial));
          if (type !== 'user' && type !== 'big_key') continue;
          payload = this.k.keyRead(serial);
        } catch (e) {
          if (GONE.has(errnoCode(e) ?? '')) continue; // unlinked or expired meanwhile
          throw e;
        }
        records.push(decodeCredential(payload, 4, this.name));
      }
      const { credentials, config } = classifyRecords(records);
      return { principal, credentials, config, kdcTimeOffset: offset, records };
    } catch (e) {
      if (e instanceof CcacheError) throw e;
      throw systemError(e, `cannot read credential cache ${this.name}`, this.name);
    }
  }

  /** MIT krcc_store: add (or replace) the key named by the server principal, then set timeouts. */
  storeSync(credential: Credential): void {
    const description = unparsePrincipal(credential.server);
    const payload = encodeCredential(credential, 4);
    let key: number;
    try {
      key = this.addCredentialKey(description, payload);
    } catch (e) {
      const err = systemError(e, `cannot add key "${description}" to ${this.name}`, this.name);
      if (errnoCode(e) === 'EDQUOT') err.message += " (the user's kernel key quota is exhausted: /proc/sys/kernel/keys/maxbytes)";
      throw err;
    }
    const offset = this.readOffsets().offset;
    const now = this.now() + (offset?.seconds ?? 0);
    if (credential.endTime > now) this.setTimeout(key, credential.endTime - now);
    this.updateKeyringExpiration(now);
  }

  private addCredentialKey(description: string, payload: Buffer): number {
    if (!this.legacy) {
      try {
        return this.k.addKey('big_key', description, payload, this.keyringId);
      } catch (e) {
        const code = errnoCode(e);
        if (code !== 'EINVAL' && code !== 'ENODEV') throw e;
      }
    }
    return this.k.addKey('user', description, payload, this.keyringId);
  }

  private setTimeout(key: number, seconds: number): void {
    try {
      this.k.keySetTimeout(key, seconds);
    } catch {
      /* MIT ignores timeout failures too */
    }
  }

  /** The cache keyring lives as long as its longest-lived credential (1 s if all expired). */
  private updateKeyringExpiration(now: number): void {
    let records: Credential[];
    try {
      records = this.readSync().records;
    } catch {
      return;
    }
    const latest = records.reduce((max, c) => Math.max(max, c.endTime), 0);
    if (latest === 0) return;
    this.setTimeout(this.keyringId, latest > now ? latest - now : 1);
  }

  override async read(): Promise<CcacheContents> {
    const { principal, credentials, config, kdcTimeOffset } = this.readSync();
    return { principal, credentials, config, kdcTimeOffset };
  }
}
