// KERB-ERROR-DATA / KERB-EXT-ERROR (MS-KILE §2.2.1, §2.2.2) in KRB-ERROR e-data. The two
// KRB-ERRORs below were captured from Samba 4.22.6's AD DC (test/integration/ad-refusals.test.ts
// sees the same bytes through a KDC tap): an AS-REQ for a disabled account and for one whose
// password must be changed (pwdLastSet = 0).
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../../../src/krb5/iana/index.ts';
import {
  KERB_ERR_TYPE_EXTENDED,
  decodeKerbErrorData,
  describeNtStatus,
  extendedErrorStatus,
  ntStatusInfo,
} from '../../../../src/krb5/messages/kerb-error-data.ts';
import { KrbError, decodeKrbError, encodeKrbError, encodeMethodData, krbErrorPaData } from '../../../../src/krb5/messages/index.ts';

const h = (s: string): Buffer => Buffer.from(s, 'hex');

/** Samba 4.22.6, AS-REQ for ad-disabled@AD.TEST (userAccountControl ACCOUNTDISABLE) */
const DISABLED = h(
  '7e8195308192a003020105a10302011ea411180f32303236313132373034333534325aa5050203090d5ea603020112a7091b0741442e54455354a8183016a003020101a10f300d1b0b61642d64697361626c6564a9091b0741442e54455354aa1c301aa003020102a11330111b066b72627467741b0741442e54455354ac1904173015a103020103a20e040c720000c00000000001000000',
);
/** Samba 4.22.6, AS-REQ for ad-expired@AD.TEST (pwdLastSet = 0) */
const MUST_CHANGE = h(
  '7e8194308191a003020105a10302011ea411180f32303236313132373034333534325aa50502030c1c81a603020117a7091b0741442e54455354a8173015a003020101a10e300c1b0a61642d65787069726564a9091b0741442e54455354aa1c301aa003020102a11330111b066b72627467741b0741442e54455354ac1904173015a103020103a20e040c240200c00000000001000000',
);

describe("KERB-ERROR-DATA in an AD KDC's KRB-ERROR (MS-KILE §2.2.1)", () => {
  it('disabled account: KDC_ERR_CLIENT_REVOKED with KERB-EXT-ERROR STATUS_ACCOUNT_DISABLED', () => {
    const e = decodeKrbError(DISABLED);
    expect(e.errorCode).toBe(ErrorCode.KDC_ERR_CLIENT_REVOKED);
    expect(e.eText).toBeUndefined();
    const data = decodeKerbErrorData(e.eData);
    expect(data?.dataType).toBe(KERB_ERR_TYPE_EXTENDED);
    // MS-KILE §2.2.2: status, reserved, flags — little-endian; flags 1 says the status is valid
    expect(data?.dataValue?.toString('hex')).toBe('720000c00000000001000000');
    expect(extendedErrorStatus(e.eData)).toBe(0xc0000072);
    // not METHOD-DATA: the PA-DATA reading must not claim it
    expect(krbErrorPaData(e)).toBeUndefined();
    // re-encoding reproduces Samba's bytes (canonical DER)
    expect(encodeKrbError(e).equals(DISABLED)).toBe(true);
  });

  it("KrbError names the NTSTATUS after the KDC's code", () => {
    const disabled = KrbError.fromDer(DISABLED);
    expect(disabled.ntStatus).toBe(0xc0000072);
    expect(disabled.message).toBe(
      "client's credentials have been revoked (KDC_ERR_CLIENT_REVOKED, 18) for krbtgt/AD.TEST@AD.TEST; " +
        'the directory says NTSTATUS 0xc0000072 STATUS_ACCOUNT_DISABLED: the account is disabled',
    );
    const mustChange = KrbError.fromDer(MUST_CHANGE);
    expect(mustChange.code).toBe(ErrorCode.KDC_ERR_KEY_EXPIRED);
    expect(mustChange.ntStatus).toBe(0xc0000224);
    expect(mustChange.message).toMatch(
      /; the directory says NTSTATUS 0xc0000224 STATUS_PASSWORD_MUST_CHANGE: the password must be changed/,
    );
  });

  it('METHOD-DATA e-data (PREAUTH_REQUIRED) and absent e-data give no NTSTATUS', () => {
    const methodData = encodeMethodData([
      { padataType: 3, padataValue: h('720000c00000000001000000') },
      { padataType: 19, padataValue: h('3000') },
    ]);
    expect(decodeKerbErrorData(methodData)).toBeUndefined();
    expect(extendedErrorStatus(methodData)).toBeUndefined();
    expect(extendedErrorStatus(undefined)).toBeUndefined();
    expect(extendedErrorStatus(Buffer.alloc(0))).toBeUndefined();
    const base = decodeKrbError(DISABLED);
    const e = new KrbError({ ...base, eData: methodData });
    expect(e.ntStatus).toBeUndefined();
    expect(e.message).not.toMatch(/NTSTATUS/);
  });

  it('other data types, short values and garbage are ignored, never thrown', () => {
    // KERB_AP_ERR_TYPE_SKEW_RECOVERY (2) without a value
    expect(decodeKerbErrorData(h('3005a103020102'))).toEqual({ dataType: 2 });
    expect(extendedErrorStatus(h('3005a103020102'))).toBeUndefined();
    // type 3 with a 2-byte value
    expect(extendedErrorStatus(h('3009a103020103a2020400'))).toBeUndefined();
    for (const junk of ['00', '30', '3003a10102', 'ffffffff', '04020000']) {
      expect(extendedErrorStatus(h(junk))).toBeUndefined();
    }
  });

  it('unknown statuses are shown as numbers', () => {
    expect(describeNtStatus(0xc0000234)).toBe('NTSTATUS 0xc0000234 STATUS_ACCOUNT_LOCKED_OUT: the account is locked out');
    expect(describeNtStatus(0xc0001234)).toBe('NTSTATUS 0xc0001234');
    expect(ntStatusInfo(0xc0001234)).toEqual({ code: 0xc0001234, hex: '0xc0001234', name: null, meaning: null });
  });
});
