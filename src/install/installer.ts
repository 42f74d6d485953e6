// The installer: puts the bundled upcall on the system and wires it in, reversibly.
//
//   /usr/lib/cifs-upcall/           the bundle (dist/*) and the native addon
//   /usr/sbin/cifs-upcall           symlink to the bundle, whose first line is `#!<node> <options>`:
//                                   request-key execs it directly, no wrapper process or script
//   /etc/request-key.d/cifs-upcall.conf
//        create cifs.spnego ver=0x2;* * /usr/sbin/cifs-upcall %k
//     request-key takes the line whose wildcards skip the fewest characters; cifs-utils' own line
//     has `*` for the description, ours `ver=0x2;*` (every kernel description starts so), so ours
//     wins without touching cifs-utils' file, and removing ours restores it.
//   /etc/gssproxy/80-cifs-upcall.conf   only with --gssproxy yes (opt-in: see below)
//     a service on its own socket: gssproxy's `program =` match would see /usr/bin/node, not our
//     script, so a dedicated socket (and `euid`) is how this service is told apart from NFS's.
//   /usr/share/cifs-upcall/gssproxy-impersonation.conf  the same service, inert, to copy by hand
//   /etc/cifs-upcall.conf           written only if absent (the admin's file is never overwritten)
//   /etc/logrotate.d/cifs-upcall    rotation of the trace_file the configuration may name
//   /usr/share/man/man8/cifs-upcall.8
//   /var/lib/cifs-upcall/manifest.json  what we wrote, so --uninstall removes exactly that
//
// One safe default, shared with the Debian package: installing changes nothing about who can
// authenticate. The configuration written says `strategy = compat` (cifs.upcall's order) and no
// gssproxy service listens on our socket, so a user without a ticket gets no key, as with
// cifs.upcall. Impersonation is two documented steps (cifs-upcall(8), ENABLING IMPERSONATION),
// both checked by `cifs-upcall --doctor`: the gssproxy service (--gssproxy yes, or copying the
// inert example) and, usually, `strategy = local-first`.
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { LAUNCHER_PATH, REQUEST_KEY_FILE, requestKeyLine } from './request-key-line.ts';
import type { StrategyName } from '../pipeline/config.ts';

export interface InstallOptions {
  /** install into this root instead of / (staging, tests) */
  root: string;
  /** directory holding the build (cifs-upcall.mjs, .cjs loader, bundle, code cache, addon) */
  distDir: string;
  /** the node binary the bundle's shebang names */
  nodePath: string;
  /**
   * undefined: the default first line (launcherLine: scrubbed environment, the CommonJS loader);
   * otherwise `#!<node> <nodeOptions>` verbatim — at most one option (Linux passes one argument),
   * and node then starts through the ESM entry.
   */
  nodeOptions?: string | undefined;
  /** key type of the request-key line (tests on kernels without cifs.ko use "user") */
  keyType: string;
  /**
   * the impersonating gssproxy drop-in: yes (write it), no (remove it if we wrote it), keep
   * (default: leave it as an earlier run left it), auto (yes when /etc/gssproxy exists)
   */
  gssproxy: 'yes' | 'no' | 'keep' | 'auto';
  /** strategy of a newly written /etc/cifs-upcall.conf (default compat) */
  strategy?: StrategyName;
  /** report what would change, change nothing */
  dryRun?: boolean;
  /** man page source */
  manPage?: string;
  log: (line: string) => void;
}

export const PATHS = {
  lib: '/usr/lib/cifs-upcall',
  launcher: LAUNCHER_PATH,
  requestKey: REQUEST_KEY_FILE,
  gssproxyDropIn: '/etc/gssproxy/80-cifs-upcall.conf',
  gssproxyExample: '/usr/share/cifs-upcall/gssproxy-impersonation.conf',
  logrotate: '/etc/logrotate.d/cifs-upcall',
  traceFile: '/var/log/cifs-upcall.trace',
  gssproxySocket: '/var/lib/gssproxy/cifs-upcall.sock',
  gssproxyClients: '/var/lib/gssproxy/clients/cifs-upcall',
  config: '/etc/cifs-upcall.conf',
  man: '/usr/share/man/man8/cifs-upcall.8',
  manifest: '/var/lib/cifs-upcall/manifest.json',
} as const;

interface Manifest {
  version: 1;
  files: string[];
  dirs: string[];
}

export class InstallError extends Error {
  override readonly name = 'InstallError';
}

function at(root: string, path: string): string {
  return root === '/' ? path : join(root, path);
}

export { requestKeyLine };

/**
 * The entry's first line with explicit node options: request-key execs /usr/sbin/cifs-upcall (a
 * symlink to the entry) with only HOME and PATH set; node resolves the symlink, so the entry's
 * directory is where the loader, the bundle and the addon are found.
 */
export function shebang(nodePath: string, nodeOptions: string): string {
  return nodeOptions ? `#!${nodePath} ${nodeOptions}\n` : `#!${nodePath}\n`;
}

/**
 * Variables Node acts on before any of our code runs, most important first: options and preloads,
 * an eagerly read CA file (~55 ms of CPU per start), an ICU data file, coverage files and a
 * warnings file written as root, an IPC channel on an inherited descriptor, an OpenSSL
 * configuration (which may load engines). request-key never sets them; an administrator replaying
 * by hand may have them in the shell.
 */
export const NODE_STARTUP_VARIABLES = [
  'NODE_OPTIONS',
  'NODE_EXTRA_CA_CERTS',
  'NODE_ICU_DATA',
  'NODE_V8_COVERAGE',
  'NODE_REDIRECT_WARNINGS',
  'NODE_CHANNEL_FD',
  'OPENSSL_CONF',
] as const;

/** Linux reads at most 255 bytes of a `#!` line (BINPRM_BUF_SIZE 256, since 5.1; older: 127). */
const SHEBANG_MAX = 255;

/**
 * The default first line (docs/performance.md): env(1) drops the variables above and execs node
 * (no extra process: the pid stays request-key's child's), and node evaluates one require() of
 * the CommonJS loader beside the entry instead of loading the entry as an ES module — no ESM
 * loader at start-up. The kernel appends the entry's path and the key serial, which become
 * process.argv[1] and [2] as for a script. `libDir` is where the loader is installed. When the
 * line would not fit, the least important variables are left out.
 */
export function launcherLine(nodePath: string, libDir: string = PATHS.lib): string {
  const load = `--eval=require(\`${libDir}/cifs-upcall.cjs\`)`;
  if (/[\s`$\\"']/.test(libDir + nodePath)) {
    throw new InstallError(`cannot start ${nodePath} on ${libDir} from a #! line: no blanks, quotes, $ or \\ in these paths`);
  }
  for (let keep = NODE_STARTUP_VARIABLES.length; keep >= 0; keep--) {
    const unset = NODE_STARTUP_VARIABLES.slice(0, keep)
      .map((v) => `-u ${v} `)
      .join('');
    const line = keep > 0 ? `#!/usr/bin/env -S ${unset}${nodePath} ${load}` : `#!${nodePath} ${load}`;
    if (line.length <= SHEBANG_MAX) return `${line}\n`;
  }
  throw new InstallError(`${nodePath} and ${libDir} are too long for a #! line (${SHEBANG_MAX} bytes)`);
}

function withShebang(bundle: Buffer, line: string): Buffer {
  const text = bundle.toString('utf8');
  const body = text.startsWith('#!') ? text.slice(text.indexOf('\n') + 1) : text;
  return Buffer.from(line + body);
}

export function gssproxyDropIn(): string {
  return `# cifs-upcall: gssproxy service for the SMB client (generated by cifs-upcall-install).
# cifs-upcall talks to gssproxy directly on this socket. A dedicated socket is how this service is
# told apart from NFS's: gssproxy's "program =" match would see the node binary, not cifs-upcall.
# impersonate = true lets gssproxy obtain tickets for users who have none (S4U2Self/S4U2Proxy with
# the host keytab); the KDC must allow this host to delegate to the SMB servers' cifs/ SPNs.
[service/cifs-upcall]
  mechs = krb5
  socket = ${PATHS.gssproxySocket}
  cred_store = keytab:/etc/krb5.keytab
  cred_store = ccache:FILE:${PATHS.gssproxyClients}/krb5cc_%U
  cred_usage = initiate
  allow_any_uid = yes
  trusted = yes
  impersonate = true
  euid = 0
`;
}

export function defaultConfig(strategy: StrategyName = 'compat'): string {
  return `# cifs-upcall configuration: see cifs-upcall(8); check it with "cifs-upcall --check-config".
[global]
# compat (cifs.upcall 7.x) | local-first | local-only | proxy-first | proxy-only
# Impersonating users without a ticket takes two steps (cifs-upcall(8), ENABLING IMPERSONATION):
# the gssproxy service on the socket below, then usually strategy = local-first.
strategy = ${strategy}
gssproxy_socket = ${PATHS.gssproxySocket}
negative_timeout = 5

# Trace every upcall (or only failed ones) to a file; /etc/logrotate.d/cifs-upcall rotates it.
# trace_file = ${PATHS.traceFile}
# trace_level = failures

# Per SMB server:
# [server *.hpc.example.com]
# strategy = proxy-only
`;
}

export function logrotateSnippet(): string {
  return `# cifs-upcall: the trace file named by trace_file in /etc/cifs-upcall.conf (if any).
# Every upcall opens the file afresh in append mode: moving it away is enough (no copytruncate).
${PATHS.traceFile} ${PATHS.traceFile}.1 {
	weekly
	rotate 4
	maxsize 64M
	compress
	delaycompress
	missingok
	notifempty
	create 0600 root root
}
`;
}

/** What to do after installing: printed by cifs-upcall-install and the package's postinst. */
export function nextSteps(o: { impersonation: boolean }): string {
  const lines = [
    'next steps:',
    `  cifs-upcall --check-config        validate ${PATHS.config}`,
    '  cifs-upcall --doctor              check request-key, krb5.conf, the KDC, the keytab, gssproxy and cifs.ko',
  ];
  if (o.impersonation) {
    lines.push(
      '  systemctl reload gssproxy         load the cifs-upcall service (impersonation) written above',
      `  then set strategy = local-first in ${PATHS.config} to fall back to gssproxy on every failure`,
    );
  } else {
    lines.push(
      '  impersonation of users without a ticket is off; to enable it (cifs-upcall(8), ENABLING IMPERSONATION):',
      `    1. cifs-upcall-install --gssproxy yes   (or: cp ${PATHS.gssproxyExample} ${PATHS.gssproxyDropIn}), then systemctl reload gssproxy`,
      `    2. strategy = local-first in ${PATHS.config}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

function writeAtomic(path: string, content: string | Buffer, mode: number, dryRun = false): boolean {
  if (existsSync(path)) {
    const old = readFileSync(path);
    const next = typeof content === 'string' ? Buffer.from(content) : content;
    if (old.equals(next) && (statSync(path).mode & 0o7777) === mode) return false;
  }
  if (dryRun) return true;
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.cifs-upcall-tmp`;
  writeFileSync(tmp, content, { mode });
  chmodSync(tmp, mode);
  renameSync(tmp, path);
  return true;
}

function link(o: Pick<InstallOptions, 'root' | 'log' | 'dryRun'>, path: string, target: string): void {
  const p = at(o.root, path);
  let current: string | null = null;
  try {
    if (lstatSync(p).isSymbolicLink()) current = readlinkSync(p);
    else throw new InstallError(`${path} exists and is not our symlink: refusing to replace it`);
  } catch (e) {
    if (e instanceof InstallError) throw e;
  }
  if (current === target) {
    o.log(`unchanged ${path} -> ${target}`);
    return;
  }
  if (o.dryRun) {
    o.log(`would link ${path} -> ${target}`);
    return;
  }
  if (current !== null) rmSync(p);
  mkdirSync(dirname(p), { recursive: true });
  symlinkSync(target, p);
  o.log(`linked    ${path} -> ${target}`);
}

function readManifest(root: string): Manifest {
  const p = at(root, PATHS.manifest);
  if (!existsSync(p)) return { version: 1, files: [], dirs: [] };
  return JSON.parse(readFileSync(p, 'utf8')) as Manifest;
}

export function install(o: InstallOptions): Manifest {
  const dry = o.dryRun === true;
  if (o.root === '/' && !dry && process.geteuid?.() !== 0) {
    throw new InstallError(
      'cifs-upcall-install must run as root (it writes /usr/lib, /usr/sbin and /etc); --dry-run shows what it would do',
    );
  }
  const bundle = join(o.distDir, 'cifs-upcall.mjs');
  if (!existsSync(bundle)) throw new InstallError(`${bundle} not found: run "npm run build" first`);
  if (!existsSync(join(o.distDir, 'cifs_upcall_native.node'))) {
    throw new InstallError(`${join(o.distDir, 'cifs_upcall_native.node')} not found: run "npm run build"`);
  }
  const manifest = readManifest(o.root);
  const files = new Set(manifest.files);
  const dirs = new Set(manifest.dirs);
  const put = (path: string, content: string | Buffer, mode: number, why = ''): void => {
    const changed = writeAtomic(at(o.root, path), content, mode, dry);
    files.add(path);
    o.log(`${changed ? (dry ? 'would write' : 'wrote    ') : 'unchanged'} ${path}${why && changed ? `  (${why})` : ''}`);
  };
  const remove = (path: string, why: string): void => {
    if (!dry) rmSync(at(o.root, path), { force: true });
    files.delete(path);
    o.log(`${dry ? 'would remove' : 'removed  '} ${path}  (${why})`);
  };

  // the bundle and its chunks, the addon; remove files of an older version that are gone now
  if (!existsSync(at(o.root, PATHS.lib))) dirs.add(PATHS.lib);
  const shipped = readdirSync(o.distDir).filter((f) => /\.(mjs|cjs|node|blob)$/.test(f) && !f.startsWith('cifs-upcall-install'));
  const firstLine = o.nodeOptions === undefined ? launcherLine(o.nodePath) : shebang(o.nodePath, o.nodeOptions);
  for (const f of shipped) {
    const content = readFileSync(join(o.distDir, f));
    if (f === 'cifs-upcall.mjs') put(join(PATHS.lib, f), withShebang(content, firstLine), 0o755);
    else put(join(PATHS.lib, f), content, f.endsWith('.node') ? 0o755 : 0o644);
  }
  for (const old of [...files]) {
    if (old.startsWith(`${PATHS.lib}/`) && !shipped.includes(old.slice(PATHS.lib.length + 1))) remove(old, 'not in this version');
  }
  link(o, PATHS.launcher, `${PATHS.lib}/cifs-upcall.mjs`);
  files.add(PATHS.launcher);
  put(
    PATHS.requestKey,
    requestKeyLine(o.keyType),
    0o644,
    `request-key now runs ${PATHS.launcher} for ${o.keyType} keys; removing this file gives them back to cifs.upcall`,
  );

  // the impersonating service: inert example always, the live drop-in only when asked for
  if (!existsSync(at(o.root, dirname(PATHS.gssproxyExample)))) dirs.add(dirname(PATHS.gssproxyExample));
  put(PATHS.gssproxyExample, gssproxyDropIn(), 0o644);
  const hadDropIn = files.has(PATHS.gssproxyDropIn);
  const wantDropIn =
    o.gssproxy === 'yes' || (o.gssproxy === 'auto' && existsSync(at(o.root, '/etc/gssproxy'))) || (o.gssproxy === 'keep' && hadDropIn);
  if (wantDropIn) {
    put(PATHS.gssproxyDropIn, gssproxyDropIn(), 0o600, 'gssproxy may now impersonate any user for cifs-upcall after a reload');
    const clients = at(o.root, PATHS.gssproxyClients);
    if (!existsSync(clients)) {
      if (!dry) mkdirSync(clients, { recursive: true, mode: 0o700 });
      dirs.add(PATHS.gssproxyClients);
    }
  } else if (hadDropIn) {
    remove(PATHS.gssproxyDropIn, '--gssproxy no: reload gssproxy to stop impersonating for cifs-upcall');
  } else {
    o.log(`skipped   ${PATHS.gssproxyDropIn} (impersonation is opt-in: --gssproxy yes)`);
  }

  if (!existsSync(at(o.root, PATHS.config))) {
    put(PATHS.config, defaultConfig(o.strategy), 0o644, `strategy ${o.strategy ?? 'compat'}`);
  } else {
    const ignored = o.strategy !== undefined ? `; --strategy ${o.strategy} not applied: edit the file` : '';
    o.log(`kept      ${PATHS.config} (${files.has(PATHS.config) ? 'never overwritten once written' : "the administrator's"}${ignored})`);
  }
  put(PATHS.logrotate, logrotateSnippet(), 0o644);
  if (o.manPage && existsSync(o.manPage)) put(PATHS.man, readFileSync(o.manPage), 0o644);

  const next: Manifest = { version: 1, files: [...files].sort(), dirs: [...dirs].sort() };
  if (!dry) writeAtomic(at(o.root, PATHS.manifest), JSON.stringify(next, null, 2) + '\n', 0o644);
  return next;
}

export function uninstall(o: { root: string; purge: boolean; dryRun?: boolean; log: (line: string) => void }): void {
  const dry = o.dryRun === true;
  if (o.root === '/' && !dry && process.geteuid?.() !== 0) {
    throw new InstallError('cifs-upcall-install --uninstall must run as root');
  }
  const manifestPath = at(o.root, PATHS.manifest);
  if (!existsSync(manifestPath)) {
    o.log('nothing to uninstall (no manifest)');
    return;
  }
  const manifest = readManifest(o.root);
  const verb = dry ? 'would remove' : 'removed  ';
  for (const f of manifest.files) {
    if (f === PATHS.config && !o.purge) {
      o.log(`kept      ${f} (use --purge to remove)`);
      continue;
    }
    if (!dry) rmSync(at(o.root, f), { force: true });
    o.log(`${verb} ${f}`);
  }
  for (const d of [...manifest.dirs].sort().reverse()) {
    if (!dry) rmSync(at(o.root, d), { recursive: true, force: true });
    o.log(`${verb} ${d}/`);
  }
  if (dry) return;
  rmSync(manifestPath, { force: true });
  const stateDir = dirname(manifestPath);
  if (existsSync(stateDir) && readdirSync(stateDir).length === 0) rmSync(stateDir, { recursive: true });
  o.log(
    `request-key hands cifs.spnego keys to cifs.upcall again (if cifs-utils is installed)${manifest.files.includes(PATHS.gssproxyDropIn) ? '; reload gssproxy to drop the cifs-upcall service' : ''}`,
  );
}
