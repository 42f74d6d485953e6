#!/bin/sh
# The whole test suite on a fresh Debian 12 machine with Node.js 20, as root: installs the apt
# packages and npm packages the tests need, builds, then runs type check, unit tests, tests
# against the real daemons and kernel keyring, and the QEMU real-kernel proof.
set -eu
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
if [ -x scripts/install-samba-ad.sh ]; then ./scripts/install-samba-ad.sh; fi
npm ci --no-audit --no-fund
npm run test:all
