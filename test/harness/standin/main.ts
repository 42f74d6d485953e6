// Test-only entry: the production CLI and pipeline with the stand-in credential source. Bundled by
// test/harness/standin/build.ts into a separate file; the production bundle has no such hook.
import { runCli } from '../../../src/cli/run.ts';
import { StandInSource } from './source.ts';

const probes = (process.env['CIFS_UPCALL_STANDIN_PROBE'] ?? '').split(':').filter((p) => p !== '');
process.exit(await runCli(process.argv.slice(2), { source: new StandInSource(probes), program: 'cifs-upcall-standin' }));
