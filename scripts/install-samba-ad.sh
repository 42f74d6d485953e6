#!/bin/bash
# Install a Samba 4.22 AD DC (Debian bookworm-backports) into a private prefix, next to the stock
# Debian 12 packages, for the AD test domain (test/harness/ad/samba-ad.ts, docs/design/samba-ad.md).
#
# Why a prefix and not `apt-get install -t bookworm-backports samba-ad-dc`: that would upgrade the
# machine's samba, smbclient, libsmbclient, libwbclient, libldb2, libtalloc2, libtdb1, libtevent0 and
# python3-samba/-ldb/-tdb/-talloc to 4.22, but other tests need Debian 12's stock 4.17 smbd/smbclient.
# So the .debs are only downloaded and unpacked (dpkg -x: no maintainer scripts, nothing registered
# with dpkg, no service can start). The harness runs the DC in a private mount namespace with the
# unpacked /usr overlaid on the host's /usr, so Samba's compiled-in paths (/usr/lib/.../samba, ldb
# modules, /usr/share/samba/setup, python dist-packages) all resolve to 4.22 there and only there.
#
# What this script changes on the machine: it creates $PREFIX (default /opt/cifs-upcall/samba-ad)
# holding a private apt state (apt/), the downloaded .debs (debs/), the unpacked tree (root/) and
# installed.env. It does not touch /etc/apt, dpkg's database, or any system service. The host's apt
# configuration is read (proxies etc.) but its sources lists are replaced by the private list below.
#
# Usage: scripts/install-samba-ad.sh [--force] [--plan]
#   --force  re-download and re-extract even if the prefix is complete
#   --plan   only print what `apt-get install -t bookworm-backports …` would do to the system
# Environment: CIFS_UPCALL_SAMBA_AD_PREFIX (install location).
# Idempotent: a complete prefix whose installed.env matches is verified and left alone (≈0.2 s).
set -euo pipefail

PREFIX=${CIFS_UPCALL_SAMBA_AD_PREFIX:-/opt/cifs-upcall/samba-ad}
SUITE=bookworm-backports
MIN_MAJOR=4
MIN_MINOR=19 # the Heimdal-based AD DC implements RBCD from 4.19 on
PACKAGES=(samba samba-ad-dc samba-ad-provision samba-dsdb-modules samba-common-bin winbind
  smbclient python3-samba ldb-tools tdb-tools)
FORMAT=1 # bump when the layout of $PREFIX changes

force=0
plan=0
for arg in "$@"; do
  case "$arg" in
    --force) force=1 ;;
    --plan) plan=1 ;;
    *) echo "usage: $0 [--force] [--plan]" >&2; exit 2 ;;
  esac
done

log() { printf '[install-samba-ad] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root"
# shellcheck disable=SC1091
. /etc/os-release
[ "${VERSION_CODENAME:-}" = bookworm ] || die "Debian 12 (bookworm) expected, found ${PRETTY_NAME:-unknown}"
arch=$(dpkg --print-architecture)

# Run a command in a private mount namespace with the unpacked /usr overlaid on the host's.
in_overlay() {
  unshare --mount --propagation private /bin/sh -c \
    'mount -t overlay cu-samba-ad-usr -o "lowerdir=$0/usr:/usr" /usr && exec "$@"' "$PREFIX/root" "$@"
}

verify() {
  local v4 host
  v4=$(in_overlay /usr/sbin/samba -V 2>&1) || return 1
  case "$v4" in "Version 4."*) ;; *) return 1 ;; esac
  in_overlay /usr/bin/python3 -c 'import samba, ldb; from samba.samdb import SamDB' >/dev/null 2>&1 || return 1
  in_overlay /usr/bin/samba-tool --version >/dev/null 2>&1 || return 1
  in_overlay /usr/bin/ldbmodify --version >/dev/null 2>&1 || return 1
  host=$( (/usr/sbin/smbd -V 2>/dev/null || echo 'no smbd') | head -1)
  log "overlay: samba ${v4#Version }; host outside the namespace: smbd ${host#Version }"
}

if [ "$plan" = 0 ] && [ "$force" = 0 ] && [ -f "$PREFIX/installed.env" ] \
  && grep -qx "FORMAT=$FORMAT" "$PREFIX/installed.env" && verify; then
  log "already installed in $PREFIX ($(grep '^SAMBA_VERSION=' "$PREFIX/installed.env"))"
  exit 0
fi

started=$(date +%s.%N)

# policy-rc.d guard: nothing below runs maintainer scripts, but keep the machine's rule that no
# package operation may start a daemon (removed again only if we created it)
created_policy=0
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
  chmod 755 /usr/sbin/policy-rc.d
  created_policy=1
fi
APT="$PREFIX/apt"
cleanup() {
  if [ "$created_policy" = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi
  # the package lists (~90 MB) are only needed to resolve and download; the next run refreshes them
  rm -rf "$APT/lists" "$APT/cache"
}
trap cleanup EXIT

# --- private apt state: the machine's dpkg status (to resolve against what is installed), but our
# own sources list (bookworm + backports), lists and caches; no host preferences/pins
mkdir -p "$APT/lists/partial" "$APT/cache/archives/partial" "$APT/sources.list.d" "$APT/preferences.d"
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
[ -f "$keyring" ] || die "$keyring missing (package debian-archive-keyring)"
cat >"$APT/sources.list" <<EOF
deb [signed-by=$keyring] http://deb.debian.org/debian bookworm main
deb [signed-by=$keyring] http://deb.debian.org/debian bookworm-updates main
deb [signed-by=$keyring] http://deb.debian.org/debian-security bookworm-security main
deb [signed-by=$keyring] http://deb.debian.org/debian $SUITE main
EOF
apt_opts=(
  -o "Dir::Etc::sourcelist=$APT/sources.list"
  -o "Dir::Etc::sourceparts=$APT/sources.list.d"
  -o "Dir::Etc::preferences=$APT/preferences"
  -o "Dir::Etc::preferencesparts=$APT/preferences.d"
  -o "Dir::State::Lists=$APT/lists"
  -o "Dir::Cache=$APT/cache"
  -o "Dir::Cache::pkgcache=$APT/cache/pkgcache.bin"
  -o "Dir::Cache::srcpkgcache=$APT/cache/srcpkgcache.bin"
  -o "APT::Sandbox::User=root"
  -o "DPkg::Lock::Timeout=900"
)
log "apt-get update (private lists in $APT)"
apt-get "${apt_opts[@]}" -qq update >&2

# What a system-wide install would do. We never run it; it names exactly the packages (and
# versions) whose files the 4.22 DC needs: everything it would install or upgrade.
sim=$(apt-get "${apt_opts[@]}" -s -t "$SUITE" install "${PACKAGES[@]}")
if [ "$plan" = 1 ]; then
  printf '%s\n' "$sim" | grep -E '^(Inst|Remv) '
  exit 0
fi
mapfile -t wanted < <(printf '%s\n' "$sim" | awk '/^Inst /{v=$3; if (v ~ /^\[/) v=$4; gsub(/[()]/, "", v); print $2 "=" v}')
[ "${#wanted[@]}" -gt 0 ] || die "apt simulation selected nothing (is $SUITE reachable?)"
samba_version=$(printf '%s\n' "${wanted[@]}" | sed -n 's/^samba=//p')
[ -n "$samba_version" ] || die "apt would not take samba from $SUITE"
upstream=${samba_version#*:}
upstream=${upstream%%+*}
major=${upstream%%.*}
minor=${upstream#*.}
minor=${minor%%.*}
if [ "$major" -lt "$MIN_MAJOR" ] || { [ "$major" = "$MIN_MAJOR" ] && [ "$minor" -lt "$MIN_MINOR" ]; }; then
  die "samba $samba_version from $SUITE is older than $MIN_MAJOR.$MIN_MINOR (no RBCD in the AD DC)"
fi
log "samba $samba_version: ${#wanted[@]} packages"
printf '%s\n' "$sim" | grep -E '^Inst ' | sed 's/^/[install-samba-ad]   would-install: /' >&2

# --- download (signatures and hashes checked by apt against the signed Release files)
rm -rf "$PREFIX/debs.new"
mkdir -p "$PREFIX/debs.new"
(cd "$PREFIX/debs.new" && apt-get "${apt_opts[@]}" -qq download "${wanted[@]}" >&2)

# --- unpack without maintainer scripts; only /usr is used (Debian 12 is merged-/usr: files a
# package ships under /lib belong under /usr/lib; /etc, /var and init scripts are dropped)
rm -rf "$PREFIX/root.new"
mkdir -p "$PREFIX/root.new"
for deb in "$PREFIX"/debs.new/*.deb; do
  dpkg-deb -x "$deb" "$PREFIX/root.new"
done
for top in lib lib64 bin sbin; do
  if [ -d "$PREFIX/root.new/$top" ] && [ ! -L "$PREFIX/root.new/$top" ]; then
    mkdir -p "$PREFIX/root.new/usr/$top"
    cp -a "$PREFIX/root.new/$top/." "$PREFIX/root.new/usr/$top/"
    rm -rf "${PREFIX:?}/root.new/$top"
  fi
done
rm -rf "$PREFIX/root.new/etc" "$PREFIX/root.new/var" "$PREFIX/root.new/usr/lib/systemd"
[ -x "$PREFIX/root.new/usr/sbin/samba" ] || die "samba binary missing after unpacking"

# swap in atomically enough for a test prefix, then drop stale templates built from an older tree
rm -rf "$PREFIX/root.old" "$PREFIX/debs.old"
[ -d "$PREFIX/root" ] && mv "$PREFIX/root" "$PREFIX/root.old"
[ -d "$PREFIX/debs" ] && mv "$PREFIX/debs" "$PREFIX/debs.old"
mv "$PREFIX/root.new" "$PREFIX/root"
mv "$PREFIX/debs.new" "$PREFIX/debs"
rm -rf "$PREFIX/root.old" "$PREFIX/debs.old" "$PREFIX/cache"

verify || die "verification of the unpacked tree failed"
{
  echo "FORMAT=$FORMAT"
  echo "SAMBA_VERSION=$samba_version"
  echo "SUITE=$SUITE"
  echo "ARCH=$arch"
  echo "INSTALLED_AT=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "PACKAGES=\"${wanted[*]}\""
} >"$PREFIX/installed.env"
log "installed in $PREFIX in $(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}') s"
