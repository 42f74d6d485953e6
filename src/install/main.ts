// cifs-upcall-install: install or remove cifs-upcall (see installer.ts for what goes where).
//   cifs-upcall-install [--dry-run] [--root DIR] [--key-type TYPE] [--gssproxy yes|no]
//                       [--strategy NAME] [--node PATH] [--node-options OPTS]
//   cifs-upcall-install --uninstall [--purge] [--dry-run] [--root DIR]
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { STRATEGIES, type StrategyName } from '../pipeline/config.ts';
import { install, InstallError, nextSteps, PATHS, uninstall } from './installer.ts';

const USAGE = `usage: cifs-upcall-install [--dry-run] [--root DIR] [--key-type TYPE] [--gssproxy yes|no]
                           [--strategy NAME] [--node PATH] [--node-options OPTIONS] [--dist DIR]
       cifs-upcall-install --uninstall [--purge] [--dry-run] [--root DIR]

Installs the bundled cifs-upcall under /usr/lib/cifs-upcall, /usr/sbin/cifs-upcall, a
request-key line for cifs.spnego that takes precedence over cifs-utils' (removing ours restores
it), /etc/cifs-upcall.conf (only if absent; strategy compat unless --strategy), a logrotate
snippet and the man page. Idempotent; says what it wrote, changed or kept. --dry-run changes
nothing and says what would change. --uninstall removes exactly what was installed (the
configuration file only with --purge).

Installing changes nothing about who can authenticate. Impersonation through gssproxy is opt-in:
--gssproxy yes writes ${PATHS.gssproxyDropIn} (a service on its own socket with
impersonate = true), --gssproxy no removes it again; then strategy = local-first. See
cifs-upcall(8), ENABLING IMPERSONATION, and check with "cifs-upcall --doctor".`;

function main(argv: string[]): number {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        uninstall: { type: 'boolean' },
        'dry-run': { type: 'boolean' },
        strategy: { type: 'string' },
        purge: { type: 'boolean' },
        root: { type: 'string' },
        dist: { type: 'string' },
        'key-type': { type: 'string' },
        gssproxy: { type: 'string' },
        node: { type: 'string' },
        'node-options': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (e) {
    process.stderr.write(`cifs-upcall-install: ${(e as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const log = (line: string): void => {
    process.stdout.write(`${line}\n`);
  };
  const root = values.root ?? '/';
  const here = dirname(fileURLToPath(import.meta.url));
  try {
    const dryRun = values['dry-run'] ?? false;
    if (dryRun) log('dry run: nothing is changed');
    if (values.uninstall) {
      uninstall({ root, purge: values.purge ?? false, dryRun, log });
      return 0;
    }
    const gssproxy = values.gssproxy ?? 'keep';
    if (gssproxy !== 'yes' && gssproxy !== 'no' && gssproxy !== 'auto' && gssproxy !== 'keep') {
      throw new InstallError(`--gssproxy must be yes or no (default: keep what an earlier run installed), not "${gssproxy}"`);
    }
    const strategy = values.strategy;
    if (strategy !== undefined && !(STRATEGIES as readonly string[]).includes(strategy)) {
      throw new InstallError(`--strategy must be one of ${STRATEGIES.join(', ')}, not "${strategy}"`);
    }
    const result = install({
      dryRun,
      ...(strategy !== undefined ? { strategy: strategy as StrategyName } : {}),
      root,
      distDir: values.dist ?? here,
      nodePath: values.node ?? process.execPath,
      // absent: the default first line (installer.ts launcherLine)
      nodeOptions: values['node-options'],
      keyType: values['key-type'] ?? 'cifs.spnego',
      gssproxy,
      // beside the bundle when packaged, in the source tree when installing from a checkout
      manPage: [join(values.dist ?? here, 'cifs-upcall.8'), join(here, '..', 'docs', 'cifs-upcall.8')].find((p) => existsSync(p)),
      log,
    });
    log(nextSteps({ impersonation: result.files.includes(PATHS.gssproxyDropIn) }).trimEnd());
    return 0;
  } catch (e) {
    process.stderr.write(`cifs-upcall-install: ${(e as Error).message}\n`);
    return e instanceof InstallError ? 1 : 3;
  }
}

process.exit(main(process.argv.slice(2)));
