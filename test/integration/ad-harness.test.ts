// The AD test domain itself (test/harness/ad/samba-ad.ts): the real MIT tools, python3-gssapi,
// gssproxy 0.9.1 and Samba's own smbd agree with a Samba 4.22 AD DC before any of our code is
// involved. A failure here is an environment problem, not a product bug. The KRB-ERRORs recorded
// here (code, e-text, e-data) are the ones the product has to surface; docs/design/samba-ad.md
// has the table.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Acceptor } from '../harness/common/acceptor.ts';
import { logMark, logSince } from '../harness/realm/realm.ts';
import {
  accountDn,
  acceptWithPac,
  adKinit,
  adUserEnv,
  inDcNamespace,
  kdcRequestLines,
  mitInitiate,
  modifyDirectory,
  ROOT,
  runAsUser,
  runAsUserAsync,
  startAdDomain,
  startExtraGssproxy,
  writeKrb5Conf,
  type AdDomain,
  type AdEnv,
  type AdUser,
} from '../harness/ad/samba-ad.ts';
import { decodeKrbError, startKdcTap, type KdcTap, type KrbErrorInfo } from '../harness/ad/samba-ad-kdc-tap.ts';
import {
  assertedIdentity,
  AUTHENTICATION_AUTHORITY_ASSERTED_IDENTITY,
  PAC_DELEGATION_INFO,
  parsePac,
  SERVICE_ASSERTED_IDENTITY,
  upnDnsInfo,
  utf16Strings,
} from '../harness/ad/samba-ad-pac.ts';

// RFC 4120 §7.5.9 error codes, [MS-ERREF] NTSTATUS values
const KDC_ERR_C_PRINCIPAL_UNKNOWN = 6;
const KDC_ERR_POLICY = 12;
const KDC_ERR_BADOPTION = 13;
const KDC_ERR_CLIENT_REVOKED = 18;
const KDC_ERR_KEY_EXPIRED = 23;
const STATUS_ACCOUNT_DISABLED = '0xc0000072';
const STATUS_PASSWORD_MUST_CHANGE = '0xc0000224';

let ad: AdDomain;
let env: AdEnv;
let acceptor: Acceptor;
let tap: KdcTap;
/** client krb5.conf pointing at the tap, TCP only, so every exchange is recorded */
let tapConf: string;

beforeAll(async () => {
  ad = await startAdDomain({ traceNetwork: true });
  env = ad.env;
  process.stderr.write(`[ad] ${env.stateDir} ${JSON.stringify(env.timings)}\n`);
  acceptor = new Acceptor(env);
  tap = await startKdcTap(env.kdc.port);
  tapConf = writeKrb5Conf(env, 'tap', { kdcPort: tap.port, tcpOnly: true });
}, 180_000);

afterAll(async () => {
  acceptor?.close();
  await tap?.close();
  const t = Date.now();
  await ad?.stop();
  process.stderr.write(`[ad] stopped in ${Date.now() - t} ms\n`);
});

const user = (name: string): AdUser => {
  const u = env.users[name];
  if (!u) throw new Error(`no test user ${name}`);
  return u;
};

/** KRB-ERRORs the tap recorded since `from` (an index into tap.exchanges). */
const errorsSince = (from: number): KrbErrorInfo[] =>
  tap.exchanges
    .slice(from)
    .filter((e) => e.replyType === 30)
    .map((e) => decodeKrbError(e.reply))
    .filter((e): e is KrbErrorInfo => e !== null);

/** The decisive (last) KRB-ERROR, ignoring the PREAUTH_REQUIRED round trips of the AS exchange. */
const lastRefusal = (from: number): KrbErrorInfo | undefined =>
  errorsSince(from)
    .filter((e) => e.errorCode !== 25)
    .pop();

/** CLIENT$'s TGT from its keytab, through the tap; the cache for kvno -U -P. */
async function machineCcache(name: string): Promise<string> {
  const cc = `FILE:${env.ccacheDir}/machine_${name}`;
  const r = await runAsUserAsync(ROOT, '/usr/bin/kinit', ['-k', '-t', env.keytabs.machine, 'CLIENT$'], {
    env: adUserEnv(env, { KRB5CCNAME: cc, KRB5_CONFIG: tapConf }),
  });
  expect(r.status, r.stderr).toBe(0);
  return cc;
}

/** S4U2Self + S4U2Proxy with MIT's kvno, through the tap; returns exit status, message, KDC log. */
async function kvnoS4u(
  cc: string,
  who: string,
  service: string,
  extra: string[] = [],
): Promise<{ status: number; stderr: string; kdc: string[]; from: number }> {
  const from = tap.exchanges.length;
  const mark = logMark(env.dc.log);
  const r = await runAsUserAsync(ROOT, '/usr/bin/kvno', ['-U', who, '-P', ...extra, service], {
    env: adUserEnv(env, { KRB5CCNAME: cc, KRB5_CONFIG: tapConf }),
  });
  await settle(); // the DC writes its log line after replying
  return { status: r.status, stderr: r.stderr.trim(), kdc: kdcRequestLines(logSince(env.dc.log, mark)), from };
}

describe('installation and isolation', () => {
  it('Samba 4.22 runs in the overlay namespace; the host keeps the stock Debian 12 tools', () => {
    expect(inDcNamespace(env, '/usr/sbin/samba', ['-V']).stdout).toMatch(/^Version 4\.22\./);
    expect(env.sambaVersion).toMatch(/^2:4\.22\./);
    // outside the namespace: stock smbd/smbclient 4.17, MIT 1.20, cifs-utils 7.0, gssproxy 0.9.1
    expect(runAsUser(ROOT, '/usr/sbin/smbd', ['-V'], { env: adUserEnv(env) }).stdout).toMatch(/^Version 4\.17\./);
    expect(runAsUser(ROOT, '/usr/bin/smbclient', ['-V'], { env: adUserEnv(env) }).stdout).toMatch(/^Version 4\.17\./);
    expect(runAsUser(ROOT, '/usr/bin/klist', ['-V'], { env: adUserEnv(env) }).stdout).toContain('Kerberos 5 version 1.20');
    expect(runAsUser(ROOT, '/usr/sbin/cifs.upcall', ['--version'], { env: adUserEnv(env) }).stdout).toContain('7.0');
    expect(runAsUser(ROOT, '/usr/sbin/gssproxy', ['--version'], { env: adUserEnv(env), allowFail: true }).stdout).toContain('0.9.1');
    expect(
      runAsUser(ROOT, '/usr/bin/python3', ['-c', 'import gssapi, samba; print(samba.version)'], { env: adUserEnv(env) }).stdout,
    ).toMatch(/^4\.17\./);
  });

  it('the DC listens on 127.0.0.1 only and never sends to a non-loopback address', () => {
    const conf = readFileSync(env.dc.smbConf, 'utf8');
    expect(conf).not.toMatch(/dns forwarder/);
    expect(conf).toMatch(/server services = s3fs, rpc, kdc, winbindd\n/);
    // every listening socket of the DC's processes
    const listening = run2('ss', ['-Hltunp'])
      .split('\n')
      .filter((l) => dcPids().some((p) => l.includes(`pid=${p},`)));
    expect(listening.length).toBeGreaterThanOrEqual(4);
    for (const l of listening) expect(l.split(/\s+/)[4]).toMatch(/^127\.0\.0\.1:\d+$/);
    // the strace of the DC's connect/sendto/sendmsg/bind since its start
    const trace = readFileSync(env.dc.networkTrace!, 'utf8')
      .split('\n')
      .filter((l) => /AF_INET/.test(l));
    expect(trace.length).toBeGreaterThan(0);
    for (const l of trace) {
      for (const m of l.matchAll(/inet_(?:addr|pton)\((?:AF_INET6?, )?"([^"]+)"/g))
        expect(m[1]).toMatch(/^(127\.\d+\.\d+\.\d+|::1|0\.0\.0\.0|::)$/);
    }
    expect(trace.join('\n')).not.toMatch(/htons\(53\)/);
  });
});

function run2(cmd: string, args: string[]): string {
  return runAsUser(ROOT, `/usr/bin/${cmd}`, args, { env: adUserEnv(env) }).stdout;
}

/** The processes in the DC's mount namespace (samba, smbd, winbindd, and strace around them). */
function dcPids(): number[] {
  return readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .map(Number)
    .filter((p) => {
      try {
        return readlinkSync(`/proc/${p}/ns/mnt`) === env.dc.mountNamespace;
      } catch {
        return false;
      }
    });
}

/** "11/27/26 03:09:38" (MIT klist, C locale) as milliseconds since the epoch, UTC. */
function klistTime(s: string): number {
  const m = /^(\d\d)\/(\d\d)\/(\d\d) (\d\d):(\d\d):(\d\d)$/.exec(s);
  if (!m) throw new Error(`not a klist time: ${s}`);
  const [, mo, d, y, h, mi, se] = m.map(Number) as [number, number, number, number, number, number, number];
  return Date.UTC(2000 + y, mo - 1, d, h, mi, se);
}

const settle = (): Promise<void> => new Promise((res) => setTimeout(res, 50));

describe('own tickets: kinit and kvno against the DC', () => {
  it('AES user: AES256 TGT and cifs/fs1 ticket', () => {
    const cc = `FILE:${env.ccacheDir}/alice_own`;
    const mark = logMark(env.dc.log);
    expect(adKinit(env, user('ad-alice'), cc).status).toBe(0);
    runAsUser(user('ad-alice'), '/usr/bin/kvno', ['cifs/fs1.ad.test'], { env: adUserEnv(env, { KRB5CCNAME: cc }) });
    const klist = runAsUser(user('ad-alice'), '/usr/bin/klist', ['-e', '-c', cc], { env: adUserEnv(env) }).stdout;
    expect(klist).toMatch(/cifs\/fs1\.ad\.test@AD\.TEST\n.*Etype \(skey, tkt\): aes256-cts-hmac-sha1-96, aes256-cts-hmac-sha1-96/);
    const log = kdcRequestLines(logSince(env.dc.log, mark)).join('\n');
    expect(log).toMatch(/AS-REQ SUCCESS .* ad-alice@AD\.TEST krbtgt\/AD\.TEST@AD\.TEST .*pa-etype=18/);
    expect(log).toMatch(/TGS-REQ SUCCESS .* ad-alice@AD\.TEST cifs\/fs1\.ad\.test@AD\.TEST/);
  });

  it('RC4 user: the AS reply key is RC4 (the account has no AES keys); an RC4 service gives RC4 tickets', () => {
    const cc = `FILE:${env.ccacheDir}/rc4_own`;
    const mark = logMark(env.dc.log);
    expect(adKinit(env, user('ad-rc4'), cc).status).toBe(0);
    runAsUser(user('ad-rc4'), '/usr/bin/kvno', ['cifs/fs1.ad.test', 'cifs/fsrc4.ad.test'], { env: adUserEnv(env, { KRB5CCNAME: cc }) });
    const log = kdcRequestLines(logSince(env.dc.log, mark)).join('\n');
    expect(log).toMatch(/AS-REQ SUCCESS .* ad-rc4@AD\.TEST krbtgt\/AD\.TEST@AD\.TEST pa=ENC-TS etype=23\/18 .*pa-etype=23/);
    const klist = runAsUser(user('ad-rc4'), '/usr/bin/klist', ['-e', '-c', cc], { env: adUserEnv(env) }).stdout;
    expect(klist).toMatch(/cifs\/fs1\.ad\.test@AD\.TEST\n.*aes256-cts-hmac-sha1-96, aes256-cts-hmac-sha1-96/);
    expect(klist).toMatch(/cifs\/fsrc4\.ad\.test@AD\.TEST\n.*Etype \(skey, tkt\): DEPRECATED:arcfour-hmac, DEPRECATED:arcfour-hmac/);
  });

  it('Protected Users: 4-hour TGT (AS side of the protection is enforced)', () => {
    const cc = `FILE:${env.ccacheDir}/protected_own`;
    expect(adKinit(env, user('ad-protected'), cc).status).toBe(0);
    const klist = runAsUser(user('ad-protected'), '/usr/bin/klist', ['-c', cc], { env: adUserEnv(env) }).stdout;
    const m = /(\d\d\/\d\d\/\d\d \d\d:\d\d:\d\d)\s+(\d\d\/\d\d\/\d\d \d\d:\d\d:\d\d)\s+krbtgt/.exec(klist);
    expect(m, klist).not.toBeNull();
    expect((klistTime(m![2]!) - klistTime(m![1]!)) / 3_600_000).toBe(4);
  });

  it('disabled and password-expired users are refused at AS with the NTSTATUS in e-data', async () => {
    let from = tap.exchanges.length;
    const disabled = user('ad-disabled');
    let r = await runAsUserAsync(disabled, '/usr/bin/kinit', [disabled.principal!], {
      env: adUserEnv(env, { KRB5CCNAME: `FILE:${env.ccacheDir}/disabled_own`, KRB5_CONFIG: tapConf }),
      input: `${disabled.password}\n`,
    });
    expect(r.stderr).toContain("Client's credentials have been revoked while getting initial credentials");
    let e = lastRefusal(from);
    expect(e).toMatchObject({ errorCode: KDC_ERR_CLIENT_REVOKED, eText: null, cname: 'ad-disabled', sname: 'krbtgt/AD.TEST' });
    expect(e!.eDataEntries).toEqual([{ type: 3, value: '720000c00000000001000000', ntStatus: STATUS_ACCOUNT_DISABLED }]);

    from = tap.exchanges.length;
    const expired = user('ad-expired');
    r = await runAsUserAsync(expired, '/usr/bin/kinit', [expired.principal!], {
      env: adUserEnv(env, { KRB5CCNAME: `FILE:${env.ccacheDir}/expired_own`, KRB5_CONFIG: tapConf }),
      input: `${expired.password}\n`,
    });
    expect(r.status).not.toBe(0); // kinit then wants a new password (kadmin/changepw)
    e = errorsSince(from).find((x) => x.errorCode === KDC_ERR_KEY_EXPIRED);
    expect(e).toMatchObject({ eText: null, cname: 'ad-expired', sname: 'krbtgt/AD.TEST' });
    expect(e!.eDataEntries).toEqual([{ type: 3, value: '240200c00000000001000000', ntStatus: STATUS_PASSWORD_MUST_CHANGE }]);
  });
});

describe("acceptor oracle with the servers' exported keytabs", () => {
  it('accepts an MIT SPNEGO token for cifs/fs1, agrees on the session key, and sees a verified PAC', async () => {
    const cc = `FILE:${env.ccacheDir}/alice_oracle`;
    expect(adKinit(env, user('ad-alice'), cc).status).toBe(0);
    const first = await mitInitiate(env, user('ad-alice'), 'fs1.ad.test', { ccache: cc });
    expect(first.ok, first.error).toBe(true);
    // the shared acceptor (acceptor.ts) the product tests use
    const a = await acceptor.accept(env.keytabs.fs1, Buffer.from(first.token!, 'hex'));
    expect(a.ok, a.error).toBe(true);
    expect(a.initiator).toBe('ad-alice@AD.TEST');
    expect(a.target).toBe('cifs/fs1.ad.test@AD.TEST');
    expect(a.key).toBe(first.key);
    expect(a.key).toMatch(/^[0-9a-f]{64}$/);
    // a fresh token for the PAC-reading acceptor (replay cache)
    const second = await mitInitiate(env, user('ad-alice'), 'fs1.ad.test', { ccache: cc });
    const p = acceptWithPac(env, env.keytabs.fs1, second.token!);
    expect(p.ok, p.error).toBe(true);
    expect(p.key).toBe(second.key);
    expect(p.pacVerified).toBe(true);
    const pac = parsePac(Buffer.from(p.pac!, 'hex'));
    expect(assertedIdentity(pac)).toBe(AUTHENTICATION_AUTHORITY_ASSERTED_IDENTITY);
    expect(upnDnsInfo(pac)).toEqual({ upn: 'ad-alice@ad.test', dnsDomain: 'AD.TEST', samName: 'ad-alice', sid: user('ad-alice').sid });
    expect(pac.buffers.has(PAC_DELEGATION_INFO)).toBe(false);
  });

  it('RC4-only service: 128-bit RC4 session key, still with a PAC', async () => {
    const cc = `FILE:${env.ccacheDir}/bob_rc4svc`;
    expect(adKinit(env, user('ad-bob'), cc).status).toBe(0);
    const i = await mitInitiate(env, user('ad-bob'), 'fsrc4.ad.test', { ccache: cc, mech: 'krb5' });
    const p = acceptWithPac(env, env.keytabs.fsRc4, i.token!, 'krb5');
    expect(p.ok, p.error).toBe(true);
    expect(p.initiator).toBe('ad-bob@AD.TEST');
    expect(p.key).toBe(i.key);
    expect(p.key).toMatch(/^[0-9a-f]{32}$/);
    expect(p.keyOid).toBe('2a864886f7120102020417'); // GSS_KRB5_SESSION_KEY_ENCTYPE_OID + 23
    expect(p.pacVerified).toBe(true);
  });
});

describe("S4U with CLIENT$'s keytab (kvno -U -P)", () => {
  it('v1: protocol transition to cifs/fs1 (in msDS-AllowedToDelegateTo)', async () => {
    const cc = await machineCcache('v1');
    const r = await kvnoS4u(cc, 'ad-alice', 'cifs/fs1.ad.test');
    expect(r.status, r.stderr).toBe(0);
    const log = r.kdc.join('\n');
    expect(log).toMatch(/TGS-REQ SUCCESS .* ad-alice@AD\.TEST CLIENT\$@AD\.TEST .*flags=canonicalize,renewable,forwardable/);
    expect(log).toMatch(/TGS-REQ SUCCESS .* ad-alice@AD\.TEST cifs\/fs1\.ad\.test@AD\.TEST .*impersonatee=ad-alice@AD\.TEST/);
  });

  it('v2: RBCD to cifs/fs2 (FS2$ names CLIENT$); removing the descriptor live refuses it', async () => {
    expect(env.delegation.protocolTransition).not.toContain('cifs/fs2.ad.test');
    const cc = await machineCcache('v2');
    let r = await kvnoS4u(cc, 'ad-alice', 'cifs/fs2.ad.test');
    expect(r.status, r.stderr).toBe(0);
    expect(r.kdc.join('\n')).toMatch(/TGS-REQ SUCCESS .* ad-alice@AD\.TEST cifs\/fs2\.ad\.test@AD\.TEST .*impersonatee=ad-alice@AD\.TEST/);

    modifyDirectory(env, `dn: ${accountDn('FS2$')}\nchangetype: modify\ndelete: msDS-AllowedToActOnBehalfOfOtherIdentity\n`);
    try {
      r = await kvnoS4u(cc, 'ad-bob', 'cifs/fs2.ad.test');
      expect(r.status).not.toBe(0);
      expect(r.stderr).toBe("kvno: KDC can't fulfill requested option cifs/fs2.ad.test@AD.TEST: constrained delegation failed");
      expect(lastRefusal(r.from)).toMatchObject({
        errorCode: KDC_ERR_BADOPTION,
        eText: null,
        eData: null,
        sname: 'cifs/fs2.ad.test',
        cname: 'CLIENT$',
      });
      expect(r.kdc.join('\n')).toMatch(
        /TGS-REQ ERR_BADOPTION .* CLIENT\$@AD\.TEST cifs\/fs2\.ad\.test@AD\.TEST impersonatee=ad-bob@AD\.TEST .*reason=Constrained delegation not allowed$/m,
      );
    } finally {
      // the descriptor as the template wrote it, in SDDL (Samba's LDIF reader turns it into NDR)
      modifyDirectory(
        env,
        `dn: ${accountDn('FS2$')}\nchangetype: modify\nreplace: msDS-AllowedToActOnBehalfOfOtherIdentity\n` +
          `msDS-AllowedToActOnBehalfOfOtherIdentity: O:BAD:(A;;0xf01ff;;;${env.sids['CLIENT$']})\n`,
      );
    }
    r = await kvnoS4u(cc, 'ad-bob', 'cifs/fs2.ad.test');
    expect(r.status, r.stderr).toBe(0);
  });

  it("refusals carry the directory's reasons (the KRB-ERRORs the product will see)", async () => {
    const cc = await machineCcache('refusals');
    // NOT_DELEGATED: the S4U2Self ticket is not forwardable, so both v1 and v2 are refused
    for (const target of ['cifs/fs1.ad.test', 'cifs/fs2.ad.test']) {
      const r = await kvnoS4u(cc, 'ad-notdelegated', target);
      expect(r.stderr).toBe(`kvno: KDC can't fulfill requested option ${target}@AD.TEST: constrained delegation failed`);
      expect(lastRefusal(r.from)).toMatchObject({
        errorCode: KDC_ERR_BADOPTION,
        eText: null,
        eData: null,
        sname: target,
        cname: 'CLIENT$',
      });
      expect(r.kdc.join('\n')).toContain('reason=Missing forwardable flag on ticket for constrained delegation');
    }
    // disabled: MIT's kvno first looks the user up with an AS-REQ, which the DC refuses
    let r = await kvnoS4u(cc, 'ad-disabled', 'cifs/fs1.ad.test');
    expect(r.stderr).toBe("kvno: Client's credentials have been revoked while getting credentials for cifs/fs1.ad.test@AD.TEST");
    expect(lastRefusal(r.from)).toMatchObject({
      errorCode: KDC_ERR_CLIENT_REVOKED,
      eText: null,
      cname: 'ad-disabled',
      eDataEntries: [{ type: 3, value: '720000c00000000001000000', ntStatus: STATUS_ACCOUNT_DISABLED }],
    });
    // password expired: S4U2Self succeeds, S4U2Proxy is refused, without e-data
    r = await kvnoS4u(cc, 'ad-expired', 'cifs/fs2.ad.test');
    expect(r.stderr).toBe('kvno: Password has expired cifs/fs2.ad.test@AD.TEST: constrained delegation failed');
    expect(lastRefusal(r.from)).toMatchObject({ errorCode: KDC_ERR_KEY_EXPIRED, eText: null, eData: null, sname: 'cifs/fs2.ad.test' });
    expect(r.kdc.join('\n')).toContain("reason=Client's key has expired at 1970-01-01T00:00:00");
    // no such account
    r = await kvnoS4u(cc, 'ad-nobody', 'cifs/fs1.ad.test');
    expect(r.stderr).toBe(
      "kvno: Client 'ad-nobody@AD.TEST' not found in Kerberos database while getting credentials for cifs/fs1.ad.test@AD.TEST",
    );
    expect(lastRefusal(r.from)).toMatchObject({ errorCode: KDC_ERR_C_PRINCIPAL_UNKNOWN, eText: null, eData: null, cname: 'ad-nobody' });
    // Protected Users: Samba 4.22 does NOT refuse delegation (Windows does); recorded, not wished away
    for (const target of ['cifs/fs1.ad.test', 'cifs/fs2.ad.test']) {
      r = await kvnoS4u(cc, 'ad-protected', target);
      expect(r.status, `Protected Users delegation to ${target}: ${r.stderr}`).toBe(0);
    }
  });
});

describe('gssproxy impersonation through the interposer', () => {
  const cases = [
    { host: 'fs1.ad.test', keytab: (): string => env.keytabs.fs1, model: 'v1 (protocol transition)' },
    { host: 'fs2.ad.test', keytab: (): string => env.keytabs.fs2, model: 'v2 (RBCD)' },
    { host: 'fsrc4.ad.test', keytab: (): string => env.keytabs.fsRc4, model: 'v1, RC4-only service' },
    { host: 'dc1.ad.test', keytab: (): string => env.keytabs.dc1, model: 'v2 (RBCD) to the DC itself' },
    { host: 'dc1-v1.ad.test', keytab: (): string => env.keytabs.dc1V1, model: 'v1 to the DC itself' },
  ];
  for (const c of cases) {
    it(`${c.model}: cifs@${c.host} is accepted as the impersonated user with the same key`, async () => {
      const alice = user('ad-alice');
      const mark = logMark(env.dc.log);
      const i = await mitInitiate(env, alice, c.host, { gssproxySocket: env.gssproxy.socket });
      expect(i.ok, i.error).toBe(true);
      expect(Buffer.from(i.token!, 'hex')[0]).toBe(0x60);
      const a = acceptWithPac(env, c.keytab(), i.token!);
      expect(a.ok, a.error).toBe(true);
      expect(a.initiator).toBe('ad-alice@AD.TEST');
      expect(a.target).toBe(`cifs/${c.host}@AD.TEST`);
      expect(a.key).toBe(i.key);
      const pac = parsePac(Buffer.from(a.pac!, 'hex'));
      expect(a.pacVerified).toBe(true);
      expect(assertedIdentity(pac)).toBe(SERVICE_ASSERTED_IDENTITY);
      expect(upnDnsInfo(pac)?.sid).toBe(alice.sid);
      // S4U_DELEGATION_INFO: the proxy target and the service that asked (CLIENT$)
      expect(utf16Strings(pac.buffers.get(PAC_DELEGATION_INFO)!)).toEqual([`cifs/${c.host}`, 'CLIENT$@AD.TEST']);
      await settle();
      const log = kdcRequestLines(logSince(env.dc.log, mark)).join('\n');
      expect(log).toMatch(
        new RegExp(
          `TGS-REQ SUCCESS .* ad-alice@AD\\.TEST cifs/${c.host.replace(/\./g, '\\.')}@AD\\.TEST .*impersonatee=ad-alice@AD\\.TEST`,
        ),
      );
    });
  }

  it('the control socket without impersonation gives no credentials', async () => {
    const i = await mitInitiate(env, user('ad-bob'), 'fs1.ad.test', { gssproxySocket: env.gssproxy.noImpersonateSocket });
    expect(i.ok).toBe(false);
    expect(i.major).toBe(0x70000); // GSS_S_NO_CRED
  });

  it('refusals through gssproxy carry the same KDC errors (S4U2Self is where disabled/unknown fail)', async () => {
    const gp = await startExtraGssproxy(env, 'tapped', env.keytabs.machine, { krb5Conf: tapConf });
    try {
      const expectations = [
        {
          who: 'ad-notdelegated',
          host: 'fs2.ad.test',
          code: KDC_ERR_BADOPTION,
          sname: 'cifs/fs2.ad.test',
          text: "KDC can't fulfill requested option",
          reason: 'Missing forwardable flag on ticket for constrained delegation',
        },
        {
          who: 'ad-disabled',
          host: 'fs1.ad.test',
          code: KDC_ERR_POLICY,
          sname: 'CLIENT$',
          text: 'SPNEGO cannot find mechanisms to negotiate',
          reason: 'Principal may not act as client',
        },
        {
          who: 'ad-expired',
          host: 'fs1.ad.test',
          code: KDC_ERR_KEY_EXPIRED,
          sname: 'cifs/fs1.ad.test',
          text: 'Password has expired',
          reason: "Client's key has expired",
        },
        {
          who: 'ad-nobody',
          host: 'fs2.ad.test',
          code: KDC_ERR_C_PRINCIPAL_UNKNOWN,
          sname: 'CLIENT$',
          text: 'SPNEGO cannot find mechanisms to negotiate',
          reason: 'S4U2Self principal to impersonate not found',
        },
      ];
      for (const x of expectations) {
        const from = tap.exchanges.length;
        const mark = logMark(env.dc.log);
        const i = await mitInitiate(env, user(x.who), x.host, { gssproxySocket: gp.socket });
        expect(i.ok, x.who).toBe(false);
        expect(i.error).toContain(x.text);
        expect(lastRefusal(from), x.who).toMatchObject({ errorCode: x.code, eText: null, eData: null, sname: x.sname, cname: 'CLIENT$' });
        await settle();
        expect(logSince(env.dc.log, mark), x.who).toContain(`reason=${x.reason}`);
      }
      const p = await mitInitiate(env, user('ad-protected'), 'fs2.ad.test', { gssproxySocket: gp.socket });
      expect(p.ok, 'Samba 4.22 lets Protected Users be delegated').toBe(true);
    } finally {
      await gp.stop();
    }
  });

  it('gssproxy 0.9.1 impersonates as the FIRST keytab entry: host/client.ad.test first fails, krb5_principal does not help', async () => {
    for (const [name, lines] of [
      ['hostfirst', []],
      ['hostfirst-principal', ['krb5_principal = CLIENT$@AD.TEST']],
    ] as const) {
      const gp = await startExtraGssproxy(env, name, env.keytabs.clientHostFirst, { krb5Conf: tapConf, extraServiceLines: [...lines] });
      try {
        const from = tap.exchanges.length;
        const i = await mitInitiate(env, user('ad-alice'), 'fs1.ad.test', { gssproxySocket: gp.socket });
        expect(i.ok).toBe(false);
        expect(i.major).toBe(0x70000);
        expect(lastRefusal(from)).toMatchObject({
          errorCode: KDC_ERR_C_PRINCIPAL_UNKNOWN,
          cname: 'host/client.ad.test',
          sname: 'krbtgt/AD.TEST',
        });
        expect(readFileSync(gp.log, 'utf8')).toContain("Client 'host/client.ad.test@AD.TEST' not found in Kerberos database");
      } finally {
        await gp.stop();
      }
    }
  });
});

describe("the DC's own file service (what the kernel proof mounts)", () => {
  const smbclient = (as: AdUser | typeof ROOT, ccache: string | null, host: string, extra: string[] = []) =>
    runAsUser(
      as,
      '/usr/bin/smbclient',
      [
        '-p',
        String(env.dc.smbPort),
        '-I',
        '127.0.0.1',
        ...(ccache ? ['--use-kerberos=required', '--use-krb5-ccache', ccache] : []),
        ...extra,
        `//${host}/share`,
        '-c',
        'ls',
      ],
      { env: adUserEnv(env, ccache ? { KRB5CCNAME: ccache } : {}), allowFail: true },
    );

  it("Debian 12's smbclient 4.17 sets up a Kerberos session with a kinit ticket", () => {
    const cc = `FILE:${env.ccacheDir}/alice_smb`;
    expect(adKinit(env, user('ad-alice'), cc).status).toBe(0);
    const mark = logMark(`${env.dc.logDir}/log.127.0.0.1`);
    const r = smbclient(user('ad-alice'), cc, 'dc1.ad.test');
    expect(r.status, r.stderr + r.stdout).toBe(0);
    // smbd maps the Kerberos identity to the same uid as the client's (RFC 2307 uidNumber)
    expect(logSince(`${env.dc.logDir}/log.127.0.0.1`, mark)).toContain(
      `connect to service share initially as user AD\\ad-alice (uid=${user('ad-alice').uid}, gid=100)`,
    );
  });

  for (const [model, host] of [
    ['v1', 'dc1-v1.ad.test'],
    ['v2 (RBCD)', 'dc1.ad.test'],
  ] as const) {
    it(`accepts an S4U2Proxy ticket (${model}) to cifs/${host} as the impersonated user`, async () => {
      const machine = await machineCcache(`smb_${host}`);
      const out = `FILE:${env.ccacheDir}/deleg_${host}`;
      const k = await kvnoS4u(machine, 'ad-bob', `cifs/${host}`, ['--out-cache', out]);
      expect(k.status, k.stderr).toBe(0);
      runAsUser(ROOT, '/bin/chown', [String(user('ad-bob').uid), out.slice(5)], { env: adUserEnv(env) });
      const mark = logMark(`${env.dc.logDir}/log.127.0.0.1`);
      const r = smbclient(user('ad-bob'), out, host);
      expect(r.status, r.stderr + r.stdout).toBe(0);
      expect(logSince(`${env.dc.logDir}/log.127.0.0.1`, mark)).toContain(
        `connect to service share initially as user AD\\ad-bob (uid=${user('ad-bob').uid}, gid=100)`,
      );
    });
  }

  it('NTLM session setup works too (the 4.17 "NT_STATUS_INTERNAL_ERROR" was winbindd\'s pipe location)', () => {
    const r = smbclient(ROOT, null, '127.0.0.1', ['-U', `AD\\ad-bob%${user('ad-bob').password}`]);
    expect(r.status, r.stderr + r.stdout).toBe(0);
  });
});

describe("with FAST on (Samba's default)", () => {
  it('MIT armors its TGS-REQs; the refusal reaches the tap wrapped, the tool message is the same', async () => {
    await ad.restartDc({ kdcFast: true });
    expect(env.kdc.fast).toBe(true);
    const cc = await machineCcache('fast');
    const r = await kvnoS4u(cc, 'ad-notdelegated', 'cifs/fs1.ad.test');
    expect(r.stderr).toBe("kvno: KDC can't fulfill requested option cifs/fs1.ad.test@AD.TEST: constrained delegation failed");
    expect(r.kdc.join('\n')).toMatch(/TGS-REQ ERR_BADOPTION .*armor_client_name=CLIENT\$@AD\.TEST reason=Missing forwardable flag/);
    const outer = lastRefusal(r.from);
    expect(outer?.eDataEntries?.map((e) => e.type)).toContain(136); // PA-FX-FAST: the real error is inside, encrypted
    process.stderr.write(`[ad] FAST outer KRB-ERROR: ${JSON.stringify({ ...outer, eData: undefined })}\n`);
  });
});
