// The upcall trace: every decision the pipeline and the credential sources take, in order, with
// the time since start. Like KRB5_TRACE for libkrb5, but for the whole upcall. Producers only
// call `event`; the sink (text or JSON lines, stderr or a file) is chosen by the CLI.

/** Where in the upcall an event comes from. */
export type TraceArea =
  | 'cli'
  | 'key'
  | 'parse'
  | 'config'
  | 'ns'
  | 'identity'
  | 'env'
  | 'strategy'
  | 'ccache'
  | 'krb5conf'
  | 'dns'
  | 'kdc'
  | 'tgs'
  | 'as'
  | 'keytab'
  | 'ap-req'
  | 'gssproxy'
  | 'spnego'
  | 'payload'
  | 'result';

export type TraceFields = Record<string, string | number | boolean | null | undefined | string[] | number[]>;

export interface Trace {
  /** Record one observation or decision, in plain words ("why"), with optional structured fields. */
  event(area: TraceArea, message: string, fields?: TraceFields): void;
}

/** A trace that records nothing (the default when --trace is not given). */
export const silentTrace: Trace = {
  event() {
    /* nothing */
  },
};

export interface TraceRecord {
  /** milliseconds since the trace started */
  t: number;
  area: TraceArea;
  message: string;
  fields?: TraceFields;
}

/** Collects records in memory; used by tests and by the sinks below. */
export class MemoryTrace implements Trace {
  readonly records: TraceRecord[] = [];
  private readonly start = process.hrtime.bigint();

  event(area: TraceArea, message: string, fields?: TraceFields): void {
    const t = Number(process.hrtime.bigint() - this.start) / 1e6;
    this.records.push(fields ? { t, area, message, fields } : { t, area, message });
  }

  /** All messages of one area, in order (test convenience). */
  messages(area?: TraceArea): string[] {
    return this.records.filter((r) => area === undefined || r.area === area).map((r) => r.message);
  }
}
