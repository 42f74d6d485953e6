// MIT FILE credential-cache format, versions 1–4 (doc/formats/ccache_file_format.rst). Also the
// record encoding of KEYRING caches (one v4 credential per key, v4 principal) and KCM (v4).
//
//   file       = u16be 0x0501..0x0504, [v4: u16 headerlen, {u16 tag, u16 len, bytes}*],
//                principal (default), credential* until end of file
//   principal  = [u32 name_type, absent in v1], u32 ncomponents (v1: counts the realm),
//                data realm, data component × n
//   credential = principal client, principal server,
//                keyblock (i16 enctype [v3: twice], data key),
//                u32 authtime, starttime, endtime, renew_till, u8 is_skey, u32 ticket_flags,
//                u32 n, {u16 addrtype, data} × n, u32 n, {i16 ad_type, data} × n,
//                data ticket, data second_ticket
//   data       = u32 length, bytes
// Integers are big-endian in v3/v4 and in host byte order in v1/v2 (little-endian on every
// platform we run on). Header tag 1 = KDC time offset: i32 seconds, i32 microseconds.
import { CcacheFormatError } from './errors.ts';
import type { Credential, KdcTimeOffset, Principal } from './model.ts';

export type CcacheVersion = 1 | 2 | 3 | 4;

/** Header tag of the KDC time offset (v4). */
export const TAG_KDC_TIME_OFFSET = 1;

/** Host byte order of v1/v2 files (os.endianness() is "LE" on x86-64 and arm64). */
const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Thrown internally when a record runs past the end of the available bytes. */
export class TruncatedRecord extends Error {
  constructor(readonly offset: number) {
    super(`record truncated at offset ${offset}`);
  }
}

/** A cursor over cache bytes with the format's integer order and MIT's sanity limits. */
export class CcacheReader {
  pos: number;
  private readonly little: boolean;

  constructor(
    readonly buf: Buffer,
    readonly version: CcacheVersion,
    /** lengths and counts above this are corruption, not truncation (MIT: the file size) */
    readonly limit: number = buf.length,
    start = 0,
    /** added to offsets in error messages (payloads inside a larger reply) */
    readonly baseOffset = 0,
    readonly cacheName?: string,
  ) {
    this.pos = start;
    this.little = version < 3 && HOST_LITTLE_ENDIAN;
  }

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  private need(n: number): number {
    if (this.pos + n > this.buf.length) throw new TruncatedRecord(this.baseOffset + this.pos);
    const at = this.pos;
    this.pos += n;
    return at;
  }

  u8(): number {
    return this.buf[this.need(1)]!;
  }

  u16(): number {
    const at = this.need(2);
    return this.little ? this.buf.readUInt16LE(at) : this.buf.readUInt16BE(at);
  }

  i16(): number {
    const at = this.need(2);
    return this.little ? this.buf.readInt16LE(at) : this.buf.readInt16BE(at);
  }

  u32(): number {
    const at = this.need(4);
    return this.little ? this.buf.readUInt32LE(at) : this.buf.readUInt32BE(at);
  }

  i32(): number {
    const at = this.need(4);
    return this.little ? this.buf.readInt32LE(at) : this.buf.readInt32BE(at);
  }

  bytes(n: number): Buffer {
    const at = this.need(n);
    return Buffer.from(this.buf.subarray(at, at + n));
  }

  fail(message: string, at = this.pos): never {
    throw new CcacheFormatError(message, this.baseOffset + at, this.cacheName);
  }

  /** u32 length + bytes; a length beyond the whole file is corruption. */
  data(what: string): Buffer {
    const at = this.pos;
    const len = this.u32();
    if (len > this.limit) this.fail(`${what} length ${len} exceeds the ${this.limit}-byte cache`, at);
    return this.bytes(len);
  }

  /** u32 element count; every element needs at least `minSize` bytes. */
  count(what: string, minSize: number): number {
    const at = this.pos;
    const n = this.u32();
    if (n > Math.floor(this.limit / minSize)) this.fail(`${what} count ${n} cannot fit in the ${this.limit}-byte cache`, at);
    return n;
  }
}

/** A growing byte buffer with the format's integer order. */
export class CcacheWriter {
  private chunks: Buffer[] = [];
  private readonly little: boolean;

  constructor(readonly version: CcacheVersion) {
    this.little = version < 3 && HOST_LITTLE_ENDIAN;
  }

  u8(v: number): void {
    this.chunks.push(Buffer.from([v & 0xff]));
  }

  u16(v: number): void {
    const b = Buffer.alloc(2);
    if (this.little) b.writeUInt16LE(v & 0xffff);
    else b.writeUInt16BE(v & 0xffff);
    this.chunks.push(b);
  }

  u32(v: number): void {
    const b = Buffer.alloc(4);
    if (this.little) b.writeUInt32LE(v >>> 0);
    else b.writeUInt32BE(v >>> 0);
    this.chunks.push(b);
  }

  raw(b: Buffer): void {
    this.chunks.push(b);
  }

  data(b: Buffer): void {
    this.u32(b.length);
    this.chunks.push(b);
  }

  result(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

// ---- principals and credentials -------------------------------------------------------------

export function readPrincipal(r: CcacheReader): Principal {
  const nameType = r.version === 1 ? 0 : r.i32();
  const countAt = r.pos;
  let n = r.count('principal component', 4);
  if (r.version === 1) {
    if (n === 0) r.fail('v1 principal with a component count of 0 (it must count the realm)', countAt);
    n -= 1;
  }
  const realm = r.data('realm').toString('utf8');
  const components: string[] = [];
  for (let i = 0; i < n; i++) components.push(r.data('principal component').toString('utf8'));
  return { nameType, components, realm };
}

export function writePrincipal(w: CcacheWriter, p: Principal): void {
  if (w.version !== 1) w.u32(p.nameType);
  w.u32(p.components.length + (w.version === 1 ? 1 : 0));
  w.data(Buffer.from(p.realm, 'utf8'));
  for (const c of p.components) w.data(Buffer.from(c, 'utf8'));
}

export function readCredential(r: CcacheReader): Credential {
  const client = readPrincipal(r);
  const server = readPrincipal(r);
  const enctype = r.i16();
  if (r.version === 3) r.i16(); // v3 records the enctype twice (old keytype + enctype)
  const keyValue = r.data('key');
  const authTime = r.u32();
  const startTime = r.u32();
  const endTime = r.u32();
  const renewTill = r.u32();
  const isSkey = r.u8(); // MIT keeps any non-zero byte as true
  const flags = r.u32();
  const addresses = [];
  for (let i = 0, n = r.count('address', 6); i < n; i++) {
    const type = r.u16();
    addresses.push({ type, data: r.data('address') });
  }
  const authData = [];
  for (let i = 0, n = r.count('authorization data', 6); i < n; i++) {
    const type = r.i16();
    authData.push({ type, data: r.data('authorization data') });
  }
  const ticket = r.data('ticket');
  const secondTicket = r.data('second ticket');
  return {
    client,
    server,
    key: { enctype, value: keyValue },
    authTime,
    startTime,
    endTime,
    renewTill,
    isSkey: isSkey !== 0,
    flags,
    addresses,
    authData,
    ticket,
    secondTicket,
  };
}

export function writeCredential(w: CcacheWriter, c: Credential): void {
  writePrincipal(w, c.client);
  writePrincipal(w, c.server);
  w.u16(c.key.enctype);
  if (w.version === 3) w.u16(c.key.enctype);
  w.data(c.key.value);
  w.u32(c.authTime);
  w.u32(c.startTime);
  w.u32(c.endTime);
  w.u32(c.renewTill);
  w.u8(c.isSkey ? 1 : 0);
  w.u32(c.flags);
  w.u32(c.addresses.length);
  for (const a of c.addresses) {
    w.u16(a.type);
    w.data(a.data);
  }
  w.u32(c.authData.length);
  for (const a of c.authData) {
    w.u16(a.type);
    w.data(a.data);
  }
  w.data(c.ticket);
  w.data(c.secondTicket);
}

/** One credential record in the given version (what FILE appends, KEYRING and KCM carry). */
export function encodeCredential(c: Credential, version: CcacheVersion = 4): Buffer {
  const w = new CcacheWriter(version);
  writeCredential(w, c);
  return w.result();
}

export function encodePrincipal(p: Principal, version: CcacheVersion = 4): Buffer {
  const w = new CcacheWriter(version);
  writePrincipal(w, p);
  return w.result();
}

function decodeWhole<T>(what: string, payload: Buffer, version: CcacheVersion, read: (r: CcacheReader) => T, cacheName?: string): T {
  const r = new CcacheReader(payload, version, payload.length, 0, 0, cacheName);
  try {
    return read(r);
  } catch (e) {
    if (e instanceof TruncatedRecord) {
      throw new CcacheFormatError(`${what} ends early (${payload.length} bytes)`, e.offset, cacheName);
    }
    throw e;
  }
}

/** A self-contained credential payload (keyring key, KCM reply); trailing bytes are ignored as in MIT. */
export function decodeCredential(payload: Buffer, version: CcacheVersion = 4, cacheName?: string): Credential {
  return decodeWhole('credential record', payload, version, readCredential, cacheName);
}

export function decodePrincipal(payload: Buffer, version: CcacheVersion = 4, cacheName?: string): Principal {
  return decodeWhole('principal', payload, version, readPrincipal, cacheName);
}

// ---- whole files ------------------------------------------------------------------------------

export interface HeaderTag {
  tag: number;
  value: Buffer;
}

export interface FileHeader {
  version: CcacheVersion;
  tags: HeaderTag[];
  kdcTimeOffset: KdcTimeOffset | null;
  /** offset of the default principal */
  end: number;
}

/** A parsed FILE cache: every record (including removed and config entries) with its offset. */
export interface ParsedFileCcache extends FileHeader {
  principal: Principal;
  records: { offset: number; credential: Credential }[];
  /** offset of an incomplete trailing record (another writer may be appending), else null */
  truncatedAt: number | null;
}

/** The version word and, for v4, the tagged header. Truncation here is a format error. */
export function parseFileHeader(buf: Buffer, cacheName?: string, limit = buf.length): FileHeader {
  if (buf.length === 0) throw new CcacheFormatError('empty file: no ccache version', 0, cacheName);
  if (buf.length < 2) throw new CcacheFormatError('file too short for the ccache version', 0, cacheName);
  const word = buf.readUInt16BE(0);
  if (word >> 8 !== 0x05 || (word & 0xff) < 1 || (word & 0xff) > 4) {
    throw new CcacheFormatError(`bad ccache version 0x${word.toString(16).padStart(4, '0')} (expected 0x0501..0x0504)`, 0, cacheName);
  }
  const version = (word & 0xff) as CcacheVersion;
  const tags: HeaderTag[] = [];
  let kdcTimeOffset: KdcTimeOffset | null = null;
  if (version < 4) return { version, tags, kdcTimeOffset, end: 2 };
  const r = new CcacheReader(buf, version, limit, 2, 0, cacheName);
  try {
    let left = r.u16();
    while (left > 0) {
      const at = r.pos;
      if (left < 4) r.fail(`${left} header bytes left, too few for a tag`, at);
      const tag = r.u16();
      const len = r.u16();
      if (len > left - 4) r.fail(`header tag ${tag} length ${len} overruns the ${left}-byte header`, at);
      const value = r.bytes(len);
      if (tag === TAG_KDC_TIME_OFFSET) {
        if (len !== 8) r.fail(`KDC time offset tag with length ${len} (expected 8)`, at);
        kdcTimeOffset = { seconds: value.readInt32BE(0), microseconds: value.readInt32BE(4) };
      }
      tags.push({ tag, value });
      left -= 4 + len;
    }
  } catch (e) {
    if (e instanceof TruncatedRecord) throw new CcacheFormatError('file ends inside the v4 header', e.offset, cacheName);
    throw e;
  }
  return { version, tags, kdcTimeOffset, end: r.pos };
}

/**
 * Parse a whole FILE cache. Structural faults are CcacheFormatError; an incomplete trailing
 * record ends the cache (MIT returns KRB5_CC_END), reported in `truncatedAt`.
 */
export function parseFileCcache(buf: Buffer, cacheName?: string): ParsedFileCcache {
  const header = parseFileHeader(buf, cacheName);
  const r = new CcacheReader(buf, header.version, buf.length, header.end, 0, cacheName);
  let principal: Principal;
  try {
    principal = readPrincipal(r);
  } catch (e) {
    if (e instanceof TruncatedRecord) throw new CcacheFormatError('file ends inside the default principal', e.offset, cacheName);
    throw e;
  }
  const records: ParsedFileCcache['records'] = [];
  let truncatedAt: number | null = null;
  while (r.remaining > 0) {
    const offset = r.pos;
    try {
      records.push({ offset, credential: readCredential(r) });
    } catch (e) {
      if (!(e instanceof TruncatedRecord)) throw e;
      truncatedAt = offset;
      break;
    }
  }
  return { ...header, principal, records, truncatedAt };
}

/** A complete FILE cache image (MIT fcc_initialize + stores); v4 writes tag 1 when an offset is given. */
export function encodeFileCcache(input: {
  version?: CcacheVersion;
  principal: Principal;
  credentials?: Credential[];
  kdcTimeOffset?: KdcTimeOffset | null;
}): Buffer {
  const version = input.version ?? 4;
  const w = new CcacheWriter(version);
  w.raw(Buffer.from([0x05, version]));
  if (version === 4) {
    const offset = input.kdcTimeOffset;
    if (offset) {
      const b = Buffer.alloc(14);
      b.writeUInt16BE(12, 0);
      b.writeUInt16BE(TAG_KDC_TIME_OFFSET, 2);
      b.writeUInt16BE(8, 4);
      b.writeInt32BE(offset.seconds, 6);
      b.writeInt32BE(offset.microseconds, 10);
      w.raw(b);
    } else {
      w.raw(Buffer.from([0, 0]));
    }
  }
  writePrincipal(w, input.principal);
  for (const c of input.credentials ?? []) writeCredential(w, c);
  return w.result();
}
