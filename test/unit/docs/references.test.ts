// Every document the code, tests, scripts and docs cite must be in this repository: a reference
// to a `*.md` file has to name a file that exists (relative to the citing file or to the
// repository root), and a `#anchor` after it has to match a heading of that file (GitHub's
// slugs). Also refused: paths into the research notes kept outside the repository (a `shared`
// directory that is not ours) and "issue N" mentions, which mean nothing to a reader of the
// repository. The documents themselves are listed in README.md's design section.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const self = relative(root, fileURLToPath(import.meta.url));

const SCANNED_DIRS = ['src', 'test', 'scripts', 'docs', 'native', 'bin'];
const SCANNED_FILES = ['README.md', 'SECURITY.md'];
const SKIPPED_DIRS = new Set(['node_modules', 'build', 'dist', '.git']);
const TEXT_FILE = /\.(ts|mts|cts|js|mjs|cjs|md|sh|py|c|h|cc|gyp|8|conf|txt|json)$/;

/** "issue N" texts that may stay (none: every mention says what the thing is instead). */
const ISSUE_MENTION_ALLOWED: { file: string; text: string }[] = [];

function listFiles(): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
      const rel = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (!SKIPPED_DIRS.has(entry.name)) walk(rel);
      } else if (entry.isFile() && TEXT_FILE.test(entry.name)) {
        out.push(rel.split(sep).join('/'));
      }
    }
  };
  for (const dir of SCANNED_DIRS) if (existsSync(join(root, dir))) walk(dir);
  for (const file of SCANNED_FILES) if (existsSync(join(root, file))) out.push(file);
  return out.filter((f) => f !== self).sort();
}

/** GitHub's heading anchor: lower case, punctuation other than `-` and `_` dropped, spaces to `-`. */
// biome-ignore lint/suspicious/noExportsInTest: the self-tests below import it
export function slug(heading: string): string {
  return heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/<[^>]+>/g, '')
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-');
}

const anchorCache = new Map<string, Set<string>>();
function anchorsOf(file: string): Set<string> {
  let anchors = anchorCache.get(file);
  if (anchors) return anchors;
  anchors = new Set();
  const seen = new Map<string, number>();
  let fence: string | undefined;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const f = /^\s*(```|~~~)/.exec(line);
    if (f) {
      if (fence === undefined) fence = f[1];
      else if (fence === f[1]) fence = undefined;
      continue;
    }
    if (fence !== undefined) continue;
    const h = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!h) continue;
    const base = slug(h[1]!);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.add(n === 0 ? base : `${base}-${n}`);
  }
  for (const m of readFileSync(file, 'utf8').matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) anchors.add(m[1]!);
  anchorCache.set(file, anchors);
  return anchors;
}

function inRepo(path: string): boolean {
  const rel = relative(root, path);
  return rel !== '' && !rel.startsWith('..') && !rel.startsWith(sep);
}

/** The file a reference names, or undefined: relative to the citing file, then to the root. */
function resolveRef(from: string, ref: string): string | undefined {
  const candidates = [resolve(root, dirname(from), ref)];
  if (!ref.startsWith('.')) candidates.push(resolve(root, ref));
  return candidates.find((c) => inRepo(c) && existsSync(c) && statSync(c).isFile());
}

// A path ending in .md, not preceded by a character that could belong to a longer path or a URL.
const MD_REF = /(?<![\w./:@-])((?:\.{1,2}\/)*[\w-][\w./-]*\.md)(?:#([\w-]+))?/g;
// Further anchors of the same file: "docs/x.md#a, #b and #c".
const MORE_ANCHORS = /^(?:(?:,\s*|\s+and\s+|\s+or\s+)#([\w-]+))+/;
const LOCAL_LINK = /\]\(#([\w-]+)\)/g;
const SHARED = /(?:\.\.\/)+shared(?:\/[\w./-]*)?|\/work\/shared\b|\bshared\/spec\b/g;
const ISSUE = /\bissues?\s+#?\d+/gi;

interface Finding {
  where: string;
  what: string;
}

function scan(file: string): Finding[] {
  const findings: Finding[] = [];
  let text = readFileSync(join(root, file), 'utf8');
  if (file === 'docs/performance.md') {
    // The generated benchmark block is rewritten by `npm run bench`; only the prose is ours.
    text = text.replace(/<!-- bench:begin[\s\S]*?<!-- bench:end -->/, (block) => block.replace(/[^\n]/g, ' '));
  }
  const lines = text.split('\n');
  lines.forEach((line, i) => {
    const where = `${file}:${i + 1}`;
    for (const m of line.matchAll(MD_REF)) {
      const ref = m[1]!;
      if (ref.includes('node_modules/')) continue;
      const after = line.slice(m.index! + m[0].length);
      if (after.startsWith('](')) continue; // a link's text; its target is checked
      // a file name in code, e.g. join(root, 'docs', 'performance.md'): the path is the whole call
      if (!ref.includes('/') && /['"`]$/.test(line.slice(0, m.index!)) && /^['"`]/.test(after) && /join\(/.test(line)) continue;
      const target = resolveRef(file, ref);
      if (!target) {
        findings.push({ where, what: `${ref}: no such file in the repository` });
        continue;
      }
      const more = MORE_ANCHORS.exec(after)?.[0] ?? '';
      const anchors = [m[2], ...[...more.matchAll(/#([\w-]+)/g)].map((a) => a[1])];
      for (const anchor of anchors) {
        if (anchor !== undefined && !anchorsOf(target).has(anchor)) {
          findings.push({ where, what: `${ref}#${anchor}: no such heading in ${relative(root, target)}` });
        }
      }
    }
    if (file.endsWith('.md')) {
      for (const m of line.matchAll(LOCAL_LINK)) {
        if (!anchorsOf(join(root, file)).has(m[1]!)) findings.push({ where, what: `#${m[1]}: no such heading here` });
      }
    }
    for (const m of line.matchAll(SHARED)) {
      const path = m[0];
      const target = resolve(root, dirname(file), path);
      // test/kernel/{host,guest} import ../shared/*.ts, a directory of this repository
      const fine = path.startsWith('..') && inRepo(target) && existsSync(target) && !/spec/.test(path);
      if (!fine) findings.push({ where, what: `${path}: points outside the repository` });
    }
    for (const m of line.matchAll(ISSUE)) {
      if (ISSUE_MENTION_ALLOWED.some((a) => a.file === file && line.includes(a.text))) continue;
      findings.push({ where, what: `"${m[0]}": say what the thing is instead of an issue number` });
    }
  });
  return findings;
}

describe('references to documents', () => {
  const files = listFiles();

  it('scans the source, tests, scripts and docs', () => {
    expect(files).toContain('README.md');
    expect(files.some((f) => f.startsWith('src/'))).toBe(true);
    expect(files.some((f) => f.startsWith('docs/'))).toBe(true);
  });

  it('name files and headings that exist in this repository, nothing outside it, no issue numbers', () => {
    const findings = files.flatMap(scan).map((f) => `${f.where}: ${f.what}`);
    expect(findings).toEqual([]);
  });

  it('the checker itself catches what it should', () => {
    expect(slug('ccache file format')).toBe('ccache-file-format');
    expect(slug('[domain_realm] mapping')).toBe('domain_realm-mapping');
    expect(slug('Forged requests (CIFSwitch, CVE-2026-46243)')).toBe('forged-requests-cifswitch-cve-2026-46243');
    expect(slug("4. The DC's own file service")).toBe('4-the-dcs-own-file-service');
    expect(resolveRef('src/x.ts', 'docs/kerberos.md')).toBeDefined();
    expect(resolveRef('src/x.ts', 'kerberos.md')).toBeUndefined();
    expect(anchorsOf(join(root, 'docs/kerberos.md')).has('ccache-file-format')).toBe(true);
    const sample = ['see ../../shared/spec/x.md', 'and /work/shared/notes', 'issue 12'];
    expect(sample.flatMap((l) => [...l.matchAll(SHARED), ...l.matchAll(ISSUE)]).length).toBe(3);
  });
});
