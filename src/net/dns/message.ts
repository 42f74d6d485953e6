// RFC 1035 §4 DNS message codec (with RFC 3596 AAAA, RFC 2782 SRV, RFC 7553 URI, RFC 6891 OPT).
//
//   header   id u16 | flags u16 (QR opcode:4 AA TC RD RA Z:3 RCODE:4) | qd an ns ar counts u16
//   question name | type u16 | class u16
//   record   name | type u16 | class u16 | ttl u32 | rdlength u16 | rdata
//   name     length-prefixed labels ending in a zero byte; 0b11xxxxxx xxxxxxxx = pointer to an
//            earlier offset (compression, RFC 1035 §4.1.4)
// Names are handled as dotted text without the trailing dot; label bytes outside printable
// ASCII, `.` and `\` are written as `\DDD` / `\.` / `\\` (RFC 4343 §2.1 presentation form).

export const DnsType = {
  A: 1,
  CNAME: 5,
  SOA: 6,
  PTR: 12,
  TXT: 16,
  AAAA: 28,
  SRV: 33,
  OPT: 41,
  URI: 256,
} as const;

export const DnsClass = { IN: 1 } as const;

export const DnsRcode = {
  NOERROR: 0,
  FORMERR: 1,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  NOTIMP: 4,
  REFUSED: 5,
} as const;

const TYPE_NAMES: Record<number, string> = Object.fromEntries(Object.entries(DnsType).map(([k, v]) => [v, k]));

/** Mnemonic of a record type number (`SRV`, `TYPE99`). */
export function dnsTypeName(type: number): string {
  return TYPE_NAMES[type] ?? `TYPE${type}`;
}

/** The message does not follow RFC 1035 (truncated, bad pointer, bad rdata…). */
export class DnsFormatError extends Error {
  constructor(message: string) {
    super(`malformed DNS message: ${message}`);
    this.name = 'DnsFormatError';
  }
}

/** A name that cannot be put on the wire (empty label, label > 63 bytes, name > 255 bytes). */
export class DnsNameError extends Error {
  constructor(
    readonly dnsName: string,
    reason: string,
  ) {
    super(`invalid DNS name ${JSON.stringify(dnsName)}: ${reason}`);
    this.name = 'DnsNameError';
  }
}

export interface DnsQuestion {
  name: string;
  type: number;
  class: number;
}

export type DnsRecordData =
  | { type: 'A'; address: string }
  | { type: 'AAAA'; address: string }
  | { type: 'CNAME'; target: string }
  | { type: 'PTR'; target: string }
  | { type: 'TXT'; strings: string[] }
  | { type: 'SRV'; priority: number; weight: number; port: number; target: string }
  | { type: 'URI'; priority: number; weight: number; target: string }
  | { type: 'OPT'; udpPayloadSize: number }
  | { type: 'other'; rdata: Buffer };

export interface DnsRecord {
  name: string;
  type: number;
  class: number;
  ttl: number;
  data: DnsRecordData;
}

export interface DnsHeaderFlags {
  response: boolean;
  opcode: number;
  authoritative: boolean;
  truncated: boolean;
  recursionDesired: boolean;
  recursionAvailable: boolean;
  authenticData: boolean;
  checkingDisabled: boolean;
  rcode: number;
}

export interface DnsMessage {
  id: number;
  flags: DnsHeaderFlags;
  questions: DnsQuestion[];
  answers: DnsRecord[];
  authorities: DnsRecord[];
  additionals: DnsRecord[];
}

/** Wire form of a dotted name (presentation escapes `\.`, `\\`, `\DDD` understood). */
export function encodeName(name: string): Buffer {
  const text = name.endsWith('.') && !name.endsWith('\\.') ? name.slice(0, -1) : name;
  const parts: Buffer[] = [];
  let total = 1;
  if (text !== '') {
    let label: number[] = [];
    const flush = (): void => {
      if (label.length === 0) throw new DnsNameError(name, 'empty label');
      if (label.length > 63) throw new DnsNameError(name, 'label longer than 63 bytes');
      parts.push(Buffer.from([label.length, ...label]));
      total += label.length + 1;
      label = [];
    };
    const bytes = Buffer.from(text, 'utf8');
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i]!;
      if (b === 0x2e) {
        flush();
      } else if (b === 0x5c) {
        const rest = bytes.subarray(i + 1, i + 4).toString('latin1');
        if (/^[0-9]{3}$/.test(rest)) {
          const value = Number(rest);
          if (value > 255) throw new DnsNameError(name, 'escape \\DDD above 255');
          label.push(value);
          i += 3;
        } else if (i + 1 < bytes.length) {
          label.push(bytes[++i]!);
        } else {
          throw new DnsNameError(name, 'trailing backslash');
        }
      } else {
        label.push(b);
      }
    }
    flush();
  }
  if (total > 255) throw new DnsNameError(name, 'name longer than 255 bytes');
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}

function labelText(label: Buffer): string {
  let out = '';
  for (const b of label) {
    if (b === 0x2e || b === 0x5c) out += `\\${String.fromCharCode(b)}`;
    else if (b > 0x20 && b < 0x7f) out += String.fromCharCode(b);
    else out += `\\${b.toString().padStart(3, '0')}`;
  }
  return out;
}

class Reader {
  constructor(
    readonly buf: Buffer,
    public pos = 0,
  ) {}

  need(n: number, what: string): void {
    if (this.pos + n > this.buf.length) throw new DnsFormatError(`${what} runs past the end (offset ${this.pos})`);
  }
  u8(what: string): number {
    this.need(1, what);
    return this.buf[this.pos++]!;
  }
  u16(what: string): number {
    this.need(2, what);
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }
  u32(what: string): number {
    this.need(4, what);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  bytes(n: number, what: string): Buffer {
    this.need(n, what);
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  /** A possibly compressed name; pointers must point backwards (no loops). */
  name(what: string): string {
    const labels: string[] = [];
    let pos = this.pos;
    let jumped = false;
    let length = 1;
    let lowestTarget = this.pos;
    for (;;) {
      if (pos >= this.buf.length) throw new DnsFormatError(`${what}: name runs past the end`);
      const len = this.buf[pos]!;
      if (len === 0) {
        pos++;
        break;
      }
      const kind = len & 0xc0;
      if (kind === 0xc0) {
        if (pos + 1 >= this.buf.length) throw new DnsFormatError(`${what}: truncated compression pointer`);
        const target = ((len & 0x3f) << 8) | this.buf[pos + 1]!;
        if (target >= lowestTarget) throw new DnsFormatError(`${what}: compression pointer does not point backwards`);
        lowestTarget = target;
        if (!jumped) this.pos = pos + 2;
        jumped = true;
        pos = target;
        continue;
      }
      if (kind !== 0) throw new DnsFormatError(`${what}: unsupported label type 0x${kind.toString(16)}`);
      if (pos + 1 + len > this.buf.length) throw new DnsFormatError(`${what}: label runs past the end`);
      length += len + 1;
      if (length > 255) throw new DnsFormatError(`${what}: name longer than 255 bytes`);
      labels.push(labelText(this.buf.subarray(pos + 1, pos + 1 + len)));
      pos += 1 + len;
    }
    if (!jumped) this.pos = pos;
    return labels.join('.');
  }
}

function decodeRdata(r: Reader, type: number, rdlength: number, recordClass: number): DnsRecordData {
  const end = r.pos + rdlength;
  r.need(rdlength, 'rdata');
  const done = <T extends DnsRecordData>(data: T): T => {
    if (r.pos !== end) throw new DnsFormatError(`${dnsTypeName(type)} rdata length ${rdlength} does not match its content`);
    return data;
  };
  switch (type) {
    case DnsType.A: {
      if (rdlength !== 4) throw new DnsFormatError(`A rdata of ${rdlength} bytes`);
      const b = r.bytes(4, 'A');
      return { type: 'A', address: `${b[0]}.${b[1]}.${b[2]}.${b[3]}` };
    }
    case DnsType.AAAA: {
      if (rdlength !== 16) throw new DnsFormatError(`AAAA rdata of ${rdlength} bytes`);
      const b = r.bytes(16, 'AAAA');
      const groups: string[] = [];
      for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(i).toString(16));
      return { type: 'AAAA', address: compressIpv6(groups) };
    }
    case DnsType.CNAME:
      return done({ type: 'CNAME', target: r.name('CNAME') });
    case DnsType.PTR:
      return done({ type: 'PTR', target: r.name('PTR') });
    case DnsType.TXT: {
      const strings: string[] = [];
      while (r.pos < end) {
        const len = r.u8('TXT string length');
        if (r.pos + len > end) throw new DnsFormatError('TXT string runs past its rdata');
        strings.push(r.bytes(len, 'TXT string').toString('utf8'));
      }
      return done({ type: 'TXT', strings });
    }
    case DnsType.SRV: {
      const priority = r.u16('SRV priority');
      const weight = r.u16('SRV weight');
      const port = r.u16('SRV port');
      return done({ type: 'SRV', priority, weight, port, target: r.name('SRV target') });
    }
    case DnsType.URI: {
      if (rdlength < 5) throw new DnsFormatError(`URI rdata of ${rdlength} bytes`);
      const priority = r.u16('URI priority');
      const weight = r.u16('URI weight');
      return { type: 'URI', priority, weight, target: r.bytes(end - r.pos, 'URI target').toString('utf8') };
    }
    case DnsType.OPT:
      r.pos = end;
      return { type: 'OPT', udpPayloadSize: recordClass };
    default:
      return { type: 'other', rdata: Buffer.from(r.bytes(rdlength, 'rdata')) };
  }
}

function compressIpv6(groups: string[]): string {
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestStart < 0) return groups.join(':');
  return `${groups.slice(0, bestStart).join(':')}::${groups.slice(bestStart + bestLen).join(':')}`;
}

function decodeRecord(r: Reader, section: string): DnsRecord {
  const name = r.name(`${section} owner`);
  const type = r.u16(`${section} type`);
  const recordClass = r.u16(`${section} class`);
  const ttl = r.u32(`${section} ttl`);
  const rdlength = r.u16(`${section} rdlength`);
  const data = decodeRdata(r, type, rdlength, recordClass);
  return { name, type, class: recordClass, ttl, data };
}

/** Decode a whole message; throws DnsFormatError on anything malformed. */
export function decodeMessage(buf: Buffer): DnsMessage {
  if (buf.length < 12) throw new DnsFormatError(`${buf.length} bytes is shorter than the header`);
  const r = new Reader(buf);
  const id = r.u16('id');
  const f = r.u16('flags');
  const counts = [r.u16('qdcount'), r.u16('ancount'), r.u16('nscount'), r.u16('arcount')] as const;
  const flags: DnsHeaderFlags = {
    response: (f & 0x8000) !== 0,
    opcode: (f >> 11) & 0xf,
    authoritative: (f & 0x0400) !== 0,
    truncated: (f & 0x0200) !== 0,
    recursionDesired: (f & 0x0100) !== 0,
    recursionAvailable: (f & 0x0080) !== 0,
    authenticData: (f & 0x0020) !== 0,
    checkingDisabled: (f & 0x0010) !== 0,
    rcode: f & 0xf,
  };
  const questions: DnsQuestion[] = [];
  for (let i = 0; i < counts[0]; i++) {
    questions.push({ name: r.name('question'), type: r.u16('question type'), class: r.u16('question class') });
  }
  const section = (n: number, what: string): DnsRecord[] => {
    const out: DnsRecord[] = [];
    for (let i = 0; i < n; i++) out.push(decodeRecord(r, what));
    return out;
  };
  const answers = section(counts[1], 'answer');
  const authorities = section(counts[2], 'authority');
  const additionals = section(counts[3], 'additional');
  return { id, flags, questions, answers, authorities, additionals };
}

export interface QueryParams {
  id: number;
  name: string;
  type: number;
  recursionDesired?: boolean;
  /** add an RFC 6891 OPT record advertising this UDP payload size (resolv.conf `options edns0`) */
  ednsUdpSize?: number;
}

/** A standard query with one question (RFC 1035 §4.1.1, opcode 0, class IN). */
export function encodeQuery(q: QueryParams): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(q.id & 0xffff, 0);
  header.writeUInt16BE(q.recursionDesired === false ? 0 : 0x0100, 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(q.ednsUdpSize ? 1 : 0, 10);
  const question = Buffer.alloc(4);
  question.writeUInt16BE(q.type, 0);
  question.writeUInt16BE(DnsClass.IN, 2);
  const parts = [header, encodeName(q.name), question];
  if (q.ednsUdpSize) {
    const opt = Buffer.alloc(11);
    // root owner (0), TYPE OPT, CLASS = payload size, TTL 0 (ext rcode, version, flags), RDLEN 0
    opt.writeUInt16BE(DnsType.OPT, 1);
    opt.writeUInt16BE(q.ednsUdpSize, 3);
    parts.push(opt);
  }
  return Buffer.concat(parts);
}

/** Case-insensitive (ASCII) comparison of two dotted names, ignoring a trailing dot. */
export function sameName(a: string, b: string): boolean {
  const strip = (s: string): string => (s.endsWith('.') && !s.endsWith('\\.') ? s.slice(0, -1) : s);
  return strip(a).toLowerCase() === strip(b).toLowerCase();
}

/** Encode a response (tests and fixtures only need this; no compression). */
export function encodeMessage(m: DnsMessage): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(m.id, 0);
  const f = m.flags;
  header.writeUInt16BE(
    (f.response ? 0x8000 : 0) |
      ((f.opcode & 0xf) << 11) |
      (f.authoritative ? 0x0400 : 0) |
      (f.truncated ? 0x0200 : 0) |
      (f.recursionDesired ? 0x0100 : 0) |
      (f.recursionAvailable ? 0x0080 : 0) |
      (f.authenticData ? 0x0020 : 0) |
      (f.checkingDisabled ? 0x0010 : 0) |
      (f.rcode & 0xf),
    2,
  );
  header.writeUInt16BE(m.questions.length, 4);
  header.writeUInt16BE(m.answers.length, 6);
  header.writeUInt16BE(m.authorities.length, 8);
  header.writeUInt16BE(m.additionals.length, 10);
  const parts: Buffer[] = [header];
  for (const q of m.questions) {
    const t = Buffer.alloc(4);
    t.writeUInt16BE(q.type, 0);
    t.writeUInt16BE(q.class, 2);
    parts.push(encodeName(q.name), t);
  }
  for (const rec of [...m.answers, ...m.authorities, ...m.additionals]) parts.push(encodeRecord(rec));
  return Buffer.concat(parts);
}

function encodeRecord(rec: DnsRecord): Buffer {
  const rdata = encodeRdata(rec.data);
  const fixed = Buffer.alloc(10);
  fixed.writeUInt16BE(rec.type, 0);
  fixed.writeUInt16BE(rec.class, 2);
  fixed.writeUInt32BE(rec.ttl >>> 0, 4);
  fixed.writeUInt16BE(rdata.length, 8);
  return Buffer.concat([encodeName(rec.name), fixed, rdata]);
}

function encodeRdata(d: DnsRecordData): Buffer {
  switch (d.type) {
    case 'A':
      return Buffer.from(d.address.split('.').map(Number));
    case 'AAAA': {
      const out = Buffer.alloc(16);
      const halves = d.address.split('::');
      const left = halves[0] ? halves[0].split(':') : [];
      const right = halves.length > 1 && halves[1] ? halves[1].split(':') : [];
      const groups = [...left, ...new Array<string>(8 - left.length - right.length).fill('0'), ...right];
      // biome-ignore lint/suspicious/useIterableCallbackReturn: the write's return value is not wanted
      groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
      return out;
    }
    case 'CNAME':
    case 'PTR':
      return encodeName(d.target);
    case 'TXT':
      return Buffer.concat(
        d.strings.map((s) => {
          const b = Buffer.from(s, 'utf8');
          return Buffer.concat([Buffer.from([b.length]), b]);
        }),
      );
    case 'SRV': {
      const fixed = Buffer.alloc(6);
      fixed.writeUInt16BE(d.priority, 0);
      fixed.writeUInt16BE(d.weight, 2);
      fixed.writeUInt16BE(d.port, 4);
      return Buffer.concat([fixed, encodeName(d.target)]);
    }
    case 'URI': {
      const fixed = Buffer.alloc(4);
      fixed.writeUInt16BE(d.priority, 0);
      fixed.writeUInt16BE(d.weight, 2);
      return Buffer.concat([fixed, Buffer.from(d.target, 'utf8')]);
    }
    case 'OPT':
      return Buffer.alloc(0);
    case 'other':
      return d.rdata;
  }
}
