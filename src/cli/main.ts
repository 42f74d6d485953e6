// Entry point of the production bundle (scripts/build.mjs → dist/cifs-upcall-bundle.cjs, started
// through the loader dist/cifs-upcall.cjs: by the installed first line, by dist/cifs-upcall.mjs, or
// by request-key: `create cifs.spnego * * /usr/sbin/cifs-upcall %k`). CommonJS output, hence no
// top-level await. The process ends as soon as the status is known (exitProcess: _exit(2) when
// nothing is left for Node to do): an upcall must not linger on an idle socket or timer.
import { writeSync } from 'node:fs';
import { ExitCode } from './exit-codes.ts';
import { runCli } from './run.ts';
import { productionPreparer } from './sources.ts';
import { exitProcess } from '../os/native.ts';

function internalError(e: unknown): number {
  try {
    writeSync(2, `cifs-upcall: internal error: ${(e as Error).stack ?? String(e)}\n`);
  } catch {
    /* stderr closed */
  }
  return ExitCode.INTERNAL;
}

runCli(process.argv.slice(2), { prepare: productionPreparer }).then(
  (status) => exitProcess(status),
  (e: unknown) => exitProcess(internalError(e)),
);
