// Incremental readers for the evidence a scenario leaves behind: the kernel log (/dev/kmsg),
// the request-key wrapper log, syslog (cifs.upcall), the KDC and gssproxy logs.
//
// /dev/kmsg record: "<prio>,<seq>,<usec since boot>,<flags>[,…];<message>\n" then optional
// " KEY=value" continuation lines. One read() returns one record; EAGAIN (O_NONBLOCK) = caught up,
// EPIPE = records were overwritten before we read them.
// cifs' debug line for an upcall: "CIFS: …cifs_spnego.c: key description = <description>".
import { closeSync, constants, existsSync, fstatSync, openSync, readSync } from 'node:fs';

export interface KernelLine {
  /** seconds since boot */
  time: number;
  text: string;
}

export class KernelLog {
  private readonly fd: number;
  private readonly buf = Buffer.alloc(16384);
  readonly all: KernelLine[] = [];

  constructor() {
    this.fd = openSync('/dev/kmsg', constants.O_RDONLY | constants.O_NONBLOCK);
  }

  /** Records logged since the previous call. */
  drain(): KernelLine[] {
    const out: KernelLine[] = [];
    for (;;) {
      let n: number;
      try {
        n = readSync(this.fd, this.buf, 0, this.buf.length, null);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EAGAIN') break;
        if (code === 'EPIPE') continue;
        throw e;
      }
      const record = this.buf.toString('utf8', 0, n);
      const semi = record.indexOf(';');
      const fields = record.slice(0, semi).split(',');
      const text = record.slice(semi + 1).split('\n')[0];
      const line = { time: Number(fields[2]) / 1e6, text };
      out.push(line);
      this.all.push(line);
    }
    return out;
  }

  close(): void {
    closeSync(this.fd);
  }
}

export function keyDescriptions(lines: KernelLine[]): Array<{ time: number; description: string }> {
  const out: Array<{ time: number; description: string }> = [];
  for (const l of lines) {
    const m = /key description = (.*)$/.exec(l.text);
    if (m) out.push({ time: l.time, description: m[1] });
  }
  return out;
}

/** A text file that other processes append to; `take()` returns what was added since last time. */
export class AppendedText {
  private offset = 0;

  constructor(readonly path: string) {}

  /** Skip what is there now. */
  mark(): void {
    this.offset = existsSync(this.path) ? fstatSize(this.path) : 0;
  }

  take(): string {
    if (!existsSync(this.path)) return '';
    const fd = openSync(this.path, 'r');
    try {
      const size = fstatSync(fd).size;
      if (size < this.offset) this.offset = 0;
      const buf = Buffer.alloc(size - this.offset);
      let got = 0;
      while (got < buf.length) {
        const n = readSync(fd, buf, got, buf.length - got, this.offset + got);
        if (n === 0) break;
        got += n;
      }
      this.offset += got;
      return buf.toString('utf8', 0, got);
    } finally {
      closeSync(fd);
    }
  }
}

function fstatSize(path: string): number {
  const fd = openSync(path, 'r');
  try {
    return fstatSync(fd).size;
  } finally {
    closeSync(fd);
  }
}

/** One upcall as the request-key wrapper recorded it (see upcall-wrapper.sh for the format). */
export interface WrapperUpcall {
  serial: number;
  fsuid: number;
  description: string;
  argv: string;
  startUptime: number;
  endUptime: number | null;
  exitStatus: number | null;
  /** "<flags> <timeout>" from /proc/keys after the handler, "gone" when the key was not listed */
  keyState: string | null;
}

export function parseWrapperLog(text: string): WrapperUpcall[] {
  const bySerial = new Map<number, WrapperUpcall>();
  const order: WrapperUpcall[] = [];
  for (const line of text.split('\n')) {
    const f = line.split('\t');
    if (f[0] === 'start' && f.length >= 6) {
      const u: WrapperUpcall = {
        serial: Number(f[2]),
        fsuid: Number(f[3]),
        description: f[4],
        argv: f.slice(5).join('\t'),
        startUptime: Number(f[1]),
        endUptime: null,
        exitStatus: null,
        keyState: null,
      };
      bySerial.set(u.serial, u);
      order.push(u);
    } else if (f[0] === 'end' && f.length >= 5) {
      const u = bySerial.get(Number(f[2]));
      if (u) {
        u.endUptime = Number(f[1]);
        u.exitStatus = Number(f[3]);
        u.keyState = f[4];
      }
    }
  }
  return order;
}

/** A line of /proc/keys: "<id hex> <flags> <usage> <timeout> <perm> <uid> <gid> <type> <description>". */
export interface ProcKey {
  serial: number;
  flags: string;
  timeout: string;
  type: string;
  description: string;
}

export function parseProcKeys(text: string): ProcKey[] {
  const keys: ProcKey[] = [];
  for (const line of text.split('\n')) {
    const m = /^([0-9a-f]+) (\S+)\s+\d+\s+(\S+)\s+[0-9a-f]+\s+-?\d+\s+-?\d+\s+(\S+)\s+(.*)$/.exec(line);
    if (m) keys.push({ serial: Number.parseInt(m[1], 16), flags: m[2], timeout: m[3], type: m[4], description: m[5] });
  }
  return keys;
}

/** "59s" / "1m" / "perm" / "expd" → seconds (perm → Infinity, expd → 0). */
export function keyTimeoutSeconds(timeout: string): number | null {
  if (timeout === 'perm') return Number.POSITIVE_INFINITY;
  if (timeout === 'expd') return 0;
  const m = /^(\d+)([smhdw])$/.exec(timeout);
  if (!m) return null;
  const unit = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 }[m[2] as 's' | 'm' | 'h' | 'd' | 'w'];
  return Number(m[1]) * unit;
}
