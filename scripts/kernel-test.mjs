#!/usr/bin/env node
// `npm run test:kernel [-- options]`: bundles test/kernel (host runner + guest orchestrator) with
// esbuild into .work/kernel/bundle/ and runs the host runner. Not a vitest project: the run is one
// long sequential job as root (downloads, QEMU boots one at a time, a summary table at the end),
// and the guest half must be a single self-contained file that Node runs inside the VM.
// Options are documented at the top of test/kernel/main.ts.
// The host runner also bundles the Samba AD harness (test/harness/ad/samba-ad.ts, for the scenario
// against the DC): its modules find their helper scripts next to themselves through
// `import.meta.url`, which a bundle would point at the bundle, so the plugin below pins each harness
// module's `import.meta.url` to its own source file.
// The guest sees the host's filesystem over 9p but mounts fresh, empty /tmp and /run: a checkout
// there (a CI clone, say) is staged first — what the guest reads (test/kernel, dist/) is copied to
// STAGE below, which also holds .work/kernel (kernel cache, bundles, run directories).
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const STAGE = '/var/tmp/cifs-upcall-kernel-test';
const invisibleToGuest = /^\/(tmp|run)(\/|$)/.test(repoRoot);
const runRoot = invisibleToGuest ? STAGE : repoRoot;
if (invisibleToGuest) {
  for (const part of ['test/kernel', 'dist']) {
    rmSync(join(STAGE, part), { recursive: true, force: true });
    if (existsSync(join(repoRoot, part))) cpSync(join(repoRoot, part), join(STAGE, part), { recursive: true });
  }
  console.log(`kernel-test: ${repoRoot} is under /tmp or /run, which the guest cannot see: staged test/kernel and dist/ in ${STAGE}`);
}
const bundleDir = join(runRoot, '.work', 'kernel', 'bundle');
mkdirSync(bundleDir, { recursive: true });

/** @type {import('esbuild').Plugin} */
const harnessImportMetaUrl = {
  name: 'harness-import-meta-url',
  setup(b) {
    b.onLoad({ filter: /[\\/]test[\\/]harness[\\/].+\.ts$/ }, (args) => ({
      contents: readFileSync(args.path, 'utf8').replaceAll('import.meta.url', JSON.stringify(pathToFileURL(args.path).href)),
      loader: 'ts',
    }));
  },
};

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
  plugins: [harnessImportMetaUrl],
});

const { main } = await import(pathToFileURL(join(bundleDir, 'runner.mjs')).href);
process.exitCode = await main(process.argv.slice(2), { repoRoot: runRoot, bundleDir });
