// DER builders for the Kerberos ASN.1 module (RFC 4120 §5): explicit context tags, APPLICATION
// tags, and the Kerberos primitive types, as asn1js blocks. `toDer` serialises a tree.
// (Why asn1js: see index.ts.)
import * as asn1js from 'asn1js';

/** A DER element under construction. */
export type Asn = asn1js.BaseBlock;

const TAG_CLASS_CONTEXT = 3;
const TAG_CLASS_APPLICATION = 2;
const INT32_MIN = -0x80000000;
const UINT32_MAX = 0xffffffff;

/** INTEGER with any value in JavaScript's safe range, minimal two's complement. */
export function integer(value: number | bigint): Asn {
  if (typeof value === 'number' && !Number.isSafeInteger(value)) throw new RangeError(`not an integer: ${value}`);
  return asn1js.Integer.fromBigInt(BigInt(value));
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
  const s = new asn1js.GeneralString();
  s.valueBlock.valueHexView = new Uint8Array(Buffer.from(text, 'utf8'));
  s.valueBlock.value = text;
  return s;
}

/**
 * KerberosTime: GeneralizedTime "YYYYMMDDHHMMSSZ" with whole seconds only (milliseconds are
 * dropped; asn1js would otherwise append ".mmm", which MIT rejects).
 */
export function kerberosTime(date: Date): Asn {
  return new asn1js.GeneralizedTime({ value: formatKerberosTime(date) });
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
  return new asn1js.OctetString({ valueHex: new Uint8Array(bytes) });
}

/** KerberosFlags: BIT STRING of exactly 32 bits, bit 0 = 0x80000000 (03 05 00 b0 b1 b2 b3). */
export function kerberosFlags(value: number): Asn {
  if (!Number.isInteger(value) || value < INT32_MIN || value > UINT32_MAX) throw new RangeError(`not 32-bit flags: ${value}`);
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, value >>> 0);
  return new asn1js.BitString({ valueHex: bytes, unusedBits: 0 });
}

export function boolean(value: boolean): Asn {
  return new asn1js.Boolean({ value });
}

/** OBJECT IDENTIFIER from dotted text, e.g. "1.2.840.113554.1.2.2". */
export function objectIdentifier(dotted: string): Asn {
  if (!/^[0-2]\.(0|[1-9]\d*)(\.(0|[1-9]\d*))*$/.test(dotted)) throw new RangeError(`not an OID: ${dotted}`);
  return new asn1js.ObjectIdentifier({ value: dotted });
}

export function enumerated(value: number): Asn {
  return new asn1js.Enumerated({ value });
}

/** SEQUENCE / SEQUENCE OF. */
export function sequence(items: Asn[]): Asn {
  return new asn1js.Sequence({ value: items });
}

/** An explicit context tag [n]: constructed 0xA0|n around the complete inner element. */
export function explicit(tag: number, inner: Asn): Asn {
  return new asn1js.Constructed({ idBlock: { tagClass: TAG_CLASS_CONTEXT, tagNumber: tag }, value: [inner] });
}

/**
 * An [APPLICATION n] wrapper: constructed 0x60|n (or the long form above 30). Kerberos PDUs
 * wrap one element; RFC 2743's InitialContextToken ([APPLICATION 0]) wraps an OID and the
 * mechanism's token, hence the list form.
 */
export function application(tag: number, inner: Asn | Asn[]): Asn {
  const value = Array.isArray(inner) ? inner : [inner];
  return new asn1js.Constructed({ idBlock: { tagClass: TAG_CLASS_APPLICATION, tagNumber: tag }, value });
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

/** Bytes that are already DER (a Ticket as the KDC sent it, a req-body that was checksummed). */
class PreEncoded {
  constructor(private readonly bytes: Uint8Array) {}

  toBER(_sizeOnly?: boolean, writer?: { write(buf: ArrayBuffer | Uint8Array): void }): ArrayBuffer {
    const copy = new Uint8Array(this.bytes).buffer;
    if (writer) {
      writer.write(copy);
      return new ArrayBuffer(0);
    }
    return copy;
  }
}

/** Embed pre-encoded DER verbatim (it is not re-encoded, so its exact bytes survive). */
export function preEncoded(der: Uint8Array): Asn {
  return new PreEncoded(der) as unknown as Asn;
}

/** Serialise an element tree to DER. */
export function toDer(element: Asn): Buffer {
  const out = element.toBER(false);
  if (out.byteLength === 0) throw new Error(`DER encoding failed: ${element.error || 'empty output'}`);
  return Buffer.from(out);
}
