// Syslog capture for the fault-matrix and security tests, whatever the host has at /dev/log: a
// datagram listener on a socket in the test's own directory records every message with the
// sender's pid (SO_PASSCRED), so the lines of one upcall can be told from anything else logging at
// the same time; and `wrapper`, a command prefix that runs the upcall in a private mount namespace
// (unshare(1)) whose /dev is a private tmpfs: every entry of the host's /dev is there as a
// symlink, except `log`, which is our socket. The host's /dev/log — a syslog daemon's, journald's,
// or none — is never read, written, replaced or removed, and receives nothing from the upcall.
//
// The upcall opens syslog with LOG_NDELAY before any namespace switch (src/os/syslog.ts), so its
// lines come here also after it entered a caller's mount namespace. An upcall started by the
// kernel through request-key gets the wrapper on its request-key.d program line.
//
// The capture proves itself before any test uses it: a datagram sent to /dev/log through the
// wrapper must arrive, with the sender's pid. If it does not (no unshare, no CAP_SYS_ADMIN, no
// python3), startSyslogCapture throws with the reason and the test file fails: there is no
// "capture unavailable" mode to hide assertions behind.
//
// Clean-up is the creator's: stop() ends the listener (by its pid) and removes the socket; the
// listener also ends, removing its socket, when the process that started it dies (PR_SET_PDEATHSIG).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sleep } from '../common/processes.ts';

export interface SyslogLine {
  pid: number;
  /** PRI: facility * 8 + level */
  pri: number;
  ident: string;
  message: string;
}

export interface SyslogCapture {
  /** the listener's socket (in the test's directory; /dev/log inside `wrapper`) */
  socket: string;
  /** command prefix: runs the rest of the command line with /dev/log = `socket` (exec, same pid) */
  wrapper: string[];
  /** every captured line of process `pid` */
  linesOf(pid: number): SyslogLine[];
  /** every captured line */
  all(): SyslogLine[];
  /** wait until `pid` logged a line matching `done` (default: its "Exit status") */
  waitFor(pid: number, done?: RegExp, timeoutMs?: number): Promise<SyslogLine[]>;
  stop(): Promise<void>;
}

const LISTENER = `
import ctypes, os, signal, socket, struct, sys
path, out = sys.argv[1], sys.argv[2]
# end (and remove the socket) when the process that started us ends
ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
def bye(*_):
    try:
        os.unlink(path)
    finally:
        os._exit(0)
signal.signal(signal.SIGTERM, bye)
if os.getppid() == 1:
    bye()
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
s.bind(path)
os.chmod(path, 0o666)
f = open(out, 'ab', buffering=0)
open(out + '.ready', 'w').close()
while True:
    data, anc, flags, addr = s.recvmsg(65536, socket.CMSG_SPACE(12))
    pid = 0
    for level, kind, payload in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
            pid = struct.unpack('iII', payload[:12])[0]
    # a newline inside one datagram is kept visible as \\n (a forged second line would show)
    f.write(b'%d\\t' % pid + data.replace(b'\\n', b'\\\\n') + b'\\n')
`;

/**
 * Runs "$@" with a private /dev whose `log` is $1. Started through `unshare --mount
 * --propagation private`, so none of these mounts is seen outside; exec keeps the pid.
 */
const PRIVATE_DEV_LOG = `#!/bin/sh
set -e
sock=$1; scratch=$2; shift 2
mount --rbind /dev "$scratch"
mount -t tmpfs -o mode=0755,size=64k cifs-upcall-test-dev /dev
ln -s "$scratch"/* /dev/
rm -f /dev/log
ln -s "$sock" /dev/log
exec "$@"
`;

/** Start capturing; `dir` (private to the test file, world-searchable) holds the listener's files. */
export async function startSyslogCapture(dir: string): Promise<SyslogCapture> {
  const out = join(dir, 'syslog.log');
  const socket = join(dir, 'log.sock');
  const scratch = join(dir, 'host-dev');
  mkdirSync(scratch, { recursive: true, mode: 0o755 });
  const script = join(dir, 'syslog-listener.py');
  writeFileSync(script, LISTENER);
  const devScript = join(dir, 'private-dev-log.sh');
  writeFileSync(devScript, PRIVATE_DEV_LOG, { mode: 0o755 });
  const wrapper = ['/usr/bin/unshare', '--mount', '--propagation', 'private', '/bin/sh', devScript, socket, scratch];

  const child: ChildProcess = spawn('/usr/bin/python3', [script, socket, out], { stdio: ['ignore', 'ignore', 'pipe'] });
  let listenerErr = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    listenerErr += d;
  });
  const until = Date.now() + 10_000;
  while (!existsSync(`${out}.ready`)) {
    if (Date.now() > until || child.exitCode !== null) {
      child.kill('SIGKILL');
      throw new Error(`syslog capture: the listener on ${socket} did not start: ${listenerErr.trim() || `exit ${child.exitCode}`}`);
    }
    await sleep(20);
  }

  const parse = (): SyslogLine[] => {
    if (!existsSync(out)) return [];
    return readFileSync(out, 'utf8')
      .split('\n')
      .filter((l) => l !== '')
      .flatMap((l) => {
        const tab = l.indexOf('\t');
        // <PRI>Mmm dd hh:mm:ss ident: message
        const m = /^<(\d+)>\w{3} [ \d]\d \d\d:\d\d:\d\d ([^:]+): (.*)$/.exec(l.slice(tab + 1));
        return m ? [{ pid: Number(l.slice(0, tab)), pri: Number(m[1]), ident: m[2]!, message: m[3]! }] : [];
      });
  };
  const linesOf = (pid: number): SyslogLine[] => parse().filter((l) => l.pid === pid);
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const end = Date.now() + 5000;
      while (child.exitCode === null && child.signalCode === null && Date.now() < end) await sleep(20);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    rmSync(socket, { force: true });
  };
  const capture: SyslogCapture = {
    socket,
    wrapper,
    linesOf,
    all: parse,
    async waitFor(pid, done = /Exit status/, timeoutMs = 5000) {
      const end = Date.now() + timeoutMs;
      for (;;) {
        const lines = linesOf(pid);
        if (lines.some((l) => done.test(l.message)) || Date.now() > end) return lines;
        await sleep(20);
      }
    },
    stop,
  };

  // prove the wrapper: a datagram to /dev/log from inside it arrives here with the sender's pid
  const token = `capture-self-test-${process.pid}-${Date.now()}`;
  const probe = spawnSync(
    wrapper[0]!,
    [
      ...wrapper.slice(1),
      '/usr/bin/python3',
      '-c',
      'import os, socket, sys, time\n' +
        's = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\n' +
        's.connect("/dev/log")\n' +
        's.send(("<31>%s probe: %s" % (time.strftime("%b %e %H:%M:%S"), sys.argv[1])).encode())\n' +
        'print(os.getpid())\n',
      token,
    ],
    { encoding: 'utf8', timeout: 15_000 },
  );
  const probePid = Number(probe.stdout.trim());
  const seen = probePid > 0 ? await capture.waitFor(probePid, new RegExp(token), 5000) : [];
  if (!seen.some((l) => l.message === token)) {
    await stop();
    throw new Error(
      `syslog capture: a line sent to /dev/log inside ${wrapper.join(' ')} did not arrive ` +
        `(exit ${probe.status}, ${(probe.stderr || probe.error?.message || '').trim()})`,
    );
  }
  return capture;
}

/** LOG_DAEMON | LOG_ERR */
export const DAEMON_ERR = 27;
