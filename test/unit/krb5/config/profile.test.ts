// MIT profile syntax (docs/kerberos.md#files-and-syntax). Every expectation marked "MIT 1.20.1" was captured
// on Debian 12 by asking libkrb5.so.3 itself (profile_init_path + profile_get_values /
// profile_flush_to_buffer through a throw-away C program) with the same input.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  isProfileFileName,
  krb5ConfigPaths,
  MAX_INCLUDE_DEPTH,
  Profile,
  ProfileIncludeError,
  ProfileSyntaxError,
  type ProfileSection,
} from '../../../../src/krb5/config/profile.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'profile-test-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

function load(text: string): Profile {
  return Profile.load([file('krb5.conf', text)]);
}

function values(p: Profile, ...path: string[]): string[] {
  return p.values(path).map((v) => v.value);
}

/** The error a load throws (fails the test when it does not throw). */
function loadError(text: string): Error {
  try {
    load(text);
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected the profile to be rejected');
}

describe('relations and values (MIT 1.20.1)', () => {
  it('trims the value, keeps inner blanks and "#" inside a value', () => {
    const p = load('[s]\nb =   val with # inner   \n');
    expect(values(p, 's', 'b')).toEqual(['val with # inner']);
  });

  it('keeps everything after the first "="', () => {
    expect(values(load('[s]\na=b=c\ne = ={}\n'), 's', 'a')).toEqual(['b=c']);
    expect(values(load('[s]\ne = ={}\n'), 's', 'e')).toEqual(['={}']);
  });

  it('a value that starts with "#" or ";" is a value, not a comment', () => {
    expect(values(load('[s]\na = #x\n'), 's', 'a')).toEqual(['#x']);
    expect(values(load('[s]\na = ;x\n'), 's', 'a')).toEqual([';x']);
  });

  it('quoted values: \\n \\t \\b escapes, \\X → X, text after the closing quote ignored', () => {
    const p = load('[s]\na = "q\\"uo\\tted\\n\\x\\\\y\\b" trailing\n');
    expect(values(p, 's', 'a')).toEqual(['q"uo\tted\nx\\y\b']);
  });

  it('an unterminated quote runs to the end of the line; a final backslash is kept', () => {
    expect(values(load('[s]\nb = "unterminated \\" x\n'), 's', 'b')).toEqual(['unterminated " x']);
    expect(values(load('[s]\nc = "ends with backslash\\\n'), 's', 'c')).toEqual(['ends with backslash\\']);
    expect(values(load('[s]\nd = ""\n'), 's', 'd')).toEqual(['']);
  });

  it('a quote that does not start the value is literal', () => {
    expect(values(load('[s]\ne =  x  "y" \n'), 's', 'e')).toEqual(['x  "y"']);
  });

  it('repeated tags keep every value in order', () => {
    expect(values(load('[s]\nk = 1\nk = 2\nother = x\nk = 3\n'), 's', 'k')).toEqual(['1', '2', '3']);
  });

  it('comments: "#" or ";" as first non-blank, blank lines', () => {
    const p = load('# top\n[s]\n  # c\n  ; c\n\n\ta = 1\n;x = 2\n');
    expect(values(p, 's', 'a')).toEqual(['1']);
    expect(p.relationNames(['s'])).toEqual(['a']);
  });

  it('CRLF line ends are stripped', () => {
    expect(values(load('[s]\r\na = 1\r\n'), 's', 'a')).toEqual(['1']);
  });

  it('a "*" in a relation tag is dropped and does not make the relation final (1.20)', () => {
    const p = load('[s]\nc* = fin\na*b = 1\n* = 2\n');
    expect(values(p, 's', 'c')).toEqual(['fin']);
    expect(values(p, 's', 'a')).toEqual(['1']);
    expect(values(p, 's', '')).toEqual(['2']);
  });
});

describe('sections', () => {
  it('ignores text before the first "[" in column 0, even an indented header', () => {
    const p = load('junk before\nfoo = bar\n  [notasection]\nx = 1\n[s]\na = 1\n');
    expect(p.subsectionNames([])).toEqual(['s']);
    expect(values(p, 'notasection', 'x')).toEqual([]);
  });

  it('a byte-order mark hides the first section header (MIT reads it as text before a section)', () => {
    expect(load('\ufeff[s]\na=1\n').subsectionNames([])).toEqual([]);
  });

  it('repeated section headers merge; blanks after "]" and "]*" are allowed', () => {
    const p = load('[s]\n[s]\n[t]\nb=1\n[s]  \na=1\n[u]* \nx=1\n');
    expect(values(p, 's', 'a')).toEqual(['1']);
    expect(values(p, 't', 'b')).toEqual(['1']);
    expect(p.files[0]!.root.children.find((c) => c.name === 'u')).toMatchObject({ final: true });
  });

  it('accepts an empty section name "[]" and blanks inside the name', () => {
    expect(load('[]\nx = 1\n').subsectionNames([])).toEqual(['']);
    expect(values(load('[ s2 ]\nx = 1\n'), ' s2 ', 'x')).toEqual(['1']);
  });

  it.each([
    ['[s] x\n', 1, /unexpected text after section header/],
    ['[s]*x\n', 1, /unexpected text after section header/],
    ['[s] *\n', 1, /unexpected text after section header/],
    ['[s\n', 1, /without "\]"/],
  ])('rejects the header %j with file:line', (text, line, reason) => {
    const err = loadError(text);
    expect(err).toBeInstanceOf(ProfileSyntaxError);
    expect(err.message).toMatch(new RegExp(`krb5\\.conf:${line}: `));
    expect(err.message).toMatch(reason);
  });
});

describe('subsections', () => {
  it('tag = { … } and tag = NEWLINE { with junk after "{" (MIT 1.20.1)', () => {
    const p = load('[s]\nsub2 = { \n y = 2\n} junk\nsub =\n  { junk\n x = 1\n }\n');
    expect(values(p, 's', 'sub2', 'y')).toEqual(['2']);
    expect(values(p, 's', 'sub', 'x')).toEqual(['1']);
  });

  it('"tag = {x" and "tag = { ;" are plain values', () => {
    expect(values(load('[s]\na = {x\n'), 's', 'a')).toEqual(['{x']);
    expect(values(load('[s]\na = { ;\n'), 's', 'a')).toEqual(['{ ;']);
  });

  it('nests, and merges repeated subsections of the same name', () => {
    const p = load('[s]\nsub = {\n  inner = {\n    deep = 1\n  }\n  z = 2\n}\nsub = {\n  inner = {\n  deep = 2\n }\n}\n');
    expect(values(p, 's', 'sub', 'inner', 'deep')).toEqual(['1', '2']);
    expect(values(p, 's', 'sub', 'z')).toEqual(['2']);
    expect(p.subsectionNames(['s'])).toEqual(['sub']);
  });

  it('a relation and a subsection may share a name', () => {
    const p = load('[s]\nx = 1\nx = {\n y = 2\n}\n');
    expect(values(p, 's', 'x')).toEqual(['1']);
    expect(values(p, 's', 'x', 'y')).toEqual(['2']);
  });

  it('"tag =" must be followed by a "{" line: a blank, comment or relation line is an error', () => {
    for (const text of ['[s]\na =\nb = 1\n', '[s]\na =\n\n{\nb = 1\n}\n', '[s]\na =\n# c\n{\nb = 1\n}\n']) {
      const err = loadError(text);
      expect(err).toBeInstanceOf(ProfileSyntaxError);
      expect(err.message).toMatch(/krb5\.conf:3: expected "\{" after "a =" on line 2/);
    }
  });

  it('"[" inside braces, "}" without "{" are errors with their line', () => {
    expect(loadError('[s]\na = {\n[t]\n').message).toMatch(/krb5\.conf:3: section header inside/);
    expect(loadError('[s]\n}\n').message).toMatch(/krb5\.conf:2: "\}" without a matching "\{"/);
    expect(loadError('[s]\na = 1\n}*\n').message).toMatch(/krb5\.conf:3:/);
  });

  it('an unclosed "{" or a dangling "tag =" at the end of the file are accepted with a warning', () => {
    const p = load('[s]\na = {\nb = 1\n');
    expect(values(p, 's', 'a', 'b')).toEqual(['1']);
    expect(p.warnings()).toEqual([expect.stringMatching(/krb5\.conf:2: "\{" not closed/)]);
    const q = load('[s]\nx = 1\nlast =\n');
    expect(q.relationNames(['s'])).toEqual(['x']);
    expect(q.warnings()).toEqual([expect.stringMatching(/krb5\.conf:3: "last =" at the end of the file without "\{"/)]);
  });
});

describe('relation syntax errors carry file:line (MIT: "Syntax error in profile relation")', () => {
  it.each([
    ['[s]\nnoequals\n', 2, /expected "tag = value"/],
    ['[s]\n= v\n', 2, /without a tag/],
    ['[s]\na b = 1\n', 2, /blank inside the tag/],
    ['[s]\n"sp ace" = 2\n', 2, /blank inside the tag/],
    ['[s]\na* b = 1\n', 2, /blank inside the tag/],
    ['[s]\n  include x\n', 2, /expected "tag = value"/],
    ['[s]\ninclude\n', 2, /expected "tag = value"/],
  ])('%j', (text, line, reason) => {
    const err = loadError(text);
    expect(err).toBeInstanceOf(ProfileSyntaxError);
    expect((err as ProfileSyntaxError).line).toBe(line);
    expect(err.message).toMatch(reason);
  });

  it('"module" before the first section is refused', () => {
    const err = loadError('module /x:y\n[s]\n');
    expect(err).toBeInstanceOf(ProfileSyntaxError);
    expect(err.message).toMatch(/krb5\.conf:1: "module"/);
  });
});

describe('final markers (MIT 1.20 semantics: only later files are suppressed)', () => {
  it('a final section/subsection stops the lookup after its file; the same file keeps adding', () => {
    // MIT 1.20.1: s a → [1] [2]; s c → [f1] [f1b] [f2]; s sub x → [1] [1b]; s sub y → not found;
    //             fin q → [1]; fin r → not found
    const f1 = file('f1.conf', '[s]\na = 1\nc* = f1\nsub = {\n x = 1\n}*\n[fin]*\nq = 1\n[s]\nsub = {\n x = 1b\n}\nc = f1b\n');
    const f2 = file('f2.conf', '[s]\na = 2\nc = f2\nsub = {\n x = 2\n y = 2\n}\n[fin]\nq = 2\nr = 2\n');
    const p = Profile.load([f1, f2]);
    expect(values(p, 's', 'a')).toEqual(['1', '2']);
    expect(values(p, 's', 'c')).toEqual(['f1', 'f1b', 'f2']);
    expect(values(p, 's', 'sub', 'x')).toEqual(['1', '1b']);
    expect(values(p, 's', 'sub', 'y')).toEqual([]);
    expect(values(p, 'fin', 'q')).toEqual(['1']);
    expect(values(p, 'fin', 'r')).toEqual([]);
  });

  it('"tag* = {" marks a subsection final; "} *" (with a blank) does not', () => {
    const f1 = file('f1.conf', '[s]\nsub* = {\nx = 1\n}\nother = {\nx = 1\n} *\n');
    const f2 = file('f2.conf', '[s]\nsub = {\nx = 2\n}\nother = {\nx = 2\n}\n');
    const p = Profile.load([f1, f2]);
    expect(values(p, 's', 'sub', 'x')).toEqual(['1']);
    expect(values(p, 's', 'other', 'x')).toEqual(['1', '2']);
  });

  it('a final section suppresses later files even when the first file lacks the relation', () => {
    const p = Profile.load([file('a.conf', '[libdefaults]*\nx = 1\n'), file('b.conf', '[libdefaults]\ndefault_realm = B\n')]);
    expect(p.value(['libdefaults', 'default_realm'])).toBeUndefined();
  });
});

describe('include and includedir', () => {
  it('include / includedir in column 0 (space or tab), files merged into the same tree', () => {
    mkdirSync(join(dir, 'inc.d'));
    writeFileSync(join(dir, 'inc.d', 'a.conf'), 'x = before\n[s]\nfromdir = a\n');
    writeFileSync(join(dir, 'inc.d', 'b_x-1'), '[s]\nfromdir = b_noext\n');
    writeFileSync(join(dir, 'inc.d', '.hidden.conf'), '[s]\nfromdir = dot\n');
    writeFileSync(join(dir, 'inc.d', 'c~'), '[s]\nfromdir = tilde\n');
    writeFileSync(join(dir, 'inc.d', 'C.conf'), '[s]\nfromdir = C\n');
    writeFileSync(join(dir, 'inc.d', 'd.conf.bak'), '[s]\nfromdir = conf.bak\n');
    mkdirSync(join(dir, 'inc.d', 'sub.conf'));
    file('inc1.conf', '[s]\nfrominc = 1\n');
    const p = load(`[s]\na = 1\ninclude ${dir}/inc1.conf\nincludedir\t${dir}/inc.d\nb = 2\n`);
    // MIT 1.20.1 order: C a b_noext (strcmp order of the accepted names)
    expect(values(p, 's', 'fromdir')).toEqual(['C', 'a', 'b_noext']);
    expect(values(p, 's', 'frominc')).toEqual(['1']);
    expect(values(p, 's', 'b')).toEqual(['2']);
  });

  it("MIT's file-name filter", () => {
    for (const ok of ['a.conf', 'krb5', 'b_x-1', 'C.conf', 'x.y.conf']) expect(isProfileFileName(ok)).toBe(true);
    for (const no of ['.hidden.conf', 'c~', 'd.conf.bak', 'a.b', 'x y', '.conf']) expect(isProfileFileName(no)).toBe(false);
  });

  it('an included file starts with a fresh state; the including subsection continues after it', () => {
    file('inc1.conf', 'ignored = 1\n[s]\nfrominc = 1\n');
    const p = load(`[s]\nsub = {\ninclude ${dir}/inc1.conf\nq = 1\n}\n`);
    expect(values(p, 's', 'frominc')).toEqual(['1']);
    expect(values(p, 's', 'sub', 'q')).toEqual(['1']);
    expect(values(p, 's', 'ignored')).toEqual([]);
  });

  it('is recognised before the first section; "includex" is not an include', () => {
    file('inc1.conf', '[s]\nfrominc = 1\n');
    expect(values(load(`include ${dir}/inc1.conf\n`), 's', 'frominc')).toEqual(['1']);
    expect(values(load(`includex ${dir}/inc1.conf\n[s]\n`), 's', 'frominc')).toEqual([]);
  });

  it('a missing file or directory is an error naming the including line', () => {
    const err = loadError(`[s]\ninclude ${dir}/missing.conf\n`);
    expect(err).toBeInstanceOf(ProfileIncludeError);
    expect(err.message).toMatch(/krb5\.conf:2: cannot read included file ".*missing\.conf": no such file or directory \(ENOENT\)/);
    const dirErr = loadError(`[s]\n\nincludedir ${dir}/nodir\n`);
    expect(dirErr).toBeInstanceOf(ProfileIncludeError);
    expect(dirErr.message).toMatch(/krb5\.conf:3: cannot read included directory/);
  });

  it('the path runs to the end of the line: a trailing blank is part of it (MIT fails too)', () => {
    file('inc1.conf', '[s]\nfrominc = 1\n');
    expect(loadError(`include ${dir}/inc1.conf \n`)).toBeInstanceOf(ProfileIncludeError);
  });

  it('the same file included twice side by side is not a loop', () => {
    file('inc1.conf', '[s]\nk = v\n');
    const p = load(`include ${dir}/inc1.conf\ninclude ${dir}/inc1.conf\n`);
    expect(values(p, 's', 'k')).toEqual(['v', 'v']);
  });

  it('detects include loops and names the chain', () => {
    const a = join(dir, 'a.conf');
    const b = join(dir, 'b.conf');
    writeFileSync(a, `[s]\nx = 1\ninclude ${b}\n`);
    writeFileSync(b, `[s]\n\ninclude ${a}\n`);
    let err: unknown;
    try {
      Profile.load([a]);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ProfileIncludeError);
    expect((err as Error).message).toBe(`${b}:3: include loop: ${a}:3 → ${b}:3 → ${a}`);
  });

  it('detects a file that includes itself', () => {
    const self = file('self.conf', '[s]\nloop = 1\n');
    writeFileSync(self, `[s]\nloop = 1\ninclude ${self}\n`);
    expect(() => Profile.load([self])).toThrow(/self\.conf:3: include loop: .*self\.conf:3 → .*self\.conf$/);
  });

  it(`refuses nesting deeper than ${MAX_INCLUDE_DEPTH}`, () => {
    const count = MAX_INCLUDE_DEPTH + 5;
    for (let i = 0; i < count; i++) writeFileSync(join(dir, `c${i}.conf`), `[s]\nd${i} = 1\ninclude ${join(dir, `c${i + 1}.conf`)}\n`);
    writeFileSync(join(dir, `c${count}.conf`), '[s]\nend = 1\n');
    expect(() => Profile.load([join(dir, 'c0.conf')])).toThrow(new RegExp(`nested more than ${MAX_INCLUDE_DEPTH} deep`));
    // within the limit it works (MIT has no limit at all)
    writeFileSync(join(dir, 'c10.conf'), '[s]\nend = 1\n');
    expect(values(Profile.load([join(dir, 'c0.conf')]), 's', 'end')).toEqual(['1']);
  });
});

describe('the file list', () => {
  it('-k replaces KRB5_CONFIG, which replaces /etc/krb5.conf; ":" separates, empty parts vanish', () => {
    expect(krb5ConfigPaths({ env: {} })).toEqual(['/etc/krb5.conf']);
    expect(krb5ConfigPaths({ env: { KRB5_CONFIG: '/a:/b::/c:' } })).toEqual(['/a', '/b', '/c']);
    expect(krb5ConfigPaths({ configFile: '/k.conf', env: { KRB5_CONFIG: '/a' } })).toEqual(['/k.conf']);
    expect(krb5ConfigPaths({ configFile: '/k1:/k2', env: {} })).toEqual(['/k1', '/k2']);
  });

  it('skips missing files, reads directories like includedir, and reports what it did', () => {
    mkdirSync(join(dir, 'conf.d'));
    writeFileSync(join(dir, 'conf.d', 'a.conf'), '[s]\nfromdir = a\n');
    writeFileSync(join(dir, 'conf.d', 'skip.bak'), '[s]\nfromdir = bak\n');
    const inc1 = file('inc1.conf', '[s]\nfrominc = 1\n');
    const p = Profile.load([join(dir, 'nope.conf'), join(dir, 'conf.d'), inc1]);
    expect(values(p, 's', 'fromdir')).toEqual(['a']);
    expect(values(p, 's', 'frominc')).toEqual(['1']);
    expect(p.report.map((r) => r.status)).toEqual(['missing', 'read', 'read']);
  });

  it('no readable file at all gives an empty profile', () => {
    const p = Profile.load([join(dir, 'nope.conf')]);
    expect(p.files).toEqual([]);
    expect(p.value(['libdefaults', 'default_realm'])).toBeUndefined();
  });

  it('a syntax error in a later file fails the whole load with that file:line', () => {
    const good = file('good.conf', '[s]\nx = 1\n');
    const bad = file('bad.conf', '[s]\nx = 2\n[t\n');
    expect(() => Profile.load([good, bad])).toThrow(`${bad}:3: section header without "]"`);
  });

  it('values concatenate over files in order; value() is the first; sources are exact', () => {
    const a = file('a.conf', '[realms]\nA = {\n kdc = a1\n}\n');
    const b = file('b.conf', '[realms]\nA = {\n kdc = a2\n}\nB = {\n kdc = b1\n}\n');
    const p = Profile.load([a, b]);
    expect(values(p, 'realms', 'A', 'kdc')).toEqual(['a1', 'a2']);
    expect(p.value(['realms', 'A', 'kdc'])).toEqual({ value: 'a1', source: { file: a, line: 3 } });
    expect(p.subsectionNames(['realms'])).toEqual(['A', 'B']);
  });
});

describe('Profile.fromText', () => {
  it('parses in-memory text with the same rules and names it in errors', () => {
    const p = Profile.fromText('[libdefaults]\n default_realm = X\n', 'inline');
    expect(p.value(['libdefaults', 'default_realm'])?.source).toEqual({ file: 'inline', line: 2 });
    expect(() => Profile.fromText('[s]\nbad\n', 'inline')).toThrow('inline:2:');
    const root: ProfileSection = p.files[0]!.root;
    expect(root.children.map((c) => c.name)).toEqual(['libdefaults']);
  });
});
