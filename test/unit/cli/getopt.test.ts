// getopt_long(3) behaviour (GNU, permuting) for cifs.upcall's optstring "cEk:K:ltve:"
// (docs/cifs-upcall-behaviour.md#command-line) plus the added long options.
import { describe, expect, it } from 'vitest';
import { scanArguments } from '../../../src/cli/getopt.ts';
import { LONG_OPTIONS, OPTSTRING } from '../../../src/cli/options.ts';

const ids = {
  c: 'legacy-c',
  E: 'no-env-probe',
  h: 'help',
  k: 'krb5conf',
  K: 'keytab',
  l: 'legacy-uid',
  t: 'trust-dns',
  v: 'version',
  e: 'expire',
};
const scan = (...argv: string[]) => scanArguments(argv, OPTSTRING, ids, LONG_OPTIONS);
const opts = (...argv: string[]) => scan(...argv).items.map((i) => (i.kind === 'option' ? [i.id, i.value] : ['error', i.message]));

describe('getopt_long compatibility', () => {
  it('short options, clusters, attached and separate arguments', () => {
    expect(opts('-lt', '-kFILE', '-K', 'KT', '-E')).toEqual([
      ['legacy-uid', undefined],
      ['trust-dns', undefined],
      ['krb5conf', 'FILE'],
      ['keytab', 'KT'],
      ['no-env-probe', undefined],
    ]);
    expect(opts('-ltk', '/etc/krb5.conf')).toEqual([
      ['legacy-uid', undefined],
      ['trust-dns', undefined],
      ['krb5conf', '/etc/krb5.conf'],
    ]);
  });

  it('permutes: options after the serial still count, operands keep their order', () => {
    const r = scan('12345', '-l', 'extra', '--keytab=/k');
    expect(r.operands).toEqual(['12345', 'extra']);
    expect(r.items.map((i) => i.kind === 'option' && i.id)).toEqual(['legacy-uid', 'keytab']);
  });

  it('"--" ends the options; a lone "-" is an operand', () => {
    const r = scan('-l', '--', '-t', '42');
    expect(r.operands).toEqual(['-t', '42']);
    expect(scan('-').operands).toEqual(['-']);
  });

  it('--opt=value and --opt value; a required argument takes the next word even if it starts with "-"', () => {
    expect(opts('--krb5conf=/a', '--keytab', '/b', '--expire', '-5')).toEqual([
      ['krb5conf', '/a'],
      ['keytab', '/b'],
      ['expire', '-5'],
    ]);
  });

  it('unambiguous prefixes of long names', () => {
    expect(opts('--no-env', '--legacy', '--trust', '--exp=3', '--krb5=/x')).toEqual([
      ['no-env-probe', undefined],
      ['legacy-uid', undefined],
      ['trust-dns', undefined],
      ['expire', '3'],
      ['krb5conf', '/x'],
    ]);
  });

  it('abbreviations cifs.upcall accepted keep their meaning despite the new options', () => {
    expect(opts('--ver')).toEqual([['version', undefined]]);
    expect(opts('--v')).toEqual([['version', undefined]]);
    expect(opts('--ke=/k')).toEqual([['keytab', '/k']]);
    expect(opts('--n')).toEqual([['no-env-probe', undefined]]);
    expect(opts('--t')).toEqual([['trust-dns', undefined]]);
    expect(opts('--verb')).toEqual([['verbose', undefined]]);
  });

  it('ambiguous, unknown and malformed options are reported where they occur', () => {
    expect(opts('--k=/x')).toEqual([
      ['error', "option '--k' is ambiguous; possibilities: '--krb5conf' '--keytab' '--key-owner' '--key-type'"],
    ]);
    expect(opts('--tra')).toEqual([
      ['error', "option '--tra' is ambiguous; possibilities: '--trace' '--trace-format' '--train-code-cache'"],
    ]);
    expect(opts('--bogus')).toEqual([['error', "unrecognized option '--bogus'"]]);
    expect(opts('-x')).toEqual([['error', "invalid option -- 'x'"]]);
    expect(opts('-k')).toEqual([['error', "option requires an argument -- 'k'"]]);
    expect(opts('--keytab')).toEqual([['error', "option '--keytab' requires an argument"]]);
    expect(opts('--legacy-uid=yes')).toEqual([['error', "option '--legacy-uid' doesn't allow an argument"]]);
    expect(opts('-v', '--bogus')).toEqual([
      ['version', undefined],
      ['error', "unrecognized option '--bogus'"],
    ]);
  });

  it('an optional argument (--trace) is only taken with "="', () => {
    expect(opts('--trace', '/f')).toEqual([['trace', undefined]]);
    expect(scan('--trace', '/f').operands).toEqual(['/f']);
    expect(opts('--trace=/f')).toEqual([['trace', '/f']]);
  });
});
