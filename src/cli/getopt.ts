// A getopt_long(3)-compatible command-line scanner (GNU semantics, default "permute" ordering):
//  * short options from an optstring ("cEk:K:ltve:": a letter followed by ':' takes an argument,
//    either the rest of the word, `-kFILE`, or the next word, `-k FILE`); clusters like `-lt`;
//  * long options `--name`, `--name=value`, `--name value` (required arguments only; optional
//    arguments only as `--name=value`); any unambiguous prefix of a long name;
//  * options and operands may be mixed (operands are collected in order); `--` ends the options;
//    a lone `-` is an operand.
// One deliberate addition: an abbreviation that matches exactly one of the options marked
// `compat` wins over newer options sharing the prefix, so every abbreviation cifs.upcall accepted
// keeps its meaning (`--ver` is still --version although --verbose exists, `--ke` still --keytab).
// POSIXLY_CORRECT and a leading '+'/'-' in the optstring are not supported (cifs.upcall does not use them).

export type ArgumentKind = 'none' | 'required' | 'optional';

export interface LongOption {
  name: string;
  argument: ArgumentKind;
  /** identifier reported for this option (shared with its short form, if any) */
  id: string;
  /** an option cifs.upcall has: wins prefix ties against newer options */
  compat?: boolean;
}

export type ScannedItem =
  | { kind: 'option'; id: string /** as written, e.g. "-k" or "--keytab" */; spelling: string; value?: string }
  | { kind: 'error'; message: string };

export interface ScanResult {
  /** options and scan errors, in command-line order */
  items: ScannedItem[];
  operands: string[];
}

interface ShortOption {
  id: string;
  argument: ArgumentKind;
}

function parseOptstring(optstring: string, ids: Record<string, string>): Map<string, ShortOption> {
  const map = new Map<string, ShortOption>();
  for (let i = 0; i < optstring.length; i++) {
    const letter = optstring[i] as string;
    let argument: ArgumentKind = 'none';
    if (optstring[i + 1] === ':') {
      argument = optstring[i + 2] === ':' ? 'optional' : 'required';
      i += argument === 'optional' ? 2 : 1;
    }
    map.set(letter, { id: ids[letter] ?? letter, argument });
  }
  return map;
}

function resolveLong(name: string, longopts: readonly LongOption[]): LongOption | { error: string } {
  const exact = longopts.find((o) => o.name === name);
  if (exact) return exact;
  const candidates = longopts.filter((o) => o.name.startsWith(name));
  if (candidates.length === 1) return candidates[0] as LongOption;
  if (candidates.length === 0) return { error: `unrecognized option '--${name}'` };
  const compat = candidates.filter((o) => o.compat);
  if (compat.length === 1) return compat[0] as LongOption;
  return {
    error: `option '--${name}' is ambiguous; possibilities: ${candidates.map((o) => `'--${o.name}'`).join(' ')}`,
  };
}

/**
 * Scan `argv` (without the program name). Never throws: problems are returned as error items at
 * the position where getopt_long would have reported them, so callers can honour options that
 * came before them (cifs.upcall acts on -v as soon as it sees it).
 */
export function scanArguments(
  argv: readonly string[],
  optstring: string,
  shortIds: Record<string, string>,
  longopts: readonly LongOption[],
): ScanResult {
  const shorts = parseOptstring(optstring, shortIds);
  const items: ScannedItem[] = [];
  const operands: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i] as string;
    if (word === '--') {
      operands.push(...argv.slice(i + 1));
      break;
    }
    if (word.startsWith('--')) {
      const eq = word.indexOf('=');
      const name = eq < 0 ? word.slice(2) : word.slice(2, eq);
      const inline = eq < 0 ? undefined : word.slice(eq + 1);
      const opt = resolveLong(name, longopts);
      if ('error' in opt) {
        items.push({ kind: 'error', message: opt.error });
        continue;
      }
      const spelling = `--${opt.name}`;
      if (opt.argument === 'none') {
        if (inline !== undefined) items.push({ kind: 'error', message: `option '${spelling}' doesn't allow an argument` });
        else items.push({ kind: 'option', id: opt.id, spelling });
      } else if (inline !== undefined) {
        items.push({ kind: 'option', id: opt.id, spelling, value: inline });
      } else if (opt.argument === 'optional') {
        items.push({ kind: 'option', id: opt.id, spelling });
      } else if (i + 1 < argv.length) {
        items.push({ kind: 'option', id: opt.id, spelling, value: argv[++i] as string });
      } else {
        items.push({ kind: 'error', message: `option '${spelling}' requires an argument` });
      }
      continue;
    }
    if (word.startsWith('-') && word !== '-') {
      for (let j = 1; j < word.length; j++) {
        const letter = word[j] as string;
        const opt = shorts.get(letter);
        if (!opt || letter === ':') {
          items.push({ kind: 'error', message: `invalid option -- '${letter}'` });
          continue;
        }
        const spelling = `-${letter}`;
        if (opt.argument === 'none') {
          items.push({ kind: 'option', id: opt.id, spelling });
          continue;
        }
        const rest = word.slice(j + 1);
        if (rest !== '') {
          items.push({ kind: 'option', id: opt.id, spelling, value: rest });
        } else if (opt.argument === 'optional') {
          items.push({ kind: 'option', id: opt.id, spelling });
        } else if (i + 1 < argv.length) {
          items.push({ kind: 'option', id: opt.id, spelling, value: argv[++i] as string });
        } else {
          items.push({ kind: 'error', message: `option requires an argument -- '${letter}'` });
        }
        break;
      }
      continue;
    }
    operands.push(word);
  }
  return { items, operands };
}
