#!/usr/bin/env node
// The long fuzz campaign (`npm run fuzz`): bundles test/fuzz/campaign.ts with esbuild, runs every
// parser target in its own plain-node child (two at a time), watches each for hangs, and writes
// the figures — inputs run, crashes, hangs, time per parser — to docs/fuzz-report.md.
//
//   npm run fuzz -- [--count 1000000] [--seed 20260501] [--targets a,b] [--jobs 2]
//                   [--report docs/fuzz-report.md | --no-report]
//
// The campaign is bundled like the production build bundles the upcall: with scripts/build.mjs's
// fastByteViews patch of asn1js's byte helpers, so the DER targets run the code that ships.
// A crash is any exception other than the parser's typed error (or a typed error wrapping a
// TypeError/RangeError/…); a hang is an input whose every one of three timings exceeds --slow-ms
// (default 1000 ms; one timing over it is re-timed, so a pause of a loaded machine is not a
// hang), or a child that reports no progress for --stall-s (default 120 s) — that chunk is then
// replayed input by input to name the input. Findings are listed in the report and in
// .work/fuzz/findings.json; each must become a regression input in test/fuzz/regressions.ts.
//
// Each row of the report carries its run's date, seed and a hash of the code (comments and types
// stripped) the target fuzzes (test/fuzz/provenance.ts). A run of some targets (--targets) replaces their
// rows and keeps the others, read back from the report itself; test/unit/fuzz/report.test.ts
// fails when a target has no row, or when its sources no longer hash to the row's value.
import { build } from 'esbuild';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { fastByteViews } from './build.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1] : fallback;
};
const count = Number(opt('count', '1000000'));
const seed = Number(opt('seed', '20260501'));
const jobs = Number(opt('jobs', String(Math.max(1, Math.min(2, cpus().length)))));
const slowMs = Number(opt('slow-ms', '1000'));
const stallS = Number(opt('stall-s', '120'));
const chunk = Number(opt('chunk', '1000'));
const only = opt('targets', '').split(',').filter(Boolean);
const reportPath = argv.includes('--no-report') ? null : resolve(root, opt('report', 'docs/fuzz-report.md'));

const outdir = join(root, '.work', 'fuzz');
const workdir = join(outdir, 'files');
mkdirSync(workdir, { recursive: true });
const bundle = join(outdir, 'campaign.mjs');
await build({
  entryPoints: [join(root, 'test', 'fuzz', 'campaign.ts')],
  outfile: bundle,
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  logLevel: 'warning',
  // the native addon is never loaded by the targets (keyring/KCM use fakes)
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  // asn1js's byte helpers as the production bundle has them
  plugins: [fastByteViews()],
});
const provenanceBundle = join(outdir, 'provenance.mjs');
await build({
  entryPoints: [join(root, 'test', 'fuzz', 'provenance.ts')],
  outfile: provenanceBundle,
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  logLevel: 'warning',
  external: ['esbuild'],
});
const provenance = await import(pathToFileURL(provenanceBundle).href);

function runChild(args, onLine, stallMs) {
  return new Promise((resolveChild) => {
    const child = spawn(process.execPath, [bundle, ...args, '--workdir', workdir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let stalled = false;
    let timer = null;
    const arm = () => {
      if (timer) clearTimeout(timer);
      if (stallMs)
        timer = setTimeout(() => {
          stalled = true;
          child.kill('SIGKILL');
        }, stallMs);
    };
    arm();
    createInterface({ input: child.stdout }).on('line', (line) => {
      arm();
      try {
        onLine(JSON.parse(line));
      } catch {
        /* not ours */
      }
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolveChild({ code, signal, stalled, stderr });
    });
  });
}

const listed = [];
const listing = await runChild(
  ['--list'],
  (o) => {
    if (o.name) listed.push(o);
    else if (o.type === 'fatal') console.error(o.error);
  },
  60_000,
);
if (listed.length === 0) {
  console.error(`no targets: ${listing.stderr}`);
  process.exit(2);
}
const targets = only.length ? listed.filter((t) => only.includes(t.name)) : listed;
if (only.length && targets.length !== only.length) {
  console.error(`unknown target(s): ${only.filter((n) => !listed.some((t) => t.name === n)).join(', ')}`);
  process.exit(2);
}

// what each target fuzzes, hashed before the run (a change during the run is caught by the check)
const sources = await provenance.targetSources(
  root,
  targets.map((t) => t.name),
);
const results = [];
const findings = [];

async function campaign(t) {
  const started = Date.now();
  const r = { name: t.name, subject: t.subject, done: 0, accepted: 0, rejected: 0, crashes: 0, hangs: 0, maxMs: 0, ms: 0, note: '' };
  let firstChunk = 0;
  let remaining = count;
  // a stalled child is replayed chunk by chunk; the campaign then resumes after the stalled chunk
  while (remaining > 0) {
    let lastProgress = r.done;
    let done = null;
    const res = await runChild(
      [
        '--target',
        t.name,
        '--seed',
        String(seed),
        '--count',
        String(remaining),
        '--chunk',
        String(chunk),
        '--first-chunk',
        String(firstChunk),
        '--slow-ms',
        String(slowMs),
      ],
      (o) => {
        if (o.type === 'progress') lastProgress = r.done + o.done;
        else if (o.type === 'crash') findings.push({ target: t.name, kind: 'crash', seed, ...o });
        else if (o.type === 'slow') findings.push({ target: t.name, kind: 'hang', seed, ...o });
        else if (o.type === 'done') done = o;
        else if (o.type === 'fatal') r.note = `worker failed: ${o.error}`;
      },
      stallS * 1000,
    );
    if (done) {
      r.done += done.done;
      r.accepted += done.accepted;
      r.rejected += done.rejected;
      r.crashes += done.crashes;
      r.hangs += done.slow;
      r.maxMs = Math.max(r.maxMs, done.maxMs);
      break;
    }
    if (!res.stalled) {
      r.note ||= `worker exited ${res.code ?? res.signal}: ${res.stderr.slice(0, 300)}`;
      r.crashes++;
      break;
    }
    // name the input that never returned
    const stalledChunk = firstChunk + Math.floor((lastProgress - r.done) / chunk);
    let last = null;
    await runChild(
      [
        '--target',
        t.name,
        '--seed',
        String(seed),
        '--count',
        String(chunk),
        '--chunk',
        String(chunk),
        '--first-chunk',
        String(stalledChunk),
        '--careful',
        '--slow-ms',
        String(slowMs),
      ],
      (o) => {
        if (o.type === 'start') last = o;
      },
      stallS * 1000,
    );
    r.hangs++;
    let input = null;
    if (last) {
      await runChild(
        ['--target', t.name, '--seed', String(seed), '--first-chunk', String(stalledChunk), '--show', String(last.index)],
        (o) => {
          if (o.type === 'input') input = o.input;
        },
        60_000,
      );
    }
    findings.push({
      target: t.name,
      kind: 'hang',
      seed,
      chunk: stalledChunk,
      index: last?.index ?? null,
      input,
      note: `no progress for ${stallS} s`,
    });
    const through = (stalledChunk - firstChunk + 1) * chunk;
    r.done += through;
    remaining -= through;
    firstChunk = stalledChunk + 1;
  }
  r.ms = Date.now() - started;
  results.push(r);
  const rate = r.done / Math.max(1, r.ms / 1000);
  console.log(
    `${t.name.padEnd(34)} ${String(r.done).padStart(9)} inputs  ${String(r.crashes).padStart(3)} crashes  ${String(r.hangs).padStart(3)} hangs  ${(r.ms / 1000).toFixed(1).padStart(7)} s  (${Math.round(rate)}/s, slowest ${r.maxMs.toFixed(1)} ms)${r.note ? `  ${r.note}` : ''}`,
  );
}

const queue = [...targets];
const wall = Date.now();
await Promise.all(
  Array.from({ length: Math.min(jobs, queue.length) }, async () => {
    for (let t = queue.shift(); t; t = queue.shift()) await campaign(t);
  }),
);
const wallMs = Date.now() - wall;
results.sort((a, b) => listed.findIndex((t) => t.name === a.name) - listed.findIndex((t) => t.name === b.name));
writeFileSync(join(outdir, 'findings.json'), `${JSON.stringify(findings, null, 2)}\n`);
const total = results.reduce((s, r) => ({ done: s.done + r.done, crashes: s.crashes + r.crashes, hangs: s.hangs + r.hangs }), {
  done: 0,
  crashes: 0,
  hangs: 0,
});
console.log(
  `\n${results.length} parsers, ${total.done} inputs, ${total.crashes} crashes, ${total.hangs} hangs in ${(wallMs / 1000).toFixed(0)} s`,
);

if (reportPath) {
  const today = new Date().toISOString().slice(0, 10);
  const fresh = results.map((r) => ({
    name: r.name,
    subject: r.subject,
    done: r.done,
    accepted: r.accepted,
    rejected: r.rejected,
    crashes: r.crashes,
    hangs: r.hangs,
    seconds: r.ms / 1000,
    slowestMs: r.maxMs,
    date: today,
    seed,
    hash: sources.get(r.name).hash,
  }));
  // the rows of earlier runs, for the targets this run did not run (and that still exist)
  const earlier = existsSync(reportPath) ? provenance.parseReportRows(readFileSync(reportPath, 'utf8')) : [];
  const kept = earlier.filter((r) => !fresh.some((f) => f.name === r.name) && listed.some((t) => t.name === r.name));
  const rows = [...fresh, ...kept].sort((a, b) => listed.findIndex((t) => t.name === a.name) - listed.findIndex((t) => t.name === b.name));
  const missing = listed.filter((t) => !rows.some((r) => r.name === t.name)).map((t) => t.name);
  const all = rows.reduce((s, r) => ({ done: s.done + r.done, crashes: s.crashes + r.crashes, hangs: s.hangs + r.hangs }), {
    done: 0,
    crashes: 0,
    hangs: 0,
  });
  const lines = [
    '# Fuzz report',
    '',
    "Written by `npm run fuzz` (scripts/fuzz.mjs). Each row is one target's run: its date and seed are in the row, and",
    '"sources" is a hash of the code the target fuzzes (test/fuzz/provenance.ts: the target\'s entry',
    'modules and everything under src/ they import, comments and types stripped). `npm run fuzz -- --targets a,b` reruns',
    'some targets and keeps the other rows. `test/unit/fuzz/report.test.ts` fails when a target has no row, or when its',
    'sources changed after its row.',
    '',
    `Last run: \`npm run fuzz -- --count ${count} --seed ${seed}${only.length ? ` --targets ${only.join(',')}` : ''}\` on ${today}, ` +
      `Node ${process.version}, fast-check ${JSON.parse(readFileSync(join(root, 'node_modules', 'fast-check', 'package.json'), 'utf8')).version}, ` +
      `${jobs} worker(s) on ${cpus().length} cores, ${results.length} target(s), wall time ${(wallMs / 60000).toFixed(1)} min.`,
    '',
    "Since 2026-12-06 the campaign bundle carries the production build's asn1js patch (scripts/build.mjs `fastByteViews`), so",
    'the DER targets run the byte helpers that ship; rows of earlier runs fuzzed the published helpers, which',
    '`test/unit/fuzz/asn1js-patch.test.ts` shows answer exactly as the patched ones do.',
    '',
    'Each parser gets inputs from test/fuzz/targets.ts: its seeds (captured or encoded valid inputs) with 1–4 (text: 1–6)',
    'structural mutations, random bytes or text, and dictionary soups. **Crash** = any exception other than the',
    "parser's typed error, or a typed error wrapping a TypeError/RangeError/…; **hang** = one input over",
    `${slowMs} ms in each of three timings, or no progress for ${stallS} s. "Rejected" counts inputs refused with the typed error; "slowest" is the`,
    'longest single timing. Replay one input with `node .work/fuzz/campaign.mjs --target NAME --seed S --first-chunk C --count N --careful`.',
    '',
    ...provenance.REPORT_HEADER,
    ...rows.map((r) => provenance.formatReportRow(r)),
    `| **total** | ${rows.length} parsers | **${all.done.toLocaleString('en-US')}** | | | **${all.crashes}** | **${all.hangs}** | | | | | |`,
    '',
    ...(missing.length ? [`**No row yet**: ${missing.join(', ')}.`, ''] : []),
    findings.length === 0 ? 'No findings in the last run.' : `## Findings of the last run (${findings.length})`,
    ...findings
      .slice(0, 40)
      .map(
        (f) =>
          `- ${f.target} (${f.kind}, chunk ${f.chunk}, index ${f.index}): ${f.error ?? f.note ?? ''} — input \`${String(f.input ?? '').slice(0, 200)}\``,
      ),
    '',
  ];
  writeFileSync(reportPath, lines.join('\n'));
  console.log(`report: ${reportPath}`);
}
process.exit(total.crashes + total.hangs > 0 ? 1 : 0);
