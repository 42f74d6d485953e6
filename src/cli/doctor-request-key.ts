// --doctor: which request-key.d line the kernel will pick for cifs.spnego, as /sbin/request-key
// picks it (request-key.conf(5): the first line whose type and description match, the most
// specific description pattern in practice), and whose program that is.
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';

// ---- request-key ---------------------------------------------------------------------------------

export interface RequestKeyLine {
  file: string;
  line: number;
  fields: string[];
  /** characters skipped by the wildcard of op, type, description, callout info */
  skips: [number, number, number, number];
}

/** How many characters `pattern` (at most one `*`) skips to match `text`, or null when it does not match. */
export function wildcardSkip(pattern: string, text: string): number | null {
  const star = pattern.indexOf('*');
  if (star < 0) return pattern === text ? 0 : null;
  const head = pattern.slice(0, star);
  const tail = pattern.slice(star + 1);
  if (tail.includes('*')) return null; // request-key.conf(5): one asterisk per field
  if (text.length < head.length + tail.length || !text.startsWith(head) || !text.endsWith(tail)) return null;
  return text.length - head.length - tail.length;
}

export function requestKeyFiles(dir = '/etc/request-key.d', main = '/etc/request-key.conf'): string[] {
  let names: string[] = [];
  try {
    names = readdirSync(dir)
      .filter((f) => f.endsWith('.conf'))
      .sort();
  } catch {
    /* no directory */
  }
  return [...names.map((f) => join(dir, f)), main];
}

/** The line request-key would run for (create, type, description, callout), with every candidate. */
export function pickRequestKeyLine(
  files: readonly string[],
  type: string,
  description: string,
  callout = '',
): { winner: RequestKeyLine | null; candidates: RequestKeyLine[] } {
  const candidates: RequestKeyLine[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    text.split('\n').forEach((raw, i) => {
      const line = raw.trim();
      if (line === '' || line.startsWith('#')) return;
      const fields = line.split(/\s+/);
      if (fields.length < 5) return;
      const skips = [
        wildcardSkip(fields[0]!, 'create'),
        wildcardSkip(fields[1]!, type),
        wildcardSkip(fields[2]!, description),
        wildcardSkip(fields[3]!, callout),
      ];
      if (skips.some((s) => s === null)) return;
      candidates.push({ file, line: i + 1, fields, skips: skips as [number, number, number, number] });
    });
  }
  let winner: RequestKeyLine | null = null;
  for (const c of candidates) {
    if (!winner) {
      winner = c;
      continue;
    }
    for (let k = 0; k < 4; k++) {
      if (c.skips[k]! < winner.skips[k]!) {
        winner = c;
        break;
      }
      if (c.skips[k]! > winner.skips[k]!) break;
    }
  }
  return { winner, candidates };
}

/** The program a request-key line runs: the first word, or the program /usr/bin/env starts. */
export function requestKeyProgram(fields: readonly string[]): { program: string; args: string[] } {
  let words = fields.slice(4);
  if (words[0]?.startsWith('|')) words = [words[0].slice(1), ...words.slice(1)];
  if (words[0] !== undefined && basename(words[0]) === 'env') {
    let i = 1;
    while (i < words.length && (words[i]!.startsWith('-') || words[i]!.includes('='))) i++;
    words = words.slice(i);
  }
  // node running a bundle: the bundle is the program
  if (words[0] !== undefined && /^node(js)?$/.test(basename(words[0])) && words[1] !== undefined) words = words.slice(1);
  return { program: words[0] ?? '', args: words.slice(1) };
}

export function whoseLine(program: string): 'ours' | 'cifs.upcall' | 'other' {
  const name = basename(program);
  if (name === 'cifs.upcall') return 'cifs.upcall';
  if (name === 'cifs-upcall' || /^cifs-upcall\.(mjs|cjs)$/.test(name) || program.includes('/cifs-upcall/')) return 'ours';
  return 'other';
}

export function describeLine(l: RequestKeyLine): string {
  return `${l.file}:${l.line} ("${l.fields[2]}" skips ${l.skips[2]} characters of the description)`;
}
