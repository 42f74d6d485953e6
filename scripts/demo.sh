#!/bin/sh
# The main job on a fresh Debian 12 machine with Node.js 20, as root: install what cifs-upcall
# needs, build it, start a throwaway loopback realm (MIT KDC with S4U delegation, gssproxy with
# impersonation) and run real upcalls — a user with a ticket, a user without one, a user the KDC
# does not know — printing each trace. Stops everything it started.
set -eu
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules ]; then npm ci --no-audit --no-fund; fi
npm run --silent build
node -e "
const { build } = await import('esbuild');
await build({ entryPoints: ['scripts/demo.ts'], outfile: '.work/demo.mjs', bundle: true, platform: 'node',
  format: 'esm', target: 'node20', logLevel: 'warning' });
" --input-type=module
exec node .work/demo.mjs "$PWD"
