// gssx_status rendering (RFC 2744 §3.9.1 major status layout; docs/gssproxy-protocol.md#error-model) and the
// mapping to the upcall's failure kinds. Server strings are the ones the live daemon sent.
import { describe, expect, it } from 'vitest';
import { Oid } from '../../../src/gssproxy/constants.ts';
import type { GssxStatus } from '../../../src/gssproxy/protocol.ts';
import {
  GssRoutine,
  K5G_TABLE_BASE,
  KRB5_TABLE_BASE,
  classifyStatus,
  isGssError,
  majorName,
  renderStatus,
  statusText,
} from '../../../src/gssproxy/status.ts';

function status(majorStatus: number, minorStatus: number, majorText = '', minorText = ''): GssxStatus {
  const nul = (s: string) => (s ? Buffer.from(`${s}\0`) : Buffer.alloc(0));
  return {
    majorStatus,
    minorStatus,
    mech: Oid.KRB5,
    majorStatusString: nul(majorText),
    minorStatusString: nul(minorText),
    serverCtx: Buffer.alloc(0),
    options: [],
  };
}

const UNSPECIFIED = 'Unspecified GSS failure.  Minor code may provide more information';

describe('rendering', () => {
  it('server strings win, NUL stripped, "major: minor" (live: unknown server principal)', () => {
    const s = status(
      GssRoutine.FAILURE,
      KRB5_TABLE_BASE + 7,
      UNSPECIFIED,
      'Server cifs/nosuch.example.com@EXAMPLE.COM not found in Kerberos database',
    );
    const r = renderStatus(s);
    expect(r.text).toBe(`${UNSPECIFIED}: Server cifs/nosuch.example.com@EXAMPLE.COM not found in Kerberos database`);
    expect(r.fromServer).toBe(true);
    expect(r.majorName).toBe('GSS_S_FAILURE');
    expect(r.text).not.toContain('\0');
  });

  it('falls back to local tables when the daemon sent no text', () => {
    expect(renderStatus(status(GssRoutine.FAILURE, KRB5_TABLE_BASE + 13)).text).toBe(
      `${UNSPECIFIED}: KDC can't fulfill requested option (KDC_ERR_BADOPTION)`,
    );
    expect(renderStatus(status(GssRoutine.NO_CRED, K5G_TABLE_BASE)).minorText).toBe(
      'Principal in credential cache does not match desired name (KG_CCACHE_NOMATCH)',
    );
    expect(renderStatus(status(GssRoutine.FAILURE, 22)).minorText).toBe('Invalid argument (EINVAL)');
    expect(renderStatus(status(GssRoutine.FAILURE, KRB5_TABLE_BASE + 156)).minorText).toMatch(/Cannot contact any KDC/);
    expect(renderStatus(status(GssRoutine.FAILURE, 0x12345678)).minorText).toBe('minor 0x12345678 (mech 1.2.840.113554.1.2.2)');
    expect(renderStatus(status(GssRoutine.UNAVAILABLE, 0)).text).toBe('The operation or option is not available');
  });

  it('names every part of a major status', () => {
    expect(majorName(0)).toBe('GSS_S_COMPLETE');
    expect(majorName(1)).toBe('GSS_S_CONTINUE_NEEDED');
    expect(majorName(0x01020000)).toBe('GSS_S_CALL_INACCESSIBLE_READ|GSS_S_BAD_NAME');
    expect(majorName(GssRoutine.NO_CRED)).toBe('GSS_S_NO_CRED');
    expect(isGssError(1)).toBe(false);
    expect(isGssError(GssRoutine.FAILURE | 1)).toBe(true);
  });

  it('statusText strips every trailing NUL only', () => {
    expect(statusText(Buffer.from('a\0b\0\0'))).toBe('a\0b');
    expect(statusText(Buffer.alloc(0))).toBe('');
  });
});

describe('classification for the upcall', () => {
  const cases: Array<[string, GssxStatus, string]> = [
    ['NO_CRED (socket without impersonation)', status(GssRoutine.NO_CRED, KRB5_TABLE_BASE + 195), 'no-credentials'],
    ['unknown service principal', status(GssRoutine.FAILURE, KRB5_TABLE_BASE + 7), 'service-unknown'],
    ['unknown client (user without principal)', status(GssRoutine.FAILURE, KRB5_TABLE_BASE + 6), 'refused'],
    ['BADOPTION (delegation refused)', status(GssRoutine.FAILURE, KRB5_TABLE_BASE + 13), 'refused'],
    ['clock skew', status(GssRoutine.FAILURE, KRB5_TABLE_BASE + 37), 'refused'],
    ['KDC unreachable', status(GssRoutine.FAILURE, KRB5_TABLE_BASE + 156), 'unreachable'],
    ['ccache name mismatch', status(GssRoutine.FAILURE, K5G_TABLE_BASE), 'no-credentials'],
    ['ENOENT (no passwd entry)', status(GssRoutine.FAILURE, 2), 'no-credentials'],
    ['EINVAL (bad option)', status(GssRoutine.FAILURE, 22), 'config'],
    ['UNAUTHORIZED (gp_cred_allowed)', status(GssRoutine.UNAUTHORIZED, 0), 'refused'],
    ['BAD_MECH', status(GssRoutine.BAD_MECH, 0), 'config'],
    ['CREDENTIALS_EXPIRED', status(GssRoutine.CREDENTIALS_EXPIRED, 0), 'no-credentials'],
  ];
  for (const [what, s, kind] of cases) {
    it(`${what} → ${kind}`, () => expect(classifyStatus(s).kind).toBe(kind));
  }

  it("the reason is the KDC's words as the daemon sent them", () => {
    expect(classifyStatus(status(GssRoutine.FAILURE, KRB5_TABLE_BASE + 13, UNSPECIFIED, "KDC can't fulfill requested option")).reason).toBe(
      "KDC can't fulfill requested option",
    );
  });
});
