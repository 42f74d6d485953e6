// One QEMU/TCG guest run. The kernel console (ttyS0) goes to RUN/console.log, the orchestrator's
// output (ttyS1) to QEMU's stdout, which is streamed line by line. The host's / is shared
// read-only over virtio-9p (passthrough, so QEMU runs as root), the run directory read-write.
// No NIC unless `extraQemuArgs` adds one (scenario 7: a restricted user-mode NIC whose only exits
// are guestfwd rules to the AD DC's loopback ports, see ad.ts). The run is bounded by a hard timeout
// (SIGTERM, then SIGKILL).
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface VmOptions {
  vmlinux: string;
  initrd: string;
  /** host directory shared read-write as /vmtest/out */
  runDir: string;
  stage2Script: string;
  timeoutMs: number;
  cpus: number;
  memoryMb: number;
  extraKernelArgs: string[];
  /** appended to QEMU's arguments (the AD scenario's NIC) */
  extraQemuArgs: string[];
  onLine: (line: string) => void;
}

export interface VmResult {
  /** the orchestrator's exit status from RUN/status; null when the guest ended without one */
  status: number | null;
  timedOut: boolean;
  ms: number;
  qemuExit: string;
  qemuStderr: string;
}

export function qemuArgs(o: VmOptions): string[] {
  const append = [
    'console=ttyS0',
    'loglevel=4',
    'panic=-1',
    'log_buf_len=4M',
    `vmtest.stage2=${o.stage2Script}`,
    'vmtest.tmpfs=1g',
    ...o.extraKernelArgs,
  ].join(' ');
  return [
    '-accel',
    'tcg,thread=multi,tb-size=256',
    '-cpu',
    'max',
    '-smp',
    String(o.cpus),
    '-m',
    String(o.memoryMb),
    '-machine',
    'pc',
    '-nodefaults',
    '-no-user-config',
    '-display',
    'none',
    '-no-reboot',
    '-kernel',
    o.vmlinux,
    '-initrd',
    o.initrd,
    '-append',
    append,
    '-serial',
    `file:${join(o.runDir, 'console.log')}`,
    '-chardev',
    'stdio,id=out,signal=off',
    '-serial',
    'chardev:out',
    '-fsdev',
    'local,id=hostroot,path=/,security_model=passthrough,readonly=on,multidevs=remap',
    '-device',
    'virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot',
    '-fsdev',
    `local,id=vmout,path=${o.runDir},security_model=passthrough`,
    '-device',
    'virtio-9p-pci,fsdev=vmout,mount_tag=vmout',
    '-device',
    'virtio-rng-pci',
    ...o.extraQemuArgs,
  ];
}

export function runVm(o: VmOptions): Promise<VmResult> {
  const start = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn('qemu-system-x86_64', qemuArgs(o), { stdio: ['ignore', 'pipe', 'pipe'] });
    // never leave the VM behind when the runner goes away (Ctrl-C, a closed pipe, a crash)
    const killVm = () => child.kill('SIGKILL');
    const onSignal = (signal: NodeJS.Signals) => {
      killVm();
      process.exit(128 + (signal === 'SIGINT' ? 2 : signal === 'SIGHUP' ? 1 : 15));
    };
    process.once('exit', killVm);
    for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(s, onSignal);
    const release = () => {
      process.removeListener('exit', killVm);
      for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.removeListener(s, onSignal);
    };
    let timedOut = false;
    let killTimer: NodeJS.Timeout | undefined;
    const hardTimer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGTERM');
      killTimer = setTimeout(() => child.kill('SIGKILL'), 5000);
    }, o.timeoutMs);
    let pending = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      pending += chunk.replace(/\r/g, '');
      for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n')) {
        o.onLine(pending.slice(0, nl));
        pending = pending.slice(nl + 1);
      }
    });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-8000);
    });
    child.on('error', (e) => {
      clearTimeout(hardTimer);
      release();
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(hardTimer);
      release();
      if (killTimer) clearTimeout(killTimer);
      if (pending) o.onLine(pending);
      const statusFile = join(o.runDir, 'status');
      const status = existsSync(statusFile) ? Number.parseInt(readFileSync(statusFile, 'utf8').trim(), 10) : null;
      resolve({
        status: Number.isNaN(status) ? null : status,
        timedOut,
        ms: Math.round(performance.now() - start),
        qemuExit: signal ? `signal ${signal}` : `exit ${code}`,
        qemuStderr: stderr,
      });
    });
  });
}

/** The last `lines` lines of the kernel console of a run. */
export function consoleTail(runDir: string, lines = 60): string {
  const path = join(runDir, 'console.log');
  if (!existsSync(path)) return '(no console.log)';
  const text = readFileSync(path, 'utf8').replace(/\r/g, '').trimEnd();
  return text === '' ? '(empty: the kernel printed nothing at loglevel 4)' : text.split('\n').slice(-lines).join('\n');
}
