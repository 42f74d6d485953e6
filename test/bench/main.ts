// `npm run bench [-- options]`: cifs-upcall side by side with Debian's cifs.upcall and a
// bare `node -e 0`, in one run, in the environment request-key gives its helpers (only HOME and
// PATH). Not a timed test: it prints a table and writes it into docs/performance.md.
//
// What it does: builds the production bundle into .work/bench/dist and stages it with the real
// installer (shebang line included) into .work/bench/root; compiles the runstat helper (wait4
// rusage + resident-set sampler); starts a throwaway loopback realm (MIT KDC with S4U +
// gssproxy); then, round-robin so load changes hit every case alike, measures each case
// --runs times after one warm-up run: wall (fork → reaped), CPU (user+sys of the helper process),
// peak RSS (ru_maxrss), KDC requests (AS-REQ/TGS-REQ lines in the KDC log) and gssproxy
// connections/calls (its debug log) per upcall. One payload of every case is checked by MIT's
// acceptor (python3-gssapi). Then a socket audit under strace (every connect/sendto of each
// helper: KDC, gssproxy, syslog, DNS) and the storms: N upcalls for N different users started at
// once, total wall and the sampled peak of the summed resident sets.
//
// Options: --runs=N (15)  --storm=N (100, 0 = no storm)  --storm-reps=R (3)
//          --storm-states=c,b   --no-stock   --no-audit   --no-write   --out=FILE
//          --variants=eager,esm,eval,nocache,jitless,semi1,pool0,snapshot,polluted,polluted-esm (extra rows)
//          --variant-states=a,b,c   --node-options=OPT (stage with `#!node OPT` instead of the default)
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release } from 'node:os';
import { dirname, join } from 'node:path';
import { Acceptor } from '../harness/common/acceptor.ts';
import { ensureStormUsers, startRealm, type RealmEnv } from '../harness/realm/realm.ts';
import { splitPayload } from '../harness/common/stock-upcall.ts';
import { install, launcherLine } from '../../src/install/installer.ts';
import { oursRun, stockRun, type OursSetup, type PreparedRun } from './helpers.ts';
import {
  fmt,
  median,
  seriesSpread,
  spread,
  table,
  targetRows,
  tripsText,
  type Sample,
  type Series,
  type StormRun,
  type StormSeries,
  type Target,
} from './report.ts';
import { buildRunstat, measureOne, measureStorm, type Job } from './runstat.ts';
import { auditTraffic, type TrafficAudit } from './traffic.ts';
import { HELPER_ENV, LogWatch, STATE_LABEL, World, type Subject, type UserState } from './world.ts';

export interface BenchPaths {
  repoRoot: string;
}

interface Options {
  runs: number;
  storm: number;
  stormReps: number;
  stormStates: UserState[];
  stock: boolean;
  audit: boolean;
  write: boolean;
  out: string;
  variants: string[];
  variantStates: UserState[];
  /** undefined: the installer's default first line */
  nodeOptions: string | undefined;
}

/**
 * Extra rows for evaluating start-up choices (same source, same cases). `entry`: how node is
 * started — the installed file itself (its first line decides), `node <entry.mjs>` (ESM entry),
 * or `node --eval=require(<loader>)` without the env(1) scrub. `v8Flags` need their own build:
 * V8 accepts a code cache only under the flags it was made with.
 */
interface Variant {
  label: string;
  entry: 'installed' | 'esm' | 'eval' | 'snapshot';
  nodeOptions?: string[];
  v8Flags?: string[];
  /** scripts/build.mjs --code-cache=… (a build of its own) */
  codeCache?: 'eager' | 'none';
  env?: Record<string, string>;
  about: string;
}

const ADMIN_ENV = {
  NODE_OPTIONS: '--trace-warnings --max-old-space-size=4096',
  NODE_EXTRA_CA_CERTS: '/etc/ssl/certs/ca-certificates.crt',
  UV_THREADPOOL_SIZE: '64',
};

const VARIANTS: Record<string, Variant> = {
  esm: { label: 'node entry.mjs', entry: 'esm', about: 'the ESM entry (what `node dist/cifs-upcall.mjs` and --node-options installs run)' },
  eval: { label: 'node --eval (no env -S)', entry: 'eval', about: 'the default line without the env(1) scrub' },
  eager: {
    label: 'eager code cache',
    entry: 'eval',
    codeCache: 'eager',
    about: 'every function compiled into the cache (the previous default) instead of the trained cache',
  },
  nocache: {
    label: 'no code cache',
    entry: 'installed',
    env: { CIFS_UPCALL_NO_CODE_CACHE: '1' },
    about: 'the installed launcher, its code cache ignored',
  },
  jitless: { label: '--jitless', entry: 'eval', v8Flags: ['--jitless'], about: 'interpreter only (code cache made with the flag)' },
  semi1: {
    label: '--max-semi-space-size=1',
    entry: 'eval',
    v8Flags: ['--max-semi-space-size=1'],
    about: 'young generation capped at 1 MiB (code cache made with the flag)',
  },
  pool0: {
    label: '--v8-pool-size=0',
    entry: 'eval',
    nodeOptions: ['--v8-pool-size=0'],
    about: 'V8 sizes its worker pool (1 worker on 2 CPUs instead of 4)',
  },
  snapshot: {
    label: 'V8 startup snapshot',
    entry: 'snapshot',
    about: 'node --snapshot-blob: all modules evaluated at build time, main deserialized',
  },
  polluted: {
    label: 'installed, admin env',
    entry: 'installed',
    env: ADMIN_ENV,
    about: `the installed launcher with ${Object.keys(ADMIN_ENV).join(', ')} set`,
  },
  'polluted-esm': {
    label: 'node entry.mjs, admin env',
    entry: 'esm',
    env: ADMIN_ENV,
    about: "the same environment, without the first line's scrub",
  },
};

class UsageError extends Error {}

function parseOptions(argv: string[], repoRoot: string): Options {
  const o: Options = {
    runs: 15,
    storm: 100,
    stormReps: 3,
    stormStates: ['c', 'b'],
    stock: true,
    audit: true,
    write: true,
    out: join(repoRoot, 'docs', 'performance.md'),
    variants: [],
    variantStates: ['a', 'b', 'c'],
    nodeOptions: undefined,
  };
  const states = (v: string): UserState[] => {
    const list = v
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    for (const s of list) if (s !== 'a' && s !== 'b' && s !== 'c') throw new UsageError(`unknown state ${s} (a, b, c)`);
    return list as UserState[];
  };
  const count = (k: string, v: string, min: number): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new UsageError(`${k} needs an integer ≥ ${min}`);
    return n;
  };
  for (const arg of argv) {
    const [key, value = ''] = arg.split(/=(.*)/s, 2);
    switch (key) {
      case '--runs':
        o.runs = count(key, value, 1);
        break;
      case '--storm':
        o.storm = count(key, value, 0);
        break;
      case '--storm-reps':
        o.stormReps = count(key, value, 1);
        break;
      case '--storm-states':
        o.stormStates = states(value);
        break;
      case '--no-stock':
        o.stock = false;
        break;
      case '--no-audit':
        o.audit = false;
        break;
      case '--no-write':
        o.write = false;
        break;
      case '--out':
        o.out = value;
        break;
      case '--variants':
        o.variants = value.split(',').filter(Boolean);
        for (const v of o.variants) if (!VARIANTS[v]) throw new UsageError(`unknown variant ${v} (${Object.keys(VARIANTS).join(', ')})`);
        break;
      case '--variant-states':
        o.variantStates = states(value);
        break;
      case '--node-options':
        o.nodeOptions = value;
        break;
      default:
        throw new UsageError(`unknown option ${arg}`);
    }
  }
  return o;
}

/** Busy fraction of all CPUs between two readings of /proc/stat (other engineers' load included). */
function cpuTimes(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  const total = v.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

function buildShared(source: string, out: string): string {
  if (!existsSync(out) || statSync(out).mtimeMs < statSync(source).mtimeMs) {
    execFileSync('cc', ['-shared', '-fPIC', '-O2', '-Wall', '-o', out, source], { stdio: 'inherit' });
  }
  return out;
}

function loads(): string {
  return loadavg()
    .map((x) => x.toFixed(2))
    .join(' / ');
}

interface Built {
  dist: string;
  installed: string;
  shebang: string;
  files: Array<{ name: string; bytes: number }>;
}

function buildAndStage(repoRoot: string, work: string, nodeOptions: string | undefined): Built {
  const dist = join(work, 'dist');
  const root = join(work, 'root');
  execFileSync(process.execPath, [join(repoRoot, 'scripts', 'build.mjs'), '--outdir', dist], { stdio: 'inherit' });
  rmSync(root, { recursive: true, force: true });
  install({
    root,
    distDir: dist,
    nodePath: process.execPath,
    nodeOptions,
    keyType: 'cifs.spnego',
    gssproxy: 'no',
    log: () => {},
  });
  const lib = join(root, 'usr', 'lib', 'cifs-upcall');
  const installed = join(lib, 'cifs-upcall.mjs');
  if (nodeOptions === undefined) {
    // the default line names /usr/lib/cifs-upcall: the same line for the staged directory
    const text = readFileSync(installed, 'utf8');
    writeFileSync(installed, launcherLine(process.execPath, lib) + text.slice(text.indexOf('\n') + 1));
  }
  const shebang = readFileSync(installed, 'utf8').split('\n', 1)[0]!;
  const files = readdirSync(lib)
    .sort()
    .map((name) => ({ name, bytes: statSync(join(lib, name)).size }));
  return { dist, installed, shebang, files };
}

/** argv prefix of a variant; V8 flags get a build of their own (their code cache). */
function variantLauncher(repoRoot: string, work: string, built: Built, name: string, v: Variant): string[] {
  if (v.entry === 'installed') return [built.installed];
  if (v.entry === 'snapshot') return [process.execPath, `--snapshot-blob=${buildSnapshot(repoRoot, work)}`, built.installed];
  let dir = dirname(built.installed);
  if (v.v8Flags || v.codeCache) {
    dir = join(work, `dist-${name}`);
    const options = [...(v.v8Flags ? ['--v8-flags', v.v8Flags.join(' ')] : []), ...(v.codeCache ? [`--code-cache=${v.codeCache}`] : [])];
    execFileSync(process.execPath, [join(repoRoot, 'scripts', 'build.mjs'), '--outdir', dir, ...options], { stdio: 'inherit' });
  }
  const options = [...(v.v8Flags ?? []), ...(v.nodeOptions ?? [])];
  const entry = join(dir, 'cifs-upcall.mjs');
  return v.entry === 'esm'
    ? [process.execPath, ...options, entry]
    : [process.execPath, ...options, `--eval=require(\`${join(dir, 'cifs-upcall.cjs')}\`)`, entry];
}

/**
 * The snapshot variant: test/bench/snapshot-entry.ts bundled like the production entry (one
 * CommonJS file, lazy built-ins, in-memory imports), then `node --build-snapshot`; the addon goes
 * beside the blob, which is where import.meta.url points at run time.
 */
function buildSnapshot(repoRoot: string, work: string): string {
  const dir = join(work, 'snapshot');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const script = `
const { build } = await import('esbuild');
const { lazyBuiltins, fastByteViews, copyAddon } = await import(${JSON.stringify(join(repoRoot, 'scripts', 'build.mjs'))});
await build({
  entryPoints: [${JSON.stringify(join(repoRoot, 'test', 'bench', 'snapshot-entry.ts'))}],
  outfile: ${JSON.stringify(join(dir, 'entry.cjs'))},
  bundle: true, platform: 'node', target: 'node20', format: 'cjs', logLevel: 'warning',
  define: {
    __CIFS_UPCALL_VERSION__: '"bench"', __CIFS_UPCALL_ONE_FILE__: 'true', 'import.meta.url': '__snapshotMeta.url',
  },
  banner: { js: 'var __snapshotMeta = { get url() { const a = process.execArgv.find((x) => x.startsWith("--snapshot-blob=")); return require("node:url").pathToFileURL(a.slice(16)).href; } };' },
  plugins: [lazyBuiltins(), fastByteViews()],
});
copyAddon(${JSON.stringify(dir)});
`;
  execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: repoRoot, stdio: 'inherit' });
  const blob = join(dir, 'cifs-upcall.blob');
  execFileSync(process.execPath, ['--snapshot-blob', blob, '--build-snapshot', join(dir, 'entry.cjs')], { cwd: dir, stdio: 'inherit' });
  return blob;
}

interface Measured {
  sample: Sample;
  payload: Buffer | null;
}

function measure(
  runstat: string,
  scratch: string,
  watch: LogWatch | null,
  run: PreparedRun | { job: Job; payload: () => null; cleanup: () => void },
): Measured {
  watch?.mark();
  const u = measureOne(runstat, scratch, run.job);
  const payload = run.payload();
  const trips = watch ? watch.since() : null;
  run.cleanup();
  const ok = u.status === 0 && (watch === null || payload !== null);
  return { sample: { wallMs: u.wallMs, cpuMs: u.cpuMs, maxRssMiB: u.maxRssMiB, trips, ok }, payload };
}

async function verdict(acceptor: Acceptor, env: RealmEnv, payload: Buffer | null, expected: string): Promise<string> {
  if (!payload) return 'no payload';
  const msg = splitPayload(payload);
  const a = await acceptor.accept(env.keytabs.fs1, msg.blob);
  if (!a.ok) return `REJECTED: ${a.error}`;
  if (a.key !== msg.sessionKey.toString('hex')) return 'REJECTED: session keys differ';
  return a.initiator === expected ? `accepted as ${a.initiator}` : `accepted as ${a.initiator}, expected ${expected}`;
}

interface CaseDef {
  key: string;
  state: UserState | 'node';
  helper: string;
  subject: Subject | null;
  prepare: () => PreparedRun | { job: Job; payload: () => null; cleanup: () => void };
  expected: string;
}

export async function main(argv: string[], paths: BenchPaths): Promise<number> {
  let o: Options;
  try {
    o = parseOptions(argv, paths.repoRoot);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`bench: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  if (process.getuid?.() !== 0) {
    process.stderr.write('bench: needs root (it starts daemons, runs the helpers as request-key would)\n');
    return 1;
  }
  const repoRoot = paths.repoRoot;
  const work = join(repoRoot, '.work', 'bench');
  mkdirSync(work, { recursive: true });
  const scratch = join(work, `run-${process.pid}`);
  mkdirSync(scratch, { recursive: true });
  chmodSync(scratch, 0o755);
  const stockAvailable = o.stock && existsSync('/usr/sbin/cifs.upcall');
  const startedAt = new Date();
  const loadAtStart = loads();
  console.log(`bench: load average ${loadAtStart} (1/5/15 min) on ${cpus().length} CPUs`);

  const runstat = buildRunstat(join(repoRoot, 'test', 'bench', 'runstat.c'), work);
  // the keyutils shim of test/harness/keyshim (stock-upcall.ts finds its source relative to itself,
  // which a bundle moves): compiled here into .work/bench/
  const shim = stockAvailable ? buildShared(join(repoRoot, 'test', 'harness', 'keyshim', 'keyshim.c'), join(work, 'keyshim.so')) : '';
  const built = buildAndStage(repoRoot, work, o.nodeOptions);
  console.log(`bench: staged ${built.installed}\n       first line: ${built.shebang}`);

  console.log('bench: starting the loopback realm…');
  const realm = await startRealm();
  const env = realm.env;
  const world = new World(env, scratch);
  const acceptor = new Acceptor(env, join(repoRoot, 'test', 'harness', 'common', 'acceptor.py'));
  try {
    const config = world.writeConfig();
    const ours: OursSetup = { launcher: [built.installed], config };
    const watch = new LogWatch(env);
    const bob = env.users.bob!;
    const alice = env.users.alice!;
    const subjects: Record<UserState, Subject> = {
      a: world.subject(bob, 'a'),
      b: world.subject(bob, 'b'),
      c: world.subject(alice, 'c'),
    };

    const cases: CaseDef[] = [
      {
        key: 'node',
        state: 'node',
        helper: 'env -i node -e 0',
        subject: null,
        expected: '',
        prepare: () => ({ job: { argv: [process.execPath, '-e', '0'], env: { ...HELPER_ENV } }, payload: () => null, cleanup: () => {} }),
      },
    ];
    for (const state of ['a', 'b', 'c'] as const) {
      const s = subjects[state];
      const expected = `${s.user.name}@${env.realm}`;
      cases.push({
        key: `ours-${state}`,
        state,
        helper: 'cifs-upcall',
        subject: s,
        expected,
        prepare: () => oursRun(env, ours, s, scratch),
      });
      if (stockAvailable) {
        cases.push({
          key: `stock-${state}`,
          state,
          helper: 'cifs.upcall 7.0',
          subject: s,
          expected,
          prepare: () => stockRun(env, shim, s, scratch),
        });
      }
    }
    for (const name of o.variants) {
      const v = VARIANTS[name]!;
      const launcher = variantLauncher(repoRoot, work, built, name, v);
      for (const state of o.variantStates) {
        const s = subjects[state];
        cases.push({
          key: `${name}-${state}`,
          state,
          helper: `cifs-upcall: ${v.label}`,
          subject: s,
          expected: `${s.user.name}@${env.realm}`,
          prepare: () => {
            const r = oursRun(env, { ...ours, launcher }, s, scratch);
            return { ...r, job: { ...r.job, env: { ...r.job.env, ...(v.env ?? {}) } } };
          },
        });
      }
      if (v.env) {
        cases.push({
          key: `${name}-node`,
          state: 'node',
          helper: `node -e 0, ${v.label}`,
          subject: null,
          expected: '',
          prepare: () => ({
            job: { argv: [process.execPath, '-e', '0'], env: { ...HELPER_ENV, ...v.env } },
            payload: () => null,
            cleanup: () => {},
          }),
        });
      }
    }

    const series = new Map<string, Series>(
      cases.map((c) => [c.key, { key: c.key, state: c.state, helper: c.helper, samples: [], verdict: '' }]),
    );
    const runCase = (c: CaseDef): Measured => {
      if (c.subject) {
        world.reset(c.subject);
        if (c.subject.state === 'c') world.resetGssproxy();
      }
      return measure(runstat, scratch, c.subject ? watch : null, c.prepare());
    };

    // warm-up (page cache, gssproxy/KDC first-use paths), and the acceptor's verdict on each case
    for (const c of cases) {
      const m = runCase(c);
      const s = series.get(c.key)!;
      s.verdict = c.subject ? await verdict(acceptor, env, m.payload, c.expected) : '';
      console.log(`bench: warm-up ${c.key.padEnd(22)} ${m.sample.wallMs.toFixed(1).padStart(7)} ms  ${s.verdict}`);
    }
    const busyBefore = cpuTimes();
    for (let round = 0; round < o.runs; round++) {
      for (const c of cases) series.get(c.key)!.samples.push(runCase(c).sample);
      process.stdout.write(`\rbench: round ${round + 1}/${o.runs} (load ${loads()})   `);
    }
    const busyAfter = cpuTimes();
    const machineBusy = (busyAfter.busy - busyBefore.busy) / (busyAfter.total - busyBefore.total);
    process.stdout.write('\n');
    const loadAfterRuns = loads();

    const audits: TrafficAudit[] = [];
    if (o.audit) {
      for (const state of ['a', 'b', 'c'] as const) {
        for (const c of cases.filter((x) => x.state === state && (x.key.startsWith('ours-') || x.key.startsWith('stock-')))) {
          world.reset(c.subject!);
          if (state === 'c') world.resetGssproxy();
          audits.push(auditTraffic(c.key, c.helper, state, c.prepare(), env, scratch, runstat));
        }
      }
    }

    const storms: StormSeries[] = [];
    if (o.storm > 0) {
      // the floor: the same number of bare `node -e 0` started at once, same environment
      const bare: StormSeries = { state: 'node', helper: 'env -i node -e 0', n: o.storm, runs: [] };
      for (let rep = 0; rep < o.stormReps; rep++) {
        const u = measureStorm(
          runstat,
          scratch,
          Array.from({ length: o.storm }, () => ({ argv: [process.execPath, '-e', '0'], env: { ...HELPER_ENV } })),
        );
        bare.runs.push({
          wallMs: u.wallMs,
          peakRssMiB: u.peakRssMiB,
          peakAnonMiB: u.peakAnonMiB,
          sumMaxRssMiB: u.sumMaxRssMiB,
          cpuMs: u.jobs.reduce((a, j) => a + j.cpuMs, 0),
          ok: u.jobs.filter((j) => j.status === 0).length,
          trips: { kdc: 0, asReq: 0, tgsReq: 0, gssproxyConnections: 0, gssproxyCalls: 0, gssproxyProcedures: [] },
          samples: u.samples,
        });
        console.log(`bench: storm of ${o.storm} bare node #${rep + 1}: ${u.wallMs.toFixed(0)} ms (load ${loads()})`);
      }
      storms.push(bare);
      console.log(`bench: storm users (${o.storm})…`);
      const users = ensureStormUsers(env, o.storm);
      for (const state of o.stormStates) {
        const subjects = users.map((u) => world.subject(u, state, `storm_${state}`));
        const helpers = stockAvailable ? (['ours', 'stock'] as const) : (['ours'] as const);
        const bySeries = new Map(
          helpers.map((h) => [h, { state, helper: h === 'ours' ? 'cifs-upcall' : 'cifs.upcall 7.0', n: o.storm, runs: [] as StormRun[] }]),
        );
        for (let rep = 0; rep < o.stormReps; rep++) {
          for (const h of helpers) {
            for (const s of subjects) world.reset(s);
            if (state === 'c') world.resetGssproxy();
            const runs = subjects.map((s) => (h === 'ours' ? oursRun(env, ours, s, scratch) : stockRun(env, shim, s, scratch)));
            watch.mark();
            const u = measureStorm(
              runstat,
              scratch,
              runs.map((r) => r.job),
            );
            const trips = watch.since();
            const ok = runs.filter((r, i) => u.jobs[i]!.status === 0 && r.payload() !== null).length;
            for (const r of runs) r.cleanup();
            bySeries.get(h)!.runs.push({
              wallMs: u.wallMs,
              peakRssMiB: u.peakRssMiB,
              peakAnonMiB: u.peakAnonMiB,
              sumMaxRssMiB: u.sumMaxRssMiB,
              cpuMs: u.jobs.reduce((a, j) => a + j.cpuMs, 0),
              ok,
              trips,
              samples: u.samples,
            });
            console.log(
              `bench: storm ${state} ${h.padEnd(5)} #${rep + 1}: ${u.wallMs.toFixed(0)} ms, peak Σrss ${u.peakRssMiB.toFixed(0)} MiB, ${ok}/${o.storm} ok (load ${loads()})`,
            );
          }
        }
        storms.push(...bySeries.values());
      }
    }

    const text = render({
      o,
      built,
      startedAt,
      loadAtStart,
      loadAfterRuns,
      loadAtEnd: loads(),
      machineBusy,
      cases,
      series,
      audits,
      storms,
      stockAvailable,
    });
    console.log(`\n${text}`);
    if (o.write) {
      writeReport(o.out, text);
      console.log(`bench: written to ${o.out}`);
    }
    return 0;
  } finally {
    acceptor.close();
    world.stop();
    await realm.stop();
    rmSync(scratch, { recursive: true, force: true });
  }
}

interface RenderInput {
  o: Options;
  built: Built;
  startedAt: Date;
  loadAtStart: string;
  loadAfterRuns: string;
  loadAtEnd: string;
  machineBusy: number;
  cases: CaseDef[];
  series: Map<string, Series>;
  audits: TrafficAudit[];
  storms: StormSeries[];
  stockAvailable: boolean;
}

function render(r: RenderInput): string {
  const out: string[] = [];
  const node = r.series.get('node')!;
  const nodeCpu = median(node.samples.map((x) => x.cpuMs));
  const nodeRss = median(node.samples.map((x) => x.maxRssMiB));
  const cpuModel = cpus()[0]?.model ?? '?';
  out.push(`Run ${r.startedAt.toISOString()} · Node ${process.version} · Linux ${release()} · ${cpus().length} × ${cpuModel}`);
  out.push(
    `Load average (1/5/15 min): ${r.loadAtStart} at start, ${r.loadAfterRuns} after the single runs, ${r.loadAtEnd} at the end; all CPUs ${(r.machineBusy * 100).toFixed(0)} % busy during the single runs (the benchmark's own processes included).`,
  );
  out.push(
    `${r.o.runs} measured runs per case after one warm-up, round-robin; median [min–max]. Every process started with only HOME and PATH (request-key's environment). Installed launcher: \`${r.built.shebang}\` (${r.built.files.map((f) => `${f.name} ${(f.bytes / 1024).toFixed(0)} KiB`).join(', ')}).`,
  );
  out.push('');

  const rows: string[][] = [];
  for (const c of r.cases) {
    const s = r.series.get(c.key)!;
    const trips = tripsText(s);
    const bad = s.samples.filter((x) => !x.ok).length;
    rows.push([
      c.state === 'node' ? '–' : `(${c.state}) ${STATE_LABEL[c.state]}`,
      s.helper,
      fmt(seriesSpread(s, (x) => x.wallMs)),
      fmt(seriesSpread(s, (x) => x.cpuMs)),
      fmt(seriesSpread(s, (x) => x.maxRssMiB)),
      trips.kdc,
      trips.gssproxy,
      c.state === 'node'
        ? `${s.samples.length - bad}/${s.samples.length} exit 0`
        : `${s.samples.length - bad}/${s.samples.length}; ${s.verdict}`,
    ]);
  }
  out.push(table(['case', 'helper', 'wall ms', 'CPU ms (user+sys)', 'peak RSS MiB', 'KDC requests', 'gssproxy', 'payloads'], rows));
  out.push('');

  if (r.storms.length > 0) {
    const srows = r.storms.map((st) => {
      const wall = spread(st.runs.map((x) => x.wallMs));
      const peak = spread(st.runs.map((x) => x.peakRssMiB));
      const anon = spread(st.runs.map((x) => x.peakAnonMiB));
      const sumMax = spread(st.runs.map((x) => x.sumMaxRssMiB));
      const cpu = spread(st.runs.map((x) => x.cpuMs));
      const kdc = [...new Set(st.runs.map((x) => x.trips.kdc))].join('/');
      const conns = [...new Set(st.runs.map((x) => x.trips.gssproxyConnections))].join('/');
      const calls = [...new Set(st.runs.map((x) => x.trips.gssproxyCalls))].join('/');
      const floor = st.state === 'node';
      return [
        floor ? `${st.n} × node -e 0` : `${st.n} × (${st.state}) ${STATE_LABEL[st.state as UserState]}`,
        st.helper,
        fmt(wall, 0),
        fmt(cpu, 0),
        fmt(peak, 0),
        fmt(anon, 0),
        fmt(sumMax, 0),
        floor ? '–' : kdc,
        floor ? '–' : `${conns} conn, ${calls} calls`,
        st.runs.map((x) => `${x.ok}/${st.n}${floor ? ' exit 0' : ''}`).join(', '),
      ];
    });
    out.push(
      `Storms: ${r.storms[0]!.n} upcalls for ${r.storms[0]!.n} different users started at once (and, as the floor, ${r.storms[0]!.n} bare \`node -e 0\`), ${r.o.stormReps} repetitions each, median [min–max]. Σ RSS = sum of VmRSS over the live helper processes sampled every 5 ms (shared pages such as the node binary count once per process); Σ anon = the same for RssAnon (private memory only); Σ peak = sum of every process's own ru_maxrss (upper bound).`,
    );
    out.push('');
    out.push(
      table(
        [
          'storm',
          'helper',
          'total wall ms',
          'total CPU ms',
          'peak Σ RSS MiB',
          'peak Σ anon MiB',
          'Σ peak RSS MiB',
          'KDC requests',
          'gssproxy',
          'payloads',
        ],
        srows,
      ),
    );
    out.push('');
  }

  if (r.audits.length > 0) {
    out.push('Socket audit (strace -f of one upcall per case: every connect/sendto/sendmsg destination):');
    out.push('');
    out.push(
      table(
        ['case', 'helper', 'KDC', 'gssproxy', 'syslog', 'DNS (port 53)', 'other'],
        r.audits.map((a) => [
          `(${a.state})`,
          a.helper,
          String(a.kdc),
          String(a.gssproxy),
          String(a.syslog),
          String(a.dns),
          a.other.join(', ') || '–',
        ]),
      ),
    );
    out.push('');
  }

  out.push('Targets (start-up cost and round trips):');
  out.push('');
  out.push(table(['target', 'measured', 'limit', ''], targetRows(targets(r, nodeCpu, nodeRss))));
  return out.join('\n');
}

function targets(r: RenderInput, nodeCpu: number, nodeRss: number): Target[] {
  const t: Target[] = [];
  const med = (key: string, pick: (x: Sample) => number): number => {
    const s = r.series.get(key);
    return s ? median(s.samples.map(pick)) : NaN;
  };
  for (const state of ['a', 'b', 'c'] as const) {
    const cpu = med(`ours-${state}`, (x) => x.cpuMs);
    const rss = med(`ours-${state}`, (x) => x.maxRssMiB);
    t.push({
      name: `(${state}) CPU vs node -e 0`,
      value: `${cpu.toFixed(1)} / ${nodeCpu.toFixed(1)} ms = ${(cpu / nodeCpu).toFixed(2)}×`,
      limit: '≤ 1.5×',
      met: cpu / nodeCpu <= 1.5,
    });
    t.push({
      name: `(${state}) peak RSS vs node -e 0`,
      value: `${rss.toFixed(1)} / ${nodeRss.toFixed(1)} MiB = ${(rss / nodeRss).toFixed(2)}×`,
      limit: '≤ 1.25×',
      met: rss / nodeRss <= 1.25,
    });
    if (r.stockAvailable) {
      const wall = med(`ours-${state}`, (x) => x.wallMs);
      const stockWall = med(`stock-${state}`, (x) => x.wallMs);
      t.push({
        name: `(${state}) wall vs cifs.upcall`,
        value: `${wall.toFixed(1)} / ${stockWall.toFixed(1)} ms = ${(wall / stockWall).toFixed(2)}×`,
        limit: '≤ 2×',
        met: wall / stockWall <= 2,
      });
      const trips = (key: string) => {
        const s = r.series.get(key)!;
        const all = s.samples.map((x) => x.trips!).filter(Boolean);
        return {
          kdc: Math.max(...all.map((x) => x.kdc)),
          gp: Math.max(...all.map((x) => x.gssproxyConnections + x.gssproxyCalls)),
          gpMin: Math.min(...all.map((x) => x.gssproxyConnections + x.gssproxyCalls)),
          kdcMin: Math.min(...all.map((x) => x.kdc)),
        };
      };
      const a = trips(`ours-${state}`);
      const b = trips(`stock-${state}`);
      const strict = state === 'c';
      const met = strict ? a.kdc < b.kdcMin && a.gp <= b.gpMin : a.kdc <= b.kdcMin && a.gp <= b.gpMin;
      t.push({
        name: `(${state}) KDC / gssproxy round trips vs cifs.upcall`,
        value: `KDC ${a.kdc} vs ${b.kdc}, gssproxy conn+calls ${a.gp} vs ${b.gp}`,
        limit: strict ? 'fewer KDC (multiuser, no ticket), ≤ gssproxy' : '≤',
        met,
      });
    }
  }
  const bare = r.storms.find((s) => s.state === 'node');
  for (const state of new Set(r.storms.map((s) => s.state))) {
    const ours = r.storms.find((s) => s.state === state && s.helper === 'cifs-upcall');
    if (ours && bare) {
      for (const [what, pick] of [
        ['wall', (x: StormRun) => x.wallMs],
        ['CPU', (x: StormRun) => x.cpuMs],
      ] as const) {
        const a = median(ours.runs.map(pick));
        const b = median(bare.runs.map(pick));
        t.push({
          name: `storm ${ours.n} × (${state}) total ${what} vs ${bare.n} × node -e 0`,
          value: `${a.toFixed(0)} / ${b.toFixed(0)} ms = ${(a / b).toFixed(2)}×`,
          limit: '≤ 1.5×',
          met: a / b <= 1.5,
        });
      }
    }
    const stock = r.storms.find((s) => s.state === state && s.helper !== 'cifs-upcall');
    if (!ours || !stock) continue;
    const a = median(ours.runs.map((x) => x.wallMs));
    const b = median(stock.runs.map((x) => x.wallMs));
    t.push({
      name: `storm ${ours.n} × (${state}) total wall vs cifs.upcall`,
      value: `${a.toFixed(0)} / ${b.toFixed(0)} ms = ${(a / b).toFixed(2)}×`,
      limit: '≤ 2×',
      met: a / b <= 2,
    });
  }
  return t;
}

const BEGIN = '<!-- bench:begin (written by npm run bench; edit outside these markers) -->';
const END = '<!-- bench:end -->';

function writeReport(path: string, text: string): void {
  const block = `${BEGIN}\n${text}\n${END}`;
  let doc: string;
  if (existsSync(path)) {
    const old = readFileSync(path, 'utf8');
    const b = old.indexOf(BEGIN);
    const e = old.indexOf(END);
    doc = b >= 0 && e > b ? old.slice(0, b) + block + old.slice(e + END.length) : `${old.trimEnd()}\n\n${block}\n`;
  } else {
    doc = `# Performance\n\nMeasured by \`npm run bench\` (test/bench/); the table below is rewritten by every run.\n\n${block}\n`;
  }
  writeFileSync(path, doc);
}
