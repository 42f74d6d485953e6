// Everything the scenarios talk to, built inside the guest (its /etc is a throwaway overlay):
//   local users      alice 2001, bob 2002, carol 2003, dave 2004 (group users), client$ 2100
//   EXAMPLE.TEST     MIT krb5kdc on 127.0.0.3:88 with the LDAP KDB (private slapd on an ldapi
//                    socket): only kldap implements the constrained-delegation check S4U2Proxy needs
//   gssproxy         impersonate = true with host/client.example.test's keytab (S4U2Self+S4U2Proxy)
//   fs1.example.test standalone smbd on 127.0.0.2:445 with a dedicated keytab; its principal has
//                    +no_auth_data_required (no PAC: standalone smbd refuses PACs)
//   syslog           busybox syslogd (cifs.upcall logs only to syslog)
// Recipe: docs/test-environments.md#loopback-realm (realm) and §3.6/§3.15 (in the guest).
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { GUEST_GSSPROXY_SOCKET } from '../shared/handlers.ts';
import { canConnect, isAlive, mustExec, startDaemon, waitFor } from './proc.ts';

export const REALM = 'EXAMPLE.TEST';
export const FS_HOST = 'fs1.example.test';
export const FS_ADDR = '127.0.0.2';
export const KDC_ADDR = '127.0.0.3';
export const STATE = '/var/lib/vmtest';
export const LOG_DIR = '/var/log/vmtest';
export const SHARE = '/srv/share';
export const HELLO_TEXT = 'hello from fs1';
export const MACHINE_ACCOUNT = 'CLIENT$';
export const MACHINE_KEYTAB = '/etc/krb5.keytab';
export const SMB_CONF = '/etc/samba/vmtest.conf';
export const KDC_LOG = `${LOG_DIR}/kdc.log`;
export const GSSPROXY_LOG = `${LOG_DIR}/gssproxy.log`;
export const GSSPROXY_CLIENTS = `${STATE}/gssproxy/clients`;
export const SYSLOG = `${LOG_DIR}/syslog`;
export const SMBD_LOG_DIR = `${LOG_DIR}/samba`;

const LDAP_DIR = `${STATE}/ldap`;
const LDAPI_URI = `ldapi://${encodeURIComponent(`${LDAP_DIR}/ldapi`)}`;
const LDAP_ADMIN_DN = 'cn=admin,dc=example,dc=test';
const LDAP_ADMIN_PW = 'ldap-admin-secret';
const MASTER_PW = 'master-secret-1';
const KEYTABS = `${STATE}/keytabs`;
export const FS1_KEYTAB = `${KEYTABS}/fs1.keytab`;
const CLIENT_KEYTAB = `${KEYTABS}/client.keytab`;
const GROUP_USERS = 100;

export interface GuestUser {
  name: string;
  uid: number;
  gid: number;
  home: string;
  /** null: no principal at all */
  password: string | null;
}

export const USERS = {
  alice: { name: 'alice', uid: 2001, gid: GROUP_USERS, home: '/home/alice', password: 'alice-secret-1' },
  bob: { name: 'bob', uid: 2002, gid: GROUP_USERS, home: '/home/bob', password: 'bob-secret-1' },
  carol: { name: 'carol', uid: 2003, gid: GROUP_USERS, home: '/home/carol', password: 'carol-secret-1' },
  dave: { name: 'dave', uid: 2004, gid: GROUP_USERS, home: '/home/dave', password: null },
  /** the Unix account smbd maps CLIENT$@EXAMPLE.TEST to */
  machine: { name: 'client$', uid: 2100, gid: GROUP_USERS, home: '/nonexistent', password: null },
} satisfies Record<string, GuestUser>;

export function nameOfUid(uid: number): string {
  if (uid === 0) return 'root';
  return Object.values(USERS).find((u) => u.uid === uid)?.name ?? `uid ${uid}`;
}

function replaceEntries(path: string, names: string[], uids: number[], lines: string[]): void {
  const kept = readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .filter((l) => {
      const f = l.split(':');
      return !names.includes(f[0]) && !(f.length > 2 && uids.includes(Number(f[2])));
    });
  writeFileSync(path, `${[...kept, ...lines].join('\n')}\n`);
}

/** passwd/shadow entries (the host's may be missing or carry other names), homes, /etc/hosts. */
export function writeIdentityAndNames(): void {
  const users = Object.values(USERS);
  replaceEntries(
    '/etc/passwd',
    users.map((u) => u.name),
    users.map((u) => u.uid),
    users.map((u) => `${u.name}:x:${u.uid}:${u.gid}::${u.home}:/bin/bash`),
  );
  replaceEntries(
    '/etc/shadow',
    users.map((u) => u.name),
    [],
    users.map((u) => `${u.name}:*:19000:0:99999:7:::`),
  );
  for (const u of users) {
    if (u.home === '/nonexistent') continue;
    mkdirSync(u.home, { recursive: true });
    chownSync(u.home, u.uid, u.gid);
    chmodSync(u.home, 0o700);
  }
  writeFileSync(
    '/etc/hosts',
    `127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost\n${FS_ADDR}\t${FS_HOST} fs1\n${KDC_ADDR}\tkdc.example.test kdc\n`,
  );
  // no NIC anyway; keep resolver timeouts short and off the machine's resolver
  writeFileSync('/etc/resolv.conf', 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n');
  writeFileSync(
    '/etc/krb5.conf',
    [
      '[libdefaults]',
      ` default_realm = ${REALM}`,
      ' dns_lookup_kdc = false',
      ' dns_lookup_realm = false',
      ' rdns = false',
      ' dns_canonicalize_hostname = false',
      ' forwardable = true',
      '[realms]',
      ` ${REALM} = {`,
      `  kdc = ${KDC_ADDR}:88`,
      ' }',
      '[domain_realm]',
      ` .example.test = ${REALM}`,
      ` example.test = ${REALM}`,
      '',
    ].join('\n'),
  );
}

function writeKdcConf(): void {
  mkdirSync('/etc/krb5kdc', { recursive: true });
  writeFileSync(
    '/etc/krb5kdc/kdc.conf',
    [
      '[kdcdefaults]',
      ` kdc_listen = ${KDC_ADDR}:88`,
      ` kdc_tcp_listen = ${KDC_ADDR}:88`,
      '[realms]',
      ` ${REALM} = {`,
      '  database_module = ldapdb',
      `  key_stash_file = ${STATE}/kdc/stash`,
      `  acl_file = ${STATE}/kdc/kadm5.acl`,
      '  max_life = 10h',
      '  max_renewable_life = 7d',
      '  default_principal_flags = +preauth',
      '  supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal',
      ' }',
      '[dbmodules]',
      ' ldapdb = {',
      '  db_library = kldap',
      '  ldap_kerberos_container_dn = cn=krbContainer,dc=example,dc=test',
      `  ldap_kdc_dn = ${LDAP_ADMIN_DN}`,
      `  ldap_kadmind_dn = ${LDAP_ADMIN_DN}`,
      `  ldap_service_password_file = ${STATE}/kdc/service.pw`,
      `  ldap_servers = ${LDAPI_URI}`,
      '  ldap_conns_per_server = 2',
      ' }',
      '[logging]',
      ` kdc = FILE:${KDC_LOG}`,
      ` admin_server = FILE:${LOG_DIR}/kadmin.log`,
      ` default = FILE:${LOG_DIR}/krb5.log`,
      '',
    ].join('\n'),
  );
  writeFileSync(`${STATE}/kdc/kadm5.acl`, '');
  // what `kdb5_ldap_util stashsrvpw` would write (it reads the password twice from stdin)
  writeFileSync(`${STATE}/kdc/service.pw`, `${LDAP_ADMIN_DN}#{HEX}${Buffer.from(LDAP_ADMIN_PW).toString('hex')}\n`, { mode: 0o600 });
}

async function startSlapd(): Promise<void> {
  mkdirSync(`${LDAP_DIR}/db`, { recursive: true });
  writeFileSync(`${LDAP_DIR}/kerberos.schema`, gunzipSync(readFileSync('/usr/share/doc/krb5-kdc-ldap/kerberos.schema.gz')));
  writeFileSync(
    `${LDAP_DIR}/slapd.conf`,
    [
      ...['core', 'cosine', 'nis', 'inetorgperson'].map((s) => `include /etc/ldap/schema/${s}.schema`),
      `include ${LDAP_DIR}/kerberos.schema`,
      `pidfile ${LDAP_DIR}/slapd.pid`,
      `argsfile ${LDAP_DIR}/slapd.args`,
      'modulepath /usr/lib/ldap',
      'moduleload back_mdb',
      'database mdb',
      'suffix "dc=example,dc=test"',
      `rootdn "${LDAP_ADMIN_DN}"`,
      `rootpw ${LDAP_ADMIN_PW}`,
      `directory ${LDAP_DIR}/db`,
      'maxsize 67108864',
      'index objectClass eq',
      'index krbPrincipalName eq,sub',
      '',
    ].join('\n'),
  );
  writeFileSync(
    `${LDAP_DIR}/base.ldif`,
    'dn: dc=example,dc=test\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example\n',
  );
  await mustExec('slapadd', ['-q', '-f', `${LDAP_DIR}/slapd.conf`, '-l', `${LDAP_DIR}/base.ldif`]);
  const log = `${LOG_DIR}/slapd.log`;
  const pid = startDaemon('slapd', ['-d', '0', '-f', `${LDAP_DIR}/slapd.conf`, '-h', LDAPI_URI], log);
  await waitFor('slapd on ldapi', () => canConnect({ path: `${LDAP_DIR}/ldapi` }), { timeoutMs: 30_000, log, pid });
}

/** kadmin.local script; fails on any "error"/"fail" in its output (its status is not enough). */
async function createPrincipals(): Promise<void> {
  const { alice, bob, carol } = USERS;
  const script = [
    `addprinc -pw ${alice.password} alice`,
    `addprinc -pw ${bob.password} bob`,
    `addprinc -pw ${carol.password} -allow_forwardable carol`,
    'addprinc -randkey +ok_to_auth_as_delegate host/client.example.test',
    `addprinc -randkey ${MACHINE_ACCOUNT}`,
    `addprinc -randkey -requires_preauth cifs/${FS_HOST}`,
    `modprinc +no_auth_data_required cifs/${FS_HOST}`,
    `ktadd -k ${CLIENT_KEYTAB} -norandkey host/client.example.test`,
    `ktadd -k ${MACHINE_KEYTAB} -norandkey ${MACHINE_ACCOUNT}`,
    `ktadd -k ${FS1_KEYTAB} -norandkey cifs/${FS_HOST}`,
    '',
  ].join('\n');
  const r = await mustExec('kadmin.local', ['-r', REALM], { input: script, timeoutMs: 60_000 });
  if (/error|fail/i.test(r.stdout + r.stderr)) throw new Error(`kadmin.local reported a problem:\n${r.stdout}${r.stderr}`);
  for (const k of [CLIENT_KEYTAB, MACHINE_KEYTAB, FS1_KEYTAB]) chmodSync(k, 0o600);
  const ldif = [
    `dn: krbPrincipalName=host/client.example.test@${REALM},cn=${REALM},cn=krbContainer,dc=example,dc=test`,
    'changetype: modify',
    'add: krbAllowedToDelegateTo',
    `krbAllowedToDelegateTo: cifs/${FS_HOST}@${REALM}`,
    '',
  ].join('\n');
  await mustExec('ldapmodify', ['-x', '-D', LDAP_ADMIN_DN, '-w', LDAP_ADMIN_PW, '-H', LDAPI_URI], { input: ldif });
}

async function startKdc(): Promise<void> {
  const log = `${LOG_DIR}/krb5kdc.out`;
  const pid = startDaemon('krb5kdc', ['-n', '-r', REALM, '-P', `${STATE}/run/krb5kdc.pid`], log);
  await waitFor('krb5kdc on 127.0.0.3:88', () => canConnect({ host: KDC_ADDR, port: 88 }), { timeoutMs: 30_000, log, pid });
}

/** The running gssproxy (started by startServices, replaced by restartGssproxy). */
let gssproxyPid: number | null = null;

async function startGssproxy(keytab = CLIENT_KEYTAB): Promise<void> {
  mkdirSync(GSSPROXY_CLIENTS, { recursive: true, mode: 0o700 });
  mkdirSync('/run/vmtest/gssproxy', { recursive: true });
  const conf = `${STATE}/gssproxy/gssproxy.conf`;
  writeFileSync(
    conf,
    [
      '[gssproxy]',
      '  debug_level = 2',
      '  worker threads = 2',
      '',
      '[service/cifs-client]',
      '  mechs = krb5',
      `  cred_store = keytab:${keytab}`,
      `  cred_store = ccache:FILE:${GSSPROXY_CLIENTS}/krb5cc_%U`,
      '  cred_usage = initiate',
      '  allow_any_uid = yes',
      '  trusted = yes',
      '  impersonate = true',
      '  euid = 0',
      '',
    ].join('\n'),
  );
  // -c without -C: only this file, not /etc/gssproxy/*.conf; -i writes /run/gssproxy.pid (the
  // guest's own tmpfs)
  const logStart = existsSync(GSSPROXY_LOG) ? readFileSync(GSSPROXY_LOG, 'utf8').length : 0;
  const pid = startDaemon('gssproxy', ['-i', '-d', '-c', conf, '-s', GUEST_GSSPROXY_SOCKET], GSSPROXY_LOG);
  gssproxyPid = pid;
  await waitFor(
    'gssproxy',
    () => existsSync(GUEST_GSSPROXY_SOCKET) && readFileSync(GSSPROXY_LOG, 'utf8').slice(logStart).includes('Initialization complete'),
    { timeoutMs: 30_000, log: GSSPROXY_LOG, pid },
  );
}

/**
 * Stop the guest's gssproxy and start it again on the same socket with another impersonator
 * keytab (scenario 7: CLIENT$@AD.TEST's). It reads /etc/krb5.conf afresh.
 */
export async function restartGssproxy(keytab: string): Promise<void> {
  const pid = gssproxyPid;
  if (pid !== null && isAlive(pid)) {
    process.kill(pid, 'SIGTERM');
    await waitFor('gssproxy to stop', () => !isAlive(pid), { timeoutMs: 15_000 }).catch(() => process.kill(pid, 'SIGKILL'));
  }
  rmSync(GUEST_GSSPROXY_SOCKET, { force: true });
  clearGssproxyCache();
  await startGssproxy(keytab);
}

async function startSmbd(): Promise<void> {
  const sambaState = `${STATE}/samba`;
  for (const d of ['private', 'state', 'cache', 'lock', 'pid', 'ncalrpc']) mkdirSync(`${sambaState}/${d}`, { recursive: true });
  mkdirSync(SMBD_LOG_DIR, { recursive: true });
  mkdirSync(`${SHARE}/pub`, { recursive: true });
  chmodSync(SHARE, 0o1777);
  chmodSync(`${SHARE}/pub`, 0o1777);
  writeFileSync(`${SHARE}/hello.txt`, `${HELLO_TEXT}\n`);
  writeFileSync(
    SMB_CONF,
    [
      '[global]',
      '  workgroup = EXAMPLE',
      `  realm = ${REALM}`,
      '  netbios name = FS1',
      '  server role = standalone server',
      '  security = user',
      '  kerberos method = dedicated keytab',
      `  dedicated keytab file = FILE:${FS1_KEYTAB}`,
      '  disable netbios = yes',
      '  smb ports = 445',
      '  server min protocol = SMB2_10',
      `  log file = ${SMBD_LOG_DIR}/log.%m`,
      '  log level = 1 auth_audit:3',
      '  load printers = no',
      '  printing = bsd',
      '  printcap name = /dev/null',
      '  disable spoolss = yes',
      `  private dir = ${sambaState}/private`,
      `  state directory = ${sambaState}/state`,
      `  cache directory = ${sambaState}/cache`,
      `  lock directory = ${sambaState}/lock`,
      `  pid directory = ${sambaState}/pid`,
      `  ncalrpc dir = ${sambaState}/ncalrpc`,
      '',
      '[share]',
      `  path = ${SHARE}`,
      '  read only = no',
      '',
    ].join('\n'),
  );
  const log = `${SMBD_LOG_DIR}/smbd.out`;
  const pid = startDaemon('smbd', ['--foreground', '--no-process-group', '-s', SMB_CONF], log);
  await waitFor('smbd on 127.0.0.2:445', () => canConnect({ host: FS_ADDR, port: 445 }), { timeoutMs: 60_000, log, pid });
}

function startSyslog(): void {
  startDaemon('/bin/busybox', ['syslogd', '-n', '-O', SYSLOG, '-S'], `${LOG_DIR}/syslogd.out`);
}

/** Build and start everything; returns per-step timings. */
export async function startServices(timed: <T>(name: string, f: () => Promise<T> | T) => Promise<T>): Promise<void> {
  for (const d of [
    STATE,
    `${STATE}/kdc`,
    `${STATE}/run`,
    KEYTABS,
    `${STATE}/gssproxy`,
    LOG_DIR,
    `${LOG_DIR}/upcall-out`,
    `${LOG_DIR}/trace`,
  ]) {
    mkdirSync(d, { recursive: true });
  }
  chmodSync(`${LOG_DIR}/trace`, 0o1777);
  rmSync(MACHINE_KEYTAB, { force: true });
  await timed('identities, hosts, krb5.conf', () => writeIdentityAndNames());
  startSyslog();
  writeKdcConf();
  await timed('slapd', () => startSlapd());
  await timed('KDB + principals + keytabs + delegation', async () => {
    await mustExec(
      'kdb5_ldap_util',
      [
        '-D',
        LDAP_ADMIN_DN,
        '-w',
        LDAP_ADMIN_PW,
        '-H',
        LDAPI_URI,
        'create',
        '-subtrees',
        'dc=example,dc=test',
        '-r',
        REALM,
        '-s',
        '-P',
        MASTER_PW,
      ],
      { timeoutMs: 60_000 },
    );
    await createPrincipals();
  });
  await timed('krb5kdc', () => startKdc());
  await timed('gssproxy', () => startGssproxy());
  await timed('smbd', () => startSmbd());
}

/** Forget every cached impersonation credential (gssproxy keeps one ccache per uid). */
export function clearGssproxyCache(): void {
  for (const f of readdirSync(GSSPROXY_CLIENTS)) rmSync(`${GSSPROXY_CLIENTS}/${f}`, { force: true });
}
