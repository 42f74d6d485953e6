#!/usr/bin/env node
// The long fuzz campaign (`npm run fuzz`): bundles test/fuzz/campaign.ts with esbuild, runs every
// parser target in its own plain-node child (two at a time), watches each for hangs, and writes
// the figures — inputs run, crashes, hangs, time per parser — to docs/fuzz-report.md.
//
//   npm run fuzz -- [--count 1000000] [--seed 20260501] [--targets a,b] [--jobs 2]
//                   [--report docs/fuzz-report.md | --no-report]
//
// A crash is any exception other than the parser's typed error (or a typed error wrapping a
// TypeError/RangeError/…); a hang is an input that takes longer than --slow-ms (default 1000 ms),
// or a child that reports no progress for --stall-s (default 120 s) — that chunk is then replayed
// input by input to name the input. Findings are listed in the report and in
// .work/fuzz/findings.json; each must become a regression input in test/fuzz/regressions.ts.
import { build } from 'esbuild';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

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
});

function runChild(args, onLine, stallMs) {
  return new Promise((resolveChild) => {
    const child = spawn(process.execPath, [bundle, ...args, '--workdir', workdir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let stalled = false;
    let timer = null;
    const arm = () => {
      if (timer) clearTimeout(timer);
      if (stallMs) timer = setTimeout(() => { stalled = true; child.kill('SIGKILL'); }, stallMs);
    };
    arm();
    createInterface({ input: child.stdout }).on('line', (line) => {
      arm();
      try { onLine(JSON.parse(line)); } catch { /* not ours */ }
    });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolveChild({ code, signal, stalled, stderr });
    });
  });
}

const listed = [];
const listing = await runChild(['--list'], (o) => { if (o.name) listed.push(o); else if (o.type === 'fatal') console.error(o.error); }, 60_000);
if (listed.length === 0) { console.error(`no targets: ${listing.stderr}`); process.exit(2); }
const targets = only.length ? listed.filter((t) => only.includes(t.name)) : listed;
if (only.length && targets.length !== only.length) {
  console.error(`unknown target(s): ${only.filter((n) => !listed.some((t) => t.name === n)).join(', ')}`);
  process.exit(2);
}

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
    const res = await runChild(['--target', t.name, '--seed', String(seed), '--count', String(remaining),
      '--chunk', String(chunk), '--first-chunk', String(firstChunk), '--slow-ms', String(slowMs)], (o) => {
      if (o.type === 'progress') lastProgress = r.done + o.done;
      else if (o.type === 'crash') findings.push({ target: t.name, kind: 'crash', seed, ...o });
      else if (o.type === 'slow') findings.push({ target: t.name, kind: 'hang', seed, ...o });
      else if (o.type === 'done') done = o;
      else if (o.type === 'fatal') r.note = `worker failed: ${o.error}`;
    }, stallS * 1000);
    if (done) {
      r.done += done.done; r.accepted += done.accepted; r.rejected += done.rejected;
      r.crashes += done.crashes; r.hangs += done.slow; r.maxMs = Math.max(r.maxMs, done.maxMs);
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
    await runChild(['--target', t.name, '--seed', String(seed), '--count', String(chunk), '--chunk', String(chunk),
      '--first-chunk', String(stalledChunk), '--careful', '--slow-ms', String(slowMs)], (o) => {
      if (o.type === 'start') last = o;
    }, stallS * 1000);
    r.hangs++;
    let input = null;
    if (last) {
      await runChild(['--target', t.name, '--seed', String(seed), '--first-chunk', String(stalledChunk), '--show', String(last.index)],
        (o) => { if (o.type === 'input') input = o.input; }, 60_000);
    }
    findings.push({ target: t.name, kind: 'hang', seed, chunk: stalledChunk, index: last?.index ?? null, input, note: `no progress for ${stallS} s` });
    const through = (stalledChunk - firstChunk + 1) * chunk;
    r.done += through;
    remaining -= through;
    firstChunk = stalledChunk + 1;
  }
  r.ms = Date.now() - started;
  results.push(r);
  const rate = r.done / Math.max(1, r.ms / 1000);
  console.log(`${t.name.padEnd(34)} ${String(r.done).padStart(9)} inputs  ${String(r.crashes).padStart(3)} crashes  ${String(r.hangs).padStart(3)} hangs  ${(r.ms / 1000).toFixed(1).padStart(7)} s  (${Math.round(rate)}/s, slowest ${r.maxMs.toFixed(1)} ms)${r.note ? `  ${r.note}` : ''}`);
}

const queue = [...targets];
const wall = Date.now();
await Promise.all(Array.from({ length: Math.min(jobs, queue.length) }, async () => {
  for (let t = queue.shift(); t; t = queue.shift()) await campaign(t);
}));
let wallMs = Date.now() - wall;
// a run of some targets (--targets) is merged with the earlier runs of the same seed and count
const saved = join(outdir, `results-${seed}-${count}.json`);
if (only.length && existsSync(saved)) {
  const earlier = JSON.parse(readFileSync(saved, 'utf8'));
  for (const r of earlier.results) if (!results.some((x) => x.name === r.name)) results.push(r);
  wallMs += earlier.wallMs;
  for (const f of earlier.findings) if (!only.includes(f.target)) findings.push(f);
}
writeFileSync(saved, `${JSON.stringify({ results, findings, wallMs }, null, 2)}\n`);
results.sort((a, b) => listed.findIndex((t) => t.name === a.name) - listed.findIndex((t) => t.name === b.name));

writeFileSync(join(outdir, 'findings.json'), `${JSON.stringify(findings, null, 2)}\n`);
const total = results.reduce((s, r) => ({ done: s.done + r.done, crashes: s.crashes + r.crashes, hangs: s.hangs + r.hangs }), { done: 0, crashes: 0, hangs: 0 });
console.log(`\n${results.length} parsers, ${total.done} inputs, ${total.crashes} crashes, ${total.hangs} hangs in ${(wallMs / 1000).toFixed(0)} s`);

if (reportPath) {
  const node = process.version;
  const pkg = JSON.parse(readFileSync(join(root, 'node_modules', 'fast-check', 'package.json'), 'utf8'));
  const lines = [
    '# Fuzz report',
    '',
    `Generated by \`npm run fuzz -- --count ${count} --seed ${seed}\` (scripts/fuzz.mjs) on ${new Date().toISOString().slice(0, 10)}, ` +
    `Node ${node}, fast-check ${pkg.version}, ${jobs} worker(s) on ${cpus().length} cores; wall time ${(wallMs / 60000).toFixed(1)} min` +
    `${only.length ? ' (runs of target subsets merged)' : ''}.`,
    '',
    'Each parser gets inputs from test/fuzz/targets.ts: its seeds (captured or encoded valid inputs) with 1–4 (text: 1–6)',
    'structural mutations, random bytes or text, and dictionary soups. **Crash** = any exception other than the',
    "parser's typed error, or a typed error wrapping a TypeError/RangeError/…; **hang** = one input over",
    `${slowMs} ms, or no progress for ${stallS} s. "Rejected" counts inputs refused with the typed error; "slowest" is the`,
    'longest single input. Replay one input with `node .work/fuzz/campaign.mjs --target NAME --seed S --first-chunk C --count N --careful`.',
    '',
    '| parser | function(s) | inputs run | accepted | rejected | crashes | hangs | time (s) | slowest (ms) |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...results.map((r) => `| ${r.name} | ${r.subject.replace(/\|/g, '\\|')} | ${r.done.toLocaleString('en-US')} | ${r.accepted.toLocaleString('en-US')} | ${r.rejected.toLocaleString('en-US')} | ${r.crashes} | ${r.hangs} | ${(r.ms / 1000).toFixed(1)} | ${r.maxMs.toFixed(1)} |`),
    `| **total** | ${results.length} parsers | **${total.done.toLocaleString('en-US')}** | | | **${total.crashes}** | **${total.hangs}** | ${(wallMs / 1000).toFixed(0)} (wall) | |`,
    '',
    findings.length === 0 ? 'No findings.' : `## Findings (${findings.length})`,
    ...findings.slice(0, 40).map((f) => `- ${f.target} (${f.kind}, chunk ${f.chunk}, index ${f.index}): ${f.error ?? f.note ?? ''} — input \`${String(f.input ?? '').slice(0, 200)}\``),
    '',
  ];
  writeFileSync(reportPath, lines.join('\n'));
  console.log(`report: ${reportPath}`);
}
process.exit(total.crashes + total.hangs > 0 ? 1 : 0);
