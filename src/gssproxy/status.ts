// RFC 2744 §3.9 / RFC 2743 status codes as gssproxy returns them in gssx_status, rendered the
// way gss_display_status does (docs/gssproxy-protocol.md#error-model), and classified for the upcall.
//
//   major = calling error (bits 24-31) | routine error (bits 16-23) | supplementary info (0-15)
//   minor = krb5 com_err code (table base 0x96C73A00), GSS-krb5 code (base 0x025EA100), or an
//           errno from gssproxy itself; the daemon sends both texts NUL-terminated.
import type { CredentialFailureKind } from '../credentials.ts';
import { errorCodeInfo } from '../krb5/iana/error-code.ts';
import { oidToDotted } from './constants.ts';
import type { GssxStatus } from './protocol.ts';

export const GSS_S_COMPLETE = 0;
export const GSS_S_CONTINUE_NEEDED = 1;

/** Routine errors (RFC 2744), already shifted into place. */
export const GssRoutine = {
  BAD_MECH: 1 << 16,
  BAD_NAME: 2 << 16,
  BAD_NAMETYPE: 3 << 16,
  BAD_BINDINGS: 4 << 16,
  BAD_STATUS: 5 << 16,
  BAD_SIG: 6 << 16,
  NO_CRED: 7 << 16,
  NO_CONTEXT: 8 << 16,
  DEFECTIVE_TOKEN: 9 << 16,
  DEFECTIVE_CREDENTIAL: 10 << 16,
  CREDENTIALS_EXPIRED: 11 << 16,
  CONTEXT_EXPIRED: 12 << 16,
  FAILURE: 13 << 16,
  BAD_QOP: 14 << 16,
  UNAUTHORIZED: 15 << 16,
  UNAVAILABLE: 16 << 16,
  DUPLICATE_ELEMENT: 17 << 16,
  NAME_NOT_MN: 18 << 16,
} as const;

const routineTexts: Record<number, [string, string]> = {
  1: ['GSS_S_BAD_MECH', 'An unsupported mechanism was requested'],
  2: ['GSS_S_BAD_NAME', 'An invalid name was supplied'],
  3: ['GSS_S_BAD_NAMETYPE', 'A supplied name was of an unsupported type'],
  4: ['GSS_S_BAD_BINDINGS', 'Incorrect channel bindings were supplied'],
  5: ['GSS_S_BAD_STATUS', 'An invalid status code was supplied'],
  6: ['GSS_S_BAD_SIG', 'A token had an invalid signature'],
  7: ['GSS_S_NO_CRED', 'No credentials were supplied, or the credentials were unavailable or inaccessible'],
  8: ['GSS_S_NO_CONTEXT', 'No context has been established'],
  9: ['GSS_S_DEFECTIVE_TOKEN', 'Invalid token was supplied'],
  10: ['GSS_S_DEFECTIVE_CREDENTIAL', 'Invalid credential was supplied'],
  11: ['GSS_S_CREDENTIALS_EXPIRED', 'The referenced credentials have expired'],
  12: ['GSS_S_CONTEXT_EXPIRED', 'The referenced context has expired'],
  13: ['GSS_S_FAILURE', 'Unspecified GSS failure.  Minor code may provide more information'],
  14: ['GSS_S_BAD_QOP', 'The quality-of-protection requested could not be provided'],
  15: ['GSS_S_UNAUTHORIZED', 'The operation is forbidden by local security policy'],
  16: ['GSS_S_UNAVAILABLE', 'The operation or option is not available'],
  17: ['GSS_S_DUPLICATE_ELEMENT', 'The requested credential element already exists'],
  18: ['GSS_S_NAME_NOT_MN', 'The provided name was not a mechanism name'],
};

const callingTexts: Record<number, [string, string]> = {
  1: ['GSS_S_CALL_INACCESSIBLE_READ', 'A required input parameter could not be read'],
  2: ['GSS_S_CALL_INACCESSIBLE_WRITE', 'A required output parameter could not be written'],
  3: ['GSS_S_CALL_BAD_STRUCTURE', 'A parameter was malformed'],
};

const supplementaryTexts: Array<[number, string]> = [
  [0x1, 'GSS_S_CONTINUE_NEEDED'],
  [0x2, 'GSS_S_DUPLICATE_TOKEN'],
  [0x4, 'GSS_S_OLD_TOKEN'],
  [0x8, 'GSS_S_UNSEQ_TOKEN'],
  [0x10, 'GSS_S_GAP_TOKEN'],
];

export function routineError(major: number): number {
  return (major >>> 16) & 0xff;
}

export function callingError(major: number): number {
  return (major >>> 24) & 0xff;
}

/** RFC 2744 GSS_ERROR(): any calling or routine error bit set. */
export function isGssError(major: number): boolean {
  return (major & 0xffff_0000) !== 0;
}

/** Symbolic names of every part of a major status, e.g. "GSS_S_FAILURE" or "GSS_S_COMPLETE". */
export function majorName(major: number): string {
  if (major === 0) return 'GSS_S_COMPLETE';
  const parts: string[] = [];
  const calling = callingError(major);
  if (calling) parts.push(callingTexts[calling]?.[0] ?? `calling error ${calling}`);
  const routine = routineError(major);
  if (routine) parts.push(routineTexts[routine]?.[0] ?? `routine error ${routine}`);
  for (const [bit, name] of supplementaryTexts) if (major & bit) parts.push(name);
  const unknown = major & 0xffe0;
  if (unknown) parts.push(`supplementary 0x${unknown.toString(16)}`);
  return parts.join('|');
}

function majorFallbackText(major: number): string {
  const texts: string[] = [];
  const calling = callingError(major);
  if (calling) texts.push(callingTexts[calling]?.[1] ?? `calling error ${calling}`);
  const routine = routineError(major);
  if (routine) texts.push(routineTexts[routine]?.[1] ?? `routine error ${routine}`);
  if (texts.length === 0) texts.push(majorName(major));
  return texts.join(', ');
}

/** MIT com_err table "krb5": KRB-ERROR codes 0-127, then library codes. */
export const KRB5_TABLE_BASE = 0x96c7_3a00;
/** MIT com_err table "k5g" (GSS krb5 mech). */
export const K5G_TABLE_BASE = 0x025e_a100;

/** The krb5 library codes that matter for a gssproxy initiator (offset from KRB5_TABLE_BASE). */
export const Krb5Lib = {
  CC_NOTFOUND: 141,
  REALM_UNKNOWN: 154,
  SERVICE_UNKNOWN: 155,
  KDC_UNREACH: 156,
  FCC_NOFILE: 195,
} as const;

const krb5LibTexts: Record<number, string> = {
  141: 'Matching credential not found (KRB5_CC_NOTFOUND)',
  154: 'Cannot find KDC for requested realm (KRB5_REALM_UNKNOWN)',
  155: 'Kerberos service unknown (KRB5_SERVICE_UNKNOWN)',
  156: 'Cannot contact any KDC for requested realm (KRB5_KDC_UNREACH)',
  195: 'No credentials cache found (KRB5_FCC_NOFILE)',
};

export const K5g = {
  CCACHE_NOMATCH: 0,
  KEYTAB_NOMATCH: 1,
  TGT_MISSING: 2,
  CTX_INCOMPLETE: 7,
  EMPTY_CCACHE: 12,
} as const;

const NO_CREDENTIAL_K5G = new Set<number>([K5g.CCACHE_NOMATCH, K5g.KEYTAB_NOMATCH, K5g.TGT_MISSING, K5g.EMPTY_CCACHE]);

const k5gTexts: Record<number, string> = {
  0: 'Principal in credential cache does not match desired name (KG_CCACHE_NOMATCH)',
  1: 'No principal in keytab matches desired name (KG_KEYTAB_NOMATCH)',
  2: 'Credential cache has no TGT (KG_TGT_MISSING)',
  7: 'Attempt to use incomplete security context (KG_CTX_INCOMPLETE)',
  12: 'Credential cache is empty (KG_EMPTY_CCACHE)',
};

const errnoTexts: Record<number, string> = {
  1: 'Operation not permitted (EPERM)',
  2: 'No such file or directory (ENOENT)',
  5: 'Input/output error (EIO)',
  12: 'Cannot allocate memory (ENOMEM)',
  13: 'Permission denied (EACCES)',
  22: 'Invalid argument (EINVAL)',
};

export type MinorFamily =
  | { family: 'krb5'; offset: number }
  | { family: 'k5g'; offset: number }
  | { family: 'errno'; errno: number }
  | { family: 'other' };

export function minorFamily(minor: number): MinorFamily {
  const m = minor >>> 0;
  if (m >= KRB5_TABLE_BASE && m < KRB5_TABLE_BASE + 256) return { family: 'krb5', offset: m - KRB5_TABLE_BASE };
  if (m >= K5G_TABLE_BASE && m < K5G_TABLE_BASE + 256) return { family: 'k5g', offset: m - K5G_TABLE_BASE };
  if (m > 0 && m < 4096) return { family: 'errno', errno: m };
  return { family: 'other' };
}

function minorFallbackText(minor: number, mech: Uint8Array): string {
  const f = minorFamily(minor);
  const hex = `0x${(minor >>> 0).toString(16).padStart(8, '0')}`;
  if (f.family === 'krb5') {
    if (f.offset < 128) {
      const info = errorCodeInfo(f.offset);
      return `${info.explanation} (${info.name})`;
    }
    const t = krb5LibTexts[f.offset];
    if (t) return t;
  } else if (f.family === 'k5g') {
    const t = k5gTexts[f.offset];
    if (t) return t;
  } else if (f.family === 'errno') {
    const t = errnoTexts[f.errno];
    if (t) return t;
  }
  return `minor ${hex} (mech ${oidToDotted(mech)})`;
}

/** A status text as sent by the daemon: UTF-8, trailing NUL(s) removed. */
export function statusText(bytes: Uint8Array): string {
  let end = bytes.length;
  while (end > 0 && bytes[end - 1] === 0) end--;
  return Buffer.from(bytes.subarray(0, end)).toString('utf8');
}

export interface RenderedStatus {
  major: number;
  minor: number;
  majorName: string;
  /** the major text: the server's, else the local table's */
  majorText: string;
  /** the minor text (for KDC failures the KDC's reason): the server's, else the local table's */
  minorText: string;
  /** "<major text>: <minor text>" (or just the major text when minor is 0) */
  text: string;
  /** true when the texts came from the daemon */
  fromServer: boolean;
}

export function renderStatus(
  status: Pick<GssxStatus, 'majorStatus' | 'minorStatus' | 'mech' | 'majorStatusString' | 'minorStatusString'>,
): RenderedStatus {
  const serverMajor = statusText(status.majorStatusString);
  const serverMinor = statusText(status.minorStatusString);
  const majorText = serverMajor || majorFallbackText(status.majorStatus);
  const minorText = status.minorStatus === 0 ? serverMinor : serverMinor || minorFallbackText(status.minorStatus, status.mech);
  return {
    major: status.majorStatus,
    minor: status.minorStatus,
    majorName: majorName(status.majorStatus),
    majorText,
    minorText,
    text: minorText ? `${majorText}: ${minorText}` : majorText,
    fromServer: serverMajor !== '' || serverMinor !== '',
  };
}

/** Codes in plain hex for messages: "major 0x000d0000 GSS_S_FAILURE, minor 0x96c73a0d". */
export function statusCodes(status: Pick<GssxStatus, 'majorStatus' | 'minorStatus'>): string {
  const hex = (n: number): string => `0x${(n >>> 0).toString(16).padStart(8, '0')}`;
  return `major ${hex(status.majorStatus)} ${majorName(status.majorStatus)}, minor ${hex(status.minorStatus)}`;
}

/**
 * What a failed status means for the upcall: which CredentialError kind, and the reason to show
 * (for Kerberos failures the KDC's own words, as the daemon rendered them).
 */
export function classifyStatus(status: GssxStatus): { kind: CredentialFailureKind; reason: string } {
  const rendered = renderStatus(status);
  const reason = rendered.minorText || rendered.majorText;
  const routine = routineError(status.majorStatus) << 16;
  const f = minorFamily(status.minorStatus);
  if (routine === GssRoutine.NO_CRED || routine === GssRoutine.CREDENTIALS_EXPIRED) return { kind: 'no-credentials', reason };
  if (routine === GssRoutine.UNAUTHORIZED) return { kind: 'refused', reason };
  if (routine === GssRoutine.BAD_MECH || routine === GssRoutine.BAD_NAME || routine === GssRoutine.BAD_NAMETYPE) {
    return { kind: 'config', reason };
  }
  if (f.family === 'krb5') {
    if (f.offset === 7) return { kind: 'service-unknown', reason };
    if (f.offset < 128) return { kind: 'refused', reason };
    if (f.offset === Krb5Lib.KDC_UNREACH || f.offset === Krb5Lib.REALM_UNKNOWN) return { kind: 'unreachable', reason };
    if (f.offset === Krb5Lib.CC_NOTFOUND || f.offset === Krb5Lib.FCC_NOFILE) return { kind: 'no-credentials', reason };
  }
  if (f.family === 'k5g' && NO_CREDENTIAL_K5G.has(f.offset)) {
    return { kind: 'no-credentials', reason };
  }
  if (f.family === 'errno') {
    // ENOENT: no passwd entry / no store for the uid; EACCES/EINVAL: the service is not set up for this
    if (f.errno === 2) return { kind: 'no-credentials', reason };
    return { kind: 'config', reason };
  }
  return { kind: 'refused', reason };
}
