// Entry point of the bundle (dist/cifs-upcall.mjs, run by bin/cifs-upcall.js or directly by
// request-key: `create cifs.spnego * * /usr/bin/node /path/to/dist/cifs-upcall.mjs %k`).
// process.exit() at the end: an upcall must not linger on an idle socket or timer.
import { writeSync } from 'node:fs';
import { ExitCode } from './exit-codes.ts';
import { runCli } from './run.ts';
import { productionWiring } from './sources.ts';

let status: number;
try {
  status = await runCli(process.argv.slice(2), { wiring: productionWiring });
} catch (e) {
  try {
    writeSync(2, `cifs-upcall: internal error: ${(e as Error).stack ?? String(e)}\n`);
  } catch {
    /* stderr closed */
  }
  status = ExitCode.INTERNAL;
}
process.exit(status);
