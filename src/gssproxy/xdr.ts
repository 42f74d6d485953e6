// RFC 4506 (XDR): the primitives the gssproxy protocol is built from.
//
//   unsigned int / enum / bool   4 bytes big-endian (bool is 0 or 1)
//   unsigned hyper               8 bytes big-endian
//   opaque<>                     u32 length, the bytes, zero padding to a multiple of 4
//   T x<>                        u32 count, then the elements
//   T *x                         bool "present", then T when 1
//   union                        u32 discriminant, then the arm
//
// The reader never trusts a length or a count: each is checked against the bytes that are left
// before anything is allocated, and every failure names the field path it happened in.

/** Malformed XDR from a peer: where (field path and byte offset) and what. */
export class XdrDecodeError extends Error {
  override readonly name = 'XdrDecodeError';
  constructor(
    /** dotted field path, e.g. "gssx_res_init_sec_context.context_handle.src_name.display_name" */
    readonly path: string,
    /** byte offset into the buffer being decoded */
    readonly offset: number,
    readonly detail: string,
  ) {
    super(`XDR: ${path || '(top)'} at byte ${offset}: ${detail}`);
  }
}

/** A value our own code tried to encode that XDR cannot carry (negative, too large, …). */
export class XdrEncodeError extends Error {
  override readonly name = 'XdrEncodeError';
}

const MAX_U32 = 0xffff_ffff;
const MAX_U64 = (1n << 64n) - 1n;

function padding(length: number): number {
  return (4 - (length % 4)) % 4;
}

export class XdrWriter {
  private buffer: Buffer;
  private length = 0;

  constructor(initialSize = 256) {
    this.buffer = Buffer.alloc(initialSize);
  }

  private reserve(n: number): void {
    if (this.length + n <= this.buffer.length) return;
    let size = this.buffer.length * 2;
    while (size < this.length + n) size *= 2;
    const bigger = Buffer.alloc(size);
    this.buffer.copy(bigger, 0, 0, this.length);
    this.buffer = bigger;
  }

  get size(): number {
    return this.length;
  }

  u32(value: number): this {
    if (!Number.isInteger(value) || value < 0 || value > MAX_U32) {
      throw new XdrEncodeError(`unsigned int out of range: ${value}`);
    }
    this.reserve(4);
    this.buffer.writeUInt32BE(value, this.length);
    this.length += 4;
    return this;
  }

  u64(value: bigint | number): this {
    const v = typeof value === 'bigint' ? value : BigInt(value);
    if (v < 0n || v > MAX_U64) throw new XdrEncodeError(`unsigned hyper out of range: ${value}`);
    this.reserve(8);
    this.buffer.writeBigUInt64BE(v, this.length);
    this.length += 8;
    return this;
  }

  bool(value: boolean): this {
    return this.u32(value ? 1 : 0);
  }

  /** Variable-length opaque (also XDR `string<>`): length, bytes, zero padding. */
  opaque(bytes: Uint8Array): this {
    this.u32(bytes.length);
    this.raw(bytes);
    const pad = padding(bytes.length);
    this.reserve(pad);
    this.buffer.fill(0, this.length, this.length + pad);
    this.length += pad;
    return this;
  }

  /** Bytes that are already XDR (e.g. a structure echoed back exactly as the server sent it). */
  raw(bytes: Uint8Array): this {
    this.reserve(bytes.length);
    this.buffer.set(bytes, this.length);
    this.length += bytes.length;
    return this;
  }

  array<T>(items: readonly T[], encode: (w: XdrWriter, item: T) => void): this {
    this.u32(items.length);
    for (const item of items) encode(this, item);
    return this;
  }

  optional<T>(value: T | null | undefined, encode: (w: XdrWriter, value: T) => void): this {
    if (value === null || value === undefined) return this.bool(false);
    this.bool(true);
    encode(this, value);
    return this;
  }

  /** The encoded bytes (a copy-free view; the writer must not be used afterwards). */
  finish(): Buffer {
    return this.buffer.subarray(0, this.length);
  }
}

export class XdrReader {
  private pos: number;
  private readonly path: string[] = [];

  constructor(
    private readonly buf: Buffer,
    start = 0,
    private readonly end = buf.length,
  ) {
    this.pos = start;
  }

  get offset(): number {
    return this.pos;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  fail(detail: string): never {
    throw new XdrDecodeError(this.path.join('.'), this.pos, detail);
  }

  private need(n: number, what: string): void {
    if (n > this.remaining) this.fail(`${what} needs ${n} bytes, ${this.remaining} left`);
  }

  /** Decode a named part; errors inside carry the name in their path. */
  field<T>(name: string, decode: (r: XdrReader) => T): T {
    this.path.push(name);
    const value = decode(this);
    this.path.pop();
    return value;
  }

  u32(name?: string): number {
    if (name) return this.field(name, (r) => r.u32());
    this.need(4, 'unsigned int');
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  u64(name?: string): bigint {
    if (name) return this.field(name, (r) => r.u64());
    this.need(8, 'unsigned hyper');
    const v = this.buf.readBigUInt64BE(this.pos);
    this.pos += 8;
    return v;
  }

  bool(name?: string): boolean {
    if (name) return this.field(name, (r) => r.bool());
    const v = this.u32();
    if (v > 1) {
      this.pos -= 4;
      this.fail(`bool must be 0 or 1, got ${v}`);
    }
    return v === 1;
  }

  /** Variable-length opaque; the result is a view into the decoded buffer. */
  opaque(name?: string): Buffer {
    if (name) return this.field(name, (r) => r.opaque());
    const length = this.u32();
    const padded = length + padding(length);
    if (padded > this.remaining) {
      this.pos -= 4;
      this.fail(`opaque length ${length} exceeds the ${this.remaining - 4} bytes left`);
    }
    const bytes = this.buf.subarray(this.pos, this.pos + length);
    this.pos += padded;
    return bytes;
  }

  /**
   * Variable-length array. The count is capped by the bytes left: every element of the
   * protocol's arrays takes at least `minElementSize` bytes, so a larger count is a lie.
   */
  array<T>(name: string, minElementSize: number, decode: (r: XdrReader, index: number) => T): T[] {
    return this.field(name, (r) => {
      const count = r.u32();
      if (count * minElementSize > r.remaining) {
        r.pos -= 4;
        r.fail(`array count ${count} cannot fit in the ${r.remaining - 4} bytes left`);
      }
      const out: T[] = [];
      for (let i = 0; i < count; i++) out.push(r.field(String(i), (rr) => decode(rr, i)));
      return out;
    });
  }

  optional<T>(name: string, decode: (r: XdrReader) => T): T | null {
    return this.field(name, (r) => (r.bool() ? decode(r) : null));
  }

  /** Decode a part and also return the exact bytes it occupied. */
  withRaw<T>(decode: (r: XdrReader) => T): { value: T; raw: Buffer } {
    const start = this.pos;
    const value = decode(this);
    return { value, raw: this.buf.subarray(start, this.pos) };
  }

  /** Everything must have been consumed: trailing bytes mean the peer speaks another layout. */
  done(): void {
    if (this.pos !== this.end) this.fail(`${this.end - this.pos} unexpected trailing bytes`);
  }
}
