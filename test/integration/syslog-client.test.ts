// The addon's /dev/log client (native/src/addon.cc, syslog section) against glibc's syslog(3):
// the same bytes for the same calls, and one connection per process where glibc makes one per
// message while /dev/log is missing (a connect made after setns would reach the caller's
// /dev/log). glibc runs in a small C program compiled here; ours through the built addon. Both
// run with a private /dev whose `log` is the capture's socket (test/harness/faults/fault-syslog.ts),
// or with no `log` at all; strace counts the connect(2) calls.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSyslogCapture, type SyslogCapture } from '../harness/faults/fault-syslog.ts';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const ADDON = join(repo, 'native', 'build', 'Release', 'cifs_upcall_native.node');
const MESSAGES = ['[key 42] first line', '[key 42] percent %s %n kept', '[key 42] Exit status 0'];
const LEVELS = [7, 3, 7]; // LOG_DEBUG, LOG_ERR, LOG_DEBUG
const LOG_DAEMON = 3 << 3;

const work = mkdtempSync(join(tmpdir(), 'cu-syslog-client-'));
chmodSync(work, 0o755);
let capture: SyslogCapture;
let glibcProgram: string;
let oursProgram: string;

/** A private /dev without `log`: "$@" runs where nothing listens at /dev/log. */
const NO_DEV_LOG = `#!/bin/sh
set -e
scratch=$1; shift
mount --rbind /dev "$scratch"
mount -t tmpfs -o mode=0755,size=64k cifs-upcall-test-dev /dev
ln -s "$scratch"/* /dev/
rm -f /dev/log
exec "$@"
`;

beforeAll(async () => {
  capture = await startSyslogCapture(work);
  glibcProgram = join(work, 'glibc-syslog');
  const c = join(work, 'glibc-syslog.c');
  writeFileSync(
    c,
    `#include <syslog.h>
#include <stdlib.h>
int main(int argc, char **argv) {
  openlog("cifs.upcall", LOG_NDELAY, LOG_DAEMON);
  for (int i = 1; i + 1 < argc; i += 2) syslog(atoi(argv[i]), "%s", argv[i + 1]);
  closelog();
  return 0;
}
`,
  );
  execFileSync('cc', ['-O2', '-o', glibcProgram, c]);
  oursProgram = join(work, 'ours-syslog.cjs');
  writeFileSync(
    oursProgram,
    `const m = { exports: {} };
process.dlopen(m, ${JSON.stringify(ADDON)});
const addon = m.exports;
addon.openlog('cifs.upcall', 0x08, ${LOG_DAEMON});
const args = process.argv.slice(2);
for (let i = 0; i + 1 < args.length; i += 2) addon.syslog(Number(args[i]), args[i + 1]);
addon.closelog();
`,
  );
}, 60_000);

afterAll(async () => {
  await capture?.stop();
  rmSync(work, { recursive: true, force: true });
});

/** argv of either program: level, message, …; the facility comes from openlog (LOG_DAEMON) */
function logArgs(messages: string[], levels: number[]): string[] {
  return messages.flatMap((m, i) => [String(levels[i]!), m]);
}

/** The datagrams a process sent, as captured (timestamps masked). */
function rawLinesOf(pid: number): string[] {
  return readFileSync(join(work, 'syslog.log'), 'utf8')
    .split('\n')
    .filter((l) => l.startsWith(`${pid}\t`))
    .map((l) => l.slice(l.indexOf('\t') + 1).replace(/^(<\d+>)\w{3} [ \d]\d \d\d:\d\d:\d\d /, '$1TIMESTAMP '));
}

function runWrapped(argv: string[]): number {
  const r = spawnSync(capture.wrapper[0]!, [...capture.wrapper.slice(1), '/bin/sh', '-c', 'echo $$; exec "$@"', 'sh', ...argv], {
    encoding: 'utf8',
    timeout: 15_000,
  });
  expect(r.status, r.stderr).toBe(0);
  return Number(r.stdout.trim().split('\n')[0]);
}

describe('syslog through the addon', () => {
  it("sends glibc's bytes: <PRI>, the timestamp, the ident, the message verbatim", async () => {
    const glibcPid = runWrapped([glibcProgram, ...logArgs(MESSAGES, LEVELS)]);
    const oursPid = runWrapped([process.execPath, oursProgram, ...logArgs(MESSAGES, LEVELS)]);
    await capture.waitFor(glibcPid, /Exit status/);
    await capture.waitFor(oursPid, /Exit status/);
    const glibc = rawLinesOf(glibcPid);
    expect(glibc).toHaveLength(3);
    expect(glibc[0]).toBe('<31>TIMESTAMP cifs.upcall: [key 42] first line');
    expect(rawLinesOf(oursPid)).toEqual(glibc);
  });

  it('connects once per process, also with no /dev/log (glibc: once per message)', () => {
    const script = join(work, 'no-dev-log.sh');
    writeFileSync(script, NO_DEV_LOG, { mode: 0o755 });
    const scratch = join(work, 'host-dev-2');
    execFileSync('mkdir', ['-p', scratch]);
    const many = Array.from({ length: 17 }, (_, i) => `[key 7] line ${i}`);
    const levels = many.map(() => 7);
    const connects = (argv: string[]): number => {
      const trace = join(work, `strace-${argv.length}-${Math.random().toString(36).slice(2)}`);
      const r = spawnSync(
        '/usr/bin/unshare',
        [
          '--mount',
          '--propagation',
          'private',
          '/bin/sh',
          script,
          scratch,
          'strace',
          '-f',
          '-qq',
          '-e',
          'trace=connect',
          '-o',
          trace,
          ...argv,
        ],
        { encoding: 'utf8', timeout: 30_000 },
      );
      expect(r.status, r.stderr).toBe(0);
      return readFileSync(trace, 'utf8')
        .split('\n')
        .filter((l) => l.includes('connect(') && l.includes('/dev/log')).length;
    };
    const glibc = connects([glibcProgram, ...logArgs(many, levels)]);
    const ours = connects([process.execPath, oursProgram, ...logArgs(many, levels)]);
    // glibc tries at openlog and again for every message; datagram then stream each time
    expect(glibc).toBeGreaterThanOrEqual(17);
    // ours: one datagram attempt (ENOENT ends it), never again
    expect(ours).toBe(1);
  });
});
