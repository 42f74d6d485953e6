// The version printed by -v/--version ("version: <X>", on stdout, as cifs.upcall: scripts parse
// it). The bundle gets it from package.json at build time (esbuild define); running from source,
// package.json is read on demand.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

declare const __CIFS_UPCALL_VERSION__: string | undefined;

export function programVersion(): string {
  if (typeof __CIFS_UPCALL_VERSION__ === 'string') return __CIFS_UPCALL_VERSION__;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'cifs-upcall' && pkg.version) return pkg.version;
    } catch {
      /* keep looking upwards */
    }
    dir = dirname(dir);
  }
  return 'unknown';
}
