// MIT profile (krb5.conf) parser with MIT krb5 1.20 semantics (util/profile/prof_parse.c, prof_tree.c).
//
// Shape of the format, one logical line at a time (CR/LF stripped):
//   include PATH | includedir DIR   only in column 0; the file(s) are parsed with a fresh state
//                                   into the same tree; a missing file or directory is an error
//   module PATH:RESIDUAL            before the first section: configuration from a plugin (error)
//   [name]  or  [name]*             top-level section (`*` = final); text before the first `[`
//                                   in column 0 is ignored
//   tag = value                     relation; value is the rest of the line trimmed, or a
//                                   "quoted string" with \n \t \b \X escapes
//   tag = {   or   tag =  NEWLINE {  subsection (`tag* = {` marks it final), closed by `}` (`}*`
//                                   marks it final); subsections with the same name merge
//   # or ; as first non-blank       comment
// A `*` in a relation tag is dropped (1.20 parses it but only sections/subsections can be final).
// Lookups concatenate the values of every file in order; a section or subsection marked final
// on the lookup path stops the search after the file that marked it (later files are ignored).
import { readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Where a section or relation was written. */
export interface ProfileSource {
  file: string;
  line: number;
}

export interface ProfileRelation {
  kind: 'relation';
  name: string;
  value: string;
  source: ProfileSource;
}

export interface ProfileSection {
  kind: 'section';
  name: string;
  final: boolean;
  children: ProfileNode[];
  source: ProfileSource;
}

export type ProfileNode = ProfileRelation | ProfileSection;

/** One entry of the file list: its tree (includes merged in) and what the parser noticed. */
export interface ProfileFile {
  path: string;
  root: ProfileSection;
  /** Accepted-but-suspicious input (MIT accepts it silently), e.g. an unclosed `{` at the end. */
  warnings: string[];
}

/** A value found by a lookup, with where it was written. */
export interface ProfileValue {
  value: string;
  source: ProfileSource;
}

/** Base class of everything the profile loader throws; the message starts with `file:line:`. */
export class ProfileError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly reason: string,
  ) {
    super(line > 0 ? `${file}:${line}: ${reason}` : `${file}: ${reason}`);
    this.name = new.target.name;
  }
}

/** The text does not follow the profile syntax (MIT: PROF_SECTION_SYNTAX, PROF_RELATION_SYNTAX…). */
export class ProfileSyntaxError extends ProfileError {}

/** An `include`/`includedir` cannot be honoured: missing target, loop, or nesting too deep. */
export class ProfileIncludeError extends ProfileError {}

/** Nesting limit for include/includedir (MIT has none and runs out of file descriptors). */
export const MAX_INCLUDE_DEPTH = 32;

/** Default krb5.conf when neither `-k` nor KRB5_CONFIG names one (Debian's build). */
export const DEFAULT_KRB5_CONFIG = '/etc/krb5.conf';

/** MIT's line states: before the first section, normal lines, waiting for the `{` of `tag =`. */
type LineState = 'init-comment' | 'std-line' | 'get-open-brace';

interface ParseState {
  state: LineState;
  current: ProfileSection;
  /** the sections `{ … }` levels opened around `current`, with the line of their `{` */
  open: Array<{ parent: ProfileSection; line: number }>;
  /** the relation line that left us waiting for `{` */
  pendingTag: { name: string; final: boolean; line: number } | null;
}

interface IncludeFrame {
  file: string;
  line: number;
  real: string;
}

function isSpace(ch: string | undefined): boolean {
  return ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r' || ch === '\v' || ch === '\f';
}

function skipBlanks(s: string, i: number): number {
  while (i < s.length && isSpace(s[i])) i++;
  return i;
}

function newSection(name: string, source: ProfileSource): ProfileSection {
  return { kind: 'section', name, final: false, children: [], source };
}

/** MIT merges a subsection into an existing one of the same name at the same level. */
function findOrAddSection(parent: ProfileSection, name: string, source: ProfileSource): ProfileSection {
  for (const child of parent.children) {
    if (child.kind === 'section' && child.name === name) return child;
  }
  const section = newSection(name, source);
  parent.children.push(section);
  return section;
}

/** Quoted value: up to the next unescaped `"` (or end of line); `\n \t \b`, `\X` → X. */
function parseQuoted(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (ch === '"') break;
    if (ch === '\\' && i + 1 < s.length) {
      const next = s[++i];
      out += next === 'n' ? '\n' : next === 't' ? '\t' : next === 'b' ? '\b' : next;
      continue;
    }
    out += ch;
  }
  return out;
}

/** MIT's file-name filter for includedir and directories in the file list. */
export function isProfileFileName(name: string): boolean {
  if (name.startsWith('.')) return false;
  if (name.length >= 5 && name.endsWith('.conf')) return true;
  return /^[A-Za-z0-9_-]*$/.test(name);
}

function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** The files of a directory that MIT reads, in its (strcmp) order. */
function directoryProfileFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter(isProfileFileName)
    .sort(byteOrder)
    .map((name) => join(dir, name))
    .filter((path) => {
      try {
        return statSync(path).isFile();
      } catch {
        return false;
      }
    });
}

class Parser {
  constructor(
    private readonly root: ProfileSection,
    private readonly warnings: string[],
  ) {}

  parseFile(path: string, stack: IncludeFrame[], includedFrom?: { file: string; line: number }): void {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      if (includedFrom) {
        throw new ProfileIncludeError(
          includedFrom.file,
          includedFrom.line,
          `cannot read included file ${JSON.stringify(path)}: ${errnoText(err)}`,
        );
      }
      throw err;
    }
    this.parseText(text, path, stack);
  }

  /** Parse the text of one file with a fresh state (as MIT does for every included file). */
  parseText(text: string, path: string, stack: IncludeFrame[]): void {
    const real = safeRealpath(path);
    const frames = [...stack, { file: path, line: 0, real }];
    const state: ParseState = { state: 'init-comment', current: this.root, open: [], pendingTag: null };
    const lines = text.split('\n');
    // a final newline does not start another line
    if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
    for (let i = 0; i < lines.length; i++) {
      frames[frames.length - 1] = { file: path, line: i + 1, real };
      this.parseLine(stripLine(lines[i]!), path, i + 1, state, frames);
    }
    if (state.state === 'get-open-brace' && state.pendingTag) {
      this.warnings.push(`${path}:${state.pendingTag.line}: "${state.pendingTag.name} =" at the end of the file without "{" (ignored)`);
    }
    const unclosed = state.open[state.open.length - 1];
    if (unclosed) this.warnings.push(`${path}:${unclosed.line}: "{" not closed before the end of the file`);
  }

  private parseLine(line: string, file: string, lineNo: number, st: ParseState, frames: IncludeFrame[]): void {
    if (line.startsWith('include') && isSpace(line[7])) {
      this.include(line.slice(skipBlanks(line, 7)), file, lineNo, frames, false);
      return;
    }
    if (line.startsWith('includedir') && isSpace(line[10])) {
      this.include(line.slice(skipBlanks(line, 10)), file, lineNo, frames, true);
      return;
    }
    switch (st.state) {
      case 'init-comment':
        if (line.startsWith('module') && isSpace(line[6])) {
          throw new ProfileSyntaxError(file, lineNo, '"module" (configuration from a plugin) is not supported');
        }
        if (line[0] !== '[') return;
        st.state = 'std-line';
        this.parseStdLine(line, file, lineNo, st);
        return;
      case 'get-open-brace': {
        const i = skipBlanks(line, 0);
        const pending = st.pendingTag!;
        if (line[i] !== '{') {
          throw new ProfileSyntaxError(file, lineNo, `expected "{" after "${pending.name} =" on line ${pending.line}`);
        }
        this.openSubsection(pending.name, pending.final, { file, line: pending.line }, st);
        st.pendingTag = null;
        st.state = 'std-line';
        return;
      }
      case 'std-line':
        this.parseStdLine(line, file, lineNo, st);
    }
  }

  private openSubsection(name: string, final: boolean, source: ProfileSource, st: ParseState): void {
    const section = findOrAddSection(st.current, name, source);
    if (final) section.final = true;
    st.open.push({ parent: st.current, line: source.line });
    st.current = section;
  }

  private parseStdLine(line: string, file: string, lineNo: number, st: ParseState): void {
    if (line.length === 0 || line[0] === ';' || line[0] === '#') return;
    let i = skipBlanks(line, 0);
    const ch = line[i];
    if (ch === undefined || ch === '#' || ch === ';') return;
    if (ch === '[') {
      if (st.open.length > 0) {
        throw new ProfileSyntaxError(file, lineNo, 'section header inside a "{ … }" subsection (missing "}"?)');
      }
      const close = line.indexOf(']', i + 1);
      if (close < 0) throw new ProfileSyntaxError(file, lineNo, 'section header without "]"');
      const name = line.slice(i + 1, close);
      let rest = close + 1;
      let final = false;
      if (line[rest] === '*') {
        final = true;
        rest++;
      }
      rest = skipBlanks(line, rest);
      if (rest < line.length) {
        throw new ProfileSyntaxError(file, lineNo, `unexpected text after section header: ${JSON.stringify(line.slice(rest))}`);
      }
      const section = findOrAddSection(this.root, name, { file, line: lineNo });
      if (final) section.final = true;
      st.current = section;
      return;
    }
    if (ch === '}') {
      const level = st.open.pop();
      if (!level) throw new ProfileSyntaxError(file, lineNo, '"}" without a matching "{"');
      if (line[i + 1] === '*') st.current.final = true;
      st.current = level.parent;
      return;
    }
    const eq = line.indexOf('=', i);
    if (eq < 0) throw new ProfileSyntaxError(file, lineNo, `expected "tag = value": ${JSON.stringify(line.trim())}`);
    if (eq === i) throw new ProfileSyntaxError(file, lineNo, 'relation without a tag before "="');
    let tagEnd = i;
    while (tagEnd < eq && !isSpace(line[tagEnd])) tagEnd++;
    if (skipBlanks(line, tagEnd) < eq) {
      throw new ProfileSyntaxError(file, lineNo, `blank inside the tag ${JSON.stringify(line.slice(i, eq).trim())}`);
    }
    let tag = line.slice(i, tagEnd);
    let final = false;
    const star = tag.indexOf('*');
    if (star >= 0) {
      tag = tag.slice(0, star);
      final = true;
    }
    i = skipBlanks(line, eq + 1);
    const source = { file, line: lineNo };
    if (line[i] === '"') {
      st.current.children.push({ kind: 'relation', name: tag, value: parseQuoted(line.slice(i + 1)), source });
      return;
    }
    if (i >= line.length) {
      st.state = 'get-open-brace';
      st.pendingTag = { name: tag, final, line: lineNo };
      return;
    }
    if (line[i] === '{' && skipBlanks(line, i + 1) >= line.length) {
      this.openSubsection(tag, final, source, st);
      return;
    }
    let end = line.length;
    while (end > i && isSpace(line[end - 1])) end--;
    // 1.20 drops a `*` in a relation tag without making the relation final
    st.current.children.push({ kind: 'relation', name: tag, value: line.slice(i, end), source });
  }

  private include(target: string, file: string, lineNo: number, frames: IncludeFrame[], isDir: boolean): void {
    const here = { file, line: lineNo };
    if (frames.length > MAX_INCLUDE_DEPTH) {
      throw new ProfileIncludeError(file, lineNo, `includes nested more than ${MAX_INCLUDE_DEPTH} deep: ${chainText(frames)}`);
    }
    if (isDir) {
      let files: string[];
      try {
        if (!statSync(target).isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
        files = directoryProfileFiles(target);
      } catch (err) {
        throw new ProfileIncludeError(file, lineNo, `cannot read included directory ${JSON.stringify(target)}: ${errnoText(err)}`);
      }
      for (const path of files) this.includeFile(path, here, frames);
      return;
    }
    this.includeFile(target, here, frames);
  }

  private includeFile(path: string, here: ProfileSource, frames: IncludeFrame[]): void {
    const real = safeRealpath(path);
    const loopStart = frames.findIndex((f) => f.real === real);
    if (loopStart >= 0) {
      const chain = chainText(frames.slice(loopStart));
      throw new ProfileIncludeError(here.file, here.line, `include loop: ${chain} → ${path}`);
    }
    this.parseFile(path, frames, here);
  }
}

function chainText(frames: IncludeFrame[]): string {
  return frames.map((f) => `${f.file}:${f.line}`).join(' → ');
}

function stripLine(line: string): string {
  let end = line.length;
  while (end > 0 && (line[end - 1] === '\r' || line[end - 1] === '\n')) end--;
  return line.slice(0, end);
}

function safeRealpath(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

function errnoText(err: unknown): string {
  if (err && typeof err === 'object' && 'code' in err && typeof err.code === 'string') {
    const message = 'message' in err && typeof err.message === 'string' ? err.message : '';
    // "ENOENT: no such file or directory, open '/x'" → "no such file or directory (ENOENT)"
    const plain = message.replace(/^E[A-Z]+: /, '').replace(/, \w+ '.*'$/, '');
    return `${plain || 'error'} (${err.code})`;
  }
  return err instanceof Error ? err.message : String(err);
}

/**
 * Parse one file of the list (a regular file, or a directory read like `includedir`).
 * Throws ProfileError subclasses for syntax and include errors, and the fs error when `path`
 * itself cannot be read.
 */
export function parseProfileFile(path: string): ProfileFile {
  const root = newSection('', { file: path, line: 0 });
  const warnings: string[] = [];
  const parser = new Parser(root, warnings);
  if (statSync(path).isDirectory()) {
    for (const file of directoryProfileFiles(path)) parser.parseFile(file, [], undefined);
  } else {
    parser.parseFile(path, []);
  }
  return { path, root, warnings };
}

/** The file list: `-k` value, else KRB5_CONFIG, else /etc/krb5.conf; both split on `:`. */
export function krb5ConfigPaths(options: { configFile?: string; env?: { KRB5_CONFIG?: string } } = {}): string[] {
  const env = options.env ?? process.env;
  const list = options.configFile ?? env.KRB5_CONFIG ?? DEFAULT_KRB5_CONFIG;
  return list.split(':').filter((p) => p !== '');
}

/** How a file of the list was handled (for the trace). */
export interface ProfileLoadReport {
  path: string;
  status: 'read' | 'missing' | 'unreadable';
  detail?: string;
}

/**
 * The merged view of krb5.conf: one tree per file of the list, looked up in order.
 * Immutable once loaded.
 */
export class Profile {
  constructor(
    readonly files: readonly ProfileFile[],
    readonly report: readonly ProfileLoadReport[] = [],
  ) {}

  /** Load the files of a list; missing or unreadable files are skipped (MIT). */
  static load(paths: readonly string[]): Profile {
    const files: ProfileFile[] = [];
    const report: ProfileLoadReport[] = [];
    for (const path of paths) {
      try {
        files.push(parseProfileFile(path));
        report.push({ path, status: 'read' });
      } catch (err) {
        const code = err && typeof err === 'object' && 'code' in err ? String(err.code) : '';
        if (err instanceof ProfileError) throw err;
        if (code === 'ENOENT' || code === 'ENOTDIR') {
          report.push({ path, status: 'missing' });
        } else if (code === 'EACCES' || code === 'EPERM') {
          report.push({ path, status: 'unreadable', detail: code });
        } else {
          throw new ProfileError(path, 0, `cannot read: ${errnoText(err)}`);
        }
      }
    }
    return new Profile(files, report);
  }

  /** Parse profile text given in memory (tests, fixed configs); includes are read from disk. */
  static fromText(text: string, name = '<text>'): Profile {
    const root = newSection('', { file: name, line: 0 });
    const warnings: string[] = [];
    new Parser(root, warnings).parseText(text, name, []);
    return new Profile([{ path: name, root, warnings }]);
  }

  /** Every value of the relation at `path` (e.g. ['realms', 'EXAMPLE.TEST', 'kdc']), files in order. */
  values(path: readonly string[]): ProfileValue[] {
    const out: ProfileValue[] = [];
    const name = path[path.length - 1];
    if (name === undefined) return out;
    this.walk(path.slice(0, -1), (section) => {
      for (const child of section.children) {
        if (child.kind === 'relation' && child.name === name) out.push({ value: child.value, source: child.source });
      }
    });
    return out;
  }

  /** The first value of the relation at `path` (MIT profile_get_string). */
  value(path: readonly string[]): ProfileValue | undefined {
    return this.values(path)[0];
  }

  /** Names of the subsections of the section at `path`, without repeats, files in order. */
  subsectionNames(path: readonly string[]): string[] {
    const names: string[] = [];
    this.walk(path, (section) => {
      for (const child of section.children) {
        if (child.kind === 'section' && !names.includes(child.name)) names.push(child.name);
      }
    });
    return names;
  }

  /** Names of the relations of the section at `path`, without repeats, files in order. */
  relationNames(path: readonly string[]): string[] {
    const names: string[] = [];
    this.walk(path, (section) => {
      for (const child of section.children) {
        if (child.kind === 'relation' && !names.includes(child.name)) names.push(child.name);
      }
    });
    return names;
  }

  /** Warnings of every file (accepted but suspicious input). */
  warnings(): string[] {
    return this.files.flatMap((f) => f.warnings);
  }

  /** Visit the section at `path` in each file; a final section on the path ends the walk after that file. */
  private walk(path: readonly string[], visit: (section: ProfileSection) => void): void {
    for (const file of this.files) {
      let section: ProfileSection | undefined = file.root;
      let finalSeen = false;
      for (const name of path) {
        let next: ProfileSection | undefined;
        for (const child of section.children) {
          if (child.kind === 'section' && child.name === name) {
            next = child;
            break;
          }
        }
        section = next;
        if (!section) break;
        if (section.final) finalSeen = true;
      }
      if (section) visit(section);
      if (finalSeen) return;
    }
  }
}
