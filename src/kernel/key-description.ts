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
// `parseSpnegoDescription` is the strict parse the pipeline uses: cifs.upcall's result, plus
// refusals with a specific error naming the field (duplicates, garbage numbers, >32-bit ids, bad
// host, bad addresses, unknown sec/upcall_target, missing fields, over-long values). The reference
// with cifs.upcall 7.2–7.5's exact semantics (docs/cifs-upcall-behaviour.md#parsing-the-description),
// quirks included, is test code: test/reference/key-description-like-c.ts.
import { parseIpv4, parseIpv6 } from '../net/dns/ip.ts';

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
        if (!parseIpv4(value)) throw new KeyDescriptionError('ip4', `${quote(value)} is not a dotted-quad IPv4 address`);
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
export function credentialUid(
  d: Pick<SpnegoKeyDescription, 'uid' | 'creduid'>,
  legacyUid: boolean,
): {
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
  if (parseIpv4(value) || parseIpv6(value)) return value;
  if (value.split('.').every((label) => LDH_LABEL.test(label))) return value;
  throw new KeyDescriptionError(
    'host',
    `${quote(value)} is neither a host name (letters, digits, hyphens, underscores, dots) nor an IP address`,
  );
}

function checkIPv6(value: string): string {
  // Kernels up to about 2.6.3x sent 32 hex digits without colons (docs/kernel-key-protocol.md#legacy-forms).
  if (/^[0-9a-fA-F]{32}$/.test(value)) return value.match(/.{4}/g)!.join(':');
  if (!parseIpv6(value)) throw new KeyDescriptionError('ip6', `${quote(value)} is not an IPv6 address`);
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
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
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

function quote(s: string): string {
  return JSON.stringify(s.length > 80 ? `${s.slice(0, 80)}…` : s);
}
