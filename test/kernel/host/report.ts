// The end-of-run summary: kernel × scenario × handler with pass/fail and the first-access time,
// and the verdict: a run passes only when every expected cell ran and passed.
import type { HandlerName, ScenarioResult } from '../shared/types.ts';

export interface KernelOutcome {
  label: string;
  release: string;
  /** null when the VM produced no report (timeout, crash) */
  results: ScenarioResult[] | null;
  problem: string | null;
}

function cell(r: ScenarioResult | undefined, handlerRan: boolean): string {
  if (!handlerRan) return 'MISSING (handler did not run)';
  if (!r) return 'MISSING';
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
    // every scenario asked for gets a row: one that produced no result shows as missing
    for (const id of scenarioIds) {
      rows.push([
        o.release,
        id,
        ...handlers.map((h) =>
          cell(
            o.results?.find((r) => r.id === id && r.handler === h),
            ran.has(h),
          ),
        ),
      ]);
    }
    if (o.problem) rows.push([o.release, `problem: ${o.problem}`, ...handlers.map(() => '')]);
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const fmt = (r: string[]) =>
    r
      .map((c, i) => (c ?? '').padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  return [fmt(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(fmt)].join('\n');
}

/** "what was timed" per scenario, from the first result that has it. */
export function legend(outcomes: KernelOutcome[]): string {
  const seen = new Map<string, string>();
  for (const o of outcomes)
    for (const r of o.results ?? []) if (!seen.has(r.id)) seen.set(r.id, `${r.id}: ${r.firstAccessWhat} — ${r.title}`);
  return [...seen.values()].join('\n');
}

/** The matrix a run must fill: every kernel × scenario × handler asked for. */
export interface ExpectedMatrix {
  kernels: string[];
  handlers: HandlerName[];
  scenarioIds: string[];
}

/**
 * Everything that keeps the run from being a pass: a kernel without a report or with a problem,
 * a cell of the expected matrix with no result (a scenario skipped or lost, a handler that did
 * not run), a failed cell. Empty: every expected cell ran and passed.
 */
export function verdictProblems(outcomes: KernelOutcome[], expected: ExpectedMatrix): string[] {
  const problems: string[] = [];
  for (const label of expected.kernels) {
    const o = outcomes.find((x) => x.label === label);
    if (!o) {
      problems.push(`${label}: not run`);
      continue;
    }
    if (o.problem) problems.push(`${o.release}: ${o.problem}`);
    if (o.results === null) {
      problems.push(`${o.release}: no report`);
      continue;
    }
    for (const id of expected.scenarioIds) {
      for (const h of expected.handlers) {
        const r = o.results.find((x) => x.id === id && x.handler === h);
        if (!r) problems.push(`${o.release} × ${id} × ${h}: missing (no result)`);
        else if (!r.ok) problems.push(`${o.release} × ${id} × ${h}: FAIL`);
      }
    }
  }
  return problems;
}
