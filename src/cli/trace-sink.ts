// The --trace sinks. The file descriptor is opened by the CLI before the upcall starts (as root, in
// the host's mount namespace), so a trace file lands where the admin asked even after the upcall
// entered the caller's namespaces and dropped to the user; writes are synchronous (fs.writeSync),
// so nothing is lost when the process exits right after the last event.
import { writeSync } from 'node:fs';
import type { Trace, TraceArea, TraceFields } from '../trace.ts';
import type { TraceFormat } from './options.ts';

/**
 * Who a trace_file record belongs to: the key serial of a live upcall, or the pid of a replay.
 * Concurrent upcalls appending to one file stay apart (each record is one O_APPEND write).
 */
export type TraceLabel = { key: number } | { replay: number };

export function labelText(label: TraceLabel): string {
  return 'key' in label ? `key ${label.key}` : `replay ${label.replay}`;
}

export class FileDescriptorTrace implements Trace {
  /**
   * With a `label` (trace_file), every record also carries its ISO-8601 wall-clock time and the
   * label: a text line starts `<time> [key <serial>] `, a JSON record has `time` and `key` (or
   * `replay`) fields.
   */
  constructor(
    private readonly fd: number,
    private readonly format: TraceFormat,
    private readonly start = process.hrtime.bigint(),
    private readonly label?: TraceLabel,
  ) {}

  event(area: TraceArea, message: string, fields?: TraceFields): void {
    this.write(Number(process.hrtime.bigint() - this.start) / 1e6, area, message, fields, Date.now());
  }

  write(t: number, area: TraceArea, message: string, fields?: TraceFields, wallMs: number = Date.now()): void {
    let line: string;
    if (this.format === 'json') {
      line = formatJson(t, area, message, fields, this.label, this.label !== undefined ? new Date(wallMs).toISOString() : undefined);
    } else {
      line = formatText(t, area, message, fields);
      if (this.label !== undefined) line = `${new Date(wallMs).toISOString()} [${labelText(this.label)}] ${line}`;
    }
    try {
      writeSync(this.fd, `${line}\n`);
    } catch {
      /* a closed stderr must not fail the upcall */
    }
  }
}

/**
 * The trace when --trace was not given: events are held until the configuration is read; if it
 * names a trace_file, they are written there (with their original times) and so is the rest of
 * the upcall, else they are dropped. Lets an admin trace live upcalls, which request-key starts
 * with no options of the admin's choosing.
 */
export class DeferredTrace implements Trace {
  private readonly start = process.hrtime.bigint();
  private held: Array<{ t: number; wall: number; area: TraceArea; message: string; fields?: TraceFields }> | null = [];
  private sink: FileDescriptorTrace | null = null;
  /** trace_level = failures: the sink is known, but records wait for the exit status */
  private onlyFailures = false;

  event(area: TraceArea, message: string, fields?: TraceFields): void {
    if (this.sink && !this.onlyFailures) {
      this.sink.event(area, message, fields);
    } else if (this.held) {
      const t = Number(process.hrtime.bigint() - this.start) / 1e6;
      const wall = Date.now();
      this.held.push(fields ? { t, wall, area, message, fields } : { t, wall, area, message });
    }
  }

  /**
   * Send the held records and the rest of the upcall to `fd`. With `onlyFailures` everything is
   * held until finish() knows the exit status: a successful upcall writes nothing.
   */
  attach(fd: number, format: TraceFormat, label: TraceLabel, onlyFailures = false): void {
    this.sink = new FileDescriptorTrace(fd, format, this.start, label);
    this.onlyFailures = onlyFailures;
    if (!onlyFailures) this.flush();
  }

  /** The upcall is over: with trace_level = failures, write its records only if it failed. */
  finish(exitStatus: number): void {
    if (this.sink && this.onlyFailures && exitStatus !== 0) this.flush();
    this.held = null;
  }

  discard(): void {
    this.held = null;
  }

  private flush(): void {
    for (const r of this.held ?? []) this.sink?.write(r.t, r.area, r.message, r.fields, r.wall);
    this.held = null;
  }
}

export function formatJson(t: number, area: TraceArea, message: string, fields?: TraceFields, label?: TraceLabel, time?: string): string {
  const record: Record<string, unknown> = {};
  if (time !== undefined) record['time'] = time;
  if (label !== undefined) Object.assign(record, label);
  Object.assign(record, { t: Math.round(t * 1000) / 1000, area, message });
  if (fields) record['fields'] = fields;
  return JSON.stringify(record);
}

/** `  12.345 ms  ns        message` — fields are in the message already; only the JSON form carries them separately. */
export function formatText(t: number, area: TraceArea, message: string, _fields?: TraceFields): string {
  return `${t.toFixed(3).padStart(10)} ms  ${area.padEnd(8)}  ${message.replace(/\n/g, '\n' + ' '.repeat(24))}`;
}
