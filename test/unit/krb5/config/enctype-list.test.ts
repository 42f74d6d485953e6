// permitted_enctypes / default_tgs_enctypes syntax. Expected lists captured from libkrb5 1.20.1
// (krb5_get_permitted_enctypes / krb5_get_tgs_ktypes with a krb5.conf holding the same text).
import { describe, expect, it } from 'vitest';
import { enctypeByName, enctypeName, MIT_DEFAULT_ENCTYPES, parseEnctypeList } from '../../../../src/krb5/config/enctype-list.ts';

const mit = (text: string, allowWeak = false): number[] => parseEnctypeList(text, MIT_DEFAULT_ENCTYPES, allowWeak).mitList;

describe('enctype lists (MIT 1.20.1)', () => {
  it('the built-in default is 18 17 20 19 16 23 25 26', () => {
    expect(mit('DEFAULT')).toEqual([18, 17, 20, 19, 16, 23, 25, 26]);
  });

  it.each([
    ['aes', [18, 17, 20, 19]],
    ['DEFAULT -rc4 -des3', [18, 17, 20, 19, 25, 26]],
    ['default,-aes128-cts', [18, 20, 19, 16, 23, 25, 26]],
    ['camellia rc4 des3', [26, 25, 23, 16]],
    ['+rc4 aes256-sha2 AES128-SHA2 bogus', [23, 20, 19]],
    ['DEFAULT DEFAULT -DEFAULT +aes128-cts', [17]],
    [
      'aes256-cts des3-hmac-sha1 des3-cbc-sha1-kd rc4-hmac arcfour-hmac-md5 camellia128-cts camellia256-cts-cmac aes128-sha1 aes256-sha1',
      [18, 16, 23, 25, 26, 17],
    ],
    ['rc4 aes', [23, 18, 17, 20, 19]],
  ] as const)('%j → %j', (text, expected) => {
    expect(mit(text)).toEqual(expected);
  });

  it.each(['18 17', 'bogus', '-aes', 'arcfour-hmac-exp des-cbc-crc des', 'aes256-cts-hmac-sha1-96;aes128-cts', '', '- +'])(
    '%j gives an empty list (MIT: "No supported encryption types")',
    (text) => {
      expect(mit(text)).toEqual([]);
    },
  );

  it('the weak export RC4 (24) needs allow_weak_crypto', () => {
    expect(mit('arcfour-hmac-exp rc4 des-cbc-crc', true)).toEqual([24, 23]);
    expect(mit('arcfour-hmac-exp rc4 des-cbc-crc', false)).toEqual([23]);
  });

  it('reports the names it ignored', () => {
    expect(parseEnctypeList('aes des-cbc-crc 18 bogus', MIT_DEFAULT_ENCTYPES, false).unknown).toEqual(['des-cbc-crc', '18', 'bogus']);
  });

  it('names and aliases are case-insensitive; numbers are not names', () => {
    expect(enctypeByName('AES256-CTS-HMAC-SHA1-96')).toBe(18);
    expect(enctypeByName('rc4-hmac')).toBe(23);
    expect(enctypeByName('aes128-sha2')).toBe(19);
    expect(enctypeByName('18')).toBeUndefined();
    expect(enctypeName(20)).toBe('aes256-cts-hmac-sha384-192');
  });
});
