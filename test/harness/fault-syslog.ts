// Syslog capture for the fault-matrix and security tests: a datagram listener on /dev/log that
// records every message with the sender's pid (SO_PASSCRED), so the lines of one upcall can be
// told from anything else logging at the same time. The machine has no syslog daemon; when
// /dev/log already exists (someone runs one) we leave it alone and `available` is false.
//
// The upcall opens syslog with LOG_NDELAY before any namespace switch, so the host's /dev/log
// receives its lines also when it later enters a caller's mount namespace; an upcall started by
// the kernel (request-key) logs here too.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sleep } from './processes.ts';

export interface SyslogLine {
  pid: number;
  /** PRI: facility * 8 + level */
  pri: number;
  ident: string;
  message: string;
}

export interface SyslogCapture {
  available: boolean;
  /** every captured line of process `pid` */
  linesOf(pid: number): SyslogLine[];
  /** wait until `pid` logged a line matching `done` (default: its "Exit status") */
  waitFor(pid: number, done?: RegExp, timeoutMs?: number): Promise<SyslogLine[]>;
  stop(): Promise<void>;
}

const LISTENER = `
import socket, struct, sys, os
path, out = sys.argv[1], sys.argv[2]
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

/** Start capturing /dev/log; `dir` holds the listener's files. */
export async function startSyslogCapture(dir: string): Promise<SyslogCapture> {
  const out = join(dir, 'syslog.log');
  if (existsSync('/dev/log')) {
    return {
      available: false,
      linesOf: () => [],
      waitFor: async () => [],
      stop: async () => { /* not ours */ },
    };
  }
  const script = join(dir, 'syslog-listener.py');
  writeFileSync(script, LISTENER);
  const child: ChildProcess = spawn('/usr/bin/python3', [script, '/dev/log', out], { stdio: 'ignore' });
  const until = Date.now() + 10_000;
  while (!existsSync(`${out}.ready`)) {
    if (Date.now() > until || child.exitCode !== null) throw new Error('syslog listener did not start');
    await sleep(20);
  }
  const parse = (): SyslogLine[] => {
    if (!existsSync(out)) return [];
    return readFileSync(out, 'utf8').split('\n').filter((l) => l !== '').flatMap((l) => {
      const tab = l.indexOf('\t');
      // <PRI>Mmm dd hh:mm:ss ident: message
      const m = /^<(\d+)>\w{3} [ \d]\d \d\d:\d\d:\d\d ([^:]+): (.*)$/.exec(l.slice(tab + 1));
      return m ? [{ pid: Number(l.slice(0, tab)), pri: Number(m[1]), ident: m[2]!, message: m[3]! }] : [];
    });
  };
  const linesOf = (pid: number): SyslogLine[] => parse().filter((l) => l.pid === pid);
  return {
    available: true,
    linesOf,
    async waitFor(pid, done = /Exit status/, timeoutMs = 5000) {
      const end = Date.now() + timeoutMs;
      for (;;) {
        const lines = linesOf(pid);
        if (lines.some((l) => done.test(l.message)) || Date.now() > end) return lines;
        await sleep(20);
      }
    },
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await sleep(50);
      rmSync('/dev/log', { force: true });
    },
  };
}

/** LOG_DAEMON | LOG_ERR */
export const DAEMON_ERR = 27;
