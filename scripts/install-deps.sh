#!/bin/sh
# Installs everything cifs-upcall's build and test suite need on a fresh Debian 12 machine with
# Node.js 20 (idempotent). Daemons are only installed, never started as system services: a
# temporary deny-all policy-rc.d keeps package scripts from starting slapd, krb5kdc, smbd, ...
set -eu
[ "$(id -u)" = 0 ] || { echo "install-deps.sh: run as root" >&2; exit 1; }

PACKAGES="
  build-essential python3
  krb5-kdc krb5-user krb5-admin-server krb5-kdc-ldap libkrb5-3
  slapd ldap-utils
  gssproxy cifs-utils keyutils python3-gssapi sssd-kcm
  lintian binutils
  samba smbclient
  util-linux procps iproute2 dnsmasq-base bind9-dnsutils strace
  qemu-system-x86 busybox-static kmod cpio xz-utils zstd
"

missing=""
for p in $PACKAGES; do
  dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing="$missing $p"
done

if [ -n "$missing" ]; then
  created_policy=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    created_policy=1
  fi
  trap '[ -n "$created_policy" ] && rm -f /usr/sbin/policy-rc.d' EXIT
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=900 update -qq
  # shellcheck disable=SC2086
  apt-get -o DPkg::Lock::Timeout=900 install -y -qq --no-install-recommends \
    -o Dpkg::Options::=--force-confold $missing
fi

# kldap and the python acceptor are what the loopback realm cannot do without
test -e /usr/lib/x86_64-linux-gnu/krb5/plugins/kdb/kldap.so
/usr/bin/python3 -c 'import gssapi' 
echo "install-deps: ok"
