// The credential sources of the production build. The own-ticket and gssproxy sources and the
// strategy that orders them arrive with their own issues; until then no source is configured and
// every upcall ends in "no credential source configured" (exit 8, key negated).
//
// Whatever goes here runs as a resolver: the pipeline calls it in the host namespaces,
// before any setns, which is where source modules must be imported (a dynamic import() after the
// switch would load code from the caller's filesystem).
import type { CliSourceResolver } from './run.ts';

export const productionSources: CliSourceResolver = async () => [];
