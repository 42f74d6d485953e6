// A throwaway Kerberos test bed on loopback, built from the real Debian daemons:
//   EXAMPLE.TEST  MIT krb5kdc with the LDAP back end (private slapd on an ldapi socket), because
//                 only kldap implements the constrained-delegation check S4U2Proxy needs;
//   OTHER.TEST    a second MIT krb5kdc (DB2) with a cross-realm trust to EXAMPLE.TEST, for
//                 referrals and cross-realm TGT chasing;
//   gssproxy      two services: impersonation (S4U2Self/S4U2Proxy with the host keytab) on the
//                 main socket, and a control service without impersonation on its own socket.
// Recipe and pitfalls: docs/test-environments.md#loopback-realm. Nothing under /etc is touched; all
// daemons run from a private state directory and are stopped by PID.
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { findFreePort, run, startDaemon, stopDaemon, waitFor, type Daemon } from '../common/processes.ts';
import { ensureLocalUser, USERS_GROUP_GID } from '../common/users.ts';
import { testBedGssproxyConf } from '../gssproxy/gssproxy-conf.ts';

export const REALM = 'EXAMPLE.TEST';
export const OTHER_REALM = 'OTHER.TEST';
export const DOMAIN = 'example.test';

const LDAP_ADMIN_DN = 'cn=admin,dc=example,dc=test';
const LDAP_ADMIN_PW = 'ldap-admin-secret';
const MASTER_PW = 'master-secret-1';
const CROSS_REALM_PW = 'cross-realm-secret-1';
const MARKER = '.cifs-upcall-test-realm';

/** Enctypes the realm supports, and the per-enctype service principals cifs/e<N>.example.test. */
export const ENCTYPES = [17, 18, 19, 20, 23] as const;
export type Enctype = (typeof ENCTYPES)[number];
const ENCTYPE_NAMES: Record<Enctype, string> = {
  17: 'aes128-cts-hmac-sha1-96',
  18: 'aes256-cts-hmac-sha1-96',
  19: 'aes128-cts-hmac-sha256-128',
  20: 'aes256-cts-hmac-sha384-192',
  23: 'arcfour-hmac',
};

export interface RealmUser {
  /** local account name and principal name (without realm) */
  name: string;
  uid: number;
  gid: number;
  principal: string | null;
  password: string | null;
}

/** Everything a test needs to know about the running test bed (JSON-serialisable). */
export interface RealmEnv {
  stateDir: string;
  realm: string;
  otherRealm: string;
  domain: string;
  /** client krb5.conf (explicit KDCs, no DNS, domain_realm for both realms) */
  krb5Conf: string;
  /** client krb5.conf without [domain_realm]: the service realm is found by referrals */
  krb5ConfReferrals: string;
  kdc: { host: string; port: number; log: string; pid: number };
  otherKdc: { host: string; port: number; log: string; pid: number };
  gssproxy: {
    /** impersonating service (allow_any_uid, trusted, impersonate, euid 0) */
    socket: string;
    /** same without impersonation, own per-uid ccache directory */
    noImpersonateSocket: string;
    log: string;
    pid: number;
    clientsDir: string;
  };
  ldap: { uri: string; bindDn: string; password: string; pid: number };
  keytabs: {
    /** host/client.example.test — gssproxy's impersonator */
    client: string;
    /** CLIENT$@EXAMPLE.TEST — machine-account style, same delegation rights */
    machine: string;
    /** cifs/fs1.example.test (all enctypes) — allowed delegation target */
    fs1: string;
    /** cifs/fs2.example.test — not a delegation target */
    fs2: string;
    /** cifs/e<N>.example.test, one keytab per enctype N (only that enctype's key) */
    byEnctype: Record<string, string>;
    /** all cifs/* service keys of EXAMPLE.TEST in one keytab (acceptor convenience) */
    allServices: string;
  };
  /** cifs/ hosts: fs1, fs2, e17.example.test … e23.example.test */
  hosts: { fs1: string; fs2: string; byEnctype: Record<string, string> };
  users: Record<string, RealmUser>;
  /** shared scratch for ccaches (mode 1777) */
  ccacheDir: string;
  rcacheDir: string;
}

export interface StartOptions {
  /** where to build; a fresh directory under /tmp by default */
  stateDir?: string;
  gssproxyDebugLevel?: number;
}

export interface Realm {
  env: RealmEnv;
  stop(): Promise<void>;
}

interface UserSpec {
  name: string;
  uid: number;
  realm: string | null;
  password: string | null;
  flags?: string;
}

/** Local users with principals (or not) — the cast of docs/test-environments.md#loopback-realm, plus extras. */
const USER_SPECS: UserSpec[] = [
  { name: 'alice', uid: 2001, realm: REALM, password: 'alice-secret-1' },
  { name: 'bob', uid: 2002, realm: REALM, password: 'bob-secret-1' },
  // "account is sensitive": must not be delegable
  { name: 'carol', uid: 2003, realm: REALM, password: 'carol-secret-1', flags: '-allow_forwardable' },
  // no principal at all
  { name: 'dave', uid: 2004, realm: null, password: null },
  { name: 'erin', uid: 2005, realm: REALM, password: 'erin-secret-1' },
  { name: 'frank', uid: 2006, realm: REALM, password: 'frank-secret-1' },
  // a user of the other realm, for referrals / cross-realm
  { name: 'oscar', uid: 2007, realm: OTHER_REALM, password: 'oscar-secret-1' },
  { name: 'grace', uid: 2008, realm: REALM, password: 'grace-secret-1' },
  { name: 'heidi', uid: 2009, realm: REALM, password: 'heidi-secret-1' },
];

function ldapiUri(socket: string): string {
  return `ldapi://${encodeURIComponent(socket)}`;
}

function write(path: string, text: string, mode = 0o644): void {
  writeFileSync(path, text, { mode });
  chmodSync(path, mode);
}

function mkdir(path: string, mode: number): void {
  mkdirSync(path, { recursive: true, mode });
  chmodSync(path, mode);
}

function baseEnv(state: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    PATH: '/usr/sbin:/usr/bin:/sbin:/bin',
    LANG: 'C',
    KRB5_CONFIG: join(state, 'krb5.conf'),
    KRB5RCACHEDIR: join(state, 'rcache'),
    ...extra,
  };
}

/** kadmin.local's exit status is not enough: it prints errors and exits 0. */
function kadmin(state: string, realm: string, profile: string, commands: string[]): void {
  const r = run('kadmin.local', ['-r', realm], {
    env: baseEnv(state, { KRB5_KDC_PROFILE: profile }),
    input: commands.join('\n') + '\n',
  });
  const bad = (r.stdout + r.stderr)
    .split('\n')
    .filter((l) => /error|fail|unknown|cannot|not found/i.test(l) && !/No policy specified/.test(l));
  if (bad.length > 0) throw new Error(`kadmin.local -r ${realm}:\n${bad.join('\n')}`);
}

function krb5Conf(state: string, kdcPort: number, otherPort: number, withDomainRealm: boolean): string {
  return `[libdefaults]
  default_realm = ${REALM}
  dns_lookup_kdc = false
  dns_lookup_realm = false
  rdns = false
  dns_canonicalize_hostname = false
  forwardable = true
  default_ccache_name = FILE:${state}/ccache/krb5cc_%{uid}
  default_keytab_name = FILE:${state}/keytabs/none.keytab
  default_client_keytab_name = FILE:${state}/keytabs/none-client-%{uid}.keytab
  udp_preference_limit = 1465

[realms]
  ${REALM} = {
    kdc = 127.0.0.1:${kdcPort}
  }
  ${OTHER_REALM} = {
    kdc = 127.0.0.1:${otherPort}
  }
${
  withDomainRealm
    ? `
[domain_realm]
  .example.test = ${REALM}
  example.test = ${REALM}
  .other.test = ${OTHER_REALM}
  other.test = ${OTHER_REALM}
`
    : ''
}`;
}

const ALL_ENCTYPES = ENCTYPES.map((e) => `${ENCTYPE_NAMES[e]}:normal`).join(' ');

function kdcConf(state: string, realm: string, port: number, ldap: boolean, logName: string): string {
  const dbDir = ldap ? 'kdc' : 'kdc2';
  const db = ldap ? `    database_module = ldapdb` : `    database_name = ${state}/${dbDir}/principal`;
  return `[kdcdefaults]
  kdc_listen = 127.0.0.1:${port}
  kdc_tcp_listen = 127.0.0.1:${port}

[realms]
  ${realm} = {
${db}
    key_stash_file = ${state}/${dbDir}/stash
    acl_file = ${state}/${dbDir}/kadm5.acl
    max_life = 10h
    max_renewable_life = 7d
    default_principal_flags = +preauth
    supported_enctypes = ${ALL_ENCTYPES}
    host_based_services = cifs
  }
${
  ldap
    ? `
[dbmodules]
  ldapdb = {
    db_library = kldap
    ldap_kerberos_container_dn = cn=krbContainer,dc=example,dc=test
    ldap_kdc_dn = ${LDAP_ADMIN_DN}
    ldap_kadmind_dn = ${LDAP_ADMIN_DN}
    ldap_service_password_file = ${state}/kdc/service.pw
    ldap_servers = ${ldapiUri(join(state, 'ldap', 'ldapi'))}
    ldap_conns_per_server = 2
  }
`
    : ''
}
[logging]
  kdc = FILE:${state}/log/${logName}
  admin_server = FILE:${state}/log/kadmin.log
  default = FILE:${state}/log/krb5.log
`;
}

function slapdConf(state: string): string {
  return `include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/nis.schema
include /etc/ldap/schema/inetorgperson.schema
include ${state}/ldap/kerberos.schema
pidfile ${state}/ldap/slapd.pid
argsfile ${state}/ldap/slapd.args
modulepath /usr/lib/ldap
moduleload back_mdb
database mdb
suffix "dc=example,dc=test"
rootdn "${LDAP_ADMIN_DN}"
rootpw ${LDAP_ADMIN_PW}
directory ${state}/ldap/db
maxsize 67108864
index objectClass eq
index krbPrincipalName eq,sub
`;
}

function kerberosSchema(): string {
  const gz = '/usr/share/doc/krb5-kdc-ldap/kerberos.schema.gz';
  if (!existsSync(gz)) throw new Error(`${gz} missing (reinstall krb5-kdc-ldap with its docs)`);
  return gunzipSync(readFileSync(gz)).toString('utf8');
}

function freshStateDir(requested?: string): string {
  const dir = requested ?? `/tmp/cu-realm-${process.pid}-${Date.now().toString(36)}`;
  if (existsSync(dir)) {
    if (!existsSync(join(dir, MARKER))) throw new Error(`refusing to wipe ${dir}: no ${MARKER} marker`);
    rmSync(dir, { recursive: true, force: true });
  }
  mkdir(dir, 0o755);
  write(join(dir, MARKER), 'cifs-upcall test realm state; safe to delete when no daemon runs\n');
  for (const [d, mode] of [
    ['ldap', 0o700],
    ['ldap/db', 0o700],
    ['kdc', 0o700],
    ['kdc2', 0o700],
    ['keytabs', 0o755],
    ['gssproxy', 0o755],
    ['gssproxy/clients', 0o700],
    ['gssproxy/clients-noimp', 0o700],
    ['ccache', 0o1777],
    ['tmp', 0o1777],
    ['rcache', 0o1777],
    ['run', 0o755],
    ['log', 0o755],
  ] as const) {
    mkdir(join(dir, d), mode);
  }
  return dir;
}

export async function startRealm(options: StartOptions = {}): Promise<Realm> {
  const state = freshStateDir(options.stateDir);
  const daemons: Daemon[] = [];
  const stop = async (): Promise<void> => {
    for (const d of [...daemons].reverse()) await stopDaemon(d);
    daemons.length = 0;
    // keep the state (logs, caches) for post-mortems only when asked to
    if (!process.env.CIFS_UPCALL_KEEP_REALM && existsSync(join(state, MARKER))) {
      rmSync(state, { recursive: true, force: true });
    }
  };
  try {
    const env = await build(state, daemons, options);
    return { env, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

async function build(state: string, daemons: Daemon[], options: StartOptions): Promise<RealmEnv> {
  const users: Record<string, RealmUser> = {};
  for (const spec of USER_SPECS) {
    const local = ensureLocalUser(spec.name, spec.uid);
    users[spec.name] = {
      name: spec.name,
      uid: local.uid,
      gid: local.gid,
      principal: spec.realm ? `${spec.name}@${spec.realm}` : null,
      password: spec.password,
    };
  }

  const kdcPort = findFreePort(40000, 50000);
  let otherPort = findFreePort(50000, 60000);
  if (otherPort === kdcPort) otherPort = findFreePort(50000, 60000);

  const ldapSocket = join(state, 'ldap', 'ldapi');
  if (ldapSocket.length > 100) throw new Error(`ldapi socket path too long: ${ldapSocket}`);
  const uri = ldapiUri(ldapSocket);

  write(join(state, 'krb5.conf'), krb5Conf(state, kdcPort, otherPort, true));
  write(join(state, 'krb5-referrals.conf'), krb5Conf(state, kdcPort, otherPort, false));
  write(join(state, 'kdc.conf'), kdcConf(state, REALM, kdcPort, true, 'kdc.log'), 0o600);
  write(join(state, 'kdc2.conf'), kdcConf(state, OTHER_REALM, otherPort, false, 'kdc2.log'), 0o600);
  write(join(state, 'kdc', 'kadm5.acl'), '', 0o600);
  write(join(state, 'kdc2', 'kadm5.acl'), '', 0o600);
  write(join(state, 'ldap', 'kerberos.schema'), kerberosSchema(), 0o600);
  write(join(state, 'ldap', 'slapd.conf'), slapdConf(state), 0o600);
  write(
    join(state, 'ldap', 'base.ldif'),
    'dn: dc=example,dc=test\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: cifs-upcall test\n',
    0o600,
  );
  write(
    join(state, 'gssproxy', 'gssproxy.conf'),
    testBedGssproxyConf(state, `${state}/keytabs/client.keytab`, options.gssproxyDebugLevel ?? 2),
    0o600,
  );

  // 1. slapd (offline load of the base entry, then foreground on the ldapi socket only)
  run('slapadd', ['-q', '-f', join(state, 'ldap', 'slapd.conf'), '-l', join(state, 'ldap', 'base.ldif')]);
  const slapd = startDaemon('slapd', '/usr/sbin/slapd', ['-d', '0', '-f', join(state, 'ldap', 'slapd.conf'), '-h', uri], {
    env: baseEnv(state),
    log: join(state, 'log', 'slapd.log'),
    marker: state,
  });
  daemons.push(slapd);
  await waitFor(
    'slapd',
    () => run('ldapsearch', ['-x', '-H', uri, '-b', '', '-s', 'base'], { allowFail: true, timeoutMs: 5000 }).status === 0,
    { daemon: slapd },
  );

  // 2. the KDB in LDAP, the service password stash, principals, keytabs, delegation
  const kdcProfile = join(state, 'kdc.conf');
  const ldapAuth = ['-D', LDAP_ADMIN_DN, '-w', LDAP_ADMIN_PW, '-H', uri];
  run('kdb5_ldap_util', [...ldapAuth, 'create', '-subtrees', 'dc=example,dc=test', '-r', REALM, '-s', '-P', MASTER_PW], {
    env: baseEnv(state, { KRB5_KDC_PROFILE: kdcProfile }),
  });
  run('kdb5_ldap_util', [...ldapAuth, 'stashsrvpw', '-f', join(state, 'kdc', 'service.pw'), LDAP_ADMIN_DN], {
    env: baseEnv(state, { KRB5_KDC_PROFILE: kdcProfile }),
    input: `${LDAP_ADMIN_PW}\n${LDAP_ADMIN_PW}\n`,
  });

  const kt = (name: string): string => join(state, 'keytabs', `${name}.keytab`);
  const byEnctype: Record<string, string> = {};
  const hostsByEnctype: Record<string, string> = {};
  const cmds: string[] = [];
  for (const spec of USER_SPECS) {
    if (spec.realm === REALM && spec.password) {
      cmds.push(`addprinc -pw ${spec.password} ${spec.flags ?? ''} ${spec.name}`);
    }
  }
  cmds.push(
    'addprinc -randkey +ok_to_auth_as_delegate host/client.example.test',
    'addprinc -randkey +ok_to_auth_as_delegate CLIENT$',
    'addprinc -randkey -requires_preauth cifs/fs1.example.test',
    'addprinc -randkey -requires_preauth cifs/fs2.example.test',
    `addprinc -pw ${CROSS_REALM_PW} -e aes256-cts-hmac-sha1-96:normal,aes128-cts-hmac-sha1-96:normal krbtgt/${REALM}@${OTHER_REALM}`,
  );
  for (const e of ENCTYPES) {
    const host = `e${e}.${DOMAIN}`;
    hostsByEnctype[String(e)] = host;
    byEnctype[String(e)] = kt(`e${e}`);
    cmds.push(`addprinc -randkey -requires_preauth -e ${ENCTYPE_NAMES[e]}:normal cifs/${host}`);
  }
  cmds.push(
    `ktadd -k ${kt('client')} -norandkey host/client.example.test`,
    `ktadd -k ${kt('machine')} -norandkey CLIENT$`,
    `ktadd -k ${kt('fs1')} -norandkey cifs/fs1.example.test`,
    `ktadd -k ${kt('fs2')} -norandkey cifs/fs2.example.test`,
    `ktadd -k ${kt('all-services')} -norandkey cifs/fs1.example.test`,
    `ktadd -k ${kt('all-services')} -norandkey cifs/fs2.example.test`,
  );
  for (const e of ENCTYPES) {
    cmds.push(`ktadd -k ${byEnctype[String(e)]} -norandkey cifs/e${e}.${DOMAIN}`);
    cmds.push(`ktadd -k ${kt('all-services')} -norandkey cifs/e${e}.${DOMAIN}`);
  }
  kadmin(state, REALM, kdcProfile, cmds);
  for (const name of ['client', 'machine', 'fs1', 'fs2', 'all-services', ...ENCTYPES.map((e) => `e${e}`)]) {
    chmodSync(kt(name), 0o600);
  }

  const delegationLdif = ['host/client.example.test', 'CLIENT$']
    .map(
      (p) => `dn: krbPrincipalName=${p}@${REALM},cn=${REALM},cn=krbContainer,dc=example,dc=test
changetype: modify
add: krbAllowedToDelegateTo
krbAllowedToDelegateTo: cifs/fs1.example.test@${REALM}
`,
    )
    .join('\n');
  run('ldapmodify', ['-x', ...ldapAuth], { input: delegationLdif });

  // 3. OTHER.TEST: DB2, its users, the cross-realm key (same principal name, hence same salt)
  const otherProfile = join(state, 'kdc2.conf');
  run('kdb5_util', ['create', '-s', '-r', OTHER_REALM, '-P', MASTER_PW], { env: baseEnv(state, { KRB5_KDC_PROFILE: otherProfile }) });
  const otherCmds = [
    `addprinc -pw ${CROSS_REALM_PW} -e aes256-cts-hmac-sha1-96:normal,aes128-cts-hmac-sha1-96:normal krbtgt/${REALM}@${OTHER_REALM}`,
    'addprinc -randkey host/probe.other.test',
    `ktadd -k ${kt('other-probe')} host/probe.other.test`,
  ];
  for (const spec of USER_SPECS) {
    if (spec.realm === OTHER_REALM && spec.password) {
      otherCmds.push(`addprinc -pw ${spec.password} ${spec.flags ?? ''} ${spec.name}`);
    }
  }
  kadmin(state, OTHER_REALM, otherProfile, otherCmds);
  chmodSync(kt('other-probe'), 0o600);

  // 4. the two KDCs
  const kdc = startDaemon('krb5kdc', '/usr/sbin/krb5kdc', ['-n', '-r', REALM, '-P', join(state, 'run', 'krb5kdc.pid')], {
    env: baseEnv(state, { KRB5_KDC_PROFILE: kdcProfile }),
    log: join(state, 'log', 'krb5kdc.out'),
    marker: 'krb5kdc',
  });
  daemons.push(kdc);
  const otherKdc = startDaemon('krb5kdc-other', '/usr/sbin/krb5kdc', ['-n', '-r', OTHER_REALM, '-P', join(state, 'run', 'krb5kdc2.pid')], {
    env: baseEnv(state, { KRB5_KDC_PROFILE: otherProfile }),
    log: join(state, 'log', 'krb5kdc2.out'),
    marker: 'krb5kdc',
  });
  daemons.push(otherKdc);
  const probe = (keytab: string, principal: string) => () =>
    run('kinit', ['-k', '-t', keytab, principal], {
      env: baseEnv(state, { KRB5CCNAME: 'MEMORY:probe' }),
      allowFail: true,
      timeoutMs: 5000,
    }).status === 0;
  await waitFor('krb5kdc EXAMPLE.TEST', probe(kt('client'), 'host/client.example.test'), { daemon: kdc });
  await waitFor('krb5kdc OTHER.TEST', probe(kt('other-probe'), `host/probe.other.test@${OTHER_REALM}`), { daemon: otherKdc });

  // 5. gssproxy in a private mount namespace with a tmpfs /run: -i still writes /run/gssproxy.pid
  const gpConf = join(state, 'gssproxy', 'gssproxy.conf');
  const gpSocket = join(state, 'gssproxy', 'default.sock');
  const gpLog = join(state, 'log', 'gssproxy.out');
  const gssproxy = startDaemon(
    'gssproxy',
    '/usr/bin/unshare',
    [
      '--mount',
      '--propagation',
      'private',
      '/bin/sh',
      '-c',
      'mount -t tmpfs -o mode=755,size=1m cu-gssproxy-run /run && exec /usr/sbin/gssproxy -i -d -c "$0" -s "$1"',
      gpConf,
      gpSocket,
    ],
    { env: baseEnv(state), log: gpLog, marker: gpConf },
  );
  daemons.push(gssproxy);
  const noImpSocket = join(state, 'gssproxy', 'noimpersonate.sock');
  await waitFor(
    'gssproxy',
    () => existsSync(gpSocket) && existsSync(noImpSocket) && readFileSync(gpLog, 'utf8').includes('Initialization complete'),
    { daemon: gssproxy },
  );

  return {
    stateDir: state,
    realm: REALM,
    otherRealm: OTHER_REALM,
    domain: DOMAIN,
    krb5Conf: join(state, 'krb5.conf'),
    krb5ConfReferrals: join(state, 'krb5-referrals.conf'),
    kdc: { host: '127.0.0.1', port: kdcPort, log: join(state, 'log', 'kdc.log'), pid: kdc.pid },
    otherKdc: { host: '127.0.0.1', port: otherPort, log: join(state, 'log', 'kdc2.log'), pid: otherKdc.pid },
    gssproxy: {
      socket: gpSocket,
      noImpersonateSocket: noImpSocket,
      log: gpLog,
      pid: gssproxy.pid,
      clientsDir: join(state, 'gssproxy', 'clients'),
    },
    ldap: { uri, bindDn: LDAP_ADMIN_DN, password: LDAP_ADMIN_PW, pid: slapd.pid },
    keytabs: {
      client: kt('client'),
      machine: kt('machine'),
      fs1: kt('fs1'),
      fs2: kt('fs2'),
      byEnctype,
      allServices: kt('all-services'),
    },
    hosts: { fs1: `fs1.${DOMAIN}`, fs2: `fs2.${DOMAIN}`, byEnctype: hostsByEnctype },
    users,
    ccacheDir: join(state, 'ccache'),
    rcacheDir: join(state, 'rcache'),
  };
}

// ---- helpers for tests ------------------------------------------------------------------------

/** Environment for a process acting as a test user: nothing inherited from the test runner. */
export function userEnv(env: RealmEnv, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    PATH: '/usr/bin:/bin',
    LANG: 'C',
    KRB5_CONFIG: env.krb5Conf,
    KRB5RCACHEDIR: env.rcacheDir,
    ...extra,
  };
}

/** Run a command as a realm user (real uid/gid, no supplementary groups, no capabilities). */
export function runAs(
  user: RealmUser,
  command: string,
  args: string[],
  options: { env: NodeJS.ProcessEnv; input?: string; allowFail?: boolean },
): ReturnType<typeof run> {
  return run(
    'setpriv',
    [`--reuid=${user.uid}`, `--regid=${user.gid}`, '--clear-groups', '--inh-caps=-all', '--', command, ...args],
    options,
  );
}

/**
 * Get a TGT with the real MIT kinit, as the user, into `ccache` (any MIT cache name: FILE:, DIR:,
 * KEYRING:persistent:…, KCM:…). `lifetime` is a kinit -l value ("10h", "5s").
 */
export function kinit(
  env: RealmEnv,
  user: RealmUser,
  ccache: string,
  options: { lifetime?: string; krb5Conf?: string; extraEnv?: NodeJS.ProcessEnv } = {},
): void {
  if (!user.principal || !user.password) throw new Error(`${user.name} has no principal`);
  const args = [...(options.lifetime ? ['-l', options.lifetime] : []), user.principal];
  runAs(user, '/usr/bin/kinit', args, {
    env: userEnv(env, {
      KRB5CCNAME: ccache,
      ...(options.krb5Conf ? { KRB5_CONFIG: options.krb5Conf } : {}),
      ...options.extraEnv,
    }),
    input: `${user.password}\n`,
  });
}

/** klist -e output for a cache, run as the user (shows the tickets we stored back). */
export function klist(env: RealmEnv, user: RealmUser, ccache: string): string {
  return runAs(user, '/usr/bin/klist', ['-e', '-c', ccache], {
    env: userEnv(env, { KRB5CCNAME: ccache }),
    allowFail: true,
  }).stdout;
}

/** A byte offset into a log; `logSince` returns what was appended after it. */
export function logMark(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

export function logSince(path: string, mark: number): string {
  try {
    return readFileSync(path).subarray(mark).toString('utf8');
  } catch {
    return '';
  }
}

/** Forget gssproxy's per-uid cached credentials so the next request shows S4U in the KDC log. */
export function clearGssproxyCache(env: RealmEnv): void {
  for (const dir of [env.gssproxy.clientsDir, join(env.stateDir, 'gssproxy', 'clients-noimp')]) {
    rmSync(dir, { recursive: true, force: true });
    mkdir(dir, 0o700);
  }
}

/** Local users 3000+N with principals storm<N> (password storm-secret-N), for storms and benches. */
export function ensureStormUsers(env: RealmEnv, count: number): RealmUser[] {
  const out: RealmUser[] = [];
  const missing: string[] = [];
  for (let i = 0; i < count; i++) {
    const name = `storm${String(i).padStart(3, '0')}`;
    const local = ensureLocalUser(name, 3000 + i);
    const user: RealmUser = {
      name,
      uid: local.uid,
      gid: local.gid,
      principal: `${name}@${REALM}`,
      password: `storm-secret-${i}`,
    };
    env.users[name] ??= user;
    out.push(user);
    missing.push(`addprinc -pw ${user.password} ${name}`);
  }
  // addprinc of an existing principal fails harmlessly; filter its message
  const r = run('kadmin.local', ['-r', REALM], {
    env: baseEnv(env.stateDir, { KRB5_KDC_PROFILE: join(env.stateDir, 'kdc.conf') }),
    input: missing.join('\n') + '\n',
  });
  const bad = (r.stdout + r.stderr)
    .split('\n')
    .filter((l) => /error|fail/i.test(l) && !/already exists/i.test(l) && !/No policy specified/.test(l));
  if (bad.length > 0) throw new Error(`kadmin.local (storm users):\n${bad.join('\n')}`);
  return out;
}

/** Run kadmin.local commands against EXAMPLE.TEST (tests that change principals live). */
export function kadminLocal(env: RealmEnv, commands: string[]): void {
  kadmin(env.stateDir, REALM, join(env.stateDir, 'kdc.conf'), commands);
}

export { USERS_GROUP_GID };
