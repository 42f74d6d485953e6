// Statistics and the printed/markdown tables of the benchmark. Every figure is a median over the
// runs with [min–max]; ratios are of medians.
import type { RoundTrips } from './world.ts';

export interface Sample {
  wallMs: number;
  cpuMs: number;
  maxRssMiB: number;
  trips: RoundTrips | null;
  ok: boolean;
}

export interface Series {
  key: string;
  /** "a", "b", "c" or "node" */
  state: string;
  helper: string;
  samples: Sample[];
  /** what proves the payloads right (the acceptor's verdict on one of them) */
  verdict: string;
}

export function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((x, y) => x - y);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export interface Spread {
  median: number;
  min: number;
  max: number;
}

export function spread(values: number[]): Spread {
  return { median: median(values), min: Math.min(...values), max: Math.max(...values) };
}

export function fmt(s: Spread, digits = 1): string {
  return `${s.median.toFixed(digits)} [${s.min.toFixed(digits)}–${s.max.toFixed(digits)}]`;
}

export function seriesSpread(s: Series, pick: (x: Sample) => number): Spread {
  return spread(s.samples.map(pick));
}

/** Round trips per upcall: the same in every run or shown as a range. */
export function tripsText(s: Series): { kdc: string; gssproxy: string } {
  const withTrips = s.samples.filter((x) => x.trips !== null).map((x) => x.trips!);
  if (withTrips.length === 0) return { kdc: '–', gssproxy: '–' };
  const range = (values: number[]): string => {
    const lo = Math.min(...values);
    const hi = Math.max(...values);
    return lo === hi ? String(lo) : `${lo}–${hi}`;
  };
  const kdc = range(withTrips.map((t) => t.kdc));
  const as = range(withTrips.map((t) => t.asReq));
  const tgs = range(withTrips.map((t) => t.tgsReq));
  const conns = range(withTrips.map((t) => t.gssproxyConnections));
  const calls = range(withTrips.map((t) => t.gssproxyCalls));
  const procs = [...new Set(withTrips.map((t) => t.gssproxyProcedures.map((p) => p.replace(/^GSSX_/, '')).join('+')))].filter(Boolean);
  return {
    kdc: kdc === '0' ? '0' : `${kdc} (${as} AS, ${tgs} TGS)`,
    gssproxy:
      conns === '0' && calls === '0'
        ? '0'
        : `${conns} conn, ${calls} call${calls === '1' ? '' : 's'}${procs.length ? ` (${procs.join(' / ')})` : ''}`,
  };
}

export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(header), `| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`, ...rows.map(line)].join('\n');
}

export interface StormRun {
  wallMs: number;
  peakRssMiB: number;
  peakAnonMiB: number;
  sumMaxRssMiB: number;
  cpuMs: number;
  ok: number;
  trips: RoundTrips;
  samples: number;
}

export interface StormSeries {
  state: string;
  helper: string;
  n: number;
  runs: StormRun[];
}

export interface Target {
  name: string;
  value: string;
  limit: string;
  met: boolean | null;
}

export function targetRows(targets: Target[]): string[][] {
  return targets.map((t) => [t.name, t.value, t.limit, t.met === null ? 'n/a' : t.met ? 'met' : 'NOT met']);
}
