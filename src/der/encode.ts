// DER builders for the Kerberos ASN.1 module (RFC 4120 §5; X.690 §8 and §10): explicit context
// tags, APPLICATION tags, and the Kerberos primitive types. Each builder returns the element's
// complete encoding (tag, length, contents) at once, so a message is built bottom-up by
// concatenation and `toDer` only hands the bytes over. Written by hand rather than through
// asn1js's object model (which decode.ts still uses): DER output for a fixed set of types is a
// few lines each, and building an AP-REQ through asn1js's block objects cost an upcall ~2 ms of
// CPU (docs/performance.md). The encodings are checked byte for byte against MIT's own messages
// (test/unit/krb5/messages/mit-captured.test.ts) and against asn1js (test/unit/der/der.test.ts).

/** A complete DER element (tag, length, contents). */
export type Asn = Buffer & { readonly __derElement: true };

const CLASS_UNIVERSAL = 0x00;
const CLASS_APPLICATION = 0x40;
const CLASS_CONTEXT = 0x80;
const CONSTRUCTED = 0x20;
const INT32_MIN = -0x80000000;
const UINT32_MAX = 0xffffffff;

/** Identifier octets (X.690 §8.1.2): one byte below 31, else 0x1f and base-128 digits. */
function identifier(tagClass: number, constructed: boolean, tag: number): number[] {
  const first = tagClass | (constructed ? CONSTRUCTED : 0);
  if (tag < 31) return [first | tag];
  const digits: number[] = [];
  for (let t = tag; t > 0; t = Math.floor(t / 128)) digits.unshift((t % 128) | (digits.length > 0 ? 0x80 : 0));
  return [first | 0x1f, ...digits];
}

/** Length octets (X.690 §10.1: the definite form, as short as possible). */
function lengthOctets(length: number): number[] {
  if (length < 0x80) return [length];
  const bytes: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n % 256);
  return [0x80 | bytes.length, ...bytes];
}

/** One element from its identifier and its contents (a list is concatenated, in order). */
function element(id: number[], contents: Uint8Array | readonly Uint8Array[]): Asn {
  const parts = contents instanceof Uint8Array ? [contents] : contents;
  let length = 0;
  for (const p of parts) length += p.length;
  const len = lengthOctets(length);
  const out = Buffer.allocUnsafe(id.length + len.length + length);
  let at = 0;
  for (const b of id) out[at++] = b;
  for (const b of len) out[at++] = b;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out as Asn;
}

const universal = (tag: number, contents: Uint8Array | readonly Uint8Array[], constructed = false): Asn =>
  element(identifier(CLASS_UNIVERSAL, constructed, tag), contents);

/** INTEGER contents: minimal two's complement (X.690 §8.3.2). */
function integerContents(value: bigint): Uint8Array {
  const bytes: number[] = [];
  let v = value;
  for (;;) {
    const byte = Number(v & 0xffn);
    bytes.unshift(byte);
    v >>= 8n; // arithmetic: a negative value shifts towards -1
    if ((v === 0n && (byte & 0x80) === 0) || (v === -1n && (byte & 0x80) !== 0)) break;
  }
  return Uint8Array.from(bytes);
}

/** Contents of a small non-negative INTEGER without BigInt (the common case: tags, etypes, kvno). */
function smallIntegerContents(value: number): Uint8Array {
  if (value < 0x80) return Uint8Array.of(value);
  if (value < 0x8000) return Uint8Array.of(value >> 8, value & 0xff);
  return integerContents(BigInt(value));
}

/** INTEGER with any value in JavaScript's safe range, minimal two's complement. */
export function integer(value: number | bigint): Asn {
  if (typeof value === 'number' && !Number.isSafeInteger(value)) throw new RangeError(`not an integer: ${value}`);
  return universal(0x02, typeof value === 'number' && value >= 0 ? smallIntegerContents(value) : integerContents(BigInt(value)));
}

/** Int32 (RFC 4120 §5.2.4), e.g. −138 → 02 02 ff 76. */
export function int32(value: number): Asn {
  if (!Number.isInteger(value) || value < INT32_MIN || value > 0x7fffffff) throw new RangeError(`not an Int32: ${value}`);
  return integer(value);
}

/** UInt32 (nonces, kvno, sequence numbers), e.g. 0x8003 → 02 03 00 80 03. */
export function uint32(value: number): Asn {
  if (!Number.isInteger(value) || value < 0 || value > UINT32_MAX) throw new RangeError(`not a UInt32: ${value}`);
  return integer(value);
}

/** Microseconds ::= INTEGER (0..999999). */
export function microseconds(value: number): Asn {
  if (!Number.isInteger(value) || value < 0 || value > 999999) throw new RangeError(`not a microsecond count: ${value}`);
  return integer(value);
}

/** KerberosString (GeneralString, tag 0x1b), content = the UTF-8 bytes of `text`. */
export function kerberosString(text: string): Asn {
  return universal(0x1b, Buffer.from(text, 'utf8'));
}

/**
 * KerberosTime: GeneralizedTime "YYYYMMDDHHMMSSZ" with whole seconds only (RFC 4120 §5.2.3:
 * no fractional seconds, which MIT rejects).
 */
export function kerberosTime(date: Date): Asn {
  return universal(0x18, Buffer.from(formatKerberosTime(date), 'latin1'));
}

export function formatKerberosTime(date: Date): string {
  const t = date.getTime();
  if (!Number.isFinite(t)) throw new RangeError('invalid Date');
  const year = date.getUTCFullYear();
  if (year < 0 || year > 9999) throw new RangeError(`year ${year} is not representable in KerberosTime`);
  const two = (n: number) => String(n).padStart(2, '0');
  return (
    `${String(year).padStart(4, '0')}${two(date.getUTCMonth() + 1)}${two(date.getUTCDate())}` +
    `${two(date.getUTCHours())}${two(date.getUTCMinutes())}${two(date.getUTCSeconds())}Z`
  );
}

export function octetString(bytes: Uint8Array): Asn {
  return universal(0x04, bytes);
}

/** KerberosFlags: BIT STRING of exactly 32 bits, bit 0 = 0x80000000 (03 05 00 b0 b1 b2 b3). */
export function kerberosFlags(value: number): Asn {
  if (!Number.isInteger(value) || value < INT32_MIN || value > UINT32_MAX) throw new RangeError(`not 32-bit flags: ${value}`);
  const contents = Buffer.alloc(5); // no unused bits, then the 32 bits
  contents.writeUInt32BE(value >>> 0, 1);
  return universal(0x03, contents);
}

export function boolean(value: boolean): Asn {
  return universal(0x01, Uint8Array.of(value ? 0xff : 0x00)); // DER: TRUE is all ones
}

/** OBJECT IDENTIFIER from dotted text, e.g. "1.2.840.113554.1.2.2". */
export function objectIdentifier(dotted: string): Asn {
  if (!/^[0-2]\.(0|[1-9]\d*)(\.(0|[1-9]\d*))*$/.test(dotted)) throw new RangeError(`not an OID: ${dotted}`);
  const arcs = dotted.split('.').map(BigInt);
  // X.690 §8.19: the first two arcs share one subidentifier, 40·a + b; each in base 128
  const subidentifiers = [arcs[0]! * 40n + arcs[1]!, ...arcs.slice(2)];
  const bytes: number[] = [];
  for (const sub of subidentifiers) {
    const digits: number[] = [];
    for (let v = sub; ; v >>= 7n) {
      digits.unshift(Number(v & 0x7fn) | (digits.length > 0 ? 0x80 : 0));
      if (v < 0x80n) break;
    }
    bytes.push(...digits);
  }
  return universal(0x06, Uint8Array.from(bytes));
}

export function enumerated(value: number): Asn {
  if (!Number.isSafeInteger(value)) throw new RangeError(`not an integer: ${value}`);
  return universal(0x0a, integerContents(BigInt(value)));
}

/** SEQUENCE / SEQUENCE OF. */
export function sequence(items: Asn[]): Asn {
  return universal(0x10, items, true);
}

/** An explicit context tag [n]: constructed 0xA0|n around the complete inner element. */
export function explicit(tag: number, inner: Asn): Asn {
  return element(identifier(CLASS_CONTEXT, true, tag), inner);
}

/**
 * An [APPLICATION n] wrapper: constructed 0x60|n (or the long form above 30). Kerberos PDUs
 * wrap one element; RFC 2743's InitialContextToken ([APPLICATION 0]) wraps an OID and the
 * mechanism's token, hence the list form.
 */
export function application(tag: number, inner: Asn | Asn[]): Asn {
  return element(identifier(CLASS_APPLICATION, true, tag), Array.isArray(inner) ? inner : [inner]);
}

/**
 * SEQUENCE of explicitly tagged fields; `undefined` values are OPTIONAL fields left out.
 * Tags must be given in ascending order (DER and RFC 4120 both require it).
 */
export function taggedSequence(fields: ReadonlyArray<readonly [number, Asn | undefined]>): Asn {
  const items: Asn[] = [];
  let last = -1;
  for (const [tag, value] of fields) {
    if (tag <= last) throw new RangeError(`tagged fields out of order: [${tag}] after [${last}]`);
    last = tag;
    if (value !== undefined) items.push(explicit(tag, value));
  }
  return sequence(items);
}

/** Embed pre-encoded DER verbatim (it is not re-encoded, so its exact bytes survive). */
export function preEncoded(der: Uint8Array): Asn {
  return Buffer.from(der) as Asn;
}

/** The encoding of an element tree (built bottom-up: the bytes are already there). */
export function toDer(element: Asn): Buffer {
  return element;
}
