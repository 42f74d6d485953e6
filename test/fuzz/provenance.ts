// Which source files each fuzz target exercises, and a content hash of them, so a row of
// docs/fuzz-report.md can say exactly what it fuzzed and a check can tell when that changed.
//
// Each target names its entry module(s) below; the files it fuzzes are those modules and
// everything under src/ they import, transitively, as esbuild resolves the campaign bundle
// (test/fuzz/campaign.ts). The hash covers what those files run (types, comments and whitespace
// stripped by esbuild), each import of another src/ module standing for that module's own hash,
// cut to 16 hex digits: contents, not paths or modification times (a fresh clone has uniform
// mtimes; a moved module is the same code); any change to what a file of the closure runs changes
// it, a comment does not.
//
// Used by scripts/fuzz.mjs (writes the hash into each row it runs) and by
// test/unit/fuzz/report.test.ts (fails when a target has no row or its hash differs).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { build, transformSync, type Metafile } from 'esbuild';

/** Entry modules per target (name pattern → modules, relative to the repository root). */
const MODULES: Array<[RegExp, string[]]> = [
  [/^key-description\.c-reference$/, ['test/reference/key-description-like-c.ts']],
  [/^key-description\.|^key-describe-string$/, ['src/kernel/key-description.ts']],
  [/^cifs_spnego_msg\.decode$/, ['src/kernel/spnego-msg.ts']],
  [/^der\./, ['src/krb5/messages/index.ts']],
  [/^spnego\.|^gss\./, ['src/spnego/index.ts']],
  [/^xdr\./, ['src/gssproxy/protocol.ts', 'src/gssproxy/xdr.ts']],
  [/^rpc\./, ['src/gssproxy/rpc.ts']],
  [/^gssproxy\.reply-end-to-end$/, ['src/gssproxy/rpc.ts', 'src/gssproxy/protocol.ts', 'src/gssproxy/exported-context.ts']],
  [/^gssproxy\.exported-context$/, ['src/gssproxy/exported-context.ts']],
  [/^gssproxy\.lucid$/, ['src/gssproxy/lucid.ts']],
  [/^ccache\.(FILE|record)$/, ['src/krb5/ccache/marshal.ts']],
  [/^ccache\.KEYRING-payloads$/, ['src/krb5/ccache/keyring.ts']],
  [/^ccache\.KCM-/, ['src/krb5/ccache/kcm.ts']],
  [/^ccache\.name$/, ['src/krb5/ccache/name.ts', 'src/krb5/ccache/keyring.ts', 'src/krb5/ccache/model.ts']],
  [/^keytab$/, ['src/krb5/keytab/keytab.ts']],
  [/^krb5\.conf(\.kdc-spec)?$/, ['src/krb5/config/krb5-config.ts', 'src/krb5/config/profile.ts']],
  [/^cifs-upcall\.conf$/, ['src/pipeline/config.ts']],
  [/^dns\.message$/, ['src/net/dns/message.ts']],
  [/^resolv\.conf$/, ['src/net/dns/resolv-conf.ts']],
  [/^hosts$/, ['src/net/dns/hosts-file.ts', 'src/net/dns/ip.ts']],
  [/^proc\./, ['src/os/proc.ts']],
];

/** The entry modules of a target; throws for a target this table does not know (add it above). */
export function entryModules(target: string): string[] {
  const hit = MODULES.find(([re]) => re.test(target));
  if (!hit) throw new Error(`test/fuzz/provenance.ts: no entry modules for fuzz target ${target}`);
  return hit[1];
}

export interface TargetSources {
  /** every src/ file the target's entry modules reach, sorted */
  files: string[];
  /** 16 hex digits of SHA-256 over the entry modules' hashes (see moduleHashes) */
  hash: string;
}

/** The import graph of the campaign bundle, restricted to src/. */
async function importGraph(root: string): Promise<Metafile> {
  const r = await build({
    absWorkingDir: root,
    entryPoints: [join(root, 'test', 'fuzz', 'campaign.ts')],
    bundle: true,
    write: false,
    metafile: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'silent',
    outfile: join(root, '.work', 'fuzz', 'provenance-probe.mjs'),
  });
  return r.metafile;
}

function closure(graph: Metafile, entries: string[]): string[] {
  const seen = new Set<string>();
  const stack = [...entries];
  while (stack.length > 0) {
    const path = stack.pop()!;
    if (seen.has(path)) continue;
    const node = graph.inputs[path];
    if (!node) throw new Error(`fuzz provenance: ${path} is not part of the campaign bundle (renamed? update test/fuzz/provenance.ts)`);
    seen.add(path);
    for (const i of node.imports) if (i.path.startsWith('src/') && !i.external) stack.push(i.path);
  }
  return [...seen].sort();
}

/**
 * What a file runs: its code as esbuild emits it with types, comments and whitespace stripped, so
 * a comment or a type annotation changes nothing here (the fuzzer ran exactly this code) while
 * any change to an expression or a name does.
 */
function runnableCode(root: string, file: string): string {
  return transformSync(readFileSync(join(root, file), 'utf8'), {
    loader: 'ts',
    minifyWhitespace: true,
    legalComments: 'none',
    format: 'esm',
  }).code;
}

/**
 * A module's hash: its runnable code with every import of another src/ module replaced by that
 * module's hash (Merkle style). What is hashed is what runs, wherever the files live: moving or
 * renaming a module changes nothing, changing the code of any module it reaches changes it.
 */
function moduleHashes(root: string, graph: Metafile): (path: string) => string {
  const memo = new Map<string, string>();
  const visiting = new Set<string>();
  const hashOf = (path: string): string => {
    const known = memo.get(path);
    if (known) return known;
    if (visiting.has(path)) throw new Error(`fuzz provenance: import cycle through ${path}`);
    visiting.add(path);
    const node = graph.inputs[path];
    if (!node) throw new Error(`fuzz provenance: ${path} is not part of the campaign bundle (renamed? update test/fuzz/provenance.ts)`);
    let code = runnableCode(root, path);
    for (const i of node.imports) {
      if (!i.path.startsWith('src/') || i.external || i.original === undefined) continue;
      code = code.split(JSON.stringify(i.original)).join(JSON.stringify(`#${hashOf(i.path)}`));
    }
    visiting.delete(path);
    const h = createHash('sha256').update(code).digest('hex');
    memo.set(path, h);
    return h;
  };
  return hashOf;
}

/** The sources and their hash for each named target, from the tree at `root`. */
export async function targetSources(root: string, targets: string[]): Promise<Map<string, TargetSources>> {
  const graph = await importGraph(root);
  const hashOf = moduleHashes(root, graph);
  const out = new Map<string, TargetSources>();
  for (const t of targets) {
    const entries = entryModules(t);
    const files = closure(graph, entries);
    const hash = createHash('sha256').update(entries.map(hashOf).join('\n')).digest('hex').slice(0, 16);
    out.set(t, { files, hash });
  }
  return out;
}

/** One row of the report's table, as scripts/fuzz.mjs writes it. */
export interface ReportRow {
  name: string;
  subject: string;
  done: number;
  accepted: number;
  rejected: number;
  crashes: number;
  hangs: number;
  seconds: number;
  slowestMs: number;
  /** YYYY-MM-DD of the run */
  date: string;
  seed: number;
  /** TargetSources.hash at the time of the run */
  hash: string;
}

const num = (s: string): number => Number(s.replace(/[,*]/g, ''));

/** The per-target rows of docs/fuzz-report.md (rows without a sources hash are skipped). */
export function parseReportRows(text: string): ReportRow[] {
  const rows: ReportRow[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('| ') || line.startsWith('| parser') || line.startsWith('| **total')) continue;
    // the subject may contain escaped pipes
    const cells = line
      .slice(2, -2)
      .split(/(?<!\\) \| /)
      .map((c) => c.trim());
    if (cells.length !== 12) continue;
    const [name, subject, done, accepted, rejected, crashes, hangs, seconds, slowest, date, seed, hash] = cells as [
      string,
      string,
      string,
      string,
      string,
      string,
      string,
      string,
      string,
      string,
      string,
      string,
    ];
    const h = /^`([0-9a-f]{16})`$/.exec(hash);
    if (!h) continue;
    rows.push({
      name,
      subject: subject.replace(/\\\|/g, '|'),
      done: num(done),
      accepted: num(accepted),
      rejected: num(rejected),
      crashes: num(crashes),
      hangs: num(hangs),
      seconds: num(seconds),
      slowestMs: num(slowest),
      date,
      seed: num(seed),
      hash: h[1]!,
    });
  }
  return rows;
}

export const REPORT_HEADER = [
  '| parser | function(s) | inputs run | accepted | rejected | crashes | hangs | time (s) | slowest (ms) | run | seed | sources |',
  '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | --- |',
];

export function formatReportRow(r: ReportRow): string {
  const n = (x: number): string => x.toLocaleString('en-US');
  return (
    `| ${r.name} | ${r.subject.replace(/\|/g, '\\|')} | ${n(r.done)} | ${n(r.accepted)} | ${n(r.rejected)} | ${r.crashes} | ${r.hangs} | ` +
    `${r.seconds.toFixed(1)} | ${r.slowestMs.toFixed(1)} | ${r.date} | ${r.seed} | \`${r.hash}\` |`
  );
}

/**
 * What is wrong with the report's rows for these targets: a target without a row, a row whose
 * sources hash differs from `sources` (the files changed after the run), a row of a target that
 * no longer exists, a row short of `minInputs`, a row with a crash or a hang. Empty: all good.
 */
export function reportProblems(rows: ReportRow[], targets: string[], sources: Map<string, TargetSources>, minInputs: number): string[] {
  const problems: string[] = [];
  for (const t of targets) {
    const row = rows.find((r) => r.name === t);
    const src = sources.get(t);
    if (!row) {
      problems.push(`${t}: no row in docs/fuzz-report.md (run: npm run fuzz -- --targets ${t})`);
      continue;
    }
    if (!src || row.hash !== src.hash) {
      problems.push(
        `${t}: its sources changed after its row of ${row.date} (row ${row.hash}, now ${src?.hash ?? '?'}: ` +
          `${src?.files.join(' ') ?? '?'}) (run: npm run fuzz -- --targets ${t})`,
      );
    }
    if (row.done < minInputs) problems.push(`${t}: ${row.done} inputs, fewer than ${minInputs}`);
    if (row.crashes !== 0 || row.hangs !== 0) problems.push(`${t}: ${row.crashes} crash(es), ${row.hangs} hang(s)`);
  }
  for (const r of rows) if (!targets.includes(r.name)) problems.push(`${r.name}: a row for a target test/fuzz/targets.ts no longer has`);
  return problems;
}
