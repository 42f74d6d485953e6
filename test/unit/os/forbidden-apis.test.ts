// The namespace rule, checked rather than hoped for (docs/ARCHITECTURE.md "Rules the structure
// enforces"; CVE-2026-12505). After the pipeline enters the caller's namespaces only the MAIN
// thread is there, and it may be running as root; so nothing under src/ may
//  * use async fs (the libuv pool may still be in the host's mount namespace), fs.promises, streams;
//  * resolve names through getaddrinfo/NSS: dns.lookup, dns.Resolver, the whole node:dns module;
//  * look up users through NSS: os.userInfo(), os.homedir(), process.initgroups/setuid/setgid…;
//  * start processes or threads: child_process, worker_threads, cluster;
//  * load code late: dynamic import() outside src/cli (which imports before the pipeline runs),
//    require()/createRequire outside src/os/native.ts (the addon, loaded before any switch).
// And only a few modules may import node:fs at all; everything else reads caller files through
// src/os/caller-fs.ts (synchronous, refuses before the privilege drop).
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** Modules that may import node:fs directly (still Sync only). */
const FS_IMPORT_ALLOWED = [
  /^src\/os\//, // the addon loader, /proc readers, caller-fs itself, syslog's stderr mirror
  /^src\/cli\//, // output files opened before the pipeline runs; --version reads package.json
  /^src\/pipeline\/config\.ts$/, // root's /etc/cifs-upcall.conf, read before any namespace switch
  /^src\/install\//, // the installer: an admin tool, never part of an upcall
];
/**
 * Modules written before src/os/caller-fs.ts existed that still import node:fs directly (Sync
 * calls only, so the thread rule holds): each must move to caller-fs (which also refuses reads
 * before the privilege drop). A ratchet: the test fails when a module not listed here imports
 * node:fs, and when a listed one no longer does (then delete it from the list).
 */
const PENDING_CALLER_FS_MIGRATION = [
  'src/krb5/ccache/dir.ts',
  'src/krb5/ccache/file.ts',
  'src/krb5/ccache/safe-file.ts',
  'src/krb5/config/profile.ts',
  'src/net/dns/hosts-file.ts',
  'src/net/dns/resolv-conf.ts',
];
const DYNAMIC_IMPORT_ALLOWED = [/^src\/cli\//];
/**
 * Admin commands that start processes, never part of an upcall: --train-code-cache runs the
 * upcall paths against a made-up caller (a `sleep` whose environment names the cache); its module
 * is evaluated only for that command (test/integration/code-cache.test.ts checks that an ordinary
 * start does not load child_process).
 */
const PROCESS_START_ALLOWED = [/^src\/cli\/code-cache\.ts$/];
const REQUIRE_ALLOWED = [/^src\/os\/native\.ts$/];

/** Blank out comments and string contents, keeping line structure (so `// dns.lookup` is fine). */
// biome-ignore lint/suspicious/noExportsInTest: checked by its own cases below
export function stripCommentsAndStrings(source: string): string {
  let out = '';
  let i = 0;
  const braceStack: number[] = [];
  let depth = 0;
  while (i < source.length) {
    const c = source[i] as string;
    const next = source[i + 1];
    if (c === '/' && next === '/') {
      while (i < source.length && source[i] !== '\n') i++;
      continue;
    }
    if (c === '/' && next === '*') {
      const end = source.indexOf('*/', i + 2);
      const stop = end < 0 ? source.length : end + 2;
      out += source.slice(i, stop).replace(/[^\n]/g, ' ');
      i = stop;
      continue;
    }
    if (c === "'" || c === '"') {
      out += c;
      i++;
      while (i < source.length && source[i] !== c && source[i] !== '\n') {
        if (source[i] === '\\') i++;
        i++;
      }
      out += c;
      i++;
      continue;
    }
    if (c === '`' || (c === '}' && braceStack.length > 0 && braceStack[braceStack.length - 1] === depth)) {
      if (c === '}') braceStack.pop();
      out += '`';
      i++;
      while (i < source.length && source[i] !== '`') {
        if (source[i] === '\\') {
          i += 2;
          continue;
        }
        if (source[i] === '$' && source[i + 1] === '{') {
          braceStack.push(depth);
          i += 2;
          out += '${';
          break;
        }
        out += source[i] === '\n' ? '\n' : ' ';
        i++;
      }
      if (source[i] === '`') {
        out += '`';
        i++;
      }
      continue;
    }
    if (c === '{') depth++;
    if (c === '}') depth--;
    out += c;
    i++;
  }
  return out;
}

/** Keep the module specifiers of import/export-from statements (they are strings). */
function moduleSpecifiers(source: string): Array<{ clause: string; from: string }> {
  const found: Array<{ clause: string; from: string }> = [];
  const re = /(?:^|\n)\s*(?:import|export)\s+([^;'"]*?)\s+from\s+['"]([^'"]+)['"]/g;
  for (const m of source.matchAll(re)) found.push({ clause: m[1] as string, from: m[2] as string });
  for (const m of source.matchAll(/(?:^|\n)\s*import\s+['"]([^'"]+)['"]/g)) found.push({ clause: '', from: m[1] as string });
  return found;
}

const FORBIDDEN_MODULES = new Map<string, string>([
  ['fs/promises', 'async fs runs on the libuv pool (host namespaces)'],
  ['dns', 'getaddrinfo/NSS; use src/net/dns'],
  ['dns/promises', 'getaddrinfo/NSS; use src/net/dns'],
  ['child_process', 'no processes are started by an upcall'],
  ['worker_threads', "other threads are not in the caller's namespaces"],
  ['cluster', 'no processes are started by an upcall'],
]);
const FS_ALLOWED_NAMES = new Set(['constants', 'Stats', 'Dirent', 'BigIntStats', 'StatsBase', 'PathLike', 'Mode']);

// biome-ignore lint/suspicious/noExportsInTest: checked by its own cases below
export function violations(path: string, original: string): string[] {
  const found: string[] = [];
  const source = stripCommentsAndStrings(original);
  const matches = (list: RegExp[]): boolean => list.some((r) => r.test(path));

  for (const { clause, from } of moduleSpecifiers(original)) {
    const name = from.replace(/^node:/, '');
    const why = FORBIDDEN_MODULES.get(name);
    if (why && !(name === 'child_process' && matches(PROCESS_START_ALLOWED))) found.push(`${path}: imports ${from} (${why})`);
    if (name === 'fs') {
      if (/^type\s/.test(clause)) continue; // erased at compile time
      if (!matches(FS_IMPORT_ALLOWED) && !PENDING_CALLER_FS_MIGRATION.includes(path)) {
        found.push(`${path}: imports node:fs; read caller files through src/os/caller-fs.ts`);
      }
      const named = /\{([^}]*)\}/.exec(clause);
      for (const raw of named ? (named[1] as string).split(',') : []) {
        const spec = raw.trim();
        if (spec === '' || spec.startsWith('type ')) continue;
        const imported = spec.split(/\s+as\s+/)[0] as string;
        if (!imported.endsWith('Sync') && !FS_ALLOWED_NAMES.has(imported)) {
          found.push(`${path}: imports fs.${imported} (only *Sync functions: the libuv pool may be in the host namespace)`);
        }
      }
      const ns = /(?:\*\s+as\s+|^)([A-Za-z_$][\w$]*)/.exec(
        clause
          .replace(/\{[^}]*\}/, '')
          .replace(/,/g, ' ')
          .trim(),
      );
      if (ns && ns[1] && ns[1] !== 'type') {
        for (const use of source.matchAll(new RegExp(`\\b${ns[1]}\\.([A-Za-z_$][\\w$]*)`, 'g'))) {
          const member = use[1] as string;
          if (!member.endsWith('Sync') && !FS_ALLOWED_NAMES.has(member)) found.push(`${path}: uses ${ns[1]}.${member} (only *Sync)`);
        }
      }
    }
    if (name === 'os' && /\b(userInfo|homedir)\b/.test(clause)) found.push(`${path}: imports os.userInfo/homedir (NSS)`);
  }
  for (const m of source.matchAll(/\b(?:os|fs)\s*\.\s*(userInfo|homedir|promises)\b/g)) {
    found.push(`${path}: uses ${m[0].replace(/\s/g, '')}`);
  }
  for (const m of source.matchAll(/\bdns\s*\.\s*(lookup|lookupService|Resolver|promises)\b/g)) {
    found.push(`${path}: uses dns.${m[1]} (getaddrinfo/NSS)`);
  }
  for (const m of source.matchAll(/\bprocess\s*\.\s*(setuid|setgid|seteuid|setegid|setgroups|initgroups)\b/g)) {
    found.push(`${path}: uses process.${m[1]} (names go through NSS; use src/os/privileges.ts)`);
  }
  if (/(?<!typeof\s*)\bimport\s*\(/.test(source) && !matches(DYNAMIC_IMPORT_ALLOWED)) {
    found.push(`${path}: dynamic import() (code must be loaded before the namespace switch; import in src/cli or an UpcallPreparer)`);
  }
  if (/\b(require|createRequire)\s*\(/.test(source) && !matches(REQUIRE_ALLOWED)) {
    found.push(`${path}: require()/createRequire (only the addon loader may)`);
  }
  return found;
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sourceFiles(full));
    else if (entry.name.endsWith('.ts')) out.push(full);
  }
  return out;
}

describe('forbidden APIs under src/ (namespace rule)', () => {
  it('the checker catches each forbidden form', () => {
    const cases: Array<[string, string]> = [
      ['src/krb5/ccache/kcm.ts', "import { readFileSync } from 'node:fs';"],
      ['src/os/x.ts', "import { readFile } from 'node:fs';"],
      ['src/os/x.ts', "import { promises } from 'node:fs';"],
      ['src/os/x.ts', "import * as fs from 'node:fs';\nfs.readFile('/x', () => {});"],
      ['src/os/x.ts', "import fs from 'fs';\nconst s = fs.createReadStream('/x');"],
      ['src/cli/x.ts', "import { readFile } from 'node:fs/promises';"],
      ['src/net/x.ts', "import { lookup } from 'node:dns';"],
      ['src/net/x.ts', "import dns from 'dns';\ndns.lookup('h', () => {});"],
      ['src/krb5/x.ts', 'const u = os.userInfo();'],
      ['src/krb5/x.ts', "import { homedir } from 'node:os';"],
      ['src/gssproxy/x.ts', "import { spawn } from 'node:child_process';"],
      ['src/gssproxy/x.ts', "import { Worker } from 'node:worker_threads';"],
      ['src/pipeline/x.ts', "const m = await import('./late.ts');"],
      ['src/krb5/x.ts', 'const r = createRequire(import.meta.url);'],
      ['src/pipeline/x.ts', 'process.setuid(1000);'],
    ];
    for (const [path, code] of cases) expect(violations(path, code), code).not.toEqual([]);
    // and stays quiet about what is allowed
    expect(
      violations(
        'src/os/x.ts',
        "import { readFileSync, constants, type Stats } from 'node:fs';\n// dns.lookup is banned\nconst s = 'os.userInfo()';",
      ),
    ).toEqual([]);
    expect(violations('src/cli/x.ts', "const m = await import('./sources.ts');")).toEqual([]);
    expect(violations('src/krb5/x.ts', "import type { Stats } from 'node:fs';\ntype T = typeof import('./y.ts');")).toEqual([]);
  });

  it('no module under src/ breaks the rule', () => {
    const problems = sourceFiles(join(root, 'src')).flatMap((file) => violations(relative(root, file), readFileSync(file, 'utf8')));
    expect(problems).toEqual([]);
  });

  it('the modules pending migration to caller-fs still exist and still need it (the list only shrinks)', () => {
    const stale = PENDING_CALLER_FS_MIGRATION.filter((path) => {
      let text: string;
      try {
        text = readFileSync(join(root, path), 'utf8');
      } catch {
        return true;
      }
      return !moduleSpecifiers(text).some((m) => m.from.replace(/^node:/, '') === 'fs' && !/^type\s/.test(m.clause));
    });
    expect(stale).toEqual([]);
  });
});
