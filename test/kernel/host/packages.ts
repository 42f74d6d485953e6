// Debian packages the kernel test needs on the host. The guest runs on the host's /usr (9p), so
// the in-guest daemons (KDC, slapd, gssproxy, smbd) and tools are host packages too.
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { run } from './exec.ts';

/** package → why */
export const REQUIRED_PACKAGES: Record<string, string> = {
  'qemu-system-x86': 'qemu-system-x86_64 (TCG)',
  'busybox-static': 'initramfs /init',
  kmod: 'depmod/modprobe for the extracted kernel tree',
  cpio: 'initramfs packing',
  'xz-utils': 'vmlinux (6.1) and .ko.xz extraction',
  zstd: 'vmlinux extraction (6.12)',
  'krb5-kdc': 'in-guest KDC',
  'krb5-admin-server': 'kadmin.local',
  'krb5-user': 'kinit/klist',
  'krb5-kdc-ldap': 'kldap KDB (S4U2Proxy needs it) and kerberos.schema',
  slapd: 'in-guest LDAP for the KDB',
  'ldap-utils': 'ldapmodify',
  gssproxy: 'in-guest impersonation service',
  samba: 'in-guest smbd (file server)',
  'cifs-utils': 'mount.cifs and the stock cifs.upcall',
  keyutils: 'request-key',
  'util-linux': 'setpriv, setsid',
  iproute2: 'ip link set lo up',
  procps: 'in-guest tools',
};

const POLICY_RC_D = '/usr/sbin/policy-rc.d';

export function missingPackages(): string[] {
  const missing: string[] = [];
  for (const name of Object.keys(REQUIRED_PACKAGES)) {
    const r = run('dpkg-query', ['-W', '-f=${Status}', name], { allowFail: true });
    if (r.status !== 0 || !r.stdout.includes('install ok installed')) missing.push(name);
  }
  return missing;
}

/**
 * Install what is missing (root only). A deny-all policy-rc.d keeps the postinst scripts from
 * starting slapd/krb5kdc/smbd as host services; an existing one is left alone.
 */
export function ensurePackages(log: (line: string) => void): void {
  const missing = missingPackages();
  if (missing.length === 0) return;
  log(`installing apt packages: ${missing.join(' ')}`);
  const ownPolicy = !existsSync(POLICY_RC_D);
  if (ownPolicy) writeFileSync(POLICY_RC_D, '#!/bin/sh\nexit 101\n', { mode: 0o755 });
  try {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    const install = () =>
      run(
        'apt-get',
        [
          '-o',
          'DPkg::Lock::Timeout=900',
          '-o',
          'Dpkg::Options::=--force-confold',
          'install',
          '-y',
          '-qq',
          '--no-install-recommends',
          ...missing,
        ],
        { env, allowFail: true, timeoutMs: 900_000 },
      );
    let r = install();
    if (r.status !== 0) {
      run('apt-get', ['-o', 'DPkg::Lock::Timeout=900', 'update', '-qq'], { env, timeoutMs: 600_000 });
      r = install();
    }
    if (r.status !== 0) throw new Error(`apt-get install ${missing.join(' ')} failed:\n${r.stdout}${r.stderr}`);
  } finally {
    if (ownPolicy) rmSync(POLICY_RC_D, { force: true });
  }
  const still = missingPackages();
  if (still.length > 0) throw new Error(`packages still missing after install: ${still.join(' ')}`);
}
