#!/usr/bin/env -S -u NODE_OPTIONS -u NODE_EXTRA_CA_CERTS -u NODE_ICU_DATA -u NODE_V8_COVERAGE -u NODE_REDIRECT_WARNINGS -u NODE_CHANNEL_FD -u OPENSSL_CONF node
// The package's `cifs-upcall` command: the bundled CLI (npm run build makes dist/). The first line
// drops the variables Node acts on before our code runs (src/install/installer.ts
// NODE_STARTUP_VARIABLES: preloads, an eagerly read CA file, files written as root), as the
// installed launcher does; `node bin/cifs-upcall.js` bypasses it.
import '../dist/cifs-upcall.mjs';
