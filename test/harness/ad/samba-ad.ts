// The Active Directory test domain AD.TEST: a Samba 4.22 AD DC on 127.0.0.1, started by the tests.
//
//   DC          samba 4.22 (bookworm-backports, unpacked by scripts/install-samba-ad.sh into a private
//               prefix) in its own mount + UTS namespace: the prefix's /usr is overlaid on the host's,
//               /run is a private tmpfs, the per-run state appears at /run/cu-ad, and a private
//               resolv.conf (nameserver 127.0.0.1) and hosts file cover /etc. Services: KDC, smbd
//               (+ winbindd and the RPC server smbd needs); no DNS, LDAP, NetBIOS, NTP or replication.
//               Every listener is on 127.0.0.1 and on ports chosen per run, so runs can be parallel.
//   directory   provisioned once into a cached template (provision + accounts + keytabs + one warm-up
//               boot) and copied per run; see docs/design/samba-ad.md for the accounts and timings.
//   gssproxy    the Debian 12 daemon, same shape as the MIT harness (realm.ts): impersonation on the
//               main socket with CLIENT$'s keytab, a non-impersonating control service on its own.
//
// Nothing under /etc or /var is touched; daemons are stopped by PID after checking they are ours
// (Samba rewrites its command line, so the DC is recognised by its mount namespace instead).
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import {
  findFreePort,
  isAlive,
  portIsFree,
  run,
  sleep,
  startDaemon,
  stopDaemon,
  waitFor,
  type Daemon,
  type RunResult,
} from '../common/processes.ts';
import { ensureLocalUser, USERS_GROUP_GID } from '../common/users.ts';
import { testBedGssproxyConf } from '../gssproxy/gssproxy-conf.ts';

export const AD_REALM = 'AD.TEST';
export const AD_DOMAIN = 'ad.test';
export const AD_NETBIOS_DOMAIN = 'AD';
export const DC_HOST = 'dc1.ad.test';

/** Where the DC's per-run state directory appears inside its mount namespace. */
export const DC_INNER_DIR = '/run/cu-ad';
const MARKER = '.cifs-upcall-test-ad';
const DEFAULT_PREFIX = '/opt/cifs-upcall/samba-ad';
/** bump when the template's content or layout changes without a change to DOMAIN_SPEC */
const TEMPLATE_FORMAT = 1;
const ADMIN_PASSWORD = 'Admin-secret-1';

// ---- the domain ---------------------------------------------------------------------------------

/** What makes an account interesting for the tests. */
export type AdUserKind =
  | 'aes' // normal user, AES keys
  | 'rc4' // RC4 (NT hash) key only: AS replies encrypted with RC4
  | 'protected' // member of Protected Users
  | 'not-delegated' // userAccountControl NOT_DELEGATED (0x100000), "account is sensitive"
  | 'disabled' // userAccountControl ACCOUNTDISABLE
  | 'password-expired' // pwdLastSet = 0: must change password
  | 'no-account'; // local Linux account only, no AD user

interface UserSpec {
  name: string;
  uid: number;
  kind: AdUserKind;
  password: string | null;
}

/**
 * Local accounts 2201+ with the same names as the AD users (gssproxy maps uid → name@AD.TEST); the
 * AD users carry the same uidNumber (RFC 2307), so the DC's smbd sees the same uids as the client.
 */
const USER_SPECS: UserSpec[] = [
  { name: 'ad-alice', uid: 2201, kind: 'aes', password: 'Alice-secret-1' },
  { name: 'ad-bob', uid: 2202, kind: 'aes', password: 'Bob-secret-1' },
  { name: 'ad-rc4', uid: 2203, kind: 'rc4', password: 'Rc4-secret-1' },
  { name: 'ad-protected', uid: 2204, kind: 'protected', password: 'Protected-secret-1' },
  { name: 'ad-notdelegated', uid: 2205, kind: 'not-delegated', password: 'Sensitive-secret-1' },
  { name: 'ad-disabled', uid: 2206, kind: 'disabled', password: 'Disabled-secret-1' },
  { name: 'ad-expired', uid: 2207, kind: 'password-expired', password: 'Expired-secret-1' },
  { name: 'ad-nobody', uid: 2208, kind: 'no-account', password: null },
];

/** AES256+AES128+RC4, what a joined Windows computer advertises */
const ENCTYPES_AES_RC4 = 0x1c;
const ENCTYPES_RC4 = 0x04;

interface ComputerSpec {
  name: string;
  password: string;
  dnsHostName: string;
  spns: string[];
  enctypes: number | null;
  trustedToAuthForDelegation?: boolean;
  allowedToDelegateTo?: string[];
  allowedToActFrom?: string[];
}

const COMPUTER_SPECS: ComputerSpec[] = [
  {
    // the SMB client: gssproxy's impersonator; v1 (protocol transition) to fs1, fsrc4 and the DC's
    // alias dc1-v1 (the DC's main name cifs/dc1.ad.test is reached by RBCD only)
    name: 'CLIENT',
    password: 'Client-machine-secret-1',
    dnsHostName: 'client.ad.test',
    spns: ['HOST/client.ad.test', 'HOST/CLIENT'],
    enctypes: ENCTYPES_AES_RC4,
    trustedToAuthForDelegation: true,
    allowedToDelegateTo: ['cifs/fs1.ad.test', 'cifs/FS1', 'cifs/fsrc4.ad.test', 'cifs/dc1-v1.ad.test'],
  },
  {
    // v1 target
    name: 'FS1',
    password: 'Fs1-machine-secret-1',
    dnsHostName: 'fs1.ad.test',
    spns: ['HOST/fs1.ad.test', 'HOST/FS1', 'cifs/fs1.ad.test', 'cifs/FS1'],
    enctypes: ENCTYPES_AES_RC4,
  },
  {
    // v2 target: resource-based constrained delegation from CLIENT$; not in CLIENT$'s v1 list
    name: 'FS2',
    password: 'Fs2-machine-secret-1',
    dnsHostName: 'fs2.ad.test',
    spns: ['HOST/fs2.ad.test', 'HOST/FS2', 'cifs/fs2.ad.test', 'cifs/FS2'],
    enctypes: ENCTYPES_AES_RC4,
    allowedToActFrom: ['CLIENT$'],
  },
  {
    // RC4-only service: its tickets and session keys are RC4 (v1 target too)
    name: 'FSRC4',
    password: 'Fsrc4-machine-secret-1',
    dnsHostName: 'fsrc4.ad.test',
    spns: ['HOST/fsrc4.ad.test', 'HOST/FSRC4', 'cifs/fsrc4.ad.test', 'cifs/FSRC4'],
    enctypes: ENCTYPES_RC4,
  },
];

/** The DC's own smbd: cifs/dc1.ad.test by RBCD from CLIENT$, the alias cifs/dc1-v1.ad.test by v1. */
const RBCD_ON_DC = ['CLIENT$'];
const DC_EXTRA_SPNS = ['cifs/dc1-v1.ad.test'];

const KEYTAB_SPECS: Record<string, string[]> = {
  // gssproxy 0.9.1 impersonates as the FIRST keytab entry; Samba refuses an AS-REQ from
  // host/client.ad.test (KDC_ERR_C_PRINCIPAL_UNKNOWN), so CLIENT$ must come first
  machine: ['CLIENT$', 'host/client.ad.test'],
  // the same keys in the order that fails with gssproxy 0.9.1 (kept to prove it)
  'client-hostfirst': ['host/client.ad.test', 'CLIENT$'],
  fs1: ['cifs/fs1.ad.test'],
  fs2: ['cifs/fs2.ad.test'],
  fsrc4: ['cifs/fsrc4.ad.test'],
  dc1: ['cifs/dc1.ad.test'],
  'dc1-v1': ['cifs/dc1-v1.ad.test'],
  'all-services': ['cifs/fs1.ad.test', 'cifs/fs2.ad.test', 'cifs/fsrc4.ad.test', 'cifs/dc1.ad.test', 'cifs/dc1-v1.ad.test'],
};

// ---- public types -------------------------------------------------------------------------------

export interface AdUser {
  /** local account name = sAMAccountName */
  name: string;
  uid: number;
  gid: number;
  kind: AdUserKind;
  /** name@AD.TEST, or null for the local-only account */
  principal: string | null;
  password: string | null;
  sid: string | null;
}

export interface AdTimings {
  /** true when the provisioned template came from the cache */
  templateCached: boolean;
  /** provision + accounts + warm-up boot (0 when cached) */
  templateMs: number;
  provisionMs: number;
  accountsMs: number;
  copyMs: number;
  /** samba started until the KDC answers and smbd/winbindd are up */
  dcStartMs: number;
  gssproxyMs: number;
  totalMs: number;
}

/** Everything a test needs to know about the running domain (JSON-serialisable). */
export interface AdEnv {
  stateDir: string;
  realm: string;
  domain: string;
  netbiosDomain: string;
  sambaVersion: string;
  /** client krb5.conf: explicit KDC, no DNS, rdns/canonicalisation off, [domain_realm] for ad.test */
  krb5Conf: string;
  /** hosts file naming dc1/fs1/fs2/fsrc4/client.ad.test → 127.0.0.1 (the DC sees it as /etc/hosts) */
  hostsFile: string;
  kdc: { host: string; port: number; kpasswdPort: number; fast: boolean };
  dc: {
    pid: number;
    /** the DC's mount namespace, e.g. "mnt:[4026532177]" (its processes are recognised by it) */
    mountNamespace: string;
    hostName: string;
    smbPort: number;
    share: string;
    shareDir: string;
    /** stdout of `samba -i`: the KDC's and the root process's log */
    log: string;
    /** directory of smbd's and winbindd's logs (log.smbd, log.<client>, log.winbindd) */
    logDir: string;
    /** strace of the DC's network syscalls when started with traceNetwork */
    networkTrace: string | null;
    /** the DC's smb.conf as the host sees it (inside the namespace: /run/cu-ad/etc/smb.conf) */
    smbConf: string;
  };
  gssproxy: {
    /** impersonating service (allow_any_uid, trusted, impersonate, euid 0), keytab `machine` */
    socket: string;
    /** same without impersonation, own per-uid ccache directory */
    noImpersonateSocket: string;
    log: string;
    pid: number;
    clientsDir: string;
    conf: string;
  };
  keytabs: {
    /** CLIENT$ then host/client.ad.test: gssproxy's impersonator and the `user=CLIENT$` keytab */
    machine: string;
    /** the same keys, host/client.ad.test first: gssproxy 0.9.1 fails with it */
    clientHostFirst: string;
    fs1: string;
    fs2: string;
    fsRc4: string;
    /** cifs/dc1.ad.test (the DC account's keys) */
    dc1: string;
    /** cifs/dc1-v1.ad.test (the same keys under the alias name) */
    dc1V1: string;
    allServices: string;
  };
  principals: {
    machine: string;
    clientHost: string;
    fs1: string;
    fs2: string;
    fsRc4: string;
    /** the DC's own smbd, reached by RBCD */
    dc1: string;
    /** an alias SPN of the DC's account, reached by protocol transition (v1) */
    dc1V1: string;
  };
  hosts: { client: string; fs1: string; fs2: string; fsRc4: string; dc1: string; dc1V1: string };
  delegation: {
    /** services in CLIENT$'s msDS-AllowedToDelegateTo (protocol transition, "v1") */
    protocolTransition: string[];
    /** services whose account names CLIENT$ in msDS-AllowedToActOnBehalfOfOtherIdentity ("v2") */
    resourceBased: string[];
  };
  users: Record<string, AdUser>;
  domainSid: string;
  /** sAMAccountName → SID for users, computers and the DC */
  sids: Record<string, string>;
  /** shared scratch for ccaches (mode 1777) */
  ccacheDir: string;
  rcacheDir: string;
  timings: AdTimings;
}

export interface AdStartOptions {
  /** where to build; a fresh directory under /tmp by default */
  stateDir?: string;
  /** the Samba prefix made by scripts/install-samba-ad.sh (env CIFS_UPCALL_SAMBA_AD_PREFIX) */
  prefix?: string;
  /** template cache directory (env CIFS_UPCALL_SAMBA_AD_CACHE; default <prefix>/cache) */
  cacheDir?: string;
  /**
   * FAST (RFC 6113) in the KDC. Default off, like a Windows DC without the "KDC support for claims,
   * compound authentication and Kerberos armoring" policy; Samba's own default is on, and then MIT
   * clients armor their TGS-REQs with the TGT, so their KRB-ERRORs travel encrypted.
   */
  kdcFast?: boolean;
  /** run the DC under strace (connect/sendto/sendmsg/bind) to prove it only talks to loopback */
  traceNetwork?: boolean;
  /** Samba log level (default 3: the KDC logs one line per request with its reason) */
  logLevel?: number;
  gssproxyDebugLevel?: number;
}

export interface AdDomain {
  env: AdEnv;
  /** stop the DC and start it again on the same state and ports, e.g. with FAST switched */
  restartDc(options?: { kdcFast?: boolean }): Promise<void>;
  stop(): Promise<void>;
}

export class SambaAdNotInstalledError extends Error {}

// ---- small helpers ------------------------------------------------------------------------------

function write(path: string, text: string, mode = 0o644): void {
  writeFileSync(path, text, { mode });
  chmodSync(path, mode);
}

function mkdir(path: string, mode: number): void {
  mkdirSync(path, { recursive: true, mode });
  chmodSync(path, mode);
}

const harnessFile = (name: string): string => fileURLToPath(new URL(`./${name}`, import.meta.url));

function prefixOf(options: AdStartOptions): string {
  return options.prefix ?? process.env.CIFS_UPCALL_SAMBA_AD_PREFIX ?? DEFAULT_PREFIX;
}

function installedSambaVersion(prefix: string): string {
  const stamp = join(prefix, 'installed.env');
  if (!existsSync(stamp) || !existsSync(join(prefix, 'root', 'usr', 'sbin', 'samba'))) {
    throw new SambaAdNotInstalledError(`Samba AD DC not installed in ${prefix}: run scripts/install-samba-ad.sh (as root) first`);
  }
  const m = /^SAMBA_VERSION=(.*)$/m.exec(readFileSync(stamp, 'utf8'));
  if (!m?.[1]) throw new SambaAdNotInstalledError(`${stamp}: no SAMBA_VERSION`);
  return m[1];
}

/**
 * The mount namespace every Samba process runs in ($0 = prefix root, $1 = state dir, then the
 * command). /run becomes a private tmpfs, so Samba's compiled-in /run/samba (winbindd's pipe, which
 * smbd only looks for there) is private too. If /etc/resolv.conf is a symlink into /run, its target
 * is recreated inside the tmpfs before the bind mount.
 */
const NAMESPACE_SCRIPT = `set -e
root=$0; state=$1; shift
mount -t overlay cu-samba-ad-usr -o "lowerdir=$root/usr:/usr" /usr
mount -t tmpfs -o mode=755,size=8m cu-samba-ad-run /run
for f in resolv.conf hosts; do
  target=/etc/$f
  if [ -L "$target" ]; then target=$(readlink -m "$target"); mkdir -p "$(dirname "$target")"; : > "$target"; fi
  mount --bind "$state/etc/$f" "$target"
done
mkdir -p /run/samba ${DC_INNER_DIR}
mount --bind "$state/dc" ${DC_INNER_DIR}
hostname ${DC_HOST}
exec "$@"`;

function namespaceArgs(prefix: string, state: string, command: string[]): string[] {
  return ['--mount', '--uts', '--propagation', 'private', '/bin/sh', '-c', NAMESPACE_SCRIPT, join(prefix, 'root'), state, ...command];
}

function sambaEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    PATH: '/usr/sbin:/usr/bin:/sbin:/bin',
    LANG: 'C.UTF-8',
    KRB5_CONFIG: `${DC_INNER_DIR}/etc/krb5.conf`,
    ...extra,
  };
}

/** Run a command in a fresh Samba namespace over `state` (offline work: provision, accounts). */
function runInNewNamespace(
  prefix: string,
  state: string,
  command: string[],
  options: { input?: string; timeoutMs?: number } = {},
): RunResult {
  return run('/usr/bin/unshare', namespaceArgs(prefix, state, command), {
    env: sambaEnv(),
    input: options.input,
    timeoutMs: options.timeoutMs ?? 120_000,
  });
}

function lastJsonLine<T>(stdout: string, what: string): T {
  const line = stdout
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .pop();
  if (!line) throw new Error(`${what}: no JSON result in output:\n${stdout}`);
  return JSON.parse(line) as T;
}

function hostsFileText(): string {
  return [
    '127.0.0.1 localhost',
    `127.0.0.1 ${DC_HOST} dc1 dc1-v1.ad.test`,
    '127.0.0.1 fs1.ad.test fs1',
    '127.0.0.1 fs2.ad.test fs2',
    '127.0.0.1 fsrc4.ad.test fsrc4',
    '127.0.0.1 client.ad.test client',
    '',
  ].join('\n');
}

function writeNamespaceEtc(state: string): void {
  mkdir(join(state, 'etc'), 0o755);
  // nothing answers DNS on 127.0.0.1 here; one short try, then the resolver gives up
  write(join(state, 'etc', 'resolv.conf'), 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n');
  write(join(state, 'etc', 'hosts'), hostsFileText());
}

interface Ports {
  kdc: number;
  kpasswd: number;
  smb: number;
}

function freePorts(): Ports {
  const taken = new Set<number>();
  const pick = (): number => {
    for (let i = 0; i < 20; i++) {
      const p = findFreePort(30000, 40000);
      if (!taken.has(p)) {
        taken.add(p);
        return p;
      }
    }
    throw new Error('no distinct free ports in 30000..40000');
  };
  return { kdc: pick(), kpasswd: pick(), smb: pick() };
}

function dcSmbConf(ports: Ports, options: { kdcFast: boolean; logLevel: number }): string {
  const d = DC_INNER_DIR;
  return `# AD.TEST domain controller for cifs-upcall's tests (written per run by samba-ad.ts)
[global]
	netbios name = DC1
	workgroup = ${AD_NETBIOS_DOMAIN}
	realm = ${AD_REALM}
	server role = active directory domain controller
	interfaces = 127.0.0.1
	bind interfaces only = yes
	# KDC and SMB (smbd needs winbindd and the RPC server); no DNS (so nothing to forward), no
	# LDAP, NetBIOS, NTP signing, replication or KCC. No endpoint mapper: no fixed port 135.
	server services = s3fs, rpc, kdc, winbindd
	dcerpc endpoint servers = -epmapper
	krb5 port = ${ports.kdc}
	kpasswd port = ${ports.kpasswd}
	smb ports = ${ports.smb}
	kdc enable fast = ${options.kdcFast ? 'yes' : 'no'}
	private dir = ${d}/private
	state directory = ${d}/state
	cache directory = ${d}/cache
	lock directory = ${d}
	binddns dir = ${d}/bind-dns
	logging = file
	log file = ${d}/log/log.%m
	max log size = 0
	log level = ${options.logLevel}
	load printers = no
	printing = bsd
	printcap name = /dev/null
	disable spoolss = yes
	idmap_ldb:use rfc2307 = yes

[sysvol]
	path = ${d}/state/sysvol
	read only = no

[netlogon]
	path = ${d}/state/sysvol/${AD_DOMAIN}/scripts
	read only = no

[share]
	path = ${d}/share
	read only = no
`;
}

function krb5ConfText(state: string, kdcPort: number, kpasswdPort: number, options: { tcpOnly?: boolean } = {}): string {
  return `[libdefaults]
  default_realm = ${AD_REALM}
  dns_lookup_kdc = false
  dns_lookup_realm = false
  rdns = false
  dns_canonicalize_hostname = false
  forwardable = true
  default_ccache_name = FILE:${state}/ccache/krb5cc_%{uid}
  default_keytab_name = FILE:${state}/keytabs/none.keytab
  default_client_keytab_name = FILE:${state}/keytabs/none-client-%{uid}.keytab
  udp_preference_limit = ${options.tcpOnly ? 1 : 1465}

[realms]
  ${AD_REALM} = {
    kdc = 127.0.0.1:${kdcPort}
    kpasswd_server = 127.0.0.1:${kpasswdPort}
  }

[domain_realm]
  .${AD_DOMAIN} = ${AD_REALM}
  ${AD_DOMAIN} = ${AD_REALM}
`;
}

// ---- the cached template ------------------------------------------------------------------------

interface TemplateMeta {
  key: string;
  sambaVersion: string;
  domainSid: string;
  sids: Record<string, string>;
  provisionMs: number;
  accountsMs: number;
  warmupMs: number;
}

const DOMAIN_SPEC = {
  users: USER_SPECS,
  computers: COMPUTER_SPECS,
  rbcdOnDc: RBCD_ON_DC,
  dcExtraSpns: DC_EXTRA_SPNS,
  keytabs: KEYTAB_SPECS,
};

function templateKey(sambaVersion: string): string {
  const h = createHash('sha256');
  h.update(JSON.stringify({ TEMPLATE_FORMAT, sambaVersion, DOMAIN_SPEC, ADMIN_PASSWORD }));
  h.update(readFileSync(harnessFile('samba-ad-accounts.py')));
  return h.digest('hex').slice(0, 16);
}

function accountsInput(): string {
  const users = USER_SPECS.filter((u) => u.kind !== 'no-account').map((u) => ({
    name: u.name,
    password: u.password,
    uid: u.uid,
    gid: USERS_GROUP_GID,
    aesKeys: u.kind !== 'rc4',
    protected: u.kind === 'protected',
    notDelegated: u.kind === 'not-delegated',
    disabled: u.kind === 'disabled',
    mustChangePassword: u.kind === 'password-expired',
  }));
  const keytabs = Object.entries(KEYTAB_SPECS).map(([name, principals]) => ({
    path: `${DC_INNER_DIR}/keytabs/${name}.keytab`,
    principals,
  }));
  return JSON.stringify({
    smbConf: `${DC_INNER_DIR}/etc/smb.conf`,
    users,
    domainUsersGid: USERS_GROUP_GID,
    computers: COMPUTER_SPECS,
    rbcdOnDc: RBCD_ON_DC,
    dcExtraSpns: DC_EXTRA_SPNS,
    keytabs,
  });
}

/** Provision, add the accounts, boot once (first boot initialises tdbs: ~2 s more), clean up. */
async function buildTemplate(prefix: string, dir: string, key: string, sambaVersion: string): Promise<TemplateMeta> {
  mkdir(dir, 0o755);
  writeNamespaceEtc(dir);
  mkdir(join(dir, 'dc'), 0o755);

  let t = Date.now();
  runInNewNamespace(prefix, dir, [
    '/usr/bin/samba-tool',
    'domain',
    'provision',
    `--realm=${AD_REALM}`,
    `--domain=${AD_NETBIOS_DOMAIN}`,
    '--server-role=dc',
    '--dns-backend=NONE',
    '--host-name=dc1',
    '--host-ip=127.0.0.1',
    '--use-rfc2307',
    `--adminpass=${ADMIN_PASSWORD}`,
    `--targetdir=${DC_INNER_DIR}`,
    '--option=interfaces = 127.0.0.1',
    '--option=bind interfaces only = yes',
  ]);
  const provisionMs = Date.now() - t;

  t = Date.now();
  for (const d of ['keytabs', 'log', 'share']) mkdir(join(dir, 'dc', d), d === 'share' ? 0o1777 : 0o755);
  const r = runInNewNamespace(prefix, dir, ['/usr/bin/python3', harnessFile('samba-ad-accounts.py')], { input: accountsInput() });
  const accounts = lastJsonLine<{ ok: boolean; domainSid: string; sids: Record<string, string> }>(r.stdout, 'samba-ad-accounts.py');
  for (const name of Object.keys(KEYTAB_SPECS)) chmodSync(join(dir, 'dc', 'keytabs', `${name}.keytab`), 0o600);
  const accountsMs = Date.now() - t;

  // one boot so the copies start warm
  t = Date.now();
  const ports = freePorts();
  write(join(dir, 'dc', 'etc', 'smb.conf'), dcSmbConf(ports, { kdcFast: true, logLevel: 1 }));
  write(join(dir, 'dc', 'etc', 'krb5.conf'), krb5ConfText(dir, ports.kdc, ports.kpasswd));
  write(join(dir, 'krb5.conf'), krb5ConfText(dir, ports.kdc, ports.kpasswd));
  const dc = await startDc(prefix, dir, ports, { traceNetwork: false });
  await stopDc(dc);
  const warmupMs = Date.now() - t;
  for (const leftover of ['log', 'msg.lock', 'msg.sock']) rmSync(join(dir, 'dc', leftover), { recursive: true, force: true });
  removeSockets(join(dir, 'dc'));
  mkdir(join(dir, 'dc', 'log'), 0o755);
  for (const leftover of ['krb5.conf', 'log']) rmSync(join(dir, leftover), { recursive: true, force: true });

  const meta: TemplateMeta = { key, sambaVersion, domainSid: accounts.domainSid, sids: accounts.sids, provisionMs, accountsMs, warmupMs };
  write(join(dir, 'template.json'), JSON.stringify(meta, null, 2) + '\n');
  return meta;
}

/** Unix sockets left by the warm-up boot (winbindd's privileged pipe) cannot be copied. */
function removeSockets(dir: string): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isSocket()) rmSync(path, { force: true });
    else if (entry.isDirectory()) removeSockets(path);
  }
}

/** Templates of other keys (older harness or Samba versions), unused for an hour, go. */
function removeStaleTemplates(cacheDir: string, keep: string): void {
  for (const entry of readdirSync(cacheDir)) {
    const path = join(cacheDir, entry);
    if (path === keep || !/^(template|building)-/.test(entry)) continue;
    try {
      if (Date.now() - statSync(path).mtimeMs > 3_600_000) rmSync(path, { recursive: true, force: true });
    } catch {
      /* raced with another run */
    }
  }
}

async function ensureTemplate(
  prefix: string,
  cacheDir: string,
  sambaVersion: string,
): Promise<{ dir: string; meta: TemplateMeta; cached: boolean }> {
  const key = templateKey(sambaVersion);
  const dir = join(cacheDir, `template-${key}`);
  if (existsSync(join(dir, 'template.json'))) {
    return { dir, meta: JSON.parse(readFileSync(join(dir, 'template.json'), 'utf8')) as TemplateMeta, cached: true };
  }
  mkdir(cacheDir, 0o700);
  const building = join(cacheDir, `building-${key}-${process.pid}-${Date.now().toString(36)}`);
  try {
    const meta = await buildTemplate(prefix, building, key, sambaVersion);
    try {
      renameSync(building, dir);
    } catch {
      // a concurrent run published the same template first: use theirs
      if (!existsSync(join(dir, 'template.json'))) throw new Error(`could not publish template ${dir}`);
    }
    removeStaleTemplates(cacheDir, dir);
    return { dir, meta, cached: false };
  } finally {
    rmSync(building, { recursive: true, force: true });
  }
}

// ---- the DC process -----------------------------------------------------------------------------

interface RunningDc {
  prefix: string;
  state: string;
  pid: number;
  /** the DC's mount namespace, once it is known to differ from ours */
  mountNamespace: string | null;
  log: string;
  networkTrace: string | null;
}

function mountNamespaceOf(pid: number): string | null {
  try {
    return readlinkSync(`/proc/${pid}/ns/mnt`);
  } catch {
    return null;
  }
}

function pidsInMountNamespace(ns: string): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    if (mountNamespaceOf(Number(entry)) === ns) out.push(Number(entry));
  }
  return out;
}

async function startDc(prefix: string, state: string, ports: Ports, options: { traceNetwork: boolean }): Promise<RunningDc> {
  for (const p of [ports.kdc, ports.kpasswd, ports.smb]) {
    if (!portIsFree(p)) throw new Error(`port ${p} on 127.0.0.1 is busy`);
  }
  const log = join(state, 'log', 'dc.out');
  mkdir(join(state, 'log'), 0o755);
  // a safety net: a DC orphaned by a crashed test runner ends by itself
  const maxRuntime = process.env.CIFS_UPCALL_AD_MAX_RUNTIME ?? '14400';
  const samba = ['/usr/sbin/samba', '-i', '-M', 'single', '-s', `${DC_INNER_DIR}/etc/smb.conf`, `--maximum-runtime=${maxRuntime}`];
  const networkTrace = options.traceNetwork ? join(state, 'dc', 'log', 'network.strace') : null;
  const command = options.traceNetwork
    ? [
        '/usr/bin/strace',
        '-f',
        '--seccomp-bpf',
        '-qq',
        '-e',
        'trace=connect,sendto,sendmsg,bind',
        '-o',
        `${DC_INNER_DIR}/log/network.strace`,
        ...samba,
      ]
    : samba;
  const daemon: Daemon = startDaemon('samba-ad-dc', '/usr/bin/unshare', namespaceArgs(prefix, state, command), {
    env: sambaEnv(),
    log,
    marker: state,
  });
  const dc: RunningDc = { prefix, state, pid: daemon.pid, mountNamespace: null, log, networkTrace };
  const self = mountNamespaceOf(process.pid);
  const probeEnv = {
    PATH: '/usr/bin:/bin',
    LANG: 'C',
    KRB5_CONFIG: join(state, 'krb5.conf'),
    KRB5CCNAME: 'MEMORY:probe',
  };
  try {
    await waitFor(
      'Samba AD DC (KDC, smbd, winbindd)',
      () => {
        if (dc.mountNamespace === null) {
          const ns = mountNamespaceOf(dc.pid);
          if (ns !== null && ns !== self) dc.mountNamespace = ns;
        }
        if (!existsSync(`/proc/${dc.pid}/root/run/samba/winbindd/pipe`)) return false;
        if (portIsFree(ports.smb)) return false;
        return (
          run('/usr/bin/kinit', ['-k', '-t', join(state, 'dc', 'keytabs', 'machine.keytab'), 'CLIENT$'], {
            env: probeEnv,
            allowFail: true,
            timeoutMs: 5000,
          }).status === 0
        );
      },
      { daemon, timeoutMs: 60_000 },
    );
  } catch (e) {
    await stopDc(dc);
    throw e;
  }
  return dc;
}

/**
 * SIGTERM the DC's root process (Samba then ends smbd and winbindd), wait, then SIGKILL whatever
 * is still in the DC's mount namespace. Only processes in that namespace, which nothing but this
 * DC uses, are signalled; never our own namespace.
 */
async function stopDc(dc: RunningDc, graceMs = 5000): Promise<void> {
  const self = mountNamespaceOf(process.pid);
  const ns = dc.mountNamespace ?? mountNamespaceOf(dc.pid);
  if (ns === null || ns === self) {
    // it never got (or is gone from) its namespace: only the recorded PID, if it still runs our command
    await stopDaemon({ name: 'samba-ad-dc', pid: dc.pid, marker: dc.state, log: dc.log }, graceMs);
    return;
  }
  const signal = (pid: number, sig: NodeJS.Signals): void => {
    if (mountNamespaceOf(pid) !== ns) return;
    try {
      process.kill(pid, sig);
    } catch {
      /* gone */
    }
  };
  // the root samba process (under strace when tracing: strace would only detach on SIGTERM)
  const members = pidsInMountNamespace(ns);
  const comm = (pid: number): string => {
    try {
      return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
    } catch {
      return '';
    }
  };
  const ppid = (pid: number): number => {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
      return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    } catch {
      return 0;
    }
  };
  const sambas = members.filter((p) => comm(p) === 'samba');
  const roots = sambas.filter((p) => !sambas.includes(ppid(p)));
  for (const pid of roots.length > 0 ? roots : [dc.pid]) signal(pid, 'SIGTERM');
  const until = Date.now() + graceMs;
  while (Date.now() < until) {
    if (pidsInMountNamespace(ns).filter(isAlive).length === 0) return;
    await sleep(25);
  }
  for (const pid of pidsInMountNamespace(ns)) signal(pid, 'SIGTERM');
  await sleep(500);
  for (const pid of pidsInMountNamespace(ns)) signal(pid, 'SIGKILL');
}

// ---- start / stop -------------------------------------------------------------------------------

function freshStateDir(requested?: string): string {
  const dir = requested ?? `/tmp/cu-ad-${process.pid}-${Date.now().toString(36)}`;
  if (existsSync(dir)) {
    if (!existsSync(join(dir, MARKER))) throw new Error(`refusing to wipe ${dir}: no ${MARKER} marker`);
    rmSync(dir, { recursive: true, force: true });
  }
  mkdir(dir, 0o755);
  write(join(dir, MARKER), 'cifs-upcall AD test domain state; safe to delete when no daemon runs\n');
  for (const [d, mode] of [
    ['keytabs', 0o755],
    ['gssproxy', 0o755],
    ['gssproxy/clients', 0o700],
    ['gssproxy/clients-noimp', 0o700],
    ['ccache', 0o1777],
    ['rcache', 0o1777],
    ['log', 0o755],
  ] as const) {
    mkdir(join(dir, d), mode);
  }
  return dir;
}

export async function startAdDomain(options: AdStartOptions = {}): Promise<AdDomain> {
  const started = Date.now();
  const prefix = prefixOf(options);
  const sambaVersion = installedSambaVersion(prefix);
  const cacheDir = options.cacheDir ?? process.env.CIFS_UPCALL_SAMBA_AD_CACHE ?? join(prefix, 'cache');

  const users: Record<string, AdUser> = {};
  for (const spec of USER_SPECS) {
    const local = ensureLocalUser(spec.name, spec.uid);
    users[spec.name] = {
      name: spec.name,
      uid: local.uid,
      gid: local.gid,
      kind: spec.kind,
      principal: spec.kind === 'no-account' ? null : `${spec.name}@${AD_REALM}`,
      password: spec.password,
      sid: null,
    };
  }

  let t = Date.now();
  const template = await ensureTemplate(prefix, cacheDir, sambaVersion);
  const templateMs = template.cached ? 0 : Date.now() - t;
  for (const user of Object.values(users)) user.sid = template.meta.sids[user.name] ?? null;

  const state = freshStateDir(options.stateDir);
  let dc: RunningDc | null = null;
  let gssproxy: Daemon | null = null;
  const stop = async (): Promise<void> => {
    if (gssproxy) await stopDaemon(gssproxy);
    gssproxy = null;
    if (dc) await stopDc(dc);
    dc = null;
    if (!process.env.CIFS_UPCALL_KEEP_REALM && existsSync(join(state, MARKER))) {
      rmSync(state, { recursive: true, force: true });
    }
  };

  try {
    t = Date.now();
    cpSync(join(template.dir, 'dc'), join(state, 'dc'), { recursive: true, preserveTimestamps: true });
    writeNamespaceEtc(state);
    const copyMs = Date.now() - t;

    const ports = freePorts();
    let kdcFast = options.kdcFast ?? false;
    const logLevel = options.logLevel ?? 3;
    const writeDcConfig = (): void => {
      write(join(state, 'dc', 'etc', 'smb.conf'), dcSmbConf(ports, { kdcFast, logLevel }));
      write(join(state, 'dc', 'etc', 'krb5.conf'), krb5ConfText(state, ports.kdc, ports.kpasswd));
    };
    writeDcConfig();
    write(join(state, 'krb5.conf'), krb5ConfText(state, ports.kdc, ports.kpasswd));

    t = Date.now();
    dc = await startDc(prefix, state, ports, { traceNetwork: options.traceNetwork ?? false });
    const dcStartMs = Date.now() - t;

    t = Date.now();
    const keytab = (name: string): string => join(state, 'dc', 'keytabs', `${name}.keytab`);
    const gpConf = join(state, 'gssproxy', 'gssproxy.conf');
    write(gpConf, testBedGssproxyConf(state, keytab('machine'), options.gssproxyDebugLevel ?? 2), 0o600);
    const gp = startGssproxy(state, gpConf, join(state, 'gssproxy', 'default.sock'), join(state, 'log', 'gssproxy.out'));
    gssproxy = gp.daemon;
    await gp.ready;
    const gssproxyMs = Date.now() - t;

    const env: AdEnv = {
      stateDir: state,
      realm: AD_REALM,
      domain: AD_DOMAIN,
      netbiosDomain: AD_NETBIOS_DOMAIN,
      sambaVersion,
      krb5Conf: join(state, 'krb5.conf'),
      hostsFile: join(state, 'etc', 'hosts'),
      kdc: { host: '127.0.0.1', port: ports.kdc, kpasswdPort: ports.kpasswd, fast: kdcFast },
      dc: {
        pid: dc.pid,
        mountNamespace: dc.mountNamespace ?? '',
        hostName: DC_HOST,
        smbPort: ports.smb,
        share: 'share',
        shareDir: join(state, 'dc', 'share'),
        log: dc.log,
        logDir: join(state, 'dc', 'log'),
        networkTrace: dc.networkTrace,
        smbConf: join(state, 'dc', 'etc', 'smb.conf'),
      },
      gssproxy: {
        socket: join(state, 'gssproxy', 'default.sock'),
        noImpersonateSocket: join(state, 'gssproxy', 'noimpersonate.sock'),
        log: join(state, 'log', 'gssproxy.out'),
        pid: gp.daemon.pid,
        clientsDir: join(state, 'gssproxy', 'clients'),
        conf: gpConf,
      },
      keytabs: {
        machine: keytab('machine'),
        clientHostFirst: keytab('client-hostfirst'),
        fs1: keytab('fs1'),
        fs2: keytab('fs2'),
        fsRc4: keytab('fsrc4'),
        dc1: keytab('dc1'),
        dc1V1: keytab('dc1-v1'),
        allServices: keytab('all-services'),
      },
      principals: {
        machine: `CLIENT$@${AD_REALM}`,
        clientHost: `host/client.ad.test@${AD_REALM}`,
        fs1: `cifs/fs1.ad.test@${AD_REALM}`,
        fs2: `cifs/fs2.ad.test@${AD_REALM}`,
        fsRc4: `cifs/fsrc4.ad.test@${AD_REALM}`,
        dc1: `cifs/dc1.ad.test@${AD_REALM}`,
        dc1V1: `cifs/dc1-v1.ad.test@${AD_REALM}`,
      },
      hosts: {
        client: 'client.ad.test',
        fs1: 'fs1.ad.test',
        fs2: 'fs2.ad.test',
        fsRc4: 'fsrc4.ad.test',
        dc1: DC_HOST,
        dc1V1: 'dc1-v1.ad.test',
      },
      delegation: {
        protocolTransition: ['cifs/fs1.ad.test', 'cifs/fsrc4.ad.test', 'cifs/dc1-v1.ad.test'],
        resourceBased: ['cifs/fs2.ad.test', 'cifs/dc1.ad.test'],
      },
      users,
      domainSid: template.meta.domainSid,
      sids: template.meta.sids,
      ccacheDir: join(state, 'ccache'),
      rcacheDir: join(state, 'rcache'),
      timings: {
        templateCached: template.cached,
        templateMs,
        provisionMs: template.cached ? 0 : template.meta.provisionMs,
        accountsMs: template.cached ? 0 : template.meta.accountsMs,
        copyMs,
        dcStartMs,
        gssproxyMs,
        totalMs: Date.now() - started,
      },
    };

    const restartDc = async (o: { kdcFast?: boolean } = {}): Promise<void> => {
      if (dc) await stopDc(dc);
      kdcFast = o.kdcFast ?? kdcFast;
      writeDcConfig();
      dc = await startDc(prefix, state, ports, { traceNetwork: options.traceNetwork ?? false });
      env.dc.pid = dc.pid;
      env.dc.mountNamespace = dc.mountNamespace ?? '';
      env.kdc.fast = kdcFast;
    };
    return { env, restartDc, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** gssproxy in a private mount namespace with a tmpfs /run (-i still writes /run/gssproxy.pid). */
function startGssproxy(
  state: string,
  conf: string,
  socket: string,
  log: string,
  krb5Conf?: string,
): { daemon: Daemon; ready: Promise<void> } {
  const daemon = startDaemon(
    'gssproxy',
    '/usr/bin/unshare',
    [
      '--mount',
      '--propagation',
      'private',
      '/bin/sh',
      '-c',
      'mount -t tmpfs -o mode=755,size=1m cu-gssproxy-run /run && exec /usr/sbin/gssproxy -i -d -c "$0" -s "$1"',
      conf,
      socket,
    ],
    {
      env: {
        PATH: '/usr/sbin:/usr/bin:/sbin:/bin',
        LANG: 'C',
        KRB5_CONFIG: krb5Conf ?? join(state, 'krb5.conf'),
        KRB5RCACHEDIR: join(state, 'rcache'),
      },
      log,
      marker: conf,
    },
  );
  const ready = waitFor('gssproxy', () => existsSync(socket) && readFileSync(log, 'utf8').includes('Initialization complete'), { daemon });
  return { daemon, ready };
}

/**
 * A second, throwaway gssproxy on the same domain with another impersonator keytab (e.g.
 * `keytabs.clientHostFirst`) and optional extra service lines (e.g. `krb5_principal = …`).
 */
export async function startExtraGssproxy(
  env: AdEnv,
  name: string,
  keytab: string,
  options: { extraServiceLines?: string[]; krb5Conf?: string } = {},
): Promise<{ socket: string; log: string; clientsDir: string; stop(): Promise<void> }> {
  const extraServiceLines = options.extraServiceLines ?? [];
  const dir = join(env.stateDir, `gssproxy-${name}`);
  mkdir(dir, 0o755);
  mkdir(join(dir, 'clients'), 0o700);
  const conf = join(dir, 'gssproxy.conf');
  write(
    conf,
    `[gssproxy]
  debug_level = 2
  worker threads = 2

[service/cifs-client]
  mechs = krb5
  cred_store = keytab:${keytab}
  cred_store = ccache:FILE:${dir}/clients/krb5cc_%U
  cred_usage = initiate
  allow_any_uid = yes
  trusted = yes
  impersonate = true
  euid = 0
${extraServiceLines.map((l) => `  ${l}\n`).join('')}`,
    0o600,
  );
  const socket = join(dir, 'default.sock');
  const log = join(env.stateDir, 'log', `gssproxy-${name}.out`);
  const gp = startGssproxy(env.stateDir, conf, socket, log, options.krb5Conf);
  try {
    await gp.ready;
  } catch (e) {
    await stopDaemon(gp.daemon);
    throw e;
  }
  return { socket, log, clientsDir: join(dir, 'clients'), stop: () => stopDaemon(gp.daemon) };
}

// ---- helpers for tests --------------------------------------------------------------------------

/** Environment for a process acting as a test user: nothing inherited from the test runner. */
export function adUserEnv(env: AdEnv, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { PATH: '/usr/bin:/bin', LANG: 'C', KRB5_CONFIG: env.krb5Conf, KRB5RCACHEDIR: env.rcacheDir, ...extra };
}

/** Environment for going through gssproxy's interposer (proxymech.so), REMOTE_ONLY. */
export function gssproxyClientEnv(env: AdEnv, socket: string, ccache: string): NodeJS.ProcessEnv {
  return adUserEnv(env, {
    KRB5CCNAME: ccache,
    GSS_USE_PROXY: 'yes',
    GSSPROXY_SOCKET: socket,
    GSSPROXY_BEHAVIOR: 'REMOTE_ONLY',
  });
}

export interface AsUser {
  name: string;
  uid: number;
  gid: number;
}

export const ROOT: AsUser = { name: 'root', uid: 0, gid: 0 };

/** Run a command as a user (real uid/gid, no supplementary groups, no capabilities). */
export function runAsUser(
  user: AsUser,
  command: string,
  args: string[],
  options: { env: NodeJS.ProcessEnv; input?: string; allowFail?: boolean; timeoutMs?: number },
): RunResult {
  return run(
    'setpriv',
    [`--reuid=${user.uid}`, `--regid=${user.gid}`, '--clear-groups', '--inh-caps=-all', '--', command, ...args],
    options,
  );
}

/**
 * Like runAsUser, but without blocking the event loop: needed while something in this process must
 * keep serving (the KDC tap of samba-ad-kdc-tap.ts). Never throws on a non-zero exit.
 */
export function runAsUserAsync(
  user: AsUser,
  command: string,
  args: string[],
  options: { env: NodeJS.ProcessEnv; input?: string; timeoutMs?: number },
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      'setpriv',
      [`--reuid=${user.uid}`, `--regid=${user.gid}`, '--clear-groups', '--inh-caps=-all', '--', command, ...args],
      { env: options.env, stdio: ['pipe', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ status: code ?? -1, stdout, stderr });
    });
    child.stdin.end(options.input ?? '');
  });
}

/** kinit with the user's password into `ccache`, as the user; returns kinit's result (allowFail). */
export function adKinit(env: AdEnv, user: AdUser, ccache: string, options: { krb5Conf?: string; lifetime?: string } = {}): RunResult {
  if (!user.principal || !user.password) throw new Error(`${user.name} has no AD account`);
  return runAsUser(user, '/usr/bin/kinit', [...(options.lifetime ? ['-l', options.lifetime] : []), user.principal], {
    env: adUserEnv(env, { KRB5CCNAME: ccache, ...(options.krb5Conf ? { KRB5_CONFIG: options.krb5Conf } : {}) }),
    input: `${user.password}\n`,
    allowFail: true,
  });
}

export interface InitiatorResult {
  ok: boolean;
  /** hex */
  token?: string;
  /** hex GSS_C_INQ_SSPI_SESSION_KEY of the initiator's context, when the mech answers it */
  key?: string | null;
  keyOid?: string | null;
  error?: string;
  major?: number;
  minor?: number;
}

/**
 * MIT's initiator (python3-gssapi) as `user` for cifs@<host>: one step, integrity only. With
 * `gssproxySocket` it goes through the interposer (REMOTE_ONLY) with a ccache that does not exist.
 * Asynchronous, so a KDC tap in this process keeps relaying meanwhile.
 */
export async function mitInitiate(
  env: AdEnv,
  user: AsUser,
  host: string,
  options: { ccache?: string; gssproxySocket?: string; mech?: 'spnego' | 'krb5'; krb5Conf?: string } = {},
): Promise<InitiatorResult> {
  const ccache = options.ccache ?? `FILE:${env.ccacheDir}/absent_${user.uid}_${Date.now().toString(36)}`;
  const base = options.gssproxySocket ? gssproxyClientEnv(env, options.gssproxySocket, ccache) : adUserEnv(env, { KRB5CCNAME: ccache });
  if (options.krb5Conf) base.KRB5_CONFIG = options.krb5Conf;
  const r = await runAsUserAsync(
    user,
    '/usr/bin/python3',
    [harnessFile('samba-ad-initiator.py'), `cifs@${host}`, options.mech ?? 'spnego'],
    {
      env: base,
    },
  );
  // the interposer may leave an entry in a ccache named by KRB5CCNAME (MIT harness pitfall #5)
  if (!options.ccache && ccache.startsWith('FILE:')) rmSync(ccache.slice(5), { force: true });
  return lastJsonLine<InitiatorResult>(r.stdout, `initiator (${r.stderr.trim()})`);
}

export interface AdAcceptance {
  ok: boolean;
  initiator?: string;
  target?: string;
  key?: string;
  keyOid?: string | null;
  mech?: string;
  flags?: number;
  complete?: boolean;
  replyToken?: string | null;
  /** hex of the ticket's PAC (MIT's "urn:mspac:" attribute) */
  pac?: string | null;
  /** MIT verified the PAC's server checksum */
  pacVerified?: boolean;
  error?: string;
  major?: number;
  minor?: number;
}

/** Accept a token with MIT's acceptor (python3-gssapi) and return the session key and the PAC. */
export function acceptWithPac(env: AdEnv, keytab: string, token: string, mech: 'spnego' | 'krb5' = 'spnego'): AdAcceptance {
  const r = run('/usr/bin/python3', [harnessFile('samba-ad-acceptor.py')], {
    env: { PATH: '/usr/bin:/bin', LANG: 'C', KRB5_CONFIG: env.krb5Conf, KRB5RCACHEDIR: env.rcacheDir },
    input: JSON.stringify({ keytab, token, mech }) + '\n',
  });
  return lastJsonLine<AdAcceptance>(r.stdout, 'samba-ad-acceptor.py');
}

/** Run a command inside the running DC's namespaces (Samba 4.22 tools, the DC's /etc/hosts). */
export function inDcNamespace(
  env: AdEnv,
  command: string,
  args: string[],
  options: { input?: string; allowFail?: boolean; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): RunResult {
  if (mountNamespaceOf(env.dc.pid) !== env.dc.mountNamespace) throw new Error('the AD DC is not running');
  return run('/usr/bin/nsenter', ['-t', String(env.dc.pid), '-m', '-u', '--', command, ...args], {
    env: options.env ?? sambaEnv(),
    input: options.input,
    allowFail: options.allowFail,
    timeoutMs: options.timeoutMs,
  });
}

/**
 * Change the directory of the running DC (LDIF; `changetype: add|modify|delete`), e.g. to remove
 * the RBCD descriptor from FS2$ or flip userAccountControl bits. The KDC sees it on its next request.
 */
export function modifyDirectory(env: AdEnv, ldif: string): number {
  const r = inDcNamespace(env, '/usr/bin/python3', [harnessFile('samba-ad-ldif.py'), `${DC_INNER_DIR}/etc/smb.conf`], { input: ldif });
  return lastJsonLine<{ applied: number }>(r.stdout, 'samba-ad-ldif.py').applied;
}

/** The DN of an account (users in CN=Users, computers in CN=Computers, the DC in OU=Domain Controllers). */
export function accountDn(name: string): string {
  const base = 'DC=ad,DC=test';
  if (name === 'DC1$') return `CN=DC1,OU=Domain Controllers,${base}`;
  if (name.endsWith('$')) return `CN=${name.slice(0, -1)},CN=Computers,${base}`;
  return `CN=${name},CN=Users,${base}`;
}

/** Write a krb5.conf variant into the state dir (e.g. pointing at a KDC tap, TCP only). */
export function writeKrb5Conf(env: AdEnv, name: string, options: { kdcPort?: number; tcpOnly?: boolean } = {}): string {
  const path = join(env.stateDir, `krb5-${name}.conf`);
  write(path, krb5ConfText(env.stateDir, options.kdcPort ?? env.kdc.port, env.kdc.kpasswdPort, { tcpOnly: options.tcpOnly }));
  return path;
}

/** Forget gssproxy's per-uid cached credentials so the next request goes to the KDC again. */
export function clearAdGssproxyCache(env: AdEnv): void {
  for (const dir of [env.gssproxy.clientsDir, join(env.stateDir, 'gssproxy', 'clients-noimp')]) {
    rmSync(dir, { recursive: true, force: true });
    mkdir(dir, 0o700);
  }
}

/** The KDC's one-line summaries ("Kerberos: TGS-REQ ERR_BADOPTION … reason=…") in a log excerpt. */
export function kdcRequestLines(logText: string): string[] {
  return logText.split('\n').filter((l) => /^Kerberos: (AS|TGS)-REQ (SUCCESS|ERR_|KRB5)/.test(l));
}
