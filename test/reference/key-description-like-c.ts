// The reference parser of the cifs.spnego key description: cifs.upcall 7.2–7.5's exact semantics
// (docs/cifs-upcall-behaviour.md#parsing-the-description), quirks included. Test code: the unit
// tests (test/unit/kernel/key-description*.test.ts) and the fuzz targets (test/fuzz/targets.ts)
// compare the strict parser the pipeline uses (src/kernel/key-description.ts) with it; nothing in
// src/ decides with it.
import { MAX_USER_BYTES, UPCALL_VERSION, type SecurityMechanism, type UpcallTarget } from '../../src/kernel/key-description.ts';

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
    return {
      accepted: false,
      stage: 'version',
      message: `incompatible kernel upcall version: 0x${(d.ver as number).toString(16)}`,
      have: d.have,
    };
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
