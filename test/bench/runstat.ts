// The measuring helper (runstat.c): compiled once into .work/bench/, fed a job file, its
// key=value lines parsed back. One job = one measured process; a storm = many jobs started at
// once with the resident-set sampler on.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Job {
  /** argv[0] must be an absolute path (execve, no PATH search) */
  argv: string[];
  /** the whole environment of the process */
  env: Record<string, string>;
  /** stdout + stderr of the job (default /dev/null) */
  out?: string;
}

export interface JobUsage {
  pid: number;
  status: number;
  wallMs: number;
  /** user + system CPU of the process (all its threads), from wait4 */
  cpuMs: number;
  userMs: number;
  sysMs: number;
  /** ru_maxrss: the peak resident set, MiB */
  maxRssMiB: number;
}

export interface StormUsage {
  jobs: JobUsage[];
  /** first fork → last reaped */
  wallMs: number;
  /** peak of the sampled sum of VmRSS over the live processes, MiB */
  peakRssMiB: number;
  /** peak of the sampled sum of RssAnon (private anonymous memory, nothing shared), MiB */
  peakAnonMiB: number;
  /** sum of every process's own peak: an upper bound for the simultaneous peak, MiB */
  sumMaxRssMiB: number;
  samples: number;
}

export function buildRunstat(source: string, workDir: string): string {
  mkdirSync(workDir, { recursive: true });
  const out = join(workDir, 'runstat');
  if (!existsSync(out) || statSync(out).mtimeMs < statSync(source).mtimeMs) {
    execFileSync('cc', ['-O2', '-Wall', '-Wextra', '-o', out, source], { stdio: 'inherit' });
  }
  return out;
}

function jobFile(jobs: Job[]): string {
  const lines: string[] = [];
  for (const j of jobs) {
    for (const a of j.argv) {
      if (a.includes('\n')) throw new Error(`argument with a newline: ${JSON.stringify(a)}`);
      lines.push(`arg ${a}`);
    }
    for (const [k, v] of Object.entries(j.env)) lines.push(`env ${k}=${v}`);
    if (j.out) lines.push(`out ${j.out}`);
    lines.push('end');
  }
  return `${lines.join('\n')}\n`;
}

function fields(line: string): Record<string, string> {
  const f: Record<string, string> = {};
  for (const kv of line.trim().split(' ')) {
    const at = kv.indexOf('=');
    if (at > 0) f[kv.slice(0, at)] = kv.slice(at + 1);
  }
  return f;
}

function runJobs(runstat: string, scratch: string, jobs: Job[], sampleMs: number): StormUsage {
  const file = join(scratch, `jobs-${process.pid}`);
  writeFileSync(file, jobFile(jobs));
  const r = spawnSync(runstat, [file, String(sampleMs)], { encoding: 'utf8', timeout: 600_000 });
  if (r.status !== 0) throw new Error(`runstat failed (${r.status}): ${r.stderr}`);
  const lines = r.stdout.split('\n').filter(Boolean);
  const usage: JobUsage[] = [];
  let total: Record<string, string> | undefined;
  for (const line of lines) {
    if (line.startsWith('total ')) {
      total = fields(line.slice(6));
      continue;
    }
    const f = fields(line);
    const user = Number(f.user_us) / 1000;
    const sys = Number(f.sys_us) / 1000;
    usage.push({
      pid: Number(f.pid),
      status: Number(f.status),
      wallMs: Number(f.wall_us) / 1000,
      cpuMs: user + sys,
      userMs: user,
      sysMs: sys,
      maxRssMiB: Number(f.maxrss_kb) / 1024,
    });
  }
  if (!total || usage.length !== jobs.length) throw new Error(`runstat output incomplete:\n${r.stdout}\n${r.stderr}`);
  return {
    jobs: usage,
    wallMs: Number(total.wall_us) / 1000,
    peakRssMiB: Number(total.peak_rss_kb) / 1024,
    peakAnonMiB: Number(total.peak_anon_kb) / 1024,
    sumMaxRssMiB: Number(total.sum_maxrss_kb) / 1024,
    samples: Number(total.samples),
  };
}

/** One process, no sampling (the helper blocks in wait4). */
export function measureOne(runstat: string, scratch: string, job: Job): JobUsage {
  return runJobs(runstat, scratch, [job], 0).jobs[0]!;
}

/** Many processes at once, resident sets sampled every `sampleMs`. */
export function measureStorm(runstat: string, scratch: string, jobs: Job[], sampleMs = 5): StormUsage {
  return runJobs(runstat, scratch, jobs, sampleMs);
}
