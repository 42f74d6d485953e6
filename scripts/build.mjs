#!/usr/bin/env node
// Bundle the CLI: src/cli/main.ts → dist/cifs-upcall.mjs (ESM, node20), plus the native addon copied
// next to it (src/os/native.ts looks beside the bundle first). Code splitting is on so credential
// sources can become lazily imported chunks; chunks land in the same directory, so every chunk's
// import.meta.url resolves the addon beside it.
//
//   node scripts/build.mjs [--outdir DIR]      (default: dist)
import { build } from 'esbuild';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const at = args.indexOf('--outdir');
const outdir = resolve(at >= 0 && args[at + 1] ? args[at + 1] : join(root, 'dist'));

/** Shared by the test-only stand-in bundle (test/harness/standin/build.ts). */
export function bundleOptions(entry, name, dir) {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  return {
    entryPoints: { [name]: entry },
    outdir: dir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    outExtension: { '.js': '.mjs' },
    chunkNames: '[name]-[hash]',
    define: { __CIFS_UPCALL_VERSION__: JSON.stringify(pkg.version) },
    // asn1js and friends are bundled; only Node built-ins stay external
    external: [],
    sourcemap: false,
    legalComments: 'inline',
    logLevel: 'warning',
  };
}

export function copyAddon(dir) {
  const addon = join(root, 'native', 'build', 'Release', 'cifs_upcall_native.node');
  if (!existsSync(addon)) throw new Error(`${addon} missing: run npm ci (or npm run install) first`);
  copyFileSync(addon, join(dir, 'cifs_upcall_native.node'));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  mkdirSync(outdir, { recursive: true });
  // stale chunks of an earlier build would be shipped by the installer
  for (const f of readdirSync(outdir)) if (f.endsWith('.mjs')) rmSync(join(outdir, f));
  const started = Date.now();
  await build(bundleOptions(join(root, 'src', 'cli', 'main.ts'), 'cifs-upcall', outdir));
  // the installer: one self-contained file, never loaded by the upcall itself
  await build({
    ...bundleOptions(join(root, 'src', 'install', 'main.ts'), 'cifs-upcall-install', outdir),
    splitting: false,
  });
  copyAddon(outdir);
  console.log(`built ${join(outdir, 'cifs-upcall.mjs')} and cifs-upcall-install.mjs in ${Date.now() - started} ms`);
}
