// cifs-upcall --check-config: the README's and the man page's configuration examples are valid,
// and a broken file is reported line by line (FILE:LINE: what is wrong) with a non-zero status.
// The check reads files as an upcall does (owned by root, not writable by others): as root the
// examples must pass; run as another user the same files must be refused for their owner.
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCheckConfig } from '../../../src/cli/check-config.ts';
import { parseCommandLine } from '../../../src/cli/options.ts';
import { ExitCode } from '../../../src/cli/exit-codes.ts';

const repo = resolve(import.meta.dirname, '..', '..', '..');
const scratch = mkdtempSync(join(tmpdir(), 'cu-check-config-'));
const asRoot = process.getuid?.() === 0;
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** The ```ini blocks of a Markdown file, with the line each starts on. */
function markdownIniBlocks(file: string): Array<{ text: string; line: number }> {
  const lines = readFileSync(file, 'utf8').split('\n');
  const blocks: Array<{ text: string; line: number }> = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i]!.trim() !== '```ini') continue;
    const start = i + 1;
    while (i + 1 < lines.length && lines[i + 1]!.trim() !== '```') i++;
    blocks.push({ text: lines.slice(start, i + 1).join('\n') + '\n', line: start + 1 });
  }
  return blocks;
}

/** The man page's configuration examples: the .nf/.fi block after each `.\" cifs-upcall.conf example` marker, unescaped. */
function manPageExamples(file: string): Array<{ text: string; line: number }> {
  const lines = readFileSync(file, 'utf8').split('\n');
  const blocks: Array<{ text: string; line: number }> = [];
  for (let i = 0; i < lines.length; i++) {
    if (!lines[i]!.startsWith('.\\" cifs-upcall.conf example')) continue;
    while (i < lines.length && lines[i] !== '.nf') i++;
    const start = i + 1;
    while (i + 1 < lines.length && lines[i + 1] !== '.fi') i++;
    const text = lines
      .slice(start, i + 1)
      .join('\n')
      .replace(/\\-/g, '-')
      .replace(/\\\(em/g, '\u2014')
      .replace(/\\&/g, '')
      .replace(/\\e/g, '\\');
    blocks.push({ text: text + '\n', line: start + 1 });
  }
  return blocks;
}

function check(name: string, text: string, mode = 0o644): { status: number; out: string; err: string; path: string } {
  const path = join(scratch, name);
  writeFileSync(path, text);
  chmodSync(path, mode);
  let out = '';
  let err = '';
  const status = runCheckConfig(
    path,
    (t) => {
      out += t;
    },
    (t) => {
      err += t;
    },
  );
  return { status, out, err, path };
}

describe('--check-config on the documented examples', () => {
  const readme = markdownIniBlocks(join(repo, 'README.md'));
  const man = manPageExamples(join(repo, 'docs', 'cifs-upcall.8'));

  it('finds the examples', () => {
    expect(readme.length).toBeGreaterThan(0);
    expect(man.length).toBeGreaterThan(0);
  });

  for (const [source, blocks] of [
    ['README.md', readme],
    ['docs/cifs-upcall.8', man],
  ] as const) {
    blocks.forEach((b, n) => {
      it(`${source} example ${n + 1} (line ${b.line}) is ${asRoot ? 'valid' : 'refused for its owner (not run as root)'}`, () => {
        const r = check(`${source.replace(/\W/g, '_')}-${n}.conf`, b.text);
        if (asRoot) {
          expect(r.err, `${source}:${b.line}`).toBe('');
          expect(r.status).toBe(ExitCode.OK);
          expect(r.out).toMatch(/: valid; \[global\] \(line 1/);
        } else {
          expect(r.status).toBe(ExitCode.CONFIG);
          expect(r.err).toContain('not root: refusing it');
        }
      });
    });
  }
});

describe.runIf(asRoot)('--check-config on broken files (as root, as an upcall reads them)', () => {
  it('names the file and the line of every problem, and exits 11', () => {
    const r = check(
      'broken.conf',
      [
        '# a broken configuration', // 1
        '[global]   # comment after a header', // 2
        'strategy = sometimes', // 3
        'timeout = 30 # after a blank: a comment', // 4
        'timeout = 31', // 5
        'kdc_timeout = 1#not-a-comment', // 6
        '[server]', // 7
        'no equals sign here', // 8
        '[servers *.x]', // 9
        'negative_timeout = 2.5', // 10
        'trace_level = some', // 11
        'stratgy = compat', // 12
        '',
      ].join('\n'),
    );
    expect(r.status).toBe(ExitCode.CONFIG);
    const lines = r.err.trimEnd().split('\n');
    expect(lines).toEqual([
      `${r.path}:3: strategy: expected one of compat, local-first, local-only, proxy-first, proxy-only, got "sometimes"`,
      `${r.path}:5: "timeout" is already set on line 4 of this section`,
      `${r.path}:6: kdc_timeout: expected a number of seconds, got "1#not-a-comment"`,
      `${r.path}:7: [server] needs a pattern`,
      `${r.path}:8: expected "key = value", got "no equals sign here"`,
      expect.stringMatching(new RegExp(`^${r.path}:9: bad section header \\[servers \\*\\.x\\]`)),
      `${r.path}:10: negative_timeout: expected a whole number of seconds from 0 to 86400, got "2.5"`,
      `${r.path}:11: trace_level: expected one of all, failures, got "some"`,
      expect.stringMatching(new RegExp(`^${r.path}:12: unknown setting "stratgy"`)),
      `${r.path}: 9 problems; an upcall would fail with exit status 11`,
    ]);
    expect(r.out).toBe('');
  });

  it('lines after a bad header are still checked, but belong to no section', () => {
    const r = check('after-bad-header.conf', '[global]\ntimeout = 3\n[servers x]\ntimeout = 4\nstrategy = never\n');
    expect(r.err.trimEnd().split('\n')).toEqual([
      expect.stringMatching(/after-bad-header\.conf:3: bad section header \[servers x\]/),
      expect.stringMatching(/after-bad-header\.conf:5: strategy: expected one of/),
      expect.stringMatching(/after-bad-header\.conf: 2 problems/),
    ]);
  });

  it('a setting before any section and a comment glued to a header', () => {
    const r = check('glued.conf', 'strategy = compat\n[global]# glued\n');
    expect(r.err).toContain(`${r.path}:1: setting "strategy" outside a section`);
    expect(r.err).toContain(`${r.path}:2: bad section header [global]# glued`);
  });

  it('refuses a file writable by others and a missing file, naming the file', () => {
    expect(check('loose.conf', '[global]\n', 0o666).err).toMatch(/loose\.conf: writable by group or others: refusing it/);
    let err = '';
    expect(
      runCheckConfig(
        join(scratch, 'absent.conf'),
        () => {},
        (t) => {
          err += t;
        },
      ),
    ).toBe(ExitCode.CONFIG);
    expect(err).toContain('absent.conf: cannot open it: no such file');
  });

  it('an empty file is valid (built-in defaults), and the default path is /etc/cifs-upcall.conf', () => {
    expect(check('empty.conf', '# nothing\n').out).toMatch(/valid; no sections \(built-in defaults\)/);
    expect(parseCommandLine(['--check-config'])).toEqual({ mode: 'check-config', configPath: '/etc/cifs-upcall.conf' });
  });
});
