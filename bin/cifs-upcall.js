#!/usr/bin/env node
// The package's `cifs-upcall` command: the bundled CLI (npm run build makes dist/).
import '../dist/cifs-upcall.mjs';
