// KERB-ERROR-DATA and KERB-EXT-ERROR (MS-KILE §2.2.1, §2.2.2): how an Active Directory KDC says
// *why* it refused an AS-REQ — the Windows status code of the account check — in a KRB-ERROR's
// e-data (captured from Samba 4.22: disabled → 0xC0000072, must change password → 0xC0000224).
//
//   KERB-ERROR-DATA ::= SEQUENCE { data-type [1] INTEGER, data-value [2] OCTET STRING OPTIONAL }
//   data-type 3 (KERB_ERR_TYPE_EXTENDED): data-value = KERB-EXT-ERROR, 12 bytes little-endian
//     { status: NTSTATUS (u32), reserved (u32), flags (u32) }
// It is a single SEQUENCE of context-tagged fields, unlike METHOD-DATA (a SEQUENCE OF PA-DATA
// SEQUENCEs), so the two e-data shapes cannot be mistaken for each other.
import { parseDer } from '../../der/decode.ts';
import { DecodeError } from '../../der/errors.ts';

export const KERB_ERR_TYPE_EXTENDED = 3;

export interface KerbErrorData {
  dataType: number;
  dataValue?: Buffer;
}

const FIELDS = { 1: 'data-type', 2: 'data-value' } as const;

/** e-data read as KERB-ERROR-DATA, or undefined when it is absent or has another shape. */
export function decodeKerbErrorData(eData: Uint8Array | undefined): KerbErrorData | undefined {
  if (!eData || eData.length === 0) return undefined;
  try {
    const f = parseDer(eData, 'KERB-ERROR-DATA').fields(FIELDS);
    const value = f.optional(2)?.octetString();
    return { dataType: f.required(1).int32(), ...(value !== undefined ? { dataValue: value } : {}) };
  } catch (e) {
    if (e instanceof DecodeError) return undefined;
    throw e;
  }
}

/** The NTSTATUS of a KERB-EXT-ERROR in e-data, or undefined. */
export function extendedErrorStatus(eData: Uint8Array | undefined): number | undefined {
  const data = decodeKerbErrorData(eData);
  if (data?.dataType !== KERB_ERR_TYPE_EXTENDED || !data.dataValue || data.dataValue.length < 4) return undefined;
  return data.dataValue.readUInt32LE(0);
}

/** MS-ERREF §2.3.1 names of the statuses an AD KDC gives for account checks, in plain words. */
const NT_STATUS: Record<number, [string, string]> = {
  3221225572: ['STATUS_NO_SUCH_USER', 'no such account'],
  3221225578: ['STATUS_WRONG_PASSWORD', 'wrong password'],
  3221225581: ['STATUS_LOGON_FAILURE', 'unknown user name or bad password'],
  3221225582: ['STATUS_ACCOUNT_RESTRICTION', 'an account restriction refuses this logon'],
  3221225583: ['STATUS_INVALID_LOGON_HOURS', "outside the account's logon hours"],
  3221225584: ['STATUS_INVALID_WORKSTATION', 'the account may not log on from this computer'],
  3221225585: ['STATUS_PASSWORD_EXPIRED', 'the password has expired'],
  3221225586: ['STATUS_ACCOUNT_DISABLED', 'the account is disabled'],
  3221225779: ['STATUS_TIME_DIFFERENCE_AT_DC', 'the clocks of this host and the domain controller differ too much'],
  3221225819: ['STATUS_LOGON_TYPE_NOT_GRANTED', 'the account is not granted this logon type'],
  3221225875: ['STATUS_ACCOUNT_EXPIRED', 'the account has expired'],
  3221226020: ['STATUS_PASSWORD_MUST_CHANGE', 'the password must be changed before the account can log on'],
  3221226036: ['STATUS_ACCOUNT_LOCKED_OUT', 'the account is locked out'],
  3221226515: ['STATUS_AUTHENTICATION_FIREWALL_FAILED', 'an authentication policy refuses this logon'],
};

export interface NtStatusInfo {
  code: number;
  /** e.g. "0xc0000072" */
  hex: string;
  /** e.g. "STATUS_ACCOUNT_DISABLED", or null when not in the table */
  name: string | null;
  /** e.g. "the account is disabled", or null */
  meaning: string | null;
}

export function ntStatusInfo(code: number): NtStatusInfo {
  const known = NT_STATUS[code >>> 0];
  return {
    code: code >>> 0,
    hex: `0x${(code >>> 0).toString(16).padStart(8, '0')}`,
    name: known?.[0] ?? null,
    meaning: known?.[1] ?? null,
  };
}

/** "NTSTATUS 0xc0000072 STATUS_ACCOUNT_DISABLED: the account is disabled" */
export function describeNtStatus(code: number): string {
  const s = ntStatusInfo(code);
  return `NTSTATUS ${s.hex}${s.name ? ` ${s.name}: ${s.meaning}` : ''}`;
}
