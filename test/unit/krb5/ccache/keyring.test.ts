// Residual parsing of KEYRING ccache names (src/krb5/ccache/keyring.ts); reading and writing real
// keyrings is tested against the kernel in test/integration/ccache-backends.test.ts.
import { describe, expect, it } from 'vitest';
import { parseKeyringResidual } from '../../../../src/krb5/ccache/keyring.ts';

describe('KEYRING residuals (cc_keyring.c parse_residual)', () => {
  it('anchor:collection:subsidiary, anchor:collection, bare collection = legacy', () => {
    expect(parseKeyringResidual('persistent:1000:krb_ccache_X')).toEqual({
      anchor: 'persistent',
      collection: '1000',
      subsidiary: 'krb_ccache_X',
    });
    expect(parseKeyringResidual('persistent:1000')).toEqual({ anchor: 'persistent', collection: '1000', subsidiary: null });
    expect(parseKeyringResidual('user:c:a:b')).toEqual({ anchor: 'user', collection: 'c', subsidiary: 'a:b' });
    expect(parseKeyringResidual('foo')).toEqual({ anchor: 'legacy', collection: 'foo', subsidiary: null });
    expect(parseKeyringResidual('persistent:')).toEqual({ anchor: 'persistent', collection: '', subsidiary: null });
    expect(() => parseKeyringResidual('bogus:x')).toThrow(/unknown keyring anchor "bogus"/);
  });
});
