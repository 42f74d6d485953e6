// The refusals Active Directory gives reach the trace and syslog with the
// directory's reason. Each case runs the production bundle (test/harness/ad/ad-upcall.ts) against the
// Samba 4.22 AD DC through a recording relay (samba-ad-kdc-tap.ts), so three accounts of one
// refusal are compared: the KRB-ERROR on the wire (code, e-text, e-data), the DC's own log line
// (its `reason=`, which it never sends), and what the upcall wrote to its trace_file and logged at
// LOG_ERR (--verbose copies each syslog line to stderr as sent). The gssproxy path runs through a
// second gssproxy 0.9.1 whose KDC traffic goes through the tap: the KDC's error reaches us only as
// the krb5 error code in gssproxy's minor status, and our text must still say what the DC said.
//
//   NOT_DELEGATED ("sensitive") user      S4U2Proxy → KDC_ERR_BADOPTION (v1 and v2)
//   Protected Users member                Samba 4.22 delegates it (Windows refuses): recorded
//   disabled account                      S4U2Self → KDC_ERR_POLICY; own TGT after disabling →
//                                         TGS KDC_ERR_POLICY; keytab AS → KDC_ERR_CLIENT_REVOKED
//                                         with NTSTATUS STATUS_ACCOUNT_DISABLED in e-data
//   password must change (pwdLastSet 0)   S4U2Proxy → KDC_ERR_KEY_EXPIRED; keytab AS →
//                                         KDC_ERR_KEY_EXPIRED with STATUS_PASSWORD_MUST_CHANGE
//   no AD account                         S4U2Self → KDC_ERR_C_PRINCIPAL_UNKNOWN
//   RBCD removed live from FS2$           S4U2Proxy → KDC_ERR_BADOPTION; restored → accepted
//   FAST on                               the same texts (gssproxy armors; our AS-REQ is plain)
import { chmodSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCodeInfo } from '../../src/krb5/iana/error-code.ts';
import {
  acceptPayload,
  AdUpcallRunner,
  dcLogLine,
  traceOf,
  traceText,
  type AdUpcallOptions,
  type AdUpcallResult,
} from '../harness/ad/ad-upcall.ts';
import { InteropTable } from '../harness/ad/ad-interop-table.ts';
import { logMark } from '../harness/realm/realm.ts';
import {
  accountDn,
  adKinit,
  adUserEnv,
  modifyDirectory,
  ROOT,
  runAsUser,
  startAdDomain,
  startExtraGssproxy,
  writeKrb5Conf,
  type AdDomain,
  type AdEnv,
  type AdUser,
} from '../harness/ad/samba-ad.ts';
import { decodeKrbError, startKdcTap, type KdcTap, type KrbErrorInfo } from '../harness/ad/samba-ad-kdc-tap.ts';
import { assertedIdentity, PAC_LOGON_INFO, parsePac, SERVICE_ASSERTED_IDENTITY, type Pac } from '../harness/ad/samba-ad-pac.ts';

// RFC 4120 §7.5.9
const KDC_ERR_C_PRINCIPAL_UNKNOWN = 6;
const KDC_ERR_POLICY = 12;
const KDC_ERR_BADOPTION = 13;
const KDC_ERR_CLIENT_REVOKED = 18;
const KDC_ERR_KEY_EXPIRED = 23;
const KDC_ERR_PREAUTH_REQUIRED = 25;
/** userAccountControl NORMAL_ACCOUNT, and with ACCOUNTDISABLE */
const UAC_NORMAL = 0x200;
const UAC_DISABLED = 0x202;

let ad: AdDomain;
let env: AdEnv;
let runner: AdUpcallRunner;
let tap: KdcTap;
let tapConf: string;
let gp: { socket: string; log: string; clientsDir: string; stop(): Promise<void> };
const table = new InteropTable('ad-refusals.test.ts');
const keytabs: Record<string, string> = {};

beforeAll(async () => {
  ad = await startAdDomain();
  env = ad.env;
  runner = await AdUpcallRunner.create(env, 'ad-refusals');
  tap = await startKdcTap(env.kdc.port);
  tapConf = writeKrb5Conf(env, 'refusals-tap', { kdcPort: tap.port, tcpOnly: true });
  gp = await startExtraGssproxy(env, 'refusals', env.keytabs.machine, { krb5Conf: tapConf });
  // keytabs of user accounts (a service account's keytab for user=), made from their passwords
  for (const name of ['ad-disabled', 'ad-expired']) {
    const u = user(name);
    const path = join(runner.scratch, `${name}.keytab`);
    runAsUser(ROOT, '/usr/bin/ktutil', [], {
      env: adUserEnv(env),
      input: `addent -password -p ${u.principal} -k 1 -e aes256-cts-hmac-sha1-96\n${u.password}\nwkt ${path}\nquit\n`,
    });
    chmodSync(path, 0o600);
    keytabs[name] = path;
  }
}, 180_000);

afterAll(async () => {
  await gp?.stop();
  await tap?.close();
  await runner?.close();
  await ad?.stop();
});

const user = (name: string): AdUser => {
  const u = env.users[name];
  if (!u) throw new Error(`no test user ${name}`);
  return u;
};

/** The refusing KRB-ERRORs recorded since `from` (PREAUTH_REQUIRED round trips left out). */
function refusalsSince(from: number): KrbErrorInfo[] {
  return tap.exchanges
    .slice(from)
    .filter((e) => e.replyType === 30)
    .map((e) => decodeKrbError(e.reply))
    .filter((e): e is KrbErrorInfo => e !== null && e.errorCode !== KDC_ERR_PREAUTH_REQUIRED);
}

/** gssproxy keeps the impersonator's TGT and S4U tickets per uid: start each case from the KDC. */
function forgetGssproxyCredentials(): void {
  for (const f of readdirSync(gp.clientsDir)) rmSync(join(gp.clientsDir, f), { force: true });
}

interface Expected {
  /** the deciding KRB-ERROR on the wire */
  code: number;
  sname: string;
  /** NTSTATUS in e-data, e.g. "0xc0000072"; absent: no e-data at all */
  ntStatus?: string;
  /** what the trace and the LOG_ERR line must both say */
  says: string[];
  /**
   * What the DC logs: its `reason=` on the request's summary line, `null` when that line has
   * none, or for AS refusals the authentication audit's NTSTATUS (Samba 4.22 logs the AS-REQ
   * summary of a disabled account as "UNKNOWN--1765328366", without a reason).
   */
  dcReason: string | null | { audit: string };
  /** which exchange: "S4U2Self", "S4U2Proxy", "TGS", "AS" */
  step: string;
}

interface Refusal {
  r: AdUpcallResult;
  wire: KrbErrorInfo;
  /** the row's result text */
  summary: string;
}

async function refused(o: Omit<AdUpcallOptions, 'gssproxySocket' | 'krb5Conf'>, x: Expected): Promise<Refusal> {
  forgetGssproxyCredentials();
  const from = tap.exchanges.length;
  const mark = logMark(env.dc.log);
  const r = await runner.upcall({ ...o, gssproxySocket: gp.socket, krb5Conf: tapConf });
  const why = `${r.errors.join('\n')}\n${traceText(r)}`;
  expect(r.status, why).toBe(8); // no credential source produced a ticket
  expect(r.payload).toBeNull();
  // the wire: the last refusal is the deciding one
  const wire = refusalsSince(from).pop();
  expect(wire, `no KRB-ERROR recorded\n${why}`).toBeDefined();
  expect(wire).toMatchObject({ errorCode: x.code, eText: null, sname: x.sname });
  if (x.ntStatus) {
    expect(wire!.eDataEntries).toEqual([{ type: 3, value: expect.any(String), ntStatus: x.ntStatus }]);
  } else {
    expect(wire!.eData).toBeNull();
  }
  // one LOG_ERR line, and the trace, both with the reason
  expect(r.errors.length, r.stderr).toBe(1);
  const trace = traceOf(r, 'gssproxy', 'ccache', 'keytab', 'strategy');
  for (const phrase of x.says) {
    expect(r.errors[0], `syslog lacks ${JSON.stringify(phrase)}`).toContain(phrase);
    expect(trace, `trace lacks ${JSON.stringify(phrase)}`).toContain(phrase);
  }
  // the DC's own reason (logged, never sent)
  let dc: string;
  if (typeof x.dcReason === 'string') {
    const line = await dcLogLine(env, mark, new RegExp(`reason=${escapeRegExp(x.dcReason)}`));
    expect(line, `DC log reason=${x.dcReason}`).toBeDefined();
    dc = `; DC log: reason=${x.dcReason}`;
  } else if (x.dcReason === null) {
    const line = await dcLogLine(env, mark, new RegExp(`ERR_${errorCodeInfo(x.code).name.replace(/^KDC_ERR_/, '')} `));
    expect(line).toBeDefined();
    expect(line).not.toMatch(/reason=/);
    dc = '; DC log: no reason';
  } else {
    const line = await dcLogLine(env, mark, new RegExp(`^Auth: \\[Kerberos KDC,.* status \\[${x.dcReason.audit}\\]`), { anyLine: true });
    expect(line, `DC audit status ${x.dcReason.audit}`).toBeDefined();
    dc = `; DC audit log: status [${x.dcReason.audit}]`;
  }
  const name = errorCodeInfo(x.code).name;
  const eData = x.ntStatus ? `e-data KERB-EXT-ERROR NTSTATUS ${x.ntStatus}` : 'no e-text, no e-data';
  const summary =
    `refused, exit 8; wire: ${x.step} → KRB-ERROR ${x.code} ${name}, ${eData}; trace + syslog: ` +
    `${x.says.map((s) => `“${s}”`).join(' … ')}${dc}`;
  return { r, wire: wire!, summary };
}

const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const path = (r: AdUpcallResult, strategy: string): string => {
  const tried = r.trace
    .map((t) => /^(\w+) failed \(([\w-]+)\)/.exec(t.message))
    .filter((m) => m !== null && m[1] !== 'strategy')
    .map((m) => `${m![1]} ${m![2]}`);
  return `${strategy} → ${tried.join(', ')}`;
};

/** Protected Users' RID ([MS-DTYP] 2.4.2.4) */
const PROTECTED_USERS_RID = 525;

/**
 * A domain group among the PAC's KERB_VALIDATION_INFO GroupIds: an NDR GROUP_MEMBERSHIP
 * { RelativeId u32le, Attributes u32le = 7 (mandatory, enabled by default, enabled) }.
 */
function pacHasGroupRid(pac: Pac, rid: number): boolean {
  const membership = Buffer.alloc(8);
  membership.writeUInt32LE(rid, 0);
  membership.writeUInt32LE(7, 4);
  return pac.buffers.get(PAC_LOGON_INFO)?.includes(membership) ?? false;
}

const noCache = (u: AdUser): Record<string, string> => ({ KRB5CCNAME: `FILE:${env.ccacheDir}/adref_absent_${u.name}` });

describe('gssproxy impersonation refused by the directory', () => {
  it('NOT_DELEGATED ("account is sensitive and cannot be delegated"): v1 and v2 refused at S4U2Proxy', async () => {
    const u = user('ad-notdelegated');
    for (const [model, host] of [
      ['v1', env.hosts.fs1],
      ['v2 (RBCD)', env.hosts.fs2],
    ] as const) {
      const x = await refused(
        { as: u, host, strategy: 'local-first', app: noCache(u) },
        {
          code: KDC_ERR_BADOPTION,
          sname: `cifs/${host}`,
          step: 'S4U2Proxy',
          says: ["KDC can't fulfill requested option — constrained delegation refused (KDC_ERR_BADOPTION)", 'NOT_DELEGATED'],
          dcReason: 'Missing forwardable flag on ticket for constrained delegation',
        },
      );
      table.add(`NOT_DELEGATED user (ad-notdelegated) → cifs/${host.split('.')[0]}, ${model}`, path(x.r, 'local-first'), x.summary);
    }
  });

  it('Protected Users member: Samba 4.22 delegates it (a Windows DC refuses); the PAC shows the group', async () => {
    const u = user('ad-protected');
    for (const [model, host, keytab] of [
      ['v1', env.hosts.fs1, env.keytabs.fs1],
      ['v2 (RBCD)', env.hosts.fs2, env.keytabs.fs2],
    ] as const) {
      forgetGssproxyCredentials();
      const r = await runner.upcall({
        as: u,
        host,
        strategy: 'local-first',
        app: noCache(u),
        gssproxySocket: gp.socket,
        krb5Conf: tapConf,
      });
      expect(r.status, `${r.errors.join('\n')}\n${traceText(r)}`).toBe(0);
      const a = acceptPayload(env, keytab, r);
      expect(a.ok, a.error).toBe(true);
      expect(a.initiator).toBe('ad-protected@AD.TEST');
      expect(a.key).toBe(r.payload!.sessionKey.toString('hex'));
      const pac = parsePac(Buffer.from(a.pac!, 'hex'));
      expect(assertedIdentity(pac)).toBe(SERVICE_ASSERTED_IDENTITY);
      expect(pacHasGroupRid(pac, PROTECTED_USERS_RID)).toBe(true);
      table.add(
        `Protected Users member (ad-protected) → cifs/${host.split('.')[0]}, ${model}`,
        'local-first → ccache no-credentials, gssproxy',
        'NOT refused by Samba 4.22: accepted as ad-protected@AD.TEST, keys equal, PAC has Protected Users (RID 525) and S-1-18-2 ' +
          '(Windows DCs do not delegate Protected Users; that cannot be shown with Samba)',
      );
    }
  });

  it('disabled account: S4U2Self refused with KDC_ERR_POLICY', async () => {
    const u = user('ad-disabled');
    const x = await refused(
      { as: u, host: env.hosts.fs1, strategy: 'local-first', app: noCache(u) },
      {
        code: KDC_ERR_POLICY,
        sname: 'CLIENT$',
        step: 'S4U2Self',
        says: [
          "KDC policy rejects request — the KDC's policy refuses a ticket for the user (KDC_ERR_POLICY; an Active Directory DC answers so to S4U2Self for a disabled account)",
        ],
        dcReason: 'Principal may not act as client',
      },
    );
    table.add('disabled account (ad-disabled) → cifs/fs1, v1', path(x.r, 'local-first'), x.summary);
  });

  it('password must change (pwdLastSet = 0): S4U2Self succeeds, S4U2Proxy refused with KDC_ERR_KEY_EXPIRED', async () => {
    const u = user('ad-expired');
    const x = await refused(
      { as: u, host: env.hosts.fs2, strategy: 'local-first', app: noCache(u) },
      {
        code: KDC_ERR_KEY_EXPIRED,
        sname: 'cifs/fs2.ad.test',
        step: 'S4U2Proxy',
        says: ["Password has expired — the user's password has expired or must be changed (KDC_ERR_KEY_EXPIRED)"],
        dcReason: "Client's key has expired at 1970-01-01T00:00:00",
      },
    );
    table.add('password must change (ad-expired) → cifs/fs2, v2', path(x.r, 'local-first'), x.summary);
  });

  it('a local user with no AD account: S4U2Self refused with KDC_ERR_C_PRINCIPAL_UNKNOWN', async () => {
    const u = user('ad-nobody');
    const x = await refused(
      { as: u, host: env.hosts.fs1, strategy: 'local-first', app: noCache(u) },
      {
        code: KDC_ERR_C_PRINCIPAL_UNKNOWN,
        sname: 'CLIENT$',
        step: 'S4U2Self',
        says: ['no principal for ad-nobody in the realm'],
        dcReason: 'S4U2Self principal to impersonate not found',
      },
    );
    table.add('no AD account (ad-nobody, local only) → cifs/fs1', path(x.r, 'local-first'), x.summary);
  });

  it('RBCD removed live from FS2$: refused with KDC_ERR_BADOPTION; restored: accepted again', async () => {
    const u = user('ad-alice');
    modifyDirectory(env, `dn: ${accountDn('FS2$')}\nchangetype: modify\ndelete: msDS-AllowedToActOnBehalfOfOtherIdentity\n`);
    let x: Refusal;
    try {
      x = await refused(
        { as: u, host: env.hosts.fs2, strategy: 'local-first', app: noCache(u) },
        {
          code: KDC_ERR_BADOPTION,
          sname: 'cifs/fs2.ad.test',
          step: 'S4U2Proxy',
          says: [
            "KDC can't fulfill requested option — constrained delegation refused (KDC_ERR_BADOPTION)",
            'msDS-AllowedToActOnBehalfOfOtherIdentity',
          ],
          dcReason: 'Constrained delegation not allowed',
        },
      );
    } finally {
      modifyDirectory(
        env,
        `dn: ${accountDn('FS2$')}\nchangetype: modify\nreplace: msDS-AllowedToActOnBehalfOfOtherIdentity\n` +
          `msDS-AllowedToActOnBehalfOfOtherIdentity: O:BAD:(A;;0xf01ff;;;${env.sids['CLIENT$']})\n`,
      );
    }
    table.add(
      "no delegation to that server: FS2$'s msDS-AllowedToActOnBehalfOfOtherIdentity removed live, ad-alice → cifs/fs2",
      path(x.r, 'local-first'),
      x.summary,
    );
    forgetGssproxyCredentials();
    const r = await runner.upcall({
      as: u,
      host: env.hosts.fs2,
      strategy: 'local-first',
      app: noCache(u),
      gssproxySocket: gp.socket,
      krb5Conf: tapConf,
    });
    const a = acceptPayload(env, env.keytabs.fs2, r);
    expect(a.ok, a.error).toBe(true);
    expect(a.key).toBe(r.payload!.sessionKey.toString('hex'));
    // the control for the Protected Users check: ad-alice is not a member
    expect(pacHasGroupRid(parsePac(Buffer.from(a.pac!, 'hex')), PROTECTED_USERS_RID)).toBe(false);
    table.add('… the descriptor restored live', 'local-first → ccache no-credentials, gssproxy', `accepted as ${a.initiator}, keys equal`);
  });
});

describe('own ticket and keytab refused by the directory', () => {
  it('account disabled after kinit: the TGS-REQ is refused with KDC_ERR_POLICY (no e-data, no logged reason); gssproxy too', async () => {
    const u = user('ad-bob');
    const cc = `FILE:${env.ccacheDir}/adref_bob_${Date.now().toString(36)}`;
    expect(adKinit(env, u, cc).status).toBe(0);
    const dn = accountDn('ad-bob');
    modifyDirectory(env, `dn: ${dn}\nchangetype: modify\nreplace: userAccountControl\nuserAccountControl: ${UAC_DISABLED}\n`);
    try {
      // local-only: the user's own TGT is the only source
      const own = await refused(
        { as: u, host: env.hosts.fs1, strategy: 'local-only', app: { KRB5CCNAME: cc } },
        {
          code: KDC_ERR_POLICY,
          sname: 'cifs/fs1.ad.test',
          step: 'TGS',
          says: [
            'KDC policy rejects the request (KDC_ERR_POLICY, 12)',
            'an Active Directory DC answers so for an account disabled after its TGT was issued',
          ],
          dcReason: null,
        },
      );
      // MIT falls back once without canonicalize after such a refusal; so do we
      expect(traceOf(own.r, 'tgs')).toContain('refused the canonicalize request (KDC_ERR_POLICY); asking once more without canonicalize');
      table.add('account disabled after kinit (ad-bob): own TGT → cifs/fs1', path(own.r, 'local-only'), own.summary);
      // local-first: the impersonation is refused too (at S4U2Self)
      const both = await refused(
        { as: u, host: env.hosts.fs1, strategy: 'local-first', app: { KRB5CCNAME: cc } },
        {
          code: KDC_ERR_POLICY,
          sname: 'CLIENT$',
          step: 'TGS (own TGT), then S4U2Self',
          says: [
            'KDC policy rejects the request (KDC_ERR_POLICY, 12)',
            "KDC policy rejects request — the KDC's policy refuses a ticket for the user",
          ],
          dcReason: 'Principal may not act as client',
        },
      );
      table.add('… the same with local-first', path(both.r, 'local-first'), both.summary);
    } finally {
      modifyDirectory(env, `dn: ${dn}\nchangetype: modify\nreplace: userAccountControl\nuserAccountControl: ${UAC_NORMAL}\n`);
    }
    expect(adKinit(env, u, `FILE:${env.ccacheDir}/adref_bob_enabled`).status).toBe(0);
  });

  it('a server name the domain does not know and no trust leads to: the referral request and the realm walk are refused', async () => {
    const u = user('ad-alice');
    const cc = `FILE:${env.ccacheDir}/adref_alice_${Date.now().toString(36)}`;
    expect(adKinit(env, u, cc).status).toBe(0);
    const x = await refused(
      { as: u, host: 'files.example.org', strategy: 'local-only', app: { KRB5CCNAME: cc } },
      {
        code: 7,
        sname: 'krbtgt/TEST',
        step: 'TGS (referral request for cifs/files.example.org, then krbtgt/EXAMPLE.ORG, ORG, TEST)',
        says: [
          'AD.TEST KDC does not know cifs/files.example.org@AD.TEST (KDC_ERR_S_PRINCIPAL_UNKNOWN to the referral request), and no cross-realm TGT leads from AD.TEST to the fallback realm EXAMPLE.ORG of files.example.org',
        ],
        dcReason: 'Service principal unknown',
      },
    );
    expect(traceOf(x.r, 'tgs')).toContain(
      'AD.TEST refused the referral request (KDC_ERR_S_PRINCIPAL_UNKNOWN); trying the fallback realm EXAMPLE.ORG of files.example.org',
    );
    expect(x.r.kdc.join('\n')).toMatch(/TGS-REQ ERR_S_PRINCIPAL_UNKNOWN .* ad-alice@AD\.TEST cifs\/files\.example\.org@AD\.TEST/);
    table.add(
      'own ticket, host=files.example.org (no [domain_realm] entry; AD.TEST has no trust): no referral from the DC',
      path(x.r, 'local-only'),
      x.summary,
    );
  });

  it('keytab for a disabled account: AS refused with KDC_ERR_CLIENT_REVOKED and NTSTATUS STATUS_ACCOUNT_DISABLED', async () => {
    const x = await refused(
      { as: ROOT, host: env.hosts.fs1, strategy: 'local-only', mountUser: 'ad-disabled', app: null, keytab: keytabs['ad-disabled'] },
      {
        code: KDC_ERR_CLIENT_REVOKED,
        sname: 'krbtgt/AD.TEST',
        step: 'AS',
        ntStatus: '0xc0000072',
        says: [
          "AD.TEST KDC refused AS-REQ for ad-disabled@AD.TEST: client's credentials have been revoked (KDC_ERR_CLIENT_REVOKED, 18) for krbtgt/AD.TEST@AD.TEST; the directory says NTSTATUS 0xc0000072 STATUS_ACCOUNT_DISABLED: the account is disabled",
        ],
        dcReason: { audit: 'NT_STATUS_ACCOUNT_DISABLED' },
      },
    );
    table.add('keytab: user=ad-disabled (uid 0), -K a keytab of the disabled account', path(x.r, 'local-only'), x.summary);
  });

  it('keytab for an account whose password must change: KDC_ERR_KEY_EXPIRED with NTSTATUS STATUS_PASSWORD_MUST_CHANGE', async () => {
    const x = await refused(
      { as: ROOT, host: env.hosts.fs1, strategy: 'local-only', mountUser: 'ad-expired', app: null, keytab: keytabs['ad-expired'] },
      {
        code: KDC_ERR_KEY_EXPIRED,
        sname: 'krbtgt/AD.TEST',
        step: 'AS',
        ntStatus: '0xc0000224',
        says: [
          'password has expired (KDC_ERR_KEY_EXPIRED, 23) for krbtgt/AD.TEST@AD.TEST; the directory says NTSTATUS 0xc0000224 STATUS_PASSWORD_MUST_CHANGE: the password must be changed before the account can log on',
        ],
        dcReason: { audit: 'NT_STATUS_PASSWORD_MUST_CHANGE' },
      },
    );
    table.add('keytab: user=ad-expired (uid 0), -K a keytab of the account (pwdLastSet = 0)', path(x.r, 'local-only'), x.summary);
  });
});

describe("FAST on (Samba's default)", () => {
  it('the same reasons: gssproxy armors (MIT decrypts the inner error), our AS-REQ is plain so the NTSTATUS is in the clear', async () => {
    await ad.restartDc({ kdcFast: true });
    expect(env.kdc.fast).toBe(true);
    const u = user('ad-notdelegated');
    const mark = logMark(env.dc.log);
    forgetGssproxyCredentials();
    const from = tap.exchanges.length;
    const r = await runner.upcall({
      as: u,
      host: env.hosts.fs1,
      strategy: 'local-first',
      app: noCache(u),
      gssproxySocket: gp.socket,
      krb5Conf: tapConf,
    });
    expect(r.status).toBe(8);
    const phrase = "KDC can't fulfill requested option — constrained delegation refused (KDC_ERR_BADOPTION)";
    expect(r.errors[0]).toContain(phrase);
    expect(traceOf(r, 'gssproxy')).toContain(phrase);
    // on the wire only the outer error: the real one is inside PA-FX-FAST (136), encrypted
    const outer = refusalsSince(from).pop();
    expect(outer?.eDataEntries?.map((e) => e.type)).toContain(136);
    expect(
      await dcLogLine(env, mark, /TGS-REQ ERR_BADOPTION .*armor_client_name=CLIENT\$@AD\.TEST reason=Missing forwardable flag/),
    ).toBeDefined();
    table.add(
      'FAST on: NOT_DELEGATED user → cifs/fs1 through gssproxy',
      path(r, 'local-first'),
      `refused, exit 8; wire: the KRB-ERROR ${outer!.errorCode} carries only PA-FX-FAST (136), the real one is encrypted inside; ` +
        `trace + syslog: “${phrase}” (gssproxy's MIT unwrapped it); DC log: armor_client_name=CLIENT$@AD.TEST reason=Missing forwardable flag on ticket for constrained delegation`,
    );

    const k = await refused(
      { as: ROOT, host: env.hosts.fs1, strategy: 'local-only', mountUser: 'ad-disabled', app: null, keytab: keytabs['ad-disabled'] },
      {
        code: KDC_ERR_CLIENT_REVOKED,
        sname: 'krbtgt/AD.TEST',
        step: 'AS (not armored)',
        ntStatus: '0xc0000072',
        says: ['the directory says NTSTATUS 0xc0000072 STATUS_ACCOUNT_DISABLED: the account is disabled'],
        dcReason: { audit: 'NT_STATUS_ACCOUNT_DISABLED' },
      },
    );
    table.add('FAST on: keytab, user=ad-disabled', path(k.r, 'local-only'), k.summary);
  });
});

describe('docs/ad-interop.md', () => {
  it('shows the results of this file (CIFS_UPCALL_UPDATE_AD_DOC=1 rewrites the section)', () => {
    expect(table.size).toBeGreaterThanOrEqual(15);
    const { documented, rendered } = table.syncOrExpected();
    expect(documented, "the document's table differs from what the tests proved; rerun with CIFS_UPCALL_UPDATE_AD_DOC=1").toBe(rendered);
  });
});
