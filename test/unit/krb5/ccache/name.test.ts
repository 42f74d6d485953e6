// Default ccache name resolution and %{…} expansion (docs/kerberos.md#default-cache-name). Expected values are
// what MIT 1.20 `klist` printed on this machine (Debian 12) for the same inputs, as root (uid 0),
// e.g. `default_ccache_name = FILE:/tmp/q_%{u}` → "No credentials cache found (filename:
// /tmp/q_root)", `KRB5CCNAME=a:/tmp/x` → filename "a:/tmp/x", `ab:/tmp/x` → "Unknown credential
// cache type".
import { describe, expect, it } from 'vitest';
import { CcacheError } from '../../../../src/krb5/ccache/errors.ts';
import { expandPathTokens, resolveDefaultCcacheName, splitCcacheName } from '../../../../src/krb5/ccache/name.ts';

const root = { uid: 0, euid: 0, username: 'root' };

describe('expandPathTokens (os/expand_path.c), as observed with MIT klist', () => {
  const observed: [string, string][] = [
    ['/tmp/q_%{uid}', '/tmp/q_0'],
    ['/tmp/q_%{USERID}', '/tmp/q_0'],
    ['/tmp/q_%{euid}', '/tmp/q_0'],
    ['/tmp/q_%{username}', '/tmp/q_root'],
    ['/tmp/q_%{null}', '/tmp/q_'],
    ['/tmp/q_%{LIBDIR}', '/tmp/q_/usr/lib/x86_64-linux-gnu'],
    ['/tmp/q_%{BINDIR}', '/tmp/q_/usr/bin'],
    ['/tmp/q_%{SBINDIR}', '/tmp/q_/usr/sbin'],
    // the prefix quirk: the token is compared over its own length, in table order
    ['/tmp/q_%{u}', '/tmp/q_root'],
    ['/tmp/q_%{us}', '/tmp/q_root'],
    ['/tmp/q_%{e}', '/tmp/q_0'],
    ['/tmp/q_%{eui}', '/tmp/q_0'],
    ['/tmp/q_%{U}', '/tmp/q_0'],
    ['/tmp/q_%{n}', '/tmp/q_'],
    ['/tmp/q_%{nul}', '/tmp/q_'],
    ['/tmp/q_%{L}', '/tmp/q_/usr/lib/x86_64-linux-gnu'],
    ['/tmp/q_%{S}', '/tmp/q_/usr/sbin'],
    ['/tmp/q_%{B}', '/tmp/q_/usr/bin'],
    ['/tmp/q_%{T}', '/tmp/q_/tmp'],
    ['/tmp/q_%%{uid}', '/tmp/q_%0'],
    ['/tmp/q_a}b', '/tmp/q_a}b'],
  ];
  for (const [template, expected] of observed) {
    it(`${template} → ${expected}`, () => {
      expect(expandPathTokens(template, root)).toBe(expected);
    });
  }

  it('%{TEMP} is $TMPDIR when given (klist with TMPDIR=/var/tmp printed /tmp/q_x/var/tmp0)', () => {
    expect(expandPathTokens('/tmp/q_x%{TEMP}%{euid}', { ...root, tmpdir: '/var/tmp' })).toBe('/tmp/q_x/var/tmp0');
    expect(expandPathTokens('%{TEMP}', { ...root, tmpdir: '' })).toBe('/tmp');
  });

  it('uid and euid are distinct inputs', () => {
    expect(expandPathTokens('%{uid}:%{euid}:%{USERID}', { uid: 1000, euid: 2001 })).toBe('1000:2001:1000');
  });

  const errors = ['%{bogus}', '%{', '%{}', '%{ }', '%{UID}', '%{uidx}', '%{uid', '%{APPDATA}', '%{USERCONFIG}'];
  for (const t of errors) {
    it(`${t} is an error (klist: "Internal credentials cache error while resolving ccache")`, () => {
      expect(() => expandPathTokens(`/tmp/q_${t}`, root)).toThrow(CcacheError);
    });
  }

  it('%{username} without a passwd entry is an error', () => {
    expect(() => expandPathTokens('%{username}', { uid: 4321, euid: 4321 })).toThrow(/no passwd entry for uid 4321/);
  });
});

describe('resolveDefaultCcacheName (os/ccdefname.c)', () => {
  it('KRB5CCNAME wins and is used verbatim, without expansion, even when empty', () => {
    expect(resolveDefaultCcacheName({ ...root, envKRB5CCNAME: 'FILE:%{uid}', profileDefaultCcacheName: 'KCM:' })).toEqual({
      name: 'FILE:%{uid}',
      source: 'KRB5CCNAME',
    });
    expect(resolveDefaultCcacheName({ ...root, envKRB5CCNAME: '' })).toEqual({ name: '', source: 'KRB5CCNAME' });
  });

  it('then default_ccache_name, expanded for the given user', () => {
    expect(
      resolveDefaultCcacheName({ uid: 2001, euid: 2001, username: 'alice', profileDefaultCcacheName: 'KEYRING:persistent:%{uid}' }),
    ).toEqual({ name: 'KEYRING:persistent:2001', source: 'default_ccache_name' });
    // an expansion to the empty string is kept (klist: "filename: ")
    expect(resolveDefaultCcacheName({ ...root, profileDefaultCcacheName: '%{null}' })).toEqual({ name: '', source: 'default_ccache_name' });
  });

  it('an empty default_ccache_name falls through to the built-in FILE:/tmp/krb5cc_%{uid}', () => {
    expect(resolveDefaultCcacheName({ uid: 2001, euid: 0, profileDefaultCcacheName: '' })).toEqual({
      name: 'FILE:/tmp/krb5cc_2001',
      source: 'built-in',
    });
    expect(resolveDefaultCcacheName({ uid: 2001, euid: 2001 })).toEqual({ name: 'FILE:/tmp/krb5cc_2001', source: 'built-in' });
  });

  it('an unknown token makes resolution fail', () => {
    expect(() => resolveDefaultCcacheName({ ...root, profileDefaultCcacheName: 'FILE:/tmp/%{bogus}' })).toThrow(
      /unknown path token %\{bogus\}/,
    );
  });
});

describe('splitCcacheName (krb5_cc_resolve)', () => {
  it('splits at the first colon; the residual keeps its colons', () => {
    expect(splitCcacheName('FILE:/tmp/krb5cc_0')).toEqual({ type: 'FILE', residual: '/tmp/krb5cc_0' });
    expect(splitCcacheName('DIR::/run/user/1000/krb5cc/tkt')).toEqual({ type: 'DIR', residual: ':/run/user/1000/krb5cc/tkt' });
    expect(splitCcacheName('KEYRING:persistent:1000:krb_ccache_X')).toEqual({ type: 'KEYRING', residual: 'persistent:1000:krb_ccache_X' });
    expect(splitCcacheName('KCM:')).toEqual({ type: 'KCM', residual: '' });
    expect(splitCcacheName('MEMORY:x')).toEqual({ type: 'MEMORY', residual: 'x' });
  });

  it('no colon means a FILE path', () => {
    expect(splitCcacheName('/tmp/krb5cc_0')).toEqual({ type: 'FILE', residual: '/tmp/krb5cc_0' });
  });

  it('a single letter before the colon is a drive letter: FILE with the whole name, on Linux too', () => {
    expect(splitCcacheName('a:/tmp/nonexist')).toEqual({ type: 'FILE', residual: 'a:/tmp/nonexist' });
  });

  it('unknown types are errors, also when the name looks like a path', () => {
    expect(() => splitCcacheName('ab:/tmp/nonexist')).toThrow(/unknown credential cache type "ab"/);
    expect(() => splitCcacheName('/tmp/x:y')).toThrow(/unknown credential cache type "\/tmp\/x"/);
    expect(() => splitCcacheName('file:/tmp/x')).toThrow(/unknown credential cache type "file"/);
  });

  it('API: and MSLSA: are known but unsupported here', () => {
    for (const n of ['API:x', 'MSLSA:']) {
      try {
        splitCcacheName(n);
        throw new Error('no error');
      } catch (e) {
        expect((e as CcacheError).kind).toBe('unsupported');
      }
    }
  });
});
