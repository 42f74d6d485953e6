// `npm run test:kernel`: the cifs.spnego upcall under real Debian kernels (README.md, Tests).
// For each kernel: download/extract/cache it, build the initramfs, boot it under QEMU/TCG with the
// host's / as a read-only 9p root under a tmpfs overlay, and let the guest orchestrator run every
// scenario once per handler (stock cifs.upcall, ours). One VM at a time, each bounded by a hard
// timeout. Ends with a kernel × scenario × handler table.
// Scenario 7 (7-ad-dc-rbcd) needs the Samba 4.22 AD DC (scripts/install-samba-ad.sh): the runner
// starts it once on the host's loopback and gives every VM a restricted user-mode NIC that reaches
// only its KDC and smbd (host/ad.ts); without Samba 4.22 the scenario is skipped with the reason.
//
// Options: --kernels=6.1,6.12 (labels or releases)  --handlers=auto|stock|ours|stock,ours
//          --scenarios=1,3,4b (id prefixes)  --timeout=<s per VM>  --ours-bundle=<path>
//          --ours-config=<file for /etc/cifs-upcall.conf>  --keep-runs=<n>  --no-install  --memory=<MB>
//          --partial
// The run passes only when every cell of kernel (6.1, 6.12) × scenario (all, the AD DC's
// included) × handler (stock and ours) ran and passed: a missing cell, a handler that did not run
// (`--handlers=auto` in a checkout without `npm run build` runs the stock handler only) or a
// skipped scenario fails it. `--partial` (never passed by CI) asks for a partial run: then only
// the cells selected by --kernels, --handlers and --scenarios are required, and what was left out
// is listed with the verdict.
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { scenarioSelected, SCENARIOS } from './shared/scenario-ids.ts';
import { oursHandler, stockHandler } from './shared/handlers.ts';
import type { GuestConfig, GuestReport, HandlerName, HandlerSpec } from './shared/types.ts';
import { buildInitramfs } from './host/initramfs.ts';
import { prepareKernel } from './host/kernels.ts';
import { ensurePackages } from './host/packages.ts';
import { legend, summaryTable, verdictProblems, type KernelOutcome } from './host/report.ts';
import { AD_SCENARIO_ID, adGuestConfig, addServerSideChecks, adQemuArgs, markAdLogs, startKernelAd, type KernelAd } from './host/ad.ts';
import { consoleTail, runVm } from './host/vm.ts';

export interface LauncherPaths {
  repoRoot: string;
  /** directory holding the bundled guest orchestrator (guest.mjs) */
  bundleDir: string;
}

interface Options {
  kernels: string[];
  handlers: HandlerName[] | 'auto';
  scenarios: string[];
  timeoutS: number;
  oursBundle: string;
  oursConfig: string | null;
  keepRuns: number;
  install: boolean;
  memoryMb: number;
  /** a partial run: only the selected cells are required */
  partial: boolean;
}

const DEFAULT_KERNELS = ['6.1', '6.12'];
const ALL_HANDLERS: HandlerName[] = ['stock', 'ours'];

class UsageError extends Error {}

function parseOptions(argv: string[], repoRoot: string): Options {
  const o: Options = {
    kernels: [...DEFAULT_KERNELS],
    handlers: 'auto',
    scenarios: [],
    timeoutS: 600,
    oursBundle: join(repoRoot, 'dist', 'cifs-upcall.mjs'),
    oursConfig: null,
    keepRuns: 6,
    install: true,
    memoryMb: 2048,
    partial: false,
  };
  for (const arg of argv) {
    const [key, value = ''] = arg.split(/=(.*)/s, 2);
    const list = () =>
      value
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
    switch (key) {
      case '--kernels':
        o.kernels = list();
        break;
      case '--handlers':
        if (value === 'auto') o.handlers = 'auto';
        else {
          const hs = list();
          for (const h of hs) if (h !== 'stock' && h !== 'ours') throw new UsageError(`unknown handler "${h}" (stock, ours)`);
          o.handlers = hs as HandlerName[];
        }
        break;
      case '--scenarios':
        o.scenarios = list();
        for (const w of o.scenarios) {
          if (!SCENARIOS.some((s) => scenarioSelected([w], s.id)))
            throw new UsageError(`no scenario matches "${w}" (${SCENARIOS.map((s) => s.id).join(', ')})`);
        }
        break;
      case '--timeout':
        o.timeoutS = Number(value);
        break;
      case '--ours-bundle':
        o.oursBundle = value;
        break;
      case '--ours-config':
        o.oursConfig = value;
        break;
      case '--keep-runs':
        o.keepRuns = Number(value);
        break;
      case '--no-install':
        o.install = false;
        break;
      case '--memory':
        o.memoryMb = Number(value);
        break;
      case '--partial':
        o.partial = true;
        break;
      default:
        throw new UsageError(`unknown option ${arg}`);
    }
  }
  if (!(o.timeoutS > 0) || !(o.memoryMb >= 512) || !(o.keepRuns >= 1)) throw new UsageError('bad --timeout, --memory or --keep-runs');
  return o;
}

function log(line: string): void {
  process.stdout.write(`${line}\n`);
}

function handlerSpecs(o: Options): HandlerSpec[] {
  const oursBuilt = existsSync(o.oursBundle);
  let names: HandlerName[];
  if (o.handlers === 'auto') {
    names = oursBuilt ? ['stock', 'ours'] : ['stock'];
    if (!oursBuilt) log(`note: ${o.oursBundle} does not exist (npm run build): running the stock handler only`);
  } else {
    names = o.handlers;
    if (names.includes('ours') && !oursBuilt)
      throw new UsageError(`--handlers includes ours but ${o.oursBundle} does not exist: run npm run build`);
  }
  if (names.includes('ours') && /^\/(tmp|run)(\/|$)/.test(o.oursBundle)) {
    throw new UsageError(`${o.oursBundle}: the guest mounts fresh, empty /tmp and /run, so the handler must live elsewhere`);
  }
  const configText = o.oursConfig ? readFileSync(o.oursConfig, 'utf8') : null;
  return names.map((n) => (n === 'stock' ? stockHandler() : oursHandler(o.oursBundle, configText)));
}

/** What the selection leaves out of the full matrix (kernels, handlers, scenarios). */
function leftOutBySelection(o: Options, handlers: HandlerName[]): string[] {
  const out: string[] = [];
  const kernelsMissing = DEFAULT_KERNELS.filter((k) => !o.kernels.includes(k));
  if (kernelsMissing.length > 0) out.push(`kernel(s) ${kernelsMissing.join(', ')} not selected (--kernels=${o.kernels.join(',')})`);
  const handlersMissing = ALL_HANDLERS.filter((h) => !handlers.includes(h));
  if (handlersMissing.length > 0) {
    out.push(
      `handler(s) ${handlersMissing.join(', ')} will not run (--handlers=${o.handlers === 'auto' ? 'auto' : o.handlers.join(',')}` +
        `${handlersMissing.includes('ours') && !existsSync(o.oursBundle) ? `; ${o.oursBundle} is not built` : ''})`,
    );
  }
  const scenariosMissing = SCENARIOS.filter((sc) => !scenarioSelected(o.scenarios, sc.id)).map((sc) => sc.id);
  if (scenariosMissing.length > 0)
    out.push(`scenario(s) ${scenariosMissing.join(', ')} not selected (--scenarios=${o.scenarios.join(',')})`);
  return out;
}

function pruneRuns(runsDir: string, keep: number): void {
  if (!existsSync(runsDir)) return;
  const runs = readdirSync(runsDir).sort();
  for (const old of runs.slice(0, Math.max(0, runs.length - keep))) rmSync(join(runsDir, old), { recursive: true, force: true });
}

function stamp(): string {
  return new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
}

export async function main(argv: string[], paths: LauncherPaths): Promise<number> {
  // a reader that goes away (`| head`) must not kill the run half-way: the report is also on disk
  process.stdout.on('error', () => undefined);
  let options: Options;
  let handlers: HandlerSpec[];
  try {
    options = parseOptions(argv, paths.repoRoot);
    handlers = handlerSpecs(options);
  } catch (e) {
    if (e instanceof UsageError) {
      log(`kernel-test: ${e.message}`);
      return 2;
    }
    throw e;
  }
  const leftOut = leftOutBySelection(
    options,
    handlers.map((h) => h.name),
  );
  if (leftOut.length > 0 && !options.partial) {
    // known before any VM boots: do not spend the VMs on a run that cannot pass
    for (const l of leftOut) log(`kernel-test: not a full run: ${l}`);
    log(
      'kernel-test: a full run needs kernels 6.1 and 6.12, every scenario, and both handlers (stock and ours); pass --partial to ask for a partial run',
    );
    log('\nkernel test: FAIL (incomplete: nothing was run)');
    return 1;
  }
  if (process.getuid?.() !== 0) {
    log('kernel-test: must run as root (QEMU shares / over 9p with security_model=passthrough)');
    return 2;
  }
  const total = performance.now();
  const workDir = join(paths.repoRoot, '.work', 'kernel');
  const runsDir = join(workDir, 'runs');
  mkdirSync(runsDir, { recursive: true });
  const timings = new Map<string, number>();
  const guestDir = join(paths.repoRoot, 'test', 'kernel', 'guest');

  if (options.install) {
    const start = performance.now();
    ensurePackages(log);
    timings.set('apt packages (check/install)', Math.round(performance.now() - start));
  }

  let ad: KernelAd | null = null;
  let adSkipped: string | null = null;
  if (scenarioSelected(options.scenarios, AD_SCENARIO_ID)) {
    const start = performance.now();
    const started = await startKernelAd(log);
    timings.set('AD DC start (scenario 7)', Math.round(performance.now() - start));
    if ('skipped' in started) {
      adSkipped = started.skipped;
      log(`scenario ${AD_SCENARIO_ID} SKIPPED: ${adSkipped}`);
    } else ad = started;
  }
  // a runner killed by a signal exits synchronously: at least SIGTERM the DC's root process and
  // the harness's gssproxy (both recorded by samba-ad.ts); the DC also ends itself after 4 h
  const stopAdOnExit = () => {
    if (!ad) return;
    const { dc, gssproxy } = ad.domain.env;
    signalIf(dc.pid, () => readlinkSync(`/proc/${dc.pid}/ns/mnt`) === dc.mountNamespace);
    signalIf(gssproxy.pid, () => readFileSync(`/proc/${gssproxy.pid}/cmdline`, 'latin1').includes(gssproxy.conf));
  };
  process.once('exit', stopAdOnExit);
  try {
    return await runKernels(options, handlers, paths, { workDir, runsDir, guestDir, timings, total, ad, adSkipped });
  } finally {
    process.removeListener('exit', stopAdOnExit);
    if (ad) {
      const start = performance.now();
      await ad.domain.stop();
      log(`AD DC stopped (${Math.round(performance.now() - start)} ms)`);
    }
  }
}

/** SIGTERM `pid` only if `ours` recognises it (the DC by its mount namespace, gssproxy by its config). */
function signalIf(pid: number, ours: () => boolean): void {
  try {
    if (ours()) process.kill(pid, 'SIGTERM');
  } catch {
    /* gone */
  }
}

interface RunState {
  workDir: string;
  runsDir: string;
  guestDir: string;
  timings: Map<string, number>;
  total: number;
  ad: KernelAd | null;
  adSkipped: string | null;
}

async function runKernels(options: Options, handlers: HandlerSpec[], paths: LauncherPaths, st: RunState): Promise<number> {
  const { workDir, runsDir, guestDir, timings, total, ad } = st;
  const outcomes: KernelOutcome[] = [];
  for (const label of options.kernels) {
    let kernel;
    let initrd: string;
    try {
      kernel = prepareKernel(label, workDir, (l) => log(`[${label}] ${l}`), timings);
      const start = performance.now();
      initrd = buildInitramfs(kernel, join(guestDir, 'init.sh'), workDir);
      timings.set(`${label}: initramfs`, Math.round(performance.now() - start));
    } catch (e) {
      log(`[${label}] build failed: ${e instanceof Error ? e.message : String(e)}`);
      outcomes.push({ label, release: label, results: null, problem: 'build failed' });
      continue;
    }
    const runDir = join(runsDir, `${stamp()}-${kernel.release}`);
    mkdirSync(runDir, { recursive: true });
    const config: GuestConfig = {
      kernelLabel: label,
      kernelRelease: kernel.release,
      expectUpcallTarget: kernel.sendsUpcallTarget,
      handlers,
      scenarios: options.scenarios,
      guestScriptsDir: guestDir,
      outDir: '/vmtest/out',
      accessTimeoutMs: 90_000,
      ad: ad ? adGuestConfig(ad, runDir, '/vmtest/out', kernel.release) : null,
    };
    writeFileSync(join(runDir, 'config.json'), JSON.stringify(config, null, 2));
    writeFileSync(
      join(runDir, 'stage2.env'),
      [
        `VMTEST_RELEASE='${kernel.release}'`,
        `VMTEST_MODULES='${kernel.modulesDir}'`,
        `VMTEST_NODE='${process.execPath}'`,
        `VMTEST_MAIN='${join(paths.bundleDir, 'guest.mjs')}'`,
        "VMTEST_CONFIG='/vmtest/out/config.json'",
        '',
      ].join('\n'),
    );
    log(`[${label}] booting ${kernel.release} (run directory ${runDir}, hard timeout ${options.timeoutS} s)`);
    const adMark = ad ? markAdLogs(ad) : null;
    const vm = await runVm({
      vmlinux: kernel.vmlinux,
      initrd,
      runDir,
      stage2Script: join(guestDir, 'stage2.sh'),
      timeoutMs: options.timeoutS * 1000,
      cpus: 2,
      memoryMb: options.memoryMb,
      extraKernelArgs: [],
      extraQemuArgs: ad ? adQemuArgs(ad, join(paths.repoRoot, 'test', 'kernel', 'host', 'guestfwd-relay.py')) : [],
      onLine: (l) => {
        log(`[${label}] ${l}`);
        appendFileSync(join(runDir, 'guest-output.log'), `${l}\n`);
      },
    });
    timings.set(`${label}: VM run (boot + services + scenarios)`, vm.ms);
    const reportFile = join(runDir, 'report.json');
    const report = existsSync(reportFile) ? (JSON.parse(readFileSync(reportFile, 'utf8')) as GuestReport) : null;
    if (ad && adMark && config.ad) {
      addServerSideChecks(ad, adMark, config.ad, runDir, report?.results ?? [], (l) => log(`[${label}] ${l}`));
      if (report) writeFileSync(reportFile, JSON.stringify(report, null, 2));
    }
    let problem: string | null = null;
    if (vm.timedOut) problem = `hard timeout after ${options.timeoutS} s`;
    else if (vm.status === null) problem = `guest ended without a status (${vm.qemuExit})`;
    else if (vm.status !== 0) problem = `orchestrator exited ${vm.status}`;
    if (report?.fatal) problem = `${problem ? `${problem}; ` : ''}${report.fatal.split('\n')[0]}`;
    if (report) {
      log(
        `[${label}] guest phases: boot to orchestrator ${report.orchestratorStartUptime.toFixed(1)} s (uptime); ${report.phases.map((p) => `${p.name} ${(p.ms / 1000).toFixed(1)} s`).join('; ')}`,
      );
    }
    if (problem) log(`[${label}] PROBLEM: ${problem}${vm.qemuStderr ? `\nqemu stderr:\n${vm.qemuStderr}` : ''}`);
    if (problem || !report || report.results.some((r) => !r.ok)) {
      log(`[${label}] kernel console tail (${runDir}/console.log):\n${consoleTail(runDir)}`);
    }
    outcomes.push({ label, release: kernel.release, results: report?.results ?? null, problem });
  }
  pruneRuns(runsDir, options.keepRuns);

  timings.set('total', Math.round(performance.now() - total));
  const handlerNames = handlers.map((h) => h.name);
  log('\n=== timings');
  for (const [k, v] of timings) log(`  ${k}: ${(v / 1000).toFixed(1)} s`);
  log(
    '\n=== kernel × scenario × handler (first access = the access that made the upcall; handler = its run time in the request-key wrapper)',
  );
  // every selected cell is expected; a skipped AD DC is a missing scenario unless the run is partial
  const expectedScenarios = SCENARIOS.map((sc) => sc.id)
    .filter((id) => scenarioSelected(options.scenarios, id))
    .filter((id) => !(options.partial && st.adSkipped && id === AD_SCENARIO_ID));
  const expected = { kernels: options.kernels, handlers: handlerNames, scenarioIds: expectedScenarios };
  log(
    summaryTable(
      outcomes,
      handlerNames,
      SCENARIOS.map((sc) => sc.id).filter((id) => scenarioSelected(options.scenarios, id)),
    ),
  );
  log(`\n${legend(outcomes)}`);
  if (st.adSkipped) log(`${AD_SCENARIO_ID}: SKIPPED — ${st.adSkipped}`);
  const problems = verdictProblems(outcomes, expected);
  const partialNotes = options.partial
    ? [...leftOutBySelection(options, handlerNames), ...(st.adSkipped ? [`scenario ${AD_SCENARIO_ID} skipped: ${st.adSkipped}`] : [])]
    : [];
  writeFileSync(
    join(workDir, 'last-report.json'),
    JSON.stringify({ outcomes, timings: Object.fromEntries(timings), problems, partial: partialNotes }, null, 2),
  );
  for (const p of problems) log(`kernel test: ${p}`);
  for (const n of partialNotes) log(`kernel test: partial run (--partial): ${n}`);
  const ok = problems.length === 0;
  log(
    ok
      ? `\nkernel test: PASS${options.partial && partialNotes.length > 0 ? ' (PARTIAL run: see the lines above)' : ''}`
      : `\nkernel test: FAIL (${problems.length} problem(s))`,
  );
  return ok ? 0 : 1;
}
