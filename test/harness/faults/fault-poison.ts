// A poisoned "container" for the namespace proofs (SECURITY.md #6, CVE-2026-12505): a
// caller process in its own mount namespace whose /etc is a tmpfs we fill — nsswitch.conf,
// passwd, krb5.conf with an include, cifs-upcall.conf, ld.so.preload — and whose
// libnss_files.so.2 is a library built here with gcc that appends "pid uid comm" to a marker
// file whenever any process loads it. The poison is shown to be live: the caller's own `sleep`
// (through ld.so.preload) and a `getent passwd` run inside the namespace (through NSS) both
// load it. Plus strace helpers: run the upcall under `strace -f` and read back its syscalls.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isAlive, sleep } from '../common/processes.ts';

const POISON_C = `
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <pwd.h>
#include <errno.h>

static void mark(const char *why) {
  char comm[64] = "?", line[256];
  int c = open("/proc/self/comm", O_RDONLY);
  if (c >= 0) { ssize_t n = read(c, comm, sizeof comm - 1); if (n > 0) comm[n - 1] = 0; close(c); }
  int fd = open(MARKER, O_WRONLY | O_APPEND | O_CREAT, 0666);
  if (fd < 0) return;
  int n = snprintf(line, sizeof line, "%s pid=%d uid=%d euid=%d comm=%s\\n", why, (int)getpid(), (int)getuid(), (int)geteuid(), comm);
  (void)!write(fd, line, n);
  close(fd);
}

__attribute__((constructor)) static void loaded(void) { mark("loaded"); }

/* looks like an NSS module: glibc resolves these after dlopen */
int _nss_files_getpwuid_r(uid_t uid, struct passwd *pw, char *buf, size_t len, int *err) {
  mark("getpwuid_r"); *err = ENOENT; return 0; /* NSS_STATUS_NOTFOUND */
}
int _nss_files_getpwnam_r(const char *name, struct passwd *pw, char *buf, size_t len, int *err) {
  mark("getpwnam_r"); *err = ENOENT; return 0;
}
`;

/** gcc the poison library (once per directory); returns its path. */
export function buildPoisonLibrary(dir: string, marker: string): string {
  const lib = join(dir, 'libnss_poison.so.2');
  if (existsSync(lib)) return lib;
  const src = join(dir, 'poison.c');
  writeFileSync(src, POISON_C);
  const r = spawnSync('gcc', ['-shared', '-fPIC', '-O2', `-DMARKER="${marker}"`, '-o', lib, src], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`gcc failed: ${r.stderr}`);
  return lib;
}

export interface PoisonedCaller {
  pid: number;
  /** the marker file the poison library appends to */
  marker: string;
  /** the poison's paths as seen inside the namespace */
  poisonPaths: string[];
  /** lines of the marker file */
  markerLines(): string[];
  /** run a command inside the caller's mount namespace (nsenter) */
  inside(argv: string[]): { status: number; stdout: string; stderr: string };
  stop(): Promise<void>;
}

/**
 * Start the poisoned caller. `etc` maps file names under the namespace's /etc to contents (the
 * defaults below poison nsswitch.conf, passwd, krb5.conf and cifs-upcall.conf); `env` is the
 * caller's environment (e.g. KRB5CCNAME).
 */
export async function startPoisonedCaller(
  dir: string,
  options: {
    krb5ConfText: string;
    env: Record<string, string>;
  },
): Promise<PoisonedCaller> {
  const marker = join(dir, 'poison-marker.log');
  const lib = buildPoisonLibrary(dir, marker);
  const etcSrc = join(dir, 'poison-etc');
  spawnSync('mkdir', ['-p', etcSrc]);
  const includeTarget = '/etc/krb5-poison-include.conf';
  const files: Record<string, string> = {
    'nsswitch.conf': 'passwd: files\ngroup: files\nshadow: files\nhosts: files\n',
    // the container's passwd would make uid 2001 "root-ish" if anyone consulted it
    passwd: 'root:x:0:0:root:/root:/bin/sh\nalice:x:2001:0:poisoned alice:/root:/bin/sh\n',
    group: 'root:x:0:\n',
    'krb5.conf': `${options.krb5ConfText}\ninclude ${includeTarget}\n`,
    'krb5-poison-include.conf': '[libdefaults]\n  poisoned_include = yes\n',
    'cifs-upcall.conf': '[global]\nstrategy = proxy-only\ngssproxy_socket = /poison/gssproxy.sock\n',
    'ld.so.preload': '/lib/x86_64-linux-gnu/libnss_files.so.2\n',
    hosts: '127.0.0.1 localhost\n',
    'resolv.conf': 'nameserver 127.0.0.1\n',
  };
  for (const [name, text] of Object.entries(files)) writeFileSync(join(etcSrc, name), text, { mode: 0o644 });
  const script = [
    // a copy of /etc on a tmpfs, then the poison over it
    'mount -t tmpfs -o mode=0755 poison-etc /etc',
    `cp -a ${etcSrc}/. /etc/`,
    `mount --bind ${lib} /lib/x86_64-linux-gnu/libnss_files.so.2`,
    `exec env -i ${Object.entries(options.env)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ')} /bin/sleep 300`,
  ].join(' && ');
  const child: ChildProcess = spawn('unshare', ['--mount', '--propagation', 'private', '/bin/sh', '-c', script], {
    env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' },
    stdio: 'ignore',
  });
  const pid = child.pid!;
  const until = Date.now() + 10_000;
  for (;;) {
    let comm = '';
    try {
      comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
    } catch {
      /* not yet */
    }
    if (comm === 'sleep') break;
    if (child.exitCode !== null || Date.now() > until) throw new Error(`poisoned caller did not start (exit ${child.exitCode})`);
    await sleep(20);
  }
  return {
    pid,
    marker,
    poisonPaths: [
      '/etc/nsswitch.conf',
      '/etc/passwd',
      '/etc/group',
      '/etc/krb5.conf',
      includeTarget,
      '/etc/cifs-upcall.conf',
      '/etc/ld.so.preload',
      '/lib/x86_64-linux-gnu/libnss_files.so.2',
    ],
    markerLines: () =>
      existsSync(marker)
        ? readFileSync(marker, 'utf8')
            .split('\n')
            .filter((l) => l !== '')
        : [],
    inside: (argv) => {
      const r = spawnSync('nsenter', ['-m', '-t', String(pid), '--', ...argv], { encoding: 'utf8' });
      return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
    },
    stop: async () => {
      if (child.exitCode === null && isAlive(pid)) child.kill('SIGKILL');
      const end = Date.now() + 5000;
      while (isAlive(pid) && Date.now() < end) await sleep(20);
    },
  };
}

/** One line of `strace -f` output. */
export interface Syscall {
  /** position in the file */
  index: number;
  tid: number;
  name: string;
  args: string;
  result: string;
  raw: string;
}

/** The request-key program prefix that runs the upcall under strace -f into `out`. */
export function straceWrapper(out: string): string[] {
  return [
    '/usr/bin/strace',
    '-f',
    '-qq',
    '-s',
    '256',
    '-o',
    out,
    '-e',
    'trace=openat,open,execve,setns,setresuid,setresgid,setgroups,capset,unshare,connect',
  ];
}

/** Parse strace -f output ("TID name(args) = result", with <unfinished …>/<… resumed> joined). */
export function readStrace(path: string): Syscall[] {
  const lines = readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l !== '');
  const pending = new Map<string, string>();
  const out: Syscall[] = [];
  for (const raw of lines) {
    const m = /^(\d+)\s+(.*)$/.exec(raw);
    if (!m) continue;
    const tid = Number(m[1]);
    let body = m[2]!;
    const unfinished = /^(\w+)\((.*) <unfinished \.\.\.>$/.exec(body);
    if (unfinished) {
      pending.set(`${tid}/${unfinished[1]}`, `${unfinished[1]}(${unfinished[2]}`);
      continue;
    }
    const resumed = /^<\.\.\. (\w+) resumed>(.*)$/.exec(body);
    if (resumed) {
      const start = pending.get(`${tid}/${resumed[1]}`) ?? `${resumed[1]}(`;
      pending.delete(`${tid}/${resumed[1]}`);
      body = start + resumed[2];
    }
    const call = /^(\w+)\((.*)\)\s+=\s+(.*)$/.exec(body);
    if (!call) continue;
    out.push({ index: out.length, tid, name: call[1]!, args: call[2]!, result: call[3]!, raw });
  }
  return out;
}

/** The path argument of an open/openat. */
export function openedPath(c: Syscall): string | null {
  const m =
    c.name === 'openat' ? /^[^,]+, "((?:[^"\\]|\\.)*)"/.exec(c.args) : c.name === 'open' ? /^"((?:[^"\\]|\\.)*)"/.exec(c.args) : null;
  return m ? m[1]! : null;
}
