#!/usr/bin/env node
// `npm run bench [-- options]`: bundles test/bench (TypeScript) with esbuild into .work/bench/bundle
// and runs it with plain node, like scripts/kernel-test.mjs. Not a vitest project: one sequential
// job as root (a realm, hundreds of measured processes, a table at the end). Options are documented
// at the top of test/bench/main.ts.
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
const bundleDir = join(repoRoot, '.work', 'bench', 'bundle');
mkdirSync(bundleDir, { recursive: true });

await build({
  absWorkingDir: repoRoot,
  entryPoints: { bench: 'test/bench/main.ts' },
  outdir: bundleDir,
  outExtension: { '.js': '.mjs' },
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: 'inline',
  logLevel: 'warning',
});

const { main } = await import(pathToFileURL(join(bundleDir, 'bench.mjs')).href);
process.exitCode = await main(process.argv.slice(2), { repoRoot });
