// cifs-upcall --check-config [FILE]: validate a configuration file the way an upcall would read
// it (same parser, same ownership and permission rules), without touching a key, a namespace or
// a credential. Every problem is one line `FILE:LINE: what is wrong` (or `FILE: what is wrong`
// for the file as a whole); the exit status is 0 only when the file is valid.
import { ConfigError, loadConfig, type ConfigSection } from '../pipeline/config.ts';
import { ExitCode } from './exit-codes.ts';

export interface ConfigCheck {
  ok: boolean;
  /** problems, one line each, `FILE:LINE: …` */
  problems: string[];
  /** the sections found, for the summary line */
  sections: ConfigSection[];
}

export function checkConfigFile(path: string): ConfigCheck {
  const problems: string[] = [];
  let sections: ConfigSection[] = [];
  try {
    sections = loadConfig(path, true, problems).sections;
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    problems.push(e.message);
  }
  return { ok: problems.length === 0, problems, sections };
}

function describeSection(s: ConfigSection): string {
  const n = Object.keys(s.values).length;
  return `${s.kind === 'global' ? '[global]' : `[${s.kind} ${s.pattern}]`} (line ${s.line}, ${n} setting${n === 1 ? '' : 's'})`;
}

/** Run the check; writes the summary to `out` and the problems to `err`; returns the exit status. */
export function runCheckConfig(path: string, out: (text: string) => void, err: (text: string) => void): number {
  const r = checkConfigFile(path);
  if (!r.ok) {
    for (const p of r.problems) err(`${p}\n`);
    err(
      `${path}: ${r.problems.length} problem${r.problems.length === 1 ? '' : 's'}; an upcall would fail with exit status ${ExitCode.CONFIG}\n`,
    );
    return ExitCode.CONFIG;
  }
  out(`${path}: valid; ${r.sections.length === 0 ? 'no sections (built-in defaults)' : r.sections.map(describeSection).join(', ')}\n`);
  return ExitCode.OK;
}
