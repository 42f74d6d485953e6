// MIT FILE keytab format (doc/formats/keytab_file_format.rst, kt_file.c), read-only use plus an
// encoder for tests and tools:
//
//   keytab  = u8 5, u8 version (1: host byte order, 2: big-endian), record*
//   record  = i32 length, then: length > 0 → an entry of at most `length` bytes (padding follows
//             when it replaced a larger hole); length < 0 → a hole of −length zero bytes (a
//             deleted entry); length 0 → end of keytab
//   entry   = u16 count (v1: counts the realm), data16 realm, data16 component × count,
//             [u32 name_type, absent in v1], u32 timestamp, u8 kvno, u16 enctype,
//             u16 key length, key bytes, [u32 kvno when ≥ 4 bytes of the record remain and it is
//             not 0: it replaces the 8-bit kvno]
//   data16  = u16 length, bytes
// Reading follows the ccache rules: synchronous I/O, regular file, size cap; an incomplete last
// record ends the keytab (a writer may be appending).
import type { Keyblock, Principal } from '../ccache/model.ts';
import { principalsEqual } from '../ccache/model.ts';
import { CcacheError } from '../ccache/errors.ts';
import { expandPathTokens, type ExpansionContext } from '../ccache/name.ts';
import { readUserFileSync } from '../ccache/safe-file.ts';

export type KeytabVersion = 1 | 2;

export interface KeytabEntry {
  principal: Principal;
  /** when the key was written, seconds since the epoch */
  timestamp: number;
  /** the 32-bit key version when present, else the 8-bit one */
  kvno: number;
  key: Keyblock;
  /** offset of the entry's record length in the file */
  offset: number;
}

export interface Keytab {
  name: string;
  version: KeytabVersion;
  entries: KeytabEntry[];
  /** offset of an incomplete last record, else null */
  truncatedAt: number | null;
}

export type KeytabFailure = 'not-found' | 'format' | 'bad-name' | 'unsupported' | 'permission' | 'unsafe' | 'io';

export class KeytabError extends Error {
  override readonly name: string = 'KeytabError';
  constructor(
    readonly kind: KeytabFailure,
    message: string,
    readonly keytabName?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export class KeytabFormatError extends KeytabError {
  override readonly name = 'KeytabFormatError';
  constructor(
    message: string,
    readonly offset: number,
    keytabName?: string,
  ) {
    super('format', `${message} (at offset ${offset})`, keytabName);
  }
}

const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

class EntryReader {
  pos: number;
  constructor(
    private readonly buf: Buffer,
    start: number,
    readonly end: number,
    private readonly little: boolean,
    private readonly recordOffset: number,
    private readonly keytabName?: string,
  ) {
    this.pos = start;
  }

  private need(n: number, what: string): number {
    if (this.pos + n > this.end) {
      throw new KeytabFormatError(`entry ${what} overruns its ${this.end - this.recordOffset - 4}-byte record`, this.pos, this.keytabName);
    }
    const at = this.pos;
    this.pos += n;
    return at;
  }

  u8(what: string): number {
    return this.buf[this.need(1, what)]!;
  }

  u16(what: string): number {
    const at = this.need(2, what);
    return this.little ? this.buf.readUInt16LE(at) : this.buf.readUInt16BE(at);
  }

  i16(what: string): number {
    const at = this.need(2, what);
    return this.little ? this.buf.readInt16LE(at) : this.buf.readInt16BE(at);
  }

  u32(what: string): number {
    const at = this.need(4, what);
    return this.little ? this.buf.readUInt32LE(at) : this.buf.readUInt32BE(at);
  }

  i32(what: string): number {
    const at = this.need(4, what);
    return this.little ? this.buf.readInt32LE(at) : this.buf.readInt32BE(at);
  }

  data16(what: string): Buffer {
    const len = this.u16(`${what} length`);
    const at = this.need(len, what);
    return Buffer.from(this.buf.subarray(at, at + len));
  }

  get left(): number {
    return this.end - this.pos;
  }
}

function readEntry(r: EntryReader, version: KeytabVersion, offset: number): KeytabEntry {
  let count = r.u16('component count');
  if (version === 1) {
    if (count === 0) throw new KeytabFormatError('v1 entry with a component count of 0 (it must count the realm)', offset + 4);
    count -= 1;
  }
  const realm = r.data16('realm').toString('utf8');
  const components: string[] = [];
  for (let i = 0; i < count; i++) components.push(r.data16('principal component').toString('utf8'));
  const nameType = version === 1 ? 0 : r.i32('name type');
  const timestamp = r.u32('timestamp');
  const vno8 = r.u8('key version');
  const enctype = r.i16('enctype');
  const value = r.data16('key');
  let kvno = vno8;
  if (r.left >= 4) {
    const vno32 = r.u32('32-bit key version');
    if (vno32 !== 0) kvno = vno32;
  }
  return { principal: { nameType, components, realm }, timestamp, kvno, key: { enctype, value }, offset };
}

/** Parse keytab bytes. */
export function parseKeytab(buf: Buffer, name = 'keytab'): Keytab {
  if (buf.length < 2) throw new KeytabFormatError(`file too short for a keytab version (${buf.length} bytes)`, 0, name);
  if (buf[0] !== 5 || (buf[1] !== 1 && buf[1] !== 2)) {
    throw new KeytabFormatError(
      `bad keytab version 0x${buf.readUInt16BE(0).toString(16).padStart(4, '0')} (expected 0x0501 or 0x0502)`,
      0,
      name,
    );
  }
  const version = buf[1] as KeytabVersion;
  const little = version === 1 && HOST_LITTLE_ENDIAN;
  const entries: KeytabEntry[] = [];
  let truncatedAt: number | null = null;
  let pos = 2;
  while (pos + 4 <= buf.length) {
    const size = little ? buf.readInt32LE(pos) : buf.readInt32BE(pos);
    if (size === 0) break; // end of keytab
    if (size === -0x80000000) throw new KeytabFormatError('record length −2^31', pos, name);
    if (size < 0) {
      pos += 4 - size; // a hole left by a deleted entry
      continue;
    }
    if (pos + 4 + size > buf.length) {
      truncatedAt = pos;
      break;
    }
    const r = new EntryReader(buf, pos + 4, pos + 4 + size, little, pos, name);
    try {
      entries.push(readEntry(r, version, pos));
    } catch (e) {
      if (e instanceof KeytabFormatError) throw new KeytabFormatError(e.message.replace(/ \(at offset \d+\)$/, ''), r.pos, name);
      throw e;
    }
    pos += 4 + size;
  }
  if (pos < buf.length && pos + 4 > buf.length && truncatedAt === null) truncatedAt = pos;
  return { name, version, entries, truncatedAt };
}

/** Keytab bytes (MIT writes version 2 and always appends the 32-bit kvno). */
export function encodeKeytab(entries: Omit<KeytabEntry, 'offset'>[], version: KeytabVersion = 2): Buffer {
  const little = version === 1 && HOST_LITTLE_ENDIAN;
  const parts: Buffer[] = [Buffer.from([5, version])];
  const u16 = (v: number): Buffer => {
    const b = Buffer.alloc(2);
    if (little) b.writeUInt16LE(v & 0xffff);
    else b.writeUInt16BE(v & 0xffff);
    return b;
  };
  const u32 = (v: number): Buffer => {
    const b = Buffer.alloc(4);
    if (little) b.writeUInt32LE(v >>> 0);
    else b.writeUInt32BE(v >>> 0);
    return b;
  };
  const data16 = (b: Buffer): Buffer => Buffer.concat([u16(b.length), b]);
  for (const e of entries) {
    const p = e.principal;
    const body = Buffer.concat([
      u16(p.components.length + (version === 1 ? 1 : 0)),
      data16(Buffer.from(p.realm, 'utf8')),
      ...p.components.map((c) => data16(Buffer.from(c, 'utf8'))),
      version === 1 ? Buffer.alloc(0) : u32(p.nameType),
      u32(e.timestamp),
      Buffer.from([e.kvno & 0xff]),
      u16(e.key.enctype),
      data16(e.key.value),
      u32(e.kvno),
    ]);
    parts.push(u32(body.length), body);
  }
  return Buffer.concat(parts);
}

// ---- names ------------------------------------------------------------------------------------

/** MIT's build-time default keytab (DEFKTNAME). */
export const BUILTIN_DEFAULT_KEYTAB_NAME = 'FILE:/etc/krb5.keytab';

/**
 * krb5_kt_resolve's split: no ":" → FILE; a single-letter prefix (drive letter) or a name
 * starting with "/" → FILE with the whole name; FILE: and WRFILE: → the path after the prefix.
 * Returns the file path; MEMORY: and unknown types are errors here.
 */
export function keytabPath(name: string): string {
  const colon = name.indexOf(':');
  if (colon < 0 || name.startsWith('/') || (colon === 1 && /^[A-Za-z]$/.test(name[0]!))) return name;
  const prefix = name.slice(0, colon);
  if (prefix === 'FILE' || prefix === 'WRFILE') return name.slice(colon + 1);
  if (prefix === 'MEMORY') throw new KeytabError('unsupported', `keytab type MEMORY: is not supported (${name})`, name);
  throw new KeytabError('bad-name', `unknown keytab type "${prefix}" in "${name}"`, name);
}

export interface DefaultKeytabNameInput extends ExpansionContext {
  /** KRB5_KTNAME of our environment (verbatim, no expansion); undefined = unset */
  envKRB5_KTNAME?: string;
  /** [libdefaults] default_keytab_name, raw; expanded; an empty value is ignored */
  profileDefaultKeytabName?: string;
}

/** krb5_kt_default_name (verified: KRB5_KTNAME is not expanded, the profile value is). */
export function resolveDefaultKeytabName(input: DefaultKeytabNameInput): {
  name: string;
  source: 'KRB5_KTNAME' | 'default_keytab_name' | 'built-in';
} {
  if (input.envKRB5_KTNAME !== undefined) return { name: input.envKRB5_KTNAME, source: 'KRB5_KTNAME' };
  if (input.profileDefaultKeytabName !== undefined && input.profileDefaultKeytabName !== '') {
    return { name: expandPathTokens(input.profileDefaultKeytabName, input), source: 'default_keytab_name' };
  }
  return { name: BUILTIN_DEFAULT_KEYTAB_NAME, source: 'built-in' };
}

export interface ReadKeytabOptions {
  /**
   * Refuse a keytab not owned by this uid. Default null (no owner check): unlike a ccache name,
   * the keytab name comes from -K or krb5.conf, and a root-owned, group-readable keytab is a
   * normal setup for the mounting user.
   */
  expectedOwner?: number | null;
  /** default 16 MiB */
  maxBytes?: number;
}

/** Read and parse the keytab `name` (FILE:/WRFILE:/path), synchronously. */
export function readKeytab(name: string, options: ReadKeytabOptions = {}): Keytab {
  const path = keytabPath(name);
  if (path === '') throw new KeytabError('bad-name', 'empty keytab path', name);
  let bytes: Buffer;
  try {
    bytes = readUserFileSync(path, {
      what: 'keytab',
      name,
      expectedOwner: options.expectedOwner ?? null,
      ...(options.maxBytes !== undefined ? { maxBytes: options.maxBytes } : {}),
    });
  } catch (e) {
    if (e instanceof CcacheError) {
      const failure: KeytabFailure =
        e.kind === 'not-found' || e.kind === 'permission' || e.kind === 'unsafe' || e.kind === 'bad-name' ? e.kind : 'io';
      throw new KeytabError(failure, e.message.replace('credential cache', 'keytab'), name, { cause: e });
    }
    throw e;
  }
  return parseKeytab(bytes, name);
}

// ---- lookups -------------------------------------------------------------------------------------

function sameKvno(entry: KeytabEntry, kvno: number): boolean {
  // an entry written without the 32-bit field only knows kvno mod 256
  return entry.kvno === kvno || (entry.kvno < 256 && (kvno & 0xff) === entry.kvno);
}

/**
 * The key for `principal` (name type ignored) and `enctype`: with `kvno` that version, else the
 * highest kvno, the first entry winning ties (MIT krb5_kt_get_entry).
 */
export function findKeytabEntry(
  keytab: Keytab,
  principal: Principal,
  options: { enctype?: number; kvno?: number } = {},
): KeytabEntry | null {
  let best: KeytabEntry | null = null;
  for (const e of keytab.entries) {
    if (!principalsEqual(e.principal, principal)) continue;
    if (options.enctype !== undefined && e.key.enctype !== options.enctype) continue;
    if (options.kvno !== undefined && options.kvno !== 0) {
      if (sameKvno(e, options.kvno)) return e;
      continue;
    }
    if (!best || e.kvno > best.kvno) best = e;
  }
  return best;
}

/** Enctypes of `principal`'s highest-kvno keys, in keytab order (what an AS-REQ should offer first). */
export function keytabEnctypes(keytab: Keytab, principal: Principal): number[] {
  const mine = keytab.entries.filter((e) => principalsEqual(e.principal, principal));
  if (mine.length === 0) return [];
  const top = Math.max(...mine.map((e) => e.kvno));
  const out: number[] = [];
  for (const e of mine) if (e.kvno === top && !out.includes(e.key.enctype)) out.push(e.key.enctype);
  return out;
}
