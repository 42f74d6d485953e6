// DER readers for the Kerberos ASN.1 module (RFC 4120 §5), on top of asn1js's BER parser.
// Strict where a wrong value would mislead (types, tags, field order, Int32 range, time
// syntax, trailing data), lenient where real KDCs differ (docs/kerberos.md#der-encoding, risk R8):
// non-minimal lengths and INTEGER encodings, KerberosFlags of any length, UTF-8 in
// GeneralString, unknown higher-numbered fields (extension markers). Every failure is a
// DecodeError naming the element's path. asn1js alone is too lenient for Kerberos (a child may
// overrun its parent, indefinite lengths are accepted), so `parseDer` validates the whole tree.
import * as asn1js from 'asn1js';
import { DecodeError } from './errors.ts';

const UNIVERSAL = 1;
const APPLICATION = 2;
const CONTEXT = 3;
const TAG_INTEGER = 2;
const TAG_BIT_STRING = 3;
const TAG_OCTET_STRING = 4;
const TAG_OID = 6;
const TAG_ENUMERATED = 10;
const TAG_SEQUENCE = 16;
const TAG_SET = 17;
const TAG_GENERALIZED_TIME = 24;
const TAG_GENERAL_STRING = 27;
const TAG_BOOLEAN = 1;

/** Deep enough for every Kerberos and SPNEGO structure; bounds work on hostile input. */
const MAX_DEPTH = 48;

const utf8 = new TextDecoder('utf-8', { fatal: true });

function tagName(node: asn1js.BaseBlock): string {
  const { tagClass, tagNumber, isConstructed } = node.idBlock;
  const cls = ['?', 'UNIVERSAL', 'APPLICATION', 'CONTEXT', 'PRIVATE'][tagClass] ?? '?';
  return `[${cls} ${tagNumber}${isConstructed ? ', constructed' : ''}]`;
}

function children(node: asn1js.BaseBlock): asn1js.BaseBlock[] {
  const value = (node.valueBlock as { value?: unknown }).value;
  return Array.isArray(value) ? (value as asn1js.BaseBlock[]) : [];
}

/** Reject what DER forbids and asn1js lets through: indefinite lengths, overrunning children. */
function validate(node: asn1js.BaseBlock, path: string, depth: number): void {
  if (depth > MAX_DEPTH) throw new DecodeError(path, 'nesting too deep');
  if (node.lenBlock.isIndefiniteForm) throw new DecodeError(path, 'indefinite length is not DER');
  if (!node.idBlock.isConstructed) return;
  const { tagClass, tagNumber } = node.idBlock;
  if (tagClass === UNIVERSAL && tagNumber !== TAG_SEQUENCE && tagNumber !== TAG_SET) {
    throw new DecodeError(path, `constructed encoding of ${tagName(node)} is not DER`);
  }
  let total = 0;
  for (const child of children(node)) {
    validate(child, path, depth + 1);
    total += child.blockLength;
  }
  if (total !== node.lenBlock.length) {
    throw new DecodeError(path, `contents (${total} bytes) do not match the length ${node.lenBlock.length}`);
  }
}

/**
 * Parse exactly one DER element covering all of `bytes`. `path` names the structure for errors,
 * e.g. "TGS-REP".
 */
export function parseDer(bytes: Uint8Array, path: string): DerElement {
  if (bytes.length === 0) throw new DecodeError(path, 'empty input');
  let result: ReturnType<typeof asn1js.fromBER>;
  try {
    // A private plain Uint8Array copy: asn1js keeps views into it, and its type checks are
    // several times slower on Buffer (a Uint8Array subclass) than on a plain Uint8Array.
    const input = Uint8Array.prototype.slice.call(bytes) as Uint8Array;
    result = asn1js.fromBER(Object.getPrototypeOf(input) === Uint8Array.prototype ? input : new Uint8Array(input), {
      parseEmbedded: false,
      maxDepth: MAX_DEPTH,
      copyInput: false,
    });
  } catch (e) {
    throw new DecodeError(path, `malformed DER (${(e as Error).message})`, { cause: e });
  }
  if (result.offset === -1) throw new DecodeError(path, `malformed DER (${result.result.error || 'parse error'})`);
  validate(result.result, path, 0);
  if (result.offset !== bytes.length || result.result.blockLength !== bytes.length) {
    throw new DecodeError(path, `${bytes.length - result.result.blockLength} trailing bytes after the element`);
  }
  return new DerElement(result.result, path);
}

/** The explicitly tagged fields [n] of one SEQUENCE, by tag number. */
export class TaggedFields {
  constructor(
    private readonly byTag: Map<number, DerElement>,
    private readonly path: string,
    private readonly names: Readonly<Record<number, string>>,
  ) {}

  /** A field that must be present. */
  required(tag: number): DerElement {
    const f = this.byTag.get(tag);
    if (!f) throw new DecodeError(`${this.path}.${this.names[tag] ?? `[${tag}]`}`, 'required field is missing');
    return f;
  }

  /** An OPTIONAL field, or undefined. */
  optional(tag: number): DerElement | undefined {
    return this.byTag.get(tag);
  }
}

/** One parsed element plus the path used in error messages. */
export class DerElement {
  constructor(
    readonly node: asn1js.BaseBlock,
    readonly path: string,
  ) {}

  fail(reason: string): never {
    throw new DecodeError(this.path, reason);
  }

  /** The element's complete encoding (tag, length, contents), copied. */
  raw(): Buffer {
    return Buffer.from(this.node.valueBeforeDecodeView);
  }

  /** Tag number of an [APPLICATION n] element (to dispatch on the message type). */
  applicationTag(): number {
    const { tagClass, tagNumber, isConstructed } = this.node.idBlock;
    if (tagClass !== APPLICATION || !isConstructed) this.fail(`expected an APPLICATION tag, found ${tagName(this.node)}`);
    return tagNumber;
  }

  /** The content of [APPLICATION tag] (one element). */
  application(tag: number | readonly number[]): DerElement {
    const tags = typeof tag === 'number' ? [tag] : tag;
    const found = this.applicationTag();
    if (!tags.includes(found)) this.fail(`expected [APPLICATION ${tags.join(' or ')}], found [APPLICATION ${found}]`);
    return this.single(this.path);
  }

  /** An explicit context tag used as a CHOICE alternative: its number and its one element. */
  contextChoice(names: Readonly<Record<number, string>>): { tag: number; inner: DerElement } {
    const { tagClass, tagNumber, isConstructed } = this.node.idBlock;
    if (tagClass !== CONTEXT || !isConstructed || names[tagNumber] === undefined) {
      this.fail(
        `expected one of ${Object.entries(names)
          .map(([t, n]) => `${n} [${t}]`)
          .join(', ')}, found ${tagName(this.node)}`,
      );
    }
    return { tag: tagNumber, inner: this.single(`${this.path}.${names[tagNumber]}`) };
  }

  /** Elements of a SEQUENCE / SEQUENCE OF, with paths "<path>[i]". */
  sequence(): DerElement[] {
    this.expectUniversal(TAG_SEQUENCE, 'SEQUENCE', true);
    return children(this.node).map((c, i) => new DerElement(c, `${this.path}[${i}]`));
  }

  /** SEQUENCE OF T, decoded element by element. */
  sequenceOf<T>(decode: (element: DerElement) => T): T[] {
    return this.sequence().map(decode);
  }

  /**
   * A SEQUENCE of explicitly tagged fields. Tags must ascend; unknown tags (extensions) are
   * skipped; each field must wrap exactly one element. `names` labels the fields in errors.
   */
  fields(names: Readonly<Record<number, string>>): TaggedFields {
    this.expectUniversal(TAG_SEQUENCE, 'SEQUENCE', true);
    const byTag = new Map<number, DerElement>();
    let last = -1;
    for (const child of children(this.node)) {
      const { tagClass, tagNumber, isConstructed } = child.idBlock;
      const label = names[tagNumber] ?? `[${tagNumber}]`;
      const path = `${this.path}.${label}`;
      if (tagClass !== CONTEXT || !isConstructed) {
        throw new DecodeError(path, `expected an explicit context tag, found ${tagName(child)}`);
      }
      if (tagNumber <= last) throw new DecodeError(path, `field [${tagNumber}] out of order or repeated`);
      last = tagNumber;
      if (names[tagNumber] !== undefined) byTag.set(tagNumber, new DerElement(child, path).single(path));
    }
    return new TaggedFields(byTag, this.path, names);
  }

  /** Any INTEGER as a bigint (non-minimal encodings are accepted). */
  bigint(): bigint {
    this.expectUniversal(TAG_INTEGER, 'INTEGER', false);
    const bytes = this.content();
    if (bytes.length === 0) this.fail('empty INTEGER');
    if (bytes.length > 16) this.fail('INTEGER too large');
    let v = 0n;
    for (const b of bytes) v = (v << 8n) | BigInt(b);
    if (bytes[0] & 0x80) v -= 1n << BigInt(bytes.length * 8);
    return v;
  }

  /** Int32 (−2^31 … 2^31−1). */
  int32(): number {
    const v = this.bigint();
    if (v < -0x80000000n || v > 0x7fffffffn) this.fail(`${v} is out of Int32 range`);
    return Number(v);
  }

  /** UInt32; a negative Int32 is taken as its unsigned equivalent (as MIT does for seq numbers). */
  uint32(): number {
    const v = this.bigint();
    if (v < -0x80000000n || v > 0xffffffffn) this.fail(`${v} is out of UInt32 range`);
    return Number(BigInt.asUintN(32, v));
  }

  /** Microseconds (0 … 999999). */
  microseconds(): number {
    const v = this.int32();
    if (v < 0 || v > 999999) this.fail(`${v} is not a microsecond count`);
    return v;
  }

  enumerated(): number {
    this.expectUniversal(TAG_ENUMERATED, 'ENUMERATED', false);
    const bytes = this.content();
    if (bytes.length === 0 || bytes.length > 4) this.fail('bad ENUMERATED length');
    let v = 0;
    for (const b of bytes) v = v * 256 + b;
    return bytes[0] & 0x80 ? v - 2 ** (8 * bytes.length) : v;
  }

  boolean(): boolean {
    this.expectUniversal(TAG_BOOLEAN, 'BOOLEAN', false);
    const bytes = this.content();
    if (bytes.length !== 1) this.fail('BOOLEAN must be one byte');
    return bytes[0] !== 0;
  }

  /** KerberosString / Realm: GeneralString, decoded as UTF-8 (Latin-1 if it is not valid UTF-8). */
  kerberosString(): string {
    const bytes = this.stringBytes(TAG_GENERAL_STRING, 'GeneralString');
    try {
      return utf8.decode(bytes);
    } catch {
      return Buffer.from(bytes).toString('latin1');
    }
  }

  /** KerberosTime: GeneralizedTime exactly "YYYYMMDDHHMMSSZ" (RFC 4120 §5.2.3). */
  kerberosTime(): Date {
    const text = Buffer.from(this.stringBytes(TAG_GENERALIZED_TIME, 'GeneralizedTime')).toString('latin1');
    const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text);
    if (!m) this.fail(`"${text}" is not a KerberosTime (YYYYMMDDHHMMSSZ)`);
    const [year, month, day, hour, minute, second] = m.slice(1).map(Number);
    const d = new Date(0);
    d.setUTCFullYear(year, month - 1, day); // (Date.UTC would map years 0..99 to 1900..1999)
    d.setUTCHours(hour, minute, second, 0);
    // Reject impossible dates instead of letting Date roll them over (e.g. month 13, 24:00:00).
    if (
      d.getUTCFullYear() !== year ||
      d.getUTCMonth() !== month - 1 ||
      d.getUTCDate() !== day ||
      d.getUTCHours() !== hour ||
      d.getUTCMinutes() !== minute ||
      d.getUTCSeconds() !== second
    ) {
      this.fail(`"${text}" is not a valid date`);
    }
    return d;
  }

  octetString(): Buffer {
    this.expectUniversal(TAG_OCTET_STRING, 'OCTET STRING', false);
    return Buffer.from(this.content());
  }

  /**
   * KerberosFlags as a 32-bit unsigned word (bit 0 = 0x80000000). Shorter or longer bit strings
   * are accepted: the first four content bytes are used, zero-filled.
   */
  kerberosFlags(): number {
    this.expectUniversal(TAG_BIT_STRING, 'BIT STRING', false);
    const content = this.content(); // unused-bits byte, then the bits
    if (content.length === 0) this.fail('BIT STRING without its unused-bits byte');
    if (content[0] > 7) this.fail('BIT STRING unused-bits count above 7');
    let v = 0;
    for (let i = 0; i < 4; i++) v = v * 256 + (content[1 + i] ?? 0);
    return v;
  }

  /** OBJECT IDENTIFIER as dotted text. */
  objectIdentifier(): string {
    this.expectUniversal(TAG_OID, 'OBJECT IDENTIFIER', false);
    const bytes = this.content();
    if (bytes.length === 0 || (bytes[bytes.length - 1] & 0x80) !== 0) this.fail('malformed OBJECT IDENTIFIER');
    const arcs: bigint[] = [];
    let v = 0n;
    for (const b of bytes) {
      v = (v << 7n) | BigInt(b & 0x7f);
      if ((b & 0x80) === 0) {
        arcs.push(v);
        v = 0n;
      }
    }
    const first = arcs[0] < 80n ? arcs[0] / 40n : 2n;
    return [first, arcs[0] - first * 40n, ...arcs.slice(1)].join('.');
  }

  /** The OID's content bytes (for comparisons that must be byte-exact). */
  objectIdentifierBytes(): Buffer {
    this.expectUniversal(TAG_OID, 'OBJECT IDENTIFIER', false);
    return Buffer.from(this.content());
  }

  /** Whether this is the given universal type (for CHOICE-like dispatch). */
  isUniversal(tag: number): boolean {
    return this.node.idBlock.tagClass === UNIVERSAL && this.node.idBlock.tagNumber === tag;
  }

  /** The contents octets (after tag and length), from the element's original encoding. */
  private content(): Uint8Array {
    const header = this.node.idBlock.blockLength + this.node.lenBlock.blockLength;
    return this.node.valueBeforeDecodeView.subarray(header);
  }

  private stringBytes(tag: number, what: string): Uint8Array {
    this.expectUniversal(tag, what, false);
    return this.content();
  }

  private expectUniversal(tag: number, what: string, constructed: boolean): void {
    const { tagClass, tagNumber, isConstructed } = this.node.idBlock;
    if (tagClass !== UNIVERSAL || tagNumber !== tag || isConstructed !== constructed) {
      this.fail(`expected ${what}, found ${tagName(this.node)}`);
    }
  }

  /** The one element inside an explicit or APPLICATION tag. */
  private single(path: string): DerElement {
    const inner = children(this.node);
    if (inner.length !== 1) throw new DecodeError(path, `tag must wrap exactly one element, found ${inner.length}`);
    return new DerElement(inner[0], path);
  }
}

export const UniversalTag = {
  INTEGER: TAG_INTEGER,
  OCTET_STRING: TAG_OCTET_STRING,
  SEQUENCE: TAG_SEQUENCE,
  OID: TAG_OID,
} as const;
