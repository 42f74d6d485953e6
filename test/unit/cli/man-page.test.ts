// docs/cifs-upcall.8 documents every configuration setting and every command-line option, and
// --help names every long option.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { helpText } from '../../../src/cli/help.ts';
import { LONG_OPTIONS } from '../../../src/cli/options.ts';
import { SETTING_NAMES } from '../../../src/pipeline/config.ts';

const man = readFileSync(join(resolve(import.meta.dirname, '..', '..', '..'), 'docs', 'cifs-upcall.8'), 'utf8');
const section = (name: string): string => {
  const start = man.indexOf(`.SH ${name}\n`);
  expect(start, `.SH ${name}`).toBeGreaterThanOrEqual(0);
  const end = man.indexOf('\n.SH ', start + 1);
  return man.slice(start, end < 0 ? undefined : end);
};
// groff escapes: \- is a minus sign
const plain = (text: string): string => text.replace(/\\-/g, '-');

describe('the man page', () => {
  it('CONFIGURATION has a paragraph for every setting', () => {
    const text = plain(section('CONFIGURATION'));
    for (const name of SETTING_NAMES) {
      expect(text, name).toMatch(new RegExp(`^\\.(B|BR) (.*[ "])?${name}([ ",]|$)`, 'm'));
    }
  });

  it('OPTIONS has every long option, --help too', () => {
    const text = plain(section('OPTIONS'));
    const help = helpText('cifs-upcall');
    for (const o of LONG_OPTIONS) {
      expect(text, `--${o.name}`).toContain(`--${o.name}`);
      expect(help, `--${o.name} in --help`).toContain(`--${o.name}`);
    }
  });
});
