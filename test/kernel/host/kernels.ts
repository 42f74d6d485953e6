// Debian kernels for the guest: resolve the ABI a metapackage depends on, `apt-get download` the
// image package into the cache, extract it, run depmod on the extracted tree, and pull the ELF
// vmlinux out of the bzImage so QEMU can boot it through the PVH entry (no SeaBIOS, no in-guest
// decompression: 3–4 s saved under TCG). Every step is skipped when its stamp matches.
//
// Cache layout (WORK = .work/kernel):
//   WORK/debs/linux-image-<KVER>_<version>_amd64.deb
//   WORK/<KVER>/tree/{boot,lib/modules/<KVER>}   + WORK/<KVER>/tree.stamp (deb file name)
//   WORK/<KVER>/vmlinux                           + WORK/<KVER>/vmlinux.stamp
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run, runBinary } from './exec.ts';

/** Labels the runner accepts besides an explicit release: the metapackage whose dependency is the kernel. */
export const KERNEL_METAPACKAGES: Record<string, string> = {
  '6.1': 'linux-image-amd64',
  '6.12': 'linux-image-6.12-amd64',
};

export interface KernelBuild {
  label: string;
  release: string;
  /** extracted package root */
  tree: string;
  /** tree/lib/modules/<release> */
  modulesDir: string;
  vmlinux: string;
  deb: string;
  /** kernels 6.13+ (and Debian's 6.12 backport) append `;upcall_target=` */
  sendsUpcallTarget: boolean;
}

let aptUpdated = false;

function aptUpdateOnce(): void {
  if (aptUpdated) return;
  aptUpdated = true;
  run('apt-get', ['-o', 'DPkg::Lock::Timeout=900', 'update', '-qq'], { timeoutMs: 600_000 });
}

/** `linux-image-amd64` → `6.1.0-56-amd64`; an explicit release is returned as is. */
export function resolveRelease(label: string): string {
  const meta = KERNEL_METAPACKAGES[label];
  if (meta === undefined) {
    if (!/^\d+\.\d+[\w.+~-]*-amd64$/.test(label)) {
      throw new Error(`unknown kernel "${label}": use ${Object.keys(KERNEL_METAPACKAGES).join(', ')} or a release like 6.1.0-56-amd64`);
    }
    return label;
  }
  const depends = (): string | null => {
    const r = run('apt-cache', ['depends', meta], { allowFail: true });
    const m = /Depends: linux-image-(\S+-amd64)\b/.exec(r.stdout);
    return m ? m[1] : null;
  };
  let release = depends();
  if (release === null) {
    aptUpdateOnce();
    release = depends();
  }
  if (release === null) throw new Error(`apt-cache depends ${meta}: no linux-image dependency found`);
  return release;
}

function findDeb(debsDir: string, release: string): string | null {
  if (!existsSync(debsDir)) return null;
  const prefix = `linux-image-${release}_`;
  const hits = readdirSync(debsDir).filter((f) => f.startsWith(prefix) && f.endsWith('_amd64.deb'));
  hits.sort();
  return hits.length > 0 ? join(debsDir, hits[hits.length - 1]) : null;
}

function download(debsDir: string, release: string): string {
  mkdirSync(debsDir, { recursive: true });
  const attempt = () => run('apt-get', ['download', `linux-image-${release}`], { cwd: debsDir, allowFail: true, timeoutMs: 900_000 });
  let r = attempt();
  if (r.status !== 0) {
    aptUpdateOnce();
    r = attempt();
  }
  const deb = findDeb(debsDir, release);
  if (r.status !== 0 || deb === null) throw new Error(`apt-get download linux-image-${release} failed:\n${r.stdout}${r.stderr}`);
  return deb;
}

function stampMatches(stamp: string, value: string): boolean {
  return existsSync(stamp) && readFileSync(stamp, 'utf8') === value;
}

const ELF = Buffer.from([0x7f, 0x45, 0x4c, 0x46]);
const XZ_MAGIC = Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]);
const ZSTD_MAGIC = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);

function offsetsOf(haystack: Buffer, needle: Buffer): number[] {
  const found: number[] = [];
  for (let at = haystack.indexOf(needle); at >= 0; at = haystack.indexOf(needle, at + 1)) found.push(at);
  return found;
}

/**
 * The bzImage carries the compressed ELF kernel after its setup code: try every xz/zstd magic
 * until one decompresses to an ELF file. zstd complains about the bytes after the frame and xz
 * stops after one stream (--single-stream), so the status is ignored when the output is an ELF.
 */
export function extractVmlinux(bzImage: Buffer): Buffer {
  const candidates: Array<{ at: number; tool: string; args: string[] }> = [
    ...offsetsOf(bzImage, XZ_MAGIC).map((at) => ({ at, tool: 'xz', args: ['-dc', '--single-stream', '-q'] })),
    ...offsetsOf(bzImage, ZSTD_MAGIC).map((at) => ({ at, tool: 'zstd', args: ['-dc', '-q'] })),
  ].sort((a, b) => a.at - b.at);
  for (const c of candidates) {
    const { stdout } = runBinary(c.tool, c.args, bzImage.subarray(c.at));
    if (stdout.length > 1024 * 1024 && stdout.subarray(0, 4).equals(ELF)) return stdout;
  }
  throw new Error(`no xz/zstd payload in the bzImage decompresses to an ELF vmlinux (${candidates.length} candidates)`);
}

/**
 * Whether this cifs.ko appends `;upcall_target=` to its descriptions: decided from the module's own
 * strings, not from the version number (Debian backported the option into its 6.12 kernel).
 */
function cifsKnowsUpcallTarget(modulesDir: string): boolean {
  for (const dir of ['kernel/fs/smb/client', 'kernel/fs/cifs']) {
    for (const name of ['cifs.ko', 'cifs.ko.xz']) {
      const path = join(modulesDir, dir, name);
      if (!existsSync(path)) continue;
      const raw = readFileSync(path);
      const ko = name.endsWith('.xz') ? runBinary('xz', ['-dc'], raw).stdout : raw;
      return ko.includes(Buffer.from('upcall_target='));
    }
  }
  throw new Error(`cifs.ko not found under ${modulesDir}`);
}

export function prepareKernel(label: string, workDir: string, log: (line: string) => void, timings: Map<string, number>): KernelBuild {
  const t = (name: string, start: number) =>
    timings.set(`${label}: ${name}`, (timings.get(`${label}: ${name}`) ?? 0) + Math.round(performance.now() - start));
  let start = performance.now();
  const release = resolveRelease(label);
  t('resolve', start);
  const debsDir = join(workDir, 'debs');
  start = performance.now();
  let deb = findDeb(debsDir, release);
  if (deb === null) {
    log(`downloading linux-image-${release}`);
    deb = download(debsDir, release);
  }
  t('download', start);

  const kdir = join(workDir, release);
  const tree = join(kdir, 'tree');
  const treeStamp = join(kdir, 'tree.stamp');
  mkdirSync(kdir, { recursive: true });
  start = performance.now();
  const debName = deb.slice(debsDir.length + 1);
  if (!stampMatches(treeStamp, debName) || !existsSync(tree)) {
    log(`extracting ${debName}`);
    const tmp = `${tree}.tmp`;
    rmSync(tmp, { recursive: true, force: true });
    rmSync(tree, { recursive: true, force: true });
    run('dpkg-deb', ['-x', deb, tmp]);
    run('depmod', ['-b', tmp, release]);
    renameSync(tmp, tree);
    writeFileSync(treeStamp, debName);
  }
  t('extract+depmod', start);

  start = performance.now();
  const vmlinux = join(kdir, 'vmlinux');
  const vmStamp = join(kdir, 'vmlinux.stamp');
  if (!stampMatches(vmStamp, debName) || !existsSync(vmlinux)) {
    const bz = readFileSync(join(tree, 'boot', `vmlinuz-${release}`));
    writeFileSync(`${vmlinux}.tmp`, extractVmlinux(bz));
    renameSync(`${vmlinux}.tmp`, vmlinux);
    writeFileSync(vmStamp, debName);
  }
  t('vmlinux', start);

  const modulesDir = join(tree, 'lib', 'modules', release);
  return { label, release, tree, modulesDir, vmlinux, deb, sendsUpcallTarget: cifsKnowsUpcallTarget(modulesDir) };
}
