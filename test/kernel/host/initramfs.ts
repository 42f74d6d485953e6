// The initramfs (≈1.5 MB): a static busybox, the few modules needed to reach the host's root over
// virtio-9p and stack a tmpfs overlay on it, and /init (test/kernel/guest/init.sh). Rebuilt only
// when the inputs' hash changes.
//
// Layout inside the archive:
//   /init                 busybox sh script
//   /bin/busybox          static (no PT_INTERP)
//   /modules/<n>.ko       uncompressed (busybox insmod cannot read .ko.xz)
//   /modules.order        one file name per line, dependency order
//   /dev/console          so that /init starts with a console on fds 0–2
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { run, runBinary } from './exec.ts';
import type { KernelBuild } from './kernels.ts';

/** Modules /init loads (whatever the kernel has built in is skipped by modprobe). */
const INITRAMFS_MODULES = ['virtio_pci', '9pnet_virtio', '9p', 'overlay', 'virtio_rng'];
const BUSYBOX = '/bin/busybox';
const BUILDER_VERSION = 'initramfs-v1';

/** True when an ELF64 file has no PT_INTERP program header (statically linked). */
export function isStaticElf(elf: Buffer): boolean {
  if (!elf.subarray(0, 4).equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46])) || elf[4] !== 2) return false;
  const phoff = Number(elf.readBigUInt64LE(0x20));
  const phentsize = elf.readUInt16LE(0x36);
  const phnum = elf.readUInt16LE(0x38);
  for (let i = 0; i < phnum; i++) {
    if (elf.readUInt32LE(phoff + i * phentsize) === 3) return false;
  }
  return true;
}

/** `insmod` paths in dependency order, de-duplicated. */
function moduleFiles(kernel: KernelBuild): string[] {
  const r = run('modprobe', ['-d', kernel.tree, '-S', kernel.release, '--show-depends', '-a', ...INITRAMFS_MODULES]);
  const files: string[] = [];
  for (const line of r.stdout.split('\n')) {
    const m = /^insmod (\S+)/.exec(line.trim());
    if (m && !files.includes(m[1])) files.push(m[1]);
  }
  return files;
}

export function buildInitramfs(kernel: KernelBuild, initScript: string, workDir: string): string {
  const out = join(workDir, kernel.release, 'initrd.img');
  const stamp = `${out}.stamp`;
  const busybox = readFileSync(BUSYBOX);
  if (!isStaticElf(busybox)) throw new Error(`${BUSYBOX} is not statically linked (install busybox-static)`);
  const modules = moduleFiles(kernel);
  const init = readFileSync(initScript);
  const hash = createHash('sha256')
    .update(BUILDER_VERSION)
    .update(init)
    .update(createHash('sha256').update(busybox).digest())
    .update(modules.join('\n'))
    .digest('hex');
  if (existsSync(out) && existsSync(stamp) && readFileSync(stamp, 'utf8') === hash) return out;

  const staging = join(workDir, kernel.release, 'initramfs.staging');
  rmSync(staging, { recursive: true, force: true });
  for (const d of ['bin', 'dev', 'proc', 'sys', 'lower', 'rw', 'newroot', 'modules']) mkdirSync(join(staging, d), { recursive: true });
  copyFileSync(BUSYBOX, join(staging, 'bin', 'busybox'));
  writeFileSync(join(staging, 'init'), init, { mode: 0o755 });
  const order: string[] = [];
  for (const file of modules) {
    const name = basename(file).replace(/\.ko\.(xz|zst|gz)$/, '.ko');
    const raw = readFileSync(file);
    let ko: Buffer = raw;
    if (file.endsWith('.xz')) ko = runBinary('xz', ['-dc'], raw).stdout;
    else if (file.endsWith('.zst')) ko = runBinary('zstd', ['-dc', '-q'], raw).stdout;
    else if (file.endsWith('.gz')) ko = runBinary('gzip', ['-dc'], raw).stdout;
    writeFileSync(join(staging, 'modules', name), ko);
    order.push(name);
  }
  writeFileSync(join(staging, 'modules.order'), `${order.join('\n')}\n`);
  run('mknod', ['-m', '600', join(staging, 'dev', 'console'), 'c', '5', '1']);
  run('sh', ['-c', `find . | cpio -o -H newc --quiet | gzip -1 > '${out}.tmp'`], { cwd: staging });
  renameSync(`${out}.tmp`, out);
  writeFileSync(stamp, hash);
  rmSync(staging, { recursive: true, force: true });
  return out;
}
