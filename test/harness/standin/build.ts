// Builds, for one integration test file, into its own directory under .work/ (so concurrent
// builds by other tests never race on dist/):
//   production/cifs-upcall.mjs  — scripts/build.mjs's bundle of src/cli/main.ts
//   standin/cifs-upcall-standin.mjs — the same CLI with the stand-in source (test/harness/standin/main.ts)
// each with the native addon copied beside it.
import { build } from 'esbuild';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

interface BuildScript {
  bundleOptions(entry: string, name: string, dir: string): Parameters<typeof build>[0];
  copyAddon(dir: string): void;
}

export interface ChassisBundles {
  dir: string;
  production: string;
  standin: string;
  remove(): void;
}

export async function buildChassisBundles(label: string): Promise<ChassisBundles> {
  const base = join(root, '.work');
  mkdirSync(base, { recursive: true });
  const dir = mkdtempSync(join(base, `chassis-${label}-`));
  const script = (await import(join(root, 'scripts', 'build.mjs'))) as BuildScript;
  const productionDir = join(dir, 'production');
  const standinDir = join(dir, 'standin');
  mkdirSync(productionDir);
  mkdirSync(standinDir);
  await build(script.bundleOptions(join(root, 'src', 'cli', 'main.ts'), 'cifs-upcall', productionDir));
  script.copyAddon(productionDir);
  await build(script.bundleOptions(join(root, 'test', 'harness', 'standin', 'main.ts'), 'cifs-upcall-standin', standinDir));
  script.copyAddon(standinDir);
  return {
    dir,
    production: join(productionDir, 'cifs-upcall.mjs'),
    standin: join(standinDir, 'cifs-upcall-standin.mjs'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
