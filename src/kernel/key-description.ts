// The cifs.spnego key description the kernel SMB client builds (fs/smb/client/cifs_spnego.c) and
// KEYCTL_DESCRIBE hands back, wrapped in the generic key header:
//
//   <type>;<uid>;<gid>;<perm>;<description>            (uid/gid decimal, perm 8 hex digits)
//   description = ver=0x2;host=<name>;ip4=<a.b.c.d>|ip6=<8 groups of 4 hex>;sec=krb5|mskrb5|iakerb;
//                 uid=0x<hex>;creduid=0x<hex>[;user=<name>];pid=0x<hex>[;upcall_target=mount|app]
//
// Fields are `name=value`, separated by `;`, always in that order from the kernel; the kernel does
// not escape `host` or `user`, so a `;` inside them injects fields (docs/kernel-key-protocol.md#injection-through-host-and-user).
//
// Two parsers live here:
//  * `parseSpnegoDescriptionLikeC` — the reference: cifs.upcall 7.2–7.5's exact semantics
//    (docs/cifs-upcall-behaviour.md#parsing-the-description), quirks included. Used by tests and for comparison, never to decide.
//  * `parseSpnegoDescription` — the strict parse the pipeline uses: the C result, plus refusals
//    with a specific error naming the field (duplicates, garbage numbers, >32-bit ids, bad host,
//    bad addresses, unknown sec/upcall_target, missing fields, over-long values).

/** The version of the upcall protocol this helper speaks (CIFS_SPNEGO_UPCALL_VERSION). */
export const UPCALL_VERSION = 2;
/** C accepts host names up to 1024 bytes (`strlen(host) >= 1025` fails). */
export const MAX_HOST_BYTES = 1024;
/** C rejects a `user=` longer than 256 bytes. */
export const MAX_USER_BYTES = 256;

/** A malformed or refused description; `field` names the offending field. */
export class KeyDescriptionError extends Error {
  override readonly name = 'KeyDescriptionError';
  constructor(
    /** the description field (`uid`, `host`, …) or `describe` for the key header */
    readonly field: string,
    message: string,
  ) {
    super(`key description: ${field}: ${message}`);
  }
}

// ---- the KEYCTL_DESCRIBE header ----------------------------------------------------------------

/** What KEYCTL_DESCRIBE returns, split into the key header and the type-specific description. */
export interface DescribedKey {
  type: string;
  /** owner uid/gid as seen from the describing process's user namespace */
  uid: number;
  gid: number;
  /** permission mask, e.g. 0x39010000 for a kernel-created cifs.spnego key */
  perm: number;
  description: string;
}

const DECIMAL_ID = /^(0|[1-9][0-9]{0,9})$/;
const PERM_HEX = /^[0-9a-f]{8}$/i;

/**
 * Split `type;uid;gid;perm;description` after exactly four `;` (the header fields cannot contain
 * one; the description may).
 */
export function splitDescribeString(described: string): DescribedKey {
  const parts: string[] = [];
  let rest = described;
  for (let i = 0; i < 4; i++) {
    const semi = rest.indexOf(';');
    if (semi < 0) {
      throw new KeyDescriptionError('describe', `expected "type;uid;gid;perm;description", got ${quote(described)}`);
    }
    parts.push(rest.slice(0, semi));
    rest = rest.slice(semi + 1);
  }
  const [type, uid, gid, perm] = parts as [string, string, string, string];
  if (type === '' || /[\s\0]/.test(type)) throw new KeyDescriptionError('describe', `bad key type ${quote(type)}`);
  const owner = parseDecimalId(uid, 'owner uid');
  const group = parseDecimalId(gid, 'owner gid');
  if (!PERM_HEX.test(perm)) throw new KeyDescriptionError('describe', `bad permission mask ${quote(perm)}`);
  return { type, uid: owner, gid: group, perm: parseInt(perm, 16), description: rest };
}

export function formatDescribeString(key: DescribedKey): string {
  return `${key.type};${key.uid};${key.gid};${(key.perm >>> 0).toString(16).padStart(8, '0')};${key.description}`;
}

function parseDecimalId(text: string, what: string): number {
  const value = DECIMAL_ID.test(text) ? Number(text) : NaN;
  if (!(value <= 0xffffffff)) throw new KeyDescriptionError('describe', `bad ${what} ${quote(text)}`);
  return value;
}

// ---- the strict parse ----------------------------------------------------------------------------

export type SecurityMechanism = 'krb5' | 'mskrb5';
/** `unspecified` = kernel before 6.13 (no upcall_target field): treated as `app` (C 7.4+). */
export type UpcallTarget = 'app' | 'mount' | 'unspecified';

export interface SpnegoKeyDescription {
  /** `ver=`, hexadecimal on the wire */
  version: number;
  /** `host=` exactly as the kernel sent it (case preserved) */
  host: string;
  /** `ip4=`/`ip6=`; a legacy 32-digit ip6 is given the colons back */
  ip?: string;
  ipFamily?: 4 | 6;
  sec: SecurityMechanism;
  uid?: number;
  creduid?: number;
  /** `user=`; absent when not sent or empty */
  user?: string;
  /** `pid=`: the triggering thread id in the init pid namespace; 0 when absent */
  pid: number;
  upcallTarget: UpcallTarget;
  /** fields this helper does not know, ignored (kept for the trace) */
  unknownFields: Array<{ name: string; value: string }>;
}

const KNOWN_FIELDS = new Set(['ver', 'host', 'ip4', 'ip6', 'sec', 'uid', 'creduid', 'user', 'pid', 'upcall_target']);
const REQUIRED_FIELDS = ['ver', 'host', 'sec'] as const;

/**
 * Strict parse of the description part (after the four header fields). Throws
 * KeyDescriptionError naming the field on anything the kernel would not have produced.
 */
export function parseSpnegoDescription(description: string): SpnegoKeyDescription {
  if (description === '') throw new KeyDescriptionError('description', 'empty');
  const seen = new Set<string>();
  const result: Partial<SpnegoKeyDescription> & { unknownFields: SpnegoKeyDescription['unknownFields'] } = {
    pid: 0,
    upcallTarget: 'unspecified',
    unknownFields: [],
  };
  const tokens = description.split(';');
  tokens.forEach((token, index) => {
    if (token === '') {
      throw new KeyDescriptionError(`field ${index + 1}`, 'empty field (";;", or a leading or trailing ";")');
    }
    const eq = token.indexOf('=');
    if (eq <= 0) {
      throw new KeyDescriptionError(`field ${index + 1}`, `${quote(token)} is not name=value (a ";" inside a value?)`);
    }
    const name = token.slice(0, eq);
    const value = token.slice(eq + 1);
    if (!KNOWN_FIELDS.has(name)) {
      result.unknownFields.push({ name, value });
      return;
    }
    if (seen.has(name)) {
      throw new KeyDescriptionError(name, 'appears twice (a ";" injected through host= or user=?)');
    }
    if ((name === 'ip4' && seen.has('ip6')) || (name === 'ip6' && seen.has('ip4'))) {
      throw new KeyDescriptionError(name, 'both ip4= and ip6= present');
    }
    seen.add(name);
    switch (name) {
      case 'ver':
        result.version = parseHex32(value, 'ver');
        if (result.version > UPCALL_VERSION) {
          throw new KeyDescriptionError('ver', `incompatible kernel upcall version: 0x${result.version.toString(16)}`);
        }
        break;
      case 'host':
        result.host = checkHost(value);
        break;
      case 'ip4':
        if (!isIPv4(value)) throw new KeyDescriptionError('ip4', `${quote(value)} is not a dotted-quad IPv4 address`);
        result.ip = value;
        result.ipFamily = 4;
        break;
      case 'ip6':
        result.ip = checkIPv6(value);
        result.ipFamily = 6;
        break;
      case 'sec':
        result.sec = checkSec(value);
        break;
      case 'uid':
        result.uid = parseHex32(value, 'uid');
        break;
      case 'creduid':
        result.creduid = parseHex32(value, 'creduid');
        break;
      case 'user': {
        const user = checkUser(value);
        if (user !== undefined) result.user = user;
        break;
      }
      case 'pid':
        result.pid = parsePid(value);
        break;
      case 'upcall_target':
        if (value !== 'app' && value !== 'mount') {
          throw new KeyDescriptionError('upcall_target', `${quote(value)} is neither "app" nor "mount"`);
        }
        result.upcallTarget = value;
        break;
    }
  });
  for (const field of REQUIRED_FIELDS) {
    if (!seen.has(field)) throw new KeyDescriptionError(field, 'missing (ver=, host= and sec= are required)');
  }
  return result as SpnegoKeyDescription;
}

/** The kernel's own formatting (field order and hex style of cifs_spnego.c); inverse of the strict parse. */
export function formatSpnegoDescription(d: SpnegoKeyDescription): string {
  // (the kernel writes "host=<name>;" and then "ip4=…" without a leading ";": same string)
  let s = `ver=0x${d.version.toString(16)};host=${d.host}`;
  if (d.ip !== undefined) s += `;${d.ipFamily === 6 ? 'ip6' : 'ip4'}=${d.ip}`;
  s += `;sec=${d.sec}`;
  if (d.uid !== undefined) s += `;uid=0x${d.uid.toString(16)}`;
  if (d.creduid !== undefined) s += `;creduid=0x${d.creduid.toString(16)}`;
  if (d.user !== undefined) s += `;user=${d.user}`;
  s += `;pid=0x${d.pid.toString(16)}`;
  if (d.upcallTarget !== 'unspecified') s += `;upcall_target=${d.upcallTarget}`;
  for (const f of d.unknownFields) s += `;${f.name}=${f.value}`;
  return s;
}

/** Whose credentials: docs/cifs-upcall-behaviour.md#which-uid (creduid, else uid; with -l only uid). */
export function credentialUid(d: Pick<SpnegoKeyDescription, 'uid' | 'creduid'>, legacyUid: boolean): {
  uid: number;
  from: 'uid' | 'creduid';
} {
  if (legacyUid) {
    if (d.uid === undefined) throw new KeyDescriptionError('uid', 'missing (-l/--legacy-uid uses uid=, not creduid=)');
    return { uid: d.uid, from: 'uid' };
  }
  if (d.creduid !== undefined) return { uid: d.creduid, from: 'creduid' };
  if (d.uid !== undefined) return { uid: d.uid, from: 'uid' };
  throw new KeyDescriptionError('creduid', 'missing, and no uid= either');
}

const HEX32 = /^(?:0[xX])?0*([0-9a-fA-F]{1,8})$/;

function parseHex32(value: string, field: string): number {
  if (!/^(?:0[xX])?[0-9a-fA-F]+$/.test(value)) {
    throw new KeyDescriptionError(field, `${quote(value)} is not a hexadecimal number`);
  }
  const m = HEX32.exec(value);
  if (!m) throw new KeyDescriptionError(field, `${quote(value)} does not fit in 32 bits`);
  return parseInt(m[1] as string, 16);
}

const PID_MAX = 0x7fffffff;

/** `pid=` is strtol base 0 in C: 0x-hex, leading-0 octal, or decimal — but only digits here. */
function parsePid(value: string): number {
  let n: number;
  if (/^0[xX][0-9a-fA-F]+$/.test(value)) {
    const digits = value.slice(2).replace(/^0+(?=.)/, '');
    n = digits.length > 8 ? Infinity : parseInt(digits, 16);
  } else if (/^0[0-7]*$/.test(value)) {
    const digits = value.replace(/^0+(?=.)/, '');
    n = digits.length > 11 ? Infinity : parseInt(digits, 8);
  } else if (/^[1-9][0-9]*$/.test(value)) {
    n = value.length > 10 ? Infinity : Number(value);
  } else {
    throw new KeyDescriptionError('pid', `${quote(value)} is not a number`);
  }
  if (n > PID_MAX) throw new KeyDescriptionError('pid', `${quote(value)} is out of range for a thread id`);
  return n;
}

// LDH plus "_": NetBIOS-style server names (//file_srv/share, DFS targets) reach the kernel as is.
const LDH_LABEL = /^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/;

function checkHost(value: string): string {
  if (value === '') throw new KeyDescriptionError('host', 'empty');
  if (Buffer.byteLength(value, 'utf8') > MAX_HOST_BYTES) {
    throw new KeyDescriptionError('host', `longer than ${MAX_HOST_BYTES} bytes`);
  }
  if (isIPv4(value) || isIPv6(value)) return value;
  if (value.split('.').every((label) => LDH_LABEL.test(label))) return value;
  throw new KeyDescriptionError('host', `${quote(value)} is neither a host name (letters, digits, hyphens, underscores, dots) nor an IP address`);
}

function checkIPv6(value: string): string {
  // Kernels up to about 2.6.3x sent 32 hex digits without colons (docs/kernel-key-protocol.md#legacy-forms).
  if (/^[0-9a-fA-F]{32}$/.test(value)) return value.match(/.{4}/g)!.join(':');
  if (!isIPv6(value)) throw new KeyDescriptionError('ip6', `${quote(value)} is not an IPv6 address`);
  return value;
}

function checkSec(value: string): SecurityMechanism {
  if (value === 'krb5' || value === 'mskrb5') return value;
  if (value === 'iakerb') {
    throw new KeyDescriptionError('sec', 'IAKerb not supported (the server offered only IAKerb; C cifs.upcall refuses it too)');
  }
  throw new KeyDescriptionError('sec', `${quote(value)} is not krb5 or mskrb5`);
}

// C0 and C1 controls and DEL: a user name is printable text.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

function checkUser(value: string): string | undefined {
  if (value === '') return undefined;
  if (Buffer.byteLength(value, 'utf8') > MAX_USER_BYTES) {
    throw new KeyDescriptionError('user', `longer than ${MAX_USER_BYTES} bytes`);
  }
  if (CONTROL.test(value)) throw new KeyDescriptionError('user', `${quote(value)} contains control characters`);
  if (value.includes('\ufffd')) throw new KeyDescriptionError('user', 'not valid UTF-8');
  return value;
}

/** Dotted quad, decimal, no leading zeros (what the kernel's %pI4 prints). */
export function isIPv4(s: string): boolean {
  const parts = s.split('.');
  return parts.length === 4 && parts.every((p) => /^(0|[1-9][0-9]{0,2})$/.test(p) && Number(p) <= 255);
}

/** RFC 4291 §2.2 text forms (full, `::`-compressed, embedded IPv4); no zone index. */
export function isIPv6(s: string): boolean {
  if (!/^[0-9a-fA-F:.]+$/.test(s) || s.length > 45) return false;
  let head = s;
  if (s.includes('.')) {
    // an embedded IPv4 address counts as the last two groups
    const lastColon = s.lastIndexOf(':');
    if (!isIPv4(s.slice(lastColon + 1))) return false;
    head = s.slice(0, lastColon + 1) + '0:0';
  }
  const halves = head.split('::');
  if (halves.length > 2) return false;
  const groups = (text: string): string[] | null => {
    if (text === '') return [];
    const g = text.split(':');
    return g.every((x) => /^[0-9a-fA-F]{1,4}$/.test(x)) ? g : null;
  };
  const left = groups(halves[0] as string);
  if (left === null) return false;
  if (halves.length === 1) return left.length === 8;
  const right = groups(halves[1] as string);
  if (right === null) return false;
  return left.length + right.length <= 7;
}

function quote(s: string): string {
  return JSON.stringify(s.length > 80 ? `${s.slice(0, 80)}…` : s);
}

// ---- the C reference ---------------------------------------------------------------------------

/** `have` flags of cifs.upcall's decoder, as printed in "unable to get necessary params (0x…)". */
export const DecodedFlags = {
  host: 0x1,
  ver: 0x2,
  sec: 0x4,
  ip: 0x8,
  uid: 0x10,
  pid: 0x20,
  creduid: 0x40,
  user: 0x80,
  upcallTarget: 0x100,
} as const;

export interface CDecodedDescription {
  have: number;
  ver?: number;
  host?: string;
  ip?: string;
  sec?: SecurityMechanism;
  uid?: number;
  creduid?: number;
  user?: string;
  pid: number;
  upcallTarget: UpcallTarget;
  /** what C logs at LOG_ERR without failing (unknown upcall_target value) */
  complaints: string[];
}

export type CParseOutcome =
  | { accepted: true; decoded: CDecodedDescription }
  | { accepted: false; stage: 'parse' | 'required' | 'version' | 'host-length'; message: string; have: number };

/**
 * cifs.upcall 7.2–7.5 as documented in docs/cifs-upcall-behaviour.md#parsing-the-description, over the whole KEYCTL_DESCRIBE
 * string (C does not strip the header; its fields just never match a known prefix). Reference
 * only: shows what C would have done with a description, quirks included (uid=zz → 0, last
 * duplicate wins, prefix matches for sec/upcall_target, 32-bit truncation, strtol base 0 pid).
 * Never throws. Assumptions where docs/cifs-upcall-behaviour.md#parsing-the-description is silent: ver is a C int; an empty user= does not set
 * the user flag.
 */
export function parseSpnegoDescriptionLikeC(described: string): CParseOutcome {
  const d: CDecodedDescription = { have: 0, pid: 0, upcallTarget: 'unspecified', complaints: [] };
  for (const token of described.split(';')) {
    const fail = (message: string): CParseOutcome => ({ accepted: false, stage: 'parse', message, have: d.have });
    if (token.startsWith('host=')) {
      const v = token.slice(5);
      if (Buffer.byteLength(v, 'latin1') > 1025) return fail('host= too long');
      d.host = v;
      d.have |= DecodedFlags.host;
    } else if (token.startsWith('ip4=') || token.startsWith('ip6=')) {
      const v = token.slice(4);
      if (Buffer.byteLength(v, 'latin1') > 1025) return fail('ip too long');
      d.ip = v;
      d.have |= DecodedFlags.ip;
    } else if (token.startsWith('user=')) {
      const v = token.slice(5);
      if (Buffer.byteLength(v, 'latin1') > MAX_USER_BYTES) return fail('user= too long');
      if (v === '') {
        delete d.user;
      } else {
        d.user = v;
        d.have |= DecodedFlags.user;
      }
    } else if (token.startsWith('pid=')) {
      const r = strtolLikeC(token.slice(4), 0);
      if (r.erange) return fail('pid= out of range');
      d.pid = Number(BigInt.asIntN(32, r.value));
      d.have |= DecodedFlags.pid;
    } else if (token.startsWith('sec=')) {
      const v = token.slice(4);
      if (v.startsWith('krb5')) {
        d.sec = 'krb5';
        d.have |= DecodedFlags.sec;
      } else if (v.startsWith('mskrb5')) {
        d.sec = 'mskrb5';
        d.have |= DecodedFlags.sec;
      }
    } else if (token.startsWith('uid=')) {
      const r = strtolLikeC(token.slice(4), 16);
      if (r.erange) return fail('uid= out of range');
      d.uid = Number(BigInt.asUintN(32, r.value));
      d.have |= DecodedFlags.uid;
    } else if (token.startsWith('creduid=')) {
      const r = strtolLikeC(token.slice(8), 16);
      if (r.erange) return fail('creduid= out of range');
      d.creduid = Number(BigInt.asUintN(32, r.value));
      d.have |= DecodedFlags.creduid;
    } else if (token.startsWith('ver=')) {
      const r = strtolLikeC(token.slice(4), 16);
      if (r.erange) return fail('ver= out of range');
      d.ver = Number(BigInt.asIntN(32, r.value));
      d.have |= DecodedFlags.ver;
    } else if (token.startsWith('upcall_target=')) {
      const v = token.slice(14);
      if (Buffer.byteLength(v, 'latin1') > 6) return fail('upcall_target= too long');
      if (v.startsWith('mount')) {
        d.upcallTarget = 'mount';
      } else {
        if (!v.startsWith('app')) d.complaints.push(`invalid upcall_target ${v}, defaulting to app`);
        d.upcallTarget = 'app';
      }
      d.have |= DecodedFlags.upcallTarget;
    }
  }
  const required = DecodedFlags.host | DecodedFlags.ver | DecodedFlags.sec;
  if ((d.have & required) !== required) {
    return { accepted: false, stage: 'required', message: `unable to get necessary params (0x${d.have.toString(16)})`, have: d.have };
  }
  if ((d.ver as number) > UPCALL_VERSION) {
    return { accepted: false, stage: 'version', message: `incompatible kernel upcall version: 0x${(d.ver as number).toString(16)}`, have: d.have };
  }
  if (Buffer.byteLength(d.host as string, 'latin1') >= 1025) {
    return { accepted: false, stage: 'host-length', message: 'hostname too long', have: d.have };
  }
  return { accepted: true, decoded: d };
}

/** C's uid choice (docs/cifs-upcall-behaviour.md#which-uid): undefined = "no uid" failure. */
export function credentialUidLikeC(d: CDecodedDescription, legacyUid: boolean): number | undefined {
  if (legacyUid) return d.have & DecodedFlags.uid ? d.uid : undefined;
  if (d.have & DecodedFlags.creduid) return d.creduid;
  if (d.have & DecodedFlags.uid) return d.uid;
  return undefined;
}

const LONG_MAX = (1n << 63n) - 1n;
const LONG_MIN = -(1n << 63n);

/** glibc strtol on LP64 (base 0 or 16), without an end-pointer check: stops at the first non-digit. */
export function strtolLikeC(text: string, base: 0 | 16): { value: bigint; erange: boolean } {
  let i = 0;
  while (i < text.length && ' \t\n\v\f\r'.includes(text[i] as string)) i++;
  let negative = false;
  if (text[i] === '+' || text[i] === '-') {
    negative = text[i] === '-';
    i++;
  }
  const isHexDigit = (c: string | undefined): boolean => c !== undefined && /[0-9a-fA-F]/.test(c);
  let radix = base === 0 ? 10 : 16;
  if (text[i] === '0' && (text[i + 1] === 'x' || text[i + 1] === 'X') && isHexDigit(text[i + 2])) {
    radix = 16;
    i += 2;
  } else if (base === 0 && text[i] === '0') {
    radix = 8;
  }
  let value = 0n;
  for (; i < text.length; i++) {
    const digit = parseInt(text[i] as string, 36);
    if (Number.isNaN(digit) || digit >= radix) break;
    // once out of range the result is clamped anyway; stop growing the number
    if (value <= LONG_MAX + 1n) value = value * BigInt(radix) + BigInt(digit);
  }
  if (negative) value = -value;
  let erange = false;
  if (value > LONG_MAX) {
    erange = true;
    value = LONG_MAX;
  } else if (value < LONG_MIN) {
    erange = true;
    value = LONG_MIN;
  }
  return { value, erange };
}
