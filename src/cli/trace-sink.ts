// The --trace sinks. The file descriptor is opened by the CLI before the upcall starts (as root, in
// the host's mount namespace), so a trace file lands where the admin asked even after the upcall
// entered the caller's namespaces and dropped to the user; writes are synchronous (fs.writeSync),
// so nothing is lost when the process exits right after the last event.
import { writeSync } from 'node:fs';
import type { Trace, TraceArea, TraceFields } from '../trace.ts';
import type { TraceFormat } from './options.ts';

export class FileDescriptorTrace implements Trace {
  private readonly start = process.hrtime.bigint();

  constructor(private readonly fd: number, private readonly format: TraceFormat) {}

  event(area: TraceArea, message: string, fields?: TraceFields): void {
    const t = Number(process.hrtime.bigint() - this.start) / 1e6;
    const line = this.format === 'json' ? formatJson(t, area, message, fields) : formatText(t, area, message, fields);
    try {
      writeSync(this.fd, `${line}\n`);
    } catch {
      /* a closed stderr must not fail the upcall */
    }
  }
}

export function formatJson(t: number, area: TraceArea, message: string, fields?: TraceFields): string {
  const record: Record<string, unknown> = { t: Math.round(t * 1000) / 1000, area, message };
  if (fields) record['fields'] = fields;
  return JSON.stringify(record);
}

/** `  12.345 ms  ns        message` — fields are in the message already; only the JSON form carries them separately. */
export function formatText(t: number, area: TraceArea, message: string, _fields?: TraceFields): string {
  return `${t.toFixed(3).padStart(10)} ms  ${area.padEnd(8)}  ${message.replace(/\n/g, '\n' + ' '.repeat(24))}`;
}
