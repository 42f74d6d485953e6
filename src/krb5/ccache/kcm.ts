// KCM credential caches: the Heimdal KCM protocol over a Unix stream socket, as MIT libkrb5
// speaks it to sssd-kcm (cc_kcm.c; verified against sssd 2.8.2 with strace of MIT 1.20 klist):
//
//   request = u32be L ‖ L bytes: u8 major 2 ‖ u8 minor 0 ‖ u16be opcode ‖ [name "\0"] ‖ arguments
//   reply   = u32be L ‖ u32be transport status ‖ L bytes: i32be result ‖ output
// (a non-zero transport status ends the reply: it is the error). Names are NUL-terminated;
// principals and credentials use the FILE-v4 encoding; UUIDs are 16 bytes; UUID lists run to the
// end of the output; GET_CRED_LIST = u32be count, count × {u32be length, credential}.
// The daemon knows the caller by SO_PEERCRED: connect only after dropping to the target uid.
// Replies above 10 MiB are refused; an idle connection closed by the daemon (sssd does) is
// re-opened once, on EPIPE, as MIT does.
import { connect, type Socket } from 'node:net';
import { CcacheError, CcacheFormatError, KcmError } from './errors.ts';
import { decodeCredential, decodePrincipal, encodeCredential } from './marshal.ts';
import {
  classifyRecords,
  type CacheConfigEntry,
  type CcacheContents,
  type Credential,
  type CredentialCache,
  type KdcTimeOffset,
  type Principal,
} from './model.ts';

/** [libdefaults] kcm_socket default (MIT DEFAULT_KCM_SOCKET_PATH). */
export const DEFAULT_KCM_SOCKET = '/var/run/.heim_org.h5l.kcm-socket';
export const MAX_KCM_REPLY = 10 * 1024 * 1024;
export const DEFAULT_KCM_TIMEOUT_MS = 10_000;

/** Opcodes (Heimdal kcm.h enum order; 13001+ are MIT extensions). */
export const KcmOp = {
  NOOP: 0,
  GEN_NEW: 3,
  INITIALIZE: 4,
  DESTROY: 5,
  STORE: 6,
  RETRIEVE: 7,
  GET_PRINCIPAL: 8,
  GET_CRED_UUID_LIST: 9,
  GET_CRED_BY_UUID: 10,
  REMOVE_CRED: 11,
  GET_CACHE_UUID_LIST: 18,
  GET_CACHE_BY_UUID: 19,
  GET_DEFAULT_CACHE: 20,
  SET_DEFAULT_CACHE: 21,
  GET_KDC_OFFSET: 22,
  SET_KDC_OFFSET: 23,
  GET_CRED_LIST: 13001,
  REPLACE: 13002,
} as const;

const OP_NAMES = new Map<number, string>(Object.entries(KcmOp).map(([k, v]) => [v, k]));

/** com_err codes KCM daemons answer with (krb5_err.et, base −1765328384). */
export const KrbCcacheCode = {
  KRB5_CC_NOTFOUND: -1765328243,
  KRB5_CC_END: -1765328242,
  KRB5_CC_IO: -1765328191,
  KRB5_FCC_NOFILE: -1765328189,
  KRB5_FCC_INTERNAL: -1765328188,
  KRB5_CC_FORMAT: -1765328185,
  KRB5_CCACHE_BADVNO: -1765328172,
  KRB5_CC_NOSUPP: -1765328137,
} as const;

const CODE_NAMES = new Map<number, string>(Object.entries(KrbCcacheCode).map(([k, v]) => [v, k]));

export function kcmCodeName(code: number): string {
  return CODE_NAMES.get(code) ?? `code ${code}`;
}

/** MIT unsupported_op_error: Heimdal's FCC_INTERNAL, old sssd's CC_IO, sssd's CC_NOSUPP. */
export function isUnsupportedKcmCode(code: number): boolean {
  return code === KrbCcacheCode.KRB5_FCC_INTERNAL || code === KrbCcacheCode.KRB5_CC_IO || code === KrbCcacheCode.KRB5_CC_NOSUPP;
}

/** "There is no such cache" as sssd (FCC_NOFILE, CC_NOTFOUND) and Heimdal (CC_END) say it. */
export function isNoCacheKcmCode(code: number): boolean {
  return code === KrbCcacheCode.KRB5_FCC_NOFILE || code === KrbCcacheCode.KRB5_CC_NOTFOUND || code === KrbCcacheCode.KRB5_CC_END;
}

export interface KcmOptions {
  /** [libdefaults] kcm_socket; "-" disables KCM; default /var/run/.heim_org.h5l.kcm-socket */
  socketPath?: string;
  /** per request (connect + reply); default 10 s */
  timeoutMs?: number;
  signal?: AbortSignal;
}

function nameArg(name: string): Buffer {
  return Buffer.concat([Buffer.from(name, 'utf8'), Buffer.from([0])]);
}

/** One connection to the daemon; requests are strictly sequential. */
export class KcmConnection {
  private socket: Socket | null = null;
  private closedByPeer = false;
  private busy = false;
  /** connections opened so far (more than one: the daemon closed an idle one and we re-opened) */
  connections = 0;
  readonly socketPath: string;
  private readonly timeoutMs: number;

  constructor(private readonly options: KcmOptions = {}) {
    this.socketPath = options.socketPath ?? DEFAULT_KCM_SOCKET;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_KCM_TIMEOUT_MS;
  }

  private unreachable(message: string, cause?: unknown): CcacheError {
    return new CcacheError('unreachable', `KCM daemon at ${this.socketPath}: ${message}`, undefined, cause ? { cause } : undefined);
  }

  private open(deadline: number): Promise<Socket> {
    if (this.socketPath === '-') return Promise.reject(new CcacheError('unsupported', 'KCM is disabled (kcm_socket = -)'));
    return new Promise((resolve, reject) => {
      const s = connect({ path: this.socketPath });
      const onError = (e: NodeJS.ErrnoException): void => {
        cleanup();
        s.destroy();
        const why =
          e.code === 'ENOENT'
            ? 'no socket (is the KCM daemon running?)'
            : e.code === 'ECONNREFUSED'
              ? 'connection refused (no daemon listening)'
              : e.code === 'EACCES'
                ? 'permission denied on the socket'
                : e.message;
        reject(this.unreachable(why, e));
      };
      const timer = setTimeout(
        () => {
          cleanup();
          s.destroy();
          reject(this.unreachable(`no connection within ${this.timeoutMs} ms`));
        },
        Math.max(0, deadline - Date.now()),
      );
      const onAbort = (): void => {
        cleanup();
        s.destroy();
        reject(this.unreachable('aborted', this.options.signal?.reason));
      };
      const cleanup = (): void => {
        clearTimeout(timer);
        s.off('error', onError);
        this.options.signal?.removeEventListener('abort', onAbort);
      };
      s.once('error', onError);
      this.options.signal?.addEventListener('abort', onAbort, { once: true });
      s.once('connect', () => {
        cleanup();
        s.unref(); // an idle connection must not keep the process alive
        s.on('error', () => {
          /* reported by the request in flight, if any */
        });
        s.on('end', () => {
          this.closedByPeer = true;
        });
        s.on('close', () => {
          this.closedByPeer = true;
        });
        this.closedByPeer = false;
        this.connections++;
        resolve(s);
      });
    });
  }

  /** Send one request and return the operation output (after a zero result code). */
  async call(opcode: number, args: Buffer, cacheName?: string): Promise<Buffer> {
    const op = OP_NAMES.get(opcode) ?? `opcode ${opcode}`;
    if (this.busy) throw new Error('KcmConnection: concurrent requests are not supported');
    this.options.signal?.throwIfAborted();
    this.busy = true;
    try {
      const header = Buffer.alloc(8);
      header.writeUInt32BE(4 + args.length, 0);
      header.writeUInt8(2, 4);
      header.writeUInt8(0, 5);
      header.writeUInt16BE(opcode, 6);
      const request = Buffer.concat([header, args]);
      const deadline = Date.now() + this.timeoutMs;
      let reconnected = false;
      for (;;) {
        if (!this.socket || this.closedByPeer || this.socket.destroyed) {
          this.socket?.destroy();
          this.socket = null;
          this.socket = await this.open(deadline);
        }
        try {
          return await this.exchange(this.socket, request, op, deadline, cacheName);
        } catch (e) {
          if (!reconnected && e instanceof WriteFailed && e.code === 'EPIPE') {
            reconnected = true;
            this.socket.destroy();
            this.socket = null;
            continue;
          }
          if (!(e instanceof KcmError)) {
            // a KcmError left the stream in step (result code) or already closed it (status)
            this.socket?.destroy();
            this.socket = null;
          }
          if (e instanceof WriteFailed) throw this.unreachable(`sending ${op}: ${e.code ?? e.message}`, e);
          throw e;
        }
      }
    } finally {
      this.busy = false;
    }
  }

  private exchange(s: Socket, request: Buffer, op: string, deadline: number, cacheName?: string): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let have = 0;
      let wanted = -1;
      let settled = false;
      const finish = (err: Error | null, out?: Buffer): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        s.off('data', onData);
        s.off('close', onClose);
        s.off('error', onError);
        this.options.signal?.removeEventListener('abort', onAbort);
        if (err) reject(err);
        else resolve(out!);
      };
      const onData = (chunk: Buffer): void => {
        chunks.push(chunk);
        have += chunk.length;
        if (wanted < 0 && have >= 8) {
          const head = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, have);
          chunks.splice(0, chunks.length, head);
          const len = head.readUInt32BE(0);
          const status = head.readInt32BE(4);
          if (len > MAX_KCM_REPLY) {
            s.destroy();
            finish(new CcacheFormatError(`KCM reply to ${op} announces ${len} bytes, above the ${MAX_KCM_REPLY}-byte limit`, 0, cacheName));
            return;
          }
          if (status !== 0) {
            // the daemon failed before producing a payload; nothing else of this reply is read
            s.destroy();
            finish(new KcmError(status, op, `KCM daemon failed ${op}: ${kcmCodeName(status)}`, cacheName));
            return;
          }
          wanted = 8 + len;
        }
        if (wanted >= 0 && have >= wanted) {
          if (have > wanted) {
            s.destroy();
            finish(new CcacheFormatError(`KCM reply to ${op} has ${have - wanted} unexpected extra bytes`, wanted, cacheName));
            return;
          }
          const payload = Buffer.concat(chunks, have).subarray(8);
          if (payload.length < 4) {
            finish(new CcacheFormatError(`KCM reply to ${op} has no result code`, 8, cacheName));
            return;
          }
          const result = payload.readInt32BE(0);
          if (result !== 0) finish(new KcmError(result, op, `KCM ${op} failed: ${kcmCodeName(result)}`, cacheName));
          else finish(null, payload.subarray(4));
        }
      };
      const onClose = (): void => {
        finish(this.unreachable(`connection closed before the reply to ${op} was complete (${have} bytes)`));
      };
      const onError = (e: NodeJS.ErrnoException): void => {
        finish(have === 0 ? new WriteFailed(e) : this.unreachable(`reading the reply to ${op}: ${e.code ?? e.message}`, e));
      };
      const onAbort = (): void => {
        s.destroy();
        finish(this.unreachable(`${op} aborted`, this.options.signal?.reason));
      };
      const timer = setTimeout(
        () => {
          s.destroy();
          finish(this.unreachable(`no reply to ${op} within ${this.timeoutMs} ms`));
        },
        Math.max(0, deadline - Date.now()),
      );
      s.on('data', onData);
      s.once('close', onClose);
      s.once('error', onError);
      this.options.signal?.addEventListener('abort', onAbort, { once: true });
      s.write(request);
    });
  }

  /** True while a connection is open and the daemon has not closed it. */
  get isOpen(): boolean {
    return this.socket !== null && !this.socket.destroyed && !this.closedByPeer;
  }

  close(): void {
    this.socket?.destroy();
    this.socket = null;
  }
}

/** A socket error before any reply byte: the request may not have been delivered. */
class WriteFailed extends Error {
  readonly code: string | undefined;
  constructor(cause: NodeJS.ErrnoException) {
    super(cause.message, { cause });
    this.code = cause.code;
  }
}

function readName(out: Buffer, op: string): string {
  const nul = out.indexOf(0);
  if (nul < 0) throw new CcacheFormatError(`KCM ${op} reply has no NUL-terminated name`, 12);
  return out.subarray(0, nul).toString('utf8');
}

function splitUuids(out: Buffer, op: string, cacheName?: string): Buffer[] {
  if (out.length % 16 !== 0)
    throw new CcacheFormatError(`KCM ${op} reply of ${out.length} bytes is not a list of 16-byte UUIDs`, 12, cacheName);
  const list: Buffer[] = [];
  for (let i = 0; i < out.length; i += 16) list.push(out.subarray(i, i + 16));
  return list;
}

/** Open a KCM cache: "KCM:" asks the daemon for the caller's default cache name. */
export async function openKcmCcache(residual: string, options: KcmOptions = {}): Promise<KcmCredentialCache> {
  const conn = new KcmConnection(options);
  try {
    let name = residual;
    if (name === '') name = readName(await conn.call(KcmOp.GET_DEFAULT_CACHE, Buffer.alloc(0), 'KCM:'), 'GET_DEFAULT_CACHE');
    return new KcmCredentialCache(name, conn);
  } catch (e) {
    conn.close();
    throw e;
  }
}

/** Names of every cache the daemon holds for the caller, the default first (MIT kcm_ptcursor). */
export async function listKcmCollection(options: KcmOptions = {}): Promise<string[]> {
  const conn = new KcmConnection(options);
  try {
    let uuids: Buffer[];
    try {
      uuids = splitUuids(await conn.call(KcmOp.GET_CACHE_UUID_LIST, Buffer.alloc(0)), 'GET_CACHE_UUID_LIST');
    } catch (e) {
      if (e instanceof KcmError && isNoCacheKcmCode(e.code)) return [];
      throw e;
    }
    const primary = readName(await conn.call(KcmOp.GET_DEFAULT_CACHE, Buffer.alloc(0)), 'GET_DEFAULT_CACHE');
    const names: string[] = [];
    for (const uuid of uuids) {
      try {
        const name = readName(await conn.call(KcmOp.GET_CACHE_BY_UUID, uuid), 'GET_CACHE_BY_UUID');
        if (name === primary) names.unshift(`KCM:${name}`);
        else names.push(`KCM:${name}`);
      } catch (e) {
        if (e instanceof KcmError && isNoCacheKcmCode(e.code)) continue; // deleted meanwhile
        throw e;
      }
    }
    return names;
  } finally {
    conn.close();
  }
}

export class KcmCredentialCache implements CredentialCache {
  readonly type = 'KCM';
  readonly name: string;

  constructor(
    /** the daemon's cache name (residual), e.g. "2001" */
    readonly residual: string,
    private readonly conn: KcmConnection,
  ) {
    this.name = `KCM:${residual}`;
  }

  private call(opcode: number, extra: Buffer = Buffer.alloc(0)): Promise<Buffer> {
    return this.conn.call(opcode, Buffer.concat([nameArg(this.residual), extra]), this.name);
  }

  private notFound(e: unknown): never {
    if (e instanceof KcmError && isNoCacheKcmCode(e.code)) {
      throw new CcacheError('not-found', `credential cache ${this.name} not found (${kcmCodeName(e.code)})`, this.name, { cause: e });
    }
    throw e;
  }

  async principal(): Promise<Principal> {
    let out: Buffer;
    try {
      out = await this.call(KcmOp.GET_PRINCIPAL);
    } catch (e) {
      this.notFound(e);
    }
    // Heimdal answers 0 with no principal for an uninitialized cache
    if (out.length === 0) throw new CcacheError('not-found', `credential cache ${this.name} not found (no principal)`, this.name);
    return decodePrincipal(out, 4, this.name);
  }

  /** GET_KDC_OFFSET; null when the daemon has none or cannot say (MIT ignores failures). */
  async kdcTimeOffset(): Promise<KdcTimeOffset | null> {
    try {
      const out = await this.call(KcmOp.GET_KDC_OFFSET);
      if (out.length < 4) return null;
      return { seconds: out.readInt32BE(0), microseconds: 0 };
    } catch (e) {
      if (e instanceof KcmError) return null;
      throw e;
    }
  }

  /** Every record, config entries included: GET_CRED_LIST, or the UUID walk when unsupported. */
  async records(): Promise<Credential[]> {
    let out: Buffer;
    try {
      out = await this.call(KcmOp.GET_CRED_LIST);
    } catch (e) {
      if (e instanceof KcmError && isUnsupportedKcmCode(e.code)) return this.recordsByUuid();
      this.notFound(e);
    }
    if (out.length < 4) throw new CcacheFormatError('GET_CRED_LIST reply has no count', 12, this.name);
    const count = out.readUInt32BE(0);
    if (count > Math.floor((out.length - 4) / 4)) {
      throw new CcacheFormatError(`GET_CRED_LIST announces ${count} credentials in ${out.length} bytes`, 12, this.name);
    }
    const creds: Credential[] = [];
    let at = 4;
    for (let i = 0; i < count; i++) {
      if (at + 4 > out.length) throw new CcacheFormatError(`GET_CRED_LIST ends before credential ${i + 1} of ${count}`, 12 + at, this.name);
      const len = out.readUInt32BE(at);
      if (len > out.length - at - 4)
        throw new CcacheFormatError(`GET_CRED_LIST credential ${i + 1} length ${len} overruns the reply`, 12 + at, this.name);
      creds.push(decodeCredential(out.subarray(at + 4, at + 4 + len), 4, this.name));
      at += 4 + len;
    }
    return creds;
  }

  /** GET_CRED_UUID_LIST + GET_CRED_BY_UUID (daemons without GET_CRED_LIST); vanished ones skipped. */
  async recordsByUuid(): Promise<Credential[]> {
    let uuids: Buffer[];
    try {
      uuids = splitUuids(await this.call(KcmOp.GET_CRED_UUID_LIST), 'GET_CRED_UUID_LIST', this.name);
    } catch (e) {
      this.notFound(e);
    }
    const creds: Credential[] = [];
    for (const uuid of uuids) {
      let out: Buffer;
      try {
        out = await this.call(KcmOp.GET_CRED_BY_UUID, uuid);
      } catch (e) {
        if (e instanceof KcmError && isNoCacheKcmCode(e.code)) continue;
        throw e;
      }
      creds.push(decodeCredential(out, 4, this.name));
    }
    return creds;
  }

  async read(): Promise<CcacheContents> {
    const principal = await this.principal();
    const kdcTimeOffset = await this.kdcTimeOffset();
    const { credentials, config } = classifyRecords(await this.records());
    return { principal, credentials, config, kdcTimeOffset };
  }

  async credentials(): Promise<Credential[]> {
    return classifyRecords(await this.records()).credentials;
  }

  async configEntries(): Promise<CacheConfigEntry[]> {
    return classifyRecords(await this.records()).config;
  }

  async store(credential: Credential): Promise<void> {
    try {
      await this.call(KcmOp.STORE, encodeCredential(credential, 4));
    } catch (e) {
      this.notFound(e);
    }
  }

  close(): void {
    this.conn.close();
  }
}
