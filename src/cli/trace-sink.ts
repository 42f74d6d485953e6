// The --trace sinks. The file descriptor is opened by the CLI before the upcall starts (as root, in
// the host's mount namespace), so a trace file lands where the admin asked even after the upcall
// entered the caller's namespaces and dropped to the user; writes are synchronous (fs.writeSync),
// so nothing is lost when the process exits right after the last event.
import { writeSync } from 'node:fs';
import type { Trace, TraceArea, TraceFields } from '../trace.ts';
import type { TraceFormat } from './options.ts';

export class FileDescriptorTrace implements Trace {
  /**
   * `label` (e.g. the key serial) prefixes every text line and is a field of every JSON record:
   * concurrent upcalls appending to one trace_file stay apart (each line is one O_APPEND write).
   */
  constructor(
    private readonly fd: number,
    private readonly format: TraceFormat,
    private readonly start = process.hrtime.bigint(),
    private readonly label?: string,
  ) {}

  event(area: TraceArea, message: string, fields?: TraceFields): void {
    this.write(Number(process.hrtime.bigint() - this.start) / 1e6, area, message, fields);
  }

  write(t: number, area: TraceArea, message: string, fields?: TraceFields): void {
    let line = this.format === 'json' ? formatJson(t, area, message, fields, this.label) : formatText(t, area, message, fields);
    if (this.label !== undefined && this.format === 'text') line = `[${this.label}] ${line}`;
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
  private held: Array<{ t: number; area: TraceArea; message: string; fields?: TraceFields }> | null = [];
  private sink: FileDescriptorTrace | null = null;

  event(area: TraceArea, message: string, fields?: TraceFields): void {
    if (this.sink) {
      this.sink.event(area, message, fields);
    } else if (this.held) {
      const t = Number(process.hrtime.bigint() - this.start) / 1e6;
      this.held.push(fields ? { t, area, message, fields } : { t, area, message });
    }
  }

  attach(fd: number, format: TraceFormat, label: string): void {
    this.sink = new FileDescriptorTrace(fd, format, this.start, label);
    for (const r of this.held ?? []) this.sink.write(r.t, r.area, r.message, r.fields);
    this.held = null;
  }

  discard(): void {
    this.held = null;
  }
}

export function formatJson(t: number, area: TraceArea, message: string, fields?: TraceFields, label?: string): string {
  const record: Record<string, unknown> = { t: Math.round(t * 1000) / 1000, area, message };
  if (label !== undefined) record['key'] = label;
  if (fields) record['fields'] = fields;
  return JSON.stringify(record);
}

/** `  12.345 ms  ns        message` — fields are in the message already; only the JSON form carries them separately. */
export function formatText(t: number, area: TraceArea, message: string, _fields?: TraceFields): string {
  return `${t.toFixed(3).padStart(10)} ms  ${area.padEnd(8)}  ${message.replace(/\n/g, '\n' + ' '.repeat(24))}`;
}
