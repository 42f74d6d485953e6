#!/usr/bin/env node
// The package's `cifs-upcall-install` command: installs the bundle system-wide (npm run build first).
import '../dist/cifs-upcall-install.mjs';
