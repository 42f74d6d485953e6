// Runs Debian's /usr/sbin/cifs.upcall (cifs-utils 7.0) on a fake key through the keyutils
// LD_PRELOAD shim (keyshim/keyshim.c), to compare its payload and behaviour with ours (parity
// tests) and to time it (benchmark). docs/test-environments.md#the-keyutils-shim.
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from './processes.ts';

export const STOCK_UPCALL = '/usr/sbin/cifs.upcall';

const here = dirname(fileURLToPath(import.meta.url));
const SHIM_SOURCE = join(here, '..', 'keyshim', 'keyshim.c');

/** Build the shim once per source version into .work/ (gcc is a test dependency). */
export function buildKeyShim(workDir = join(here, '..', '..', '..', '.work')): string {
  mkdirSync(workDir, { recursive: true });
  const out = join(workDir, 'keyshim.so');
  if (!existsSync(out) || statSync(out).mtimeMs < statSync(SHIM_SOURCE).mtimeMs) {
    run('cc', ['-shared', '-fPIC', '-O2', '-Wall', '-o', out, SHIM_SOURCE]);
  }
  return out;
}

export interface StockResult {
  status: number;
  /** payload passed to keyctl_instantiate, if any */
  payload: Buffer | null;
  negated: boolean;
  syslog: string[];
  wallMs: number;
}

/**
 * Run cifs.upcall as root for a description (without the describe prefix, or with it).
 * `env` is the helper's environment (request-key gives only HOME and PATH; tests add KRB5_CONFIG
 * via -k, GSS_USE_PROXY, GSSPROXY_SOCKET, ...).
 */
export function runStockUpcall(
  description: string,
  options: { args?: string[]; env?: NodeJS.ProcessEnv; shim?: string; scratchDir: string; timeoutMs?: number },
): StockResult {
  const shim = options.shim ?? buildKeyShim();
  const full = /^[^;]+;\d+;\d+;[0-9a-f]{8};/.test(description) ? description : `cifs.spnego;0;0;39010000;${description}`;
  mkdirSync(options.scratchDir, { recursive: true });
  const out = join(options.scratchDir, `keyshim-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}.out`);
  writeFileSync(out, '');
  chmodSync(out, 0o666); // cifs.upcall setuid()s to the credential uid before instantiating
  const started = process.hrtime.bigint();
  const r = spawnSync(STOCK_UPCALL, [...(options.args ?? []), '4242'], {
    env: {
      HOME: '/',
      PATH: '/sbin:/bin:/usr/sbin:/usr/bin',
      ...options.env,
      LD_PRELOAD: shim,
      KEYSHIM_DESC: full,
      KEYSHIM_OUT: out,
    },
    encoding: 'utf8',
    timeout: options.timeoutMs ?? 30_000,
  });
  const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
  const lines = readFileSync(out, 'utf8').split('\n').filter(Boolean);
  rmSync(out, { force: true });
  let payload: Buffer | null = null;
  let negated = false;
  const syslog: string[] = [];
  for (const line of lines) {
    if (line.startsWith('instantiate ')) payload = Buffer.from(line.split(' ')[2] ?? '', 'hex');
    else if (line.startsWith('negate ')) negated = true;
    else if (line.startsWith('syslog ')) syslog.push(line.slice('syslog '.length));
  }
  return { status: r.status ?? -1, payload, negated, syslog, wallMs };
}

/** The parts of a cifs_spnego_msg (little-endian host). */
export function splitPayload(payload: Buffer): { version: number; flags: number; sessionKey: Buffer; blob: Buffer; trailing: number } {
  const version = payload.readUInt32LE(0);
  const flags = payload.readUInt32LE(4);
  const keyLen = payload.readUInt32LE(8);
  const blobLen = payload.readUInt32LE(12);
  const sessionKey = payload.subarray(16, 16 + keyLen);
  const blob = payload.subarray(16 + keyLen, 16 + keyLen + blobLen);
  return { version, flags, sessionKey, blob, trailing: payload.length - (16 + keyLen + blobLen) };
}

/** The installed cifs-utils, as dpkg names it, and whether it has the 2026 security update. */
export interface StockPackage {
  version: string;
  /**
   * cifs-utils 2:7.0-2+deb12u1 (the 7.6 fixes): maps the credential ids into the caller's user
   * namespace, refuses unmapped ids, pid 0 and vanished pids (docs/cifs-upcall-reference.md).
   */
  mapsUserNamespaces: boolean;
}

export const STOCK_FIXED_VERSION = '2:7.0-2+deb12u1';

export function stockPackage(): StockPackage {
  const q = spawnSync('dpkg-query', ['-W', '-f=${Version}', 'cifs-utils'], { encoding: 'utf8' });
  const version = q.status === 0 ? q.stdout.trim() : '';
  if (!version) throw new Error(`cifs-utils is not installed: ${q.stderr.trim()}`);
  const ge = spawnSync('dpkg', ['--compare-versions', version, 'ge', STOCK_FIXED_VERSION]);
  return { version, mapsUserNamespaces: ge.status === 0 };
}
