// The kernel test's verdict (test/kernel/host/report.ts): a run passes only when every expected
// kernel × scenario × handler cell ran and passed — a handler that did not run, a scenario with
// no result, a kernel without a report or a failed cell each fail it, and the summary table
// shows every expected scenario (a missing one as MISSING, not as no row).
import { describe, expect, it } from 'vitest';
import { summaryTable, verdictProblems, type KernelOutcome } from '../../kernel/host/report.ts';
import type { HandlerName, ScenarioResult } from '../../kernel/shared/types.ts';

function result(id: string, handler: HandlerName, ok = true): ScenarioResult {
  return {
    kernelLabel: '6.12',
    kernelRelease: '6.12.0-test-amd64',
    handler,
    id,
    title: id,
    ok,
    firstAccessWhat: 'ls',
    firstAccessMs: 100,
    firstAccessUid: 0,
    firstAccessHandlerMs: 50,
    checks: [],
    upcalls: [],
  };
}

const full = { kernels: ['6.12'], handlers: ['stock', 'ours'] as HandlerName[], scenarioIds: ['1-a', '2-b'] };
const outcome = (results: ScenarioResult[] | null, problem: string | null = null): KernelOutcome => ({
  label: '6.12',
  release: '6.12.0-test-amd64',
  results,
  problem,
});

describe('kernel test verdict', () => {
  it('every cell ran and passed: no problem', () => {
    const o = outcome(['1-a', '2-b'].flatMap((id) => [result(id, 'stock'), result(id, 'ours')]));
    expect(verdictProblems([o], full)).toEqual([]);
  });

  it('a handler that did not run (stock only, as --handlers=auto without a build): every ours cell is missing', () => {
    const o = outcome(['1-a', '2-b'].map((id) => result(id, 'stock')));
    expect(verdictProblems([o], full)).toEqual([
      '6.12.0-test-amd64 × 1-a × ours: missing (no result)',
      '6.12.0-test-amd64 × 2-b × ours: missing (no result)',
    ]);
    expect(summaryTable([o], ['stock', 'ours'], ['1-a', '2-b'])).toMatch(/1-a .*PASS.*MISSING \(handler did not run\)/);
  });

  it('a skipped scenario, a failed cell, a kernel without a report, a kernel not run', () => {
    const o = outcome([result('1-a', 'stock'), result('1-a', 'ours', false)]);
    expect(verdictProblems([o], full)).toEqual([
      '6.12.0-test-amd64 × 1-a × ours: FAIL',
      '6.12.0-test-amd64 × 2-b × stock: missing (no result)',
      '6.12.0-test-amd64 × 2-b × ours: missing (no result)',
    ]);
    expect(summaryTable([o], ['stock', 'ours'], ['1-a', '2-b'])).toMatch(/2-b +MISSING +MISSING/);
    expect(verdictProblems([outcome(null, 'hard timeout after 600 s')], full)).toEqual([
      '6.12.0-test-amd64: hard timeout after 600 s',
      '6.12.0-test-amd64: no report',
    ]);
    expect(verdictProblems([], full)).toEqual(['6.12: not run']);
  });
});
