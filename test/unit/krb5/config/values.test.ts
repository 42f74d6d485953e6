// Value syntaxes of krb5.conf. Expected results captured from libkrb5 1.20.1 (Debian 12):
// profile_get_boolean, profile_get_integer and krb5_string_to_deltat called on the same text.
import { describe, expect, it } from 'vitest';
import { krb5ConfBoolean, parseDuration, parseProfileBoolean, parseProfileInteger } from '../../../../src/krb5/config/values.ts';

describe('profile_get_boolean (MIT 1.20.1)', () => {
  it.each([
    ['yes', true],
    ['Yes', true],
    ['TRUE', true],
    ['t', true],
    ['y', true],
    ['on', true],
    ['1', true],
    ['no', false],
    ['nil', false],
    ['off', false],
    ['0', false],
    ['n', false],
    ['False', false],
    ['maybe', undefined],
    ['', undefined],
    [' yes', undefined],
    ['2', undefined],
  ] as const)('%j → %s', (text, expected) => {
    expect(parseProfileBoolean(text)).toBe(expected);
  });

  it('_krb5_conf_boolean: a "yes" word is true, anything else false', () => {
    expect(krb5ConfBoolean('ON')).toBe(true);
    expect(krb5ConfBoolean('maybe')).toBe(false);
    expect(krb5ConfBoolean('nil')).toBe(false);
  });
});

describe('profile_get_integer (MIT 1.20.1: base 10, not base 0)', () => {
  it.each([
    ['10', 10],
    ['010', 10],
    ['08', 8],
    [' 10', 10],
    ['+5', 5],
    ['-5', -5],
    ['0', 0],
    ['2147483647', 2147483647],
    ['-2147483648', -2147483648],
    ['0x10', undefined],
    ['10 ', undefined],
    ['', undefined],
    ['2147483648', undefined],
    ['1e3', undefined],
  ] as const)('%j → %s', (text, expected) => {
    expect(parseProfileInteger(text)).toBe(expected);
  });
});

describe('krb5_string_to_deltat (MIT 1.20.1)', () => {
  it.each([
    ['300', 300],
    ['5m', 300],
    ['1h30m', 5400],
    ['1h 30m', 5400],
    ['1d2h3m4s', 93784],
    ['2:30', 9000],
    ['1:02:03', 3723],
    ['1:60', 7200],
    ['-5', -5],
    ['1d2h', 93600],
    ['1d 2h', 93600],
    ['1d  2h', 93600],
    ['1d-2h', 79200],
    ['1h-30m', 1800],
    ['1s', 1],
    ['0', 0],
    ['2h3s', 7203],
    ['1d1s', 86401],
    [' 1:5', 3900],
    ['  5m', 300],
    ['1m60s', 120],
    ['1d 1h 1m 1s', 90061],
    ['2147483647', 2147483647],
    ['1d ', 86400],
    ['-1d', -86400],
    ['-1:30', -1800],
    ['1h ', 3600],
    ['1d -2h', 79200],
    ['5m 30s', 330],
    ['1d\t2h', 93600],
    ['0001', 1],
    ['1:02:99', 3819],
    ['-1:00', -3600],
    // an unexpected character ends the input
    ['10x', 10],
    ['10abc', 10],
    ['5mx', 300],
    ['0x10', 0],
    ['1.5', 1],
    ['10.9', 10],
    ['1w', 1],
    ['1D', 1],
    ['1dx', 86400],
    ['1d 2hx', 93600],
    ['2:3:4x', 7384],
  ] as const)('%j → %i', (text, expected) => {
    expect(parseDuration(text)).toBe(expected);
  });

  it.each([
    '1d 2:00:00',
    '10s5m',
    '',
    '10 ',
    '+10',
    '2d1:00',
    '99999999999',
    '1h1h',
    '5m3',
    '5 m',
    '1:2:3:4',
    '1d2:00',
    '1 d',
    '1d 5',
    '1h 5',
    '1d5',
    '1h5',
    '1m5',
    '1:-5',
    '1:5 ',
    '-',
    'd',
    '1 ',
    '1\t2',
    ':5',
    '1:',
    '1d- 2h',
    '1h 30',
    '2147483648',
  ])('%j is rejected', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });
});
