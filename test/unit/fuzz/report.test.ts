// The fuzz report covers what ships: every target of test/fuzz/targets.ts has a row in
// docs/fuzz-report.md, with a million inputs and no crash or hang, and the source files the
// target fuzzes (test/fuzz/provenance.ts: its entry modules and what they import under src/)
// still hash to the value recorded in its row. A parser changed after its campaign, or a target
// added without one, fails here until `npm run fuzz -- --targets NAME` reruns it. Hashes of
// contents, not modification times: a fresh clone has uniform mtimes.
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { fuzzTargets } from '../../fuzz/targets.ts';
import {
  entryModules,
  formatReportRow,
  parseReportRows,
  reportProblems,
  targetSources,
  type ReportRow,
  type TargetSources,
} from '../../fuzz/provenance.ts';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const names = fuzzTargets(join(tmpdir(), `cifs-upcall-fuzz-report-${process.pid}`)).map((t) => t.name);
const MIN_INPUTS = 1_000_000;
let rows: ReportRow[];
let sources: Map<string, TargetSources>;

beforeAll(async () => {
  rows = parseReportRows(readFileSync(join(root, 'docs', 'fuzz-report.md'), 'utf8'));
  sources = await targetSources(root, names);
}, 60_000);

describe('docs/fuzz-report.md against test/fuzz/targets.ts and src/', () => {
  it('every target names its entry modules, and they are in the campaign bundle', () => {
    for (const n of names) expect(entryModules(n).length, n).toBeGreaterThan(0);
    for (const n of names) expect(sources.get(n)?.files.length, n).toBeGreaterThan(0);
  });

  it('every target has a row of at least a million inputs, no crash, no hang, whose sources are unchanged', () => {
    expect(reportProblems(rows, names, sources, MIN_INPUTS)).toEqual([]);
  });

  it('the check fails on a missing row, a changed source, a short or failed run, and a stale target', () => {
    const some = names[0]!;
    const other = names[1]!;
    const doctored = rows
      .filter((r) => r.name !== some)
      .map((r) => (r.name === other ? { ...r, hash: '0000000000000000', hangs: 1, done: 10 } : r));
    doctored.push({ ...rows[0]!, name: 'no.such-target' });
    const problems = reportProblems(doctored, names, sources, MIN_INPUTS);
    expect(problems).toContainEqual(expect.stringMatching(new RegExp(`^${some.replace(/\./g, '\\.')}: no row`)));
    expect(problems).toContainEqual(expect.stringMatching(new RegExp(`^${other.replace(/\./g, '\\.')}: its sources changed`)));
    expect(problems).toContainEqual(expect.stringMatching(/fewer than 1000000/));
    expect(problems).toContainEqual(expect.stringMatching(/1 hang/));
    expect(problems).toContainEqual(expect.stringMatching(/^no\.such-target: a row for a target/));
  });

  it('rows read back as they are written', () => {
    for (const r of rows) expect(parseReportRows(formatReportRow(r))).toEqual([r]);
  });
});
