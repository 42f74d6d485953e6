// No arrow points back up (docs/ARCHITECTURE.md): the codecs are layered
//   src/spnego ─▶ src/krb5/gss ─▶ src/der      src/krb5 ─▶ src/der
// so nothing under src/krb5 imports src/spnego, src/der imports neither src/krb5 nor src/spnego,
// and nothing under src/ imports test code. Every import of every module under src/ is read with
// TypeScript's own pre-processor (static, `import type`, `export … from`, dynamic `import()`).
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, posix, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** [importing module, forbidden import target, why], paths relative to the repository root. */
const FORBIDDEN: Array<[RegExp, RegExp, string]> = [
  [/^src\/krb5\//, /^src\/spnego\//, 'src/krb5 is below src/spnego'],
  [/^src\/der\//, /^src\/(krb5|spnego)\//, 'src/der is the bottom codec'],
  [/^src\//, /^(?!src\/)/, 'src/ ships: it imports nothing outside src/ but packages'],
];

function sources(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((e) => {
    const p = `${dir}/${e.name}`;
    if (e.isDirectory()) return sources(p);
    return /\.(ts|mts)$/.test(e.name) ? [p] : [];
  });
}

/** The repository paths a module imports (relative specifiers only; packages and node: are skipped). */
function importsOf(file: string, text: string): string[] {
  return ts
    .preProcessFile(text, true, true)
    .importedFiles.map((f) => f.fileName)
    .filter((s) => s.startsWith('.'))
    .map((s) => posix.normalize(posix.join(posix.dirname(file), s)));
}

function violations(graph: Array<[string, string[]]>): string[] {
  const out: string[] = [];
  for (const [file, targets] of graph) {
    for (const t of targets) {
      for (const [from, to, why] of FORBIDDEN) if (from.test(file) && to.test(t)) out.push(`${file} imports ${t} (${why})`);
    }
  }
  return out;
}

const graph: Array<[string, string[]]> = sources('src').map((f) => [f, importsOf(f, readFileSync(join(root, f), 'utf8'))]);

describe('layering of src/', () => {
  it('reads the imports it checks (the known downward arrows are seen)', () => {
    const edges = new Set(graph.flatMap(([f, targets]) => targets.map((t) => `${f} -> ${t}`)));
    expect(edges).toContain('src/spnego/spnego.ts -> src/krb5/gss/gss-token.ts');
    expect(edges).toContain('src/krb5/client/ap-req.ts -> src/krb5/gss/gss-checksum.ts');
    expect(edges).toContain('src/krb5/gss/gss-token.ts -> src/der/encode.ts');
    expect(edges).toContain('src/krb5/messages/ticket.ts -> src/der/decode.ts');
  });

  it('no arrow points back up: src/krb5 ↛ src/spnego, src/der ↛ src/krb5 | src/spnego, src/ ↛ test/', () => {
    expect(violations(graph)).toEqual([]);
  });

  it('the check fails on each kind of upward arrow', () => {
    const bad = violations([
      ['src/krb5/client/ap-req.ts', importsOf('src/krb5/client/ap-req.ts', "import { x } from '../../spnego/spnego.ts';")],
      ['src/krb5/gss/oids.ts', importsOf('src/krb5/gss/oids.ts', "export * from '../../spnego/index.ts';")],
      ['src/der/decode.ts', importsOf('src/der/decode.ts', "import type { T } from '../krb5/messages/ticket.ts';")],
      ['src/der/encode.ts', importsOf('src/der/encode.ts', "const m = await import('../spnego/spnego.ts');")],
      ['src/kernel/key-description.ts', importsOf('src/kernel/key-description.ts', "import { r } from '../../test/reference/x.ts';")],
    ]);
    expect(bad).toHaveLength(5);
  });
});
