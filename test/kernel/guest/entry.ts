// Bundle entry for the guest orchestrator: `node guest.mjs <config.json>` (see stage2.sh).
import { main } from './main.ts';

main(process.argv[2] ?? '/vmtest/out/config.json').then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(70);
  },
);
