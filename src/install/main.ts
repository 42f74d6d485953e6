// cifs-upcall-install: install or remove cifs-upcall (see installer.ts for what goes where).
//   cifs-upcall-install [--root DIR] [--key-type TYPE] [--gssproxy yes|no|auto] [--node PATH]
//                       [--node-options OPTS]
//   cifs-upcall-install --uninstall [--purge] [--root DIR]
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { install, InstallError, uninstall } from './installer.ts';

const USAGE = `usage: cifs-upcall-install [--root DIR] [--key-type TYPE] [--gssproxy yes|no|auto]
                           [--node PATH] [--node-options OPTIONS] [--dist DIR]
       cifs-upcall-install --uninstall [--purge] [--root DIR]

Installs the bundled cifs-upcall under /usr/lib/cifs-upcall, /usr/sbin/cifs-upcall, a
request-key line for cifs.spnego that takes precedence over cifs-utils' (removing ours restores
it), a gssproxy service on its own socket, /etc/cifs-upcall.conf (only if absent) and the man
page. Idempotent. --uninstall removes exactly what was installed (the configuration file only
with --purge).`;

function main(argv: string[]): number {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        uninstall: { type: 'boolean' },
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
  const log = (line: string): void => { process.stdout.write(`${line}\n`); };
  const root = values.root ?? '/';
  const here = dirname(fileURLToPath(import.meta.url));
  try {
    if (values.uninstall) {
      uninstall({ root, purge: values.purge ?? false, log });
      return 0;
    }
    const gssproxy = values.gssproxy ?? 'auto';
    if (gssproxy !== 'yes' && gssproxy !== 'no' && gssproxy !== 'auto') {
      throw new InstallError(`--gssproxy must be yes, no or auto, not "${gssproxy}"`);
    }
    install({
      root,
      distDir: values.dist ?? here,
      nodePath: values.node ?? process.execPath,
      // absent: the default first line (installer.ts launcherLine)
      nodeOptions: values['node-options'],
      keyType: values['key-type'] ?? 'cifs.spnego',
      gssproxy,
      // beside the bundle when packaged, in the source tree when installing from a checkout
      manPage: [join(values.dist ?? here, 'cifs-upcall.8'), join(here, '..', 'docs', 'cifs-upcall.8')]
        .find((p) => existsSync(p)),
      log,
    });
    return 0;
  } catch (e) {
    process.stderr.write(`cifs-upcall-install: ${(e as Error).message}\n`);
    return e instanceof InstallError ? 1 : 3;
  }
}

process.exit(main(process.argv.slice(2)));
