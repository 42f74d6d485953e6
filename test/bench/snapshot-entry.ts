// The CLI as a V8 startup snapshot (`node --snapshot-blob X --build-snapshot`), only to measure
// that option against the production loader (`npm run bench -- --variants=snapshot`). Building
// evaluates every module the entry imports; the deserialized main runs the CLI.
import { writeSync } from 'node:fs';
import { startupSnapshot } from 'node:v8';
import { ExitCode } from '../../src/cli/exit-codes.ts';
import { runCli } from '../../src/cli/run.ts';
import { productionPreparer } from '../../src/cli/sources.ts';

startupSnapshot.setDeserializeMainFunction(() => {
  runCli(process.argv.slice(2), { prepare: productionPreparer }).then(
    (status) => process.exit(status),
    (e: unknown) => {
      try {
        writeSync(2, `cifs-upcall (snapshot): internal error: ${(e as Error).stack ?? String(e)}\n`);
      } catch {
        /* stderr closed */
      }
      process.exit(ExitCode.INTERNAL);
    },
  );
});
