// The end-of-run summary: kernel × scenario × handler with pass/fail and the first-access time.
import type { HandlerName, ScenarioResult } from '../shared/types.ts';

export interface KernelOutcome {
  label: string;
  release: string;
  /** null when the VM produced no report (timeout, crash) */
  results: ScenarioResult[] | null;
  problem: string | null;
}

function cell(r: ScenarioResult | undefined, handlerRan: boolean): string {
  if (!handlerRan) return 'skipped';
  if (!r) return 'missing';
  const time = r.firstAccessMs === null ? '' : ` ${r.firstAccessMs.toFixed(0).padStart(5)} ms`;
  const handler = r.firstAccessHandlerMs;
  return `${r.ok ? 'PASS' : 'FAIL'}${time}${handler === null || r.firstAccessMs === null ? '' : ` / ${String(handler).padStart(4)} ms`}`;
}

export function summaryTable(outcomes: KernelOutcome[], handlers: HandlerName[], scenarioIds: string[]): string {
  const header = ['kernel', 'scenario', ...handlers.map((h) => `${h}: first access / handler`)];
  const rows: string[][] = [];
  for (const o of outcomes) {
    if (o.results === null) {
      rows.push([o.release, `NO REPORT: ${o.problem ?? 'unknown'}`, ...handlers.map(() => 'FAIL')]);
      continue;
    }
    const ran = new Set(o.results.map((r) => r.handler));
    for (const id of scenarioIds) {
      if (!o.results.some((r) => r.id === id)) continue;
      rows.push([o.release, id, ...handlers.map((h) => cell(o.results?.find((r) => r.id === id && r.handler === h), ran.has(h)))]);
    }
    if (o.problem) rows.push([o.release, `problem: ${o.problem}`, ...handlers.map(() => '')]);
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const fmt = (r: string[]) => r.map((c, i) => (c ?? '').padEnd(widths[i])).join('  ').trimEnd();
  return [fmt(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(fmt)].join('\n');
}

/** "what was timed" per scenario, from the first result that has it. */
export function legend(outcomes: KernelOutcome[]): string {
  const seen = new Map<string, string>();
  for (const o of outcomes) for (const r of o.results ?? []) if (!seen.has(r.id)) seen.set(r.id, `${r.id}: ${r.firstAccessWhat} — ${r.title}`);
  return [...seen.values()].join('\n');
}
