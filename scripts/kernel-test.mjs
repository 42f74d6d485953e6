#!/usr/bin/env node
// `npm run test:kernel [-- options]`: bundles test/kernel (host runner + guest orchestrator) with
// esbuild into .work/kernel/bundle/ and runs the host runner. Not a vitest project: the run is one
// long sequential job as root (downloads, QEMU boots one at a time, a summary table at the end),
// and the guest half must be a single self-contained file that Node runs inside the VM.
// Options are documented at the top of test/kernel/main.ts.
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
const bundleDir = join(repoRoot, '.work', 'kernel', 'bundle');
mkdirSync(bundleDir, { recursive: true });

await build({
  absWorkingDir: repoRoot,
  entryPoints: { runner: 'test/kernel/main.ts', guest: 'test/kernel/guest/entry.ts' },
  outdir: bundleDir,
  outExtension: { '.js': '.mjs' },
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: 'inline',
  logLevel: 'warning',
});

const { main } = await import(pathToFileURL(join(bundleDir, 'runner.mjs')).href);
process.exitCode = await main(process.argv.slice(2), { repoRoot, bundleDir });
