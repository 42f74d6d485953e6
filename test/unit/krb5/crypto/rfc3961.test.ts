import { describe, expect, it } from 'vitest';
import { nfold, usageConstant } from '../../../../src/krb5/crypto/rfc3961.ts';
import { aesSha1 } from '../../../../src/krb5/crypto/rfc3962.ts';
import { BACKENDS, useBackend } from './backends.ts';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

describe.each(BACKENDS)('%s back end', (backend) => {
  useBackend(backend);

  describe('n-fold (RFC 3961 Appendix A.1; docs/kerberos.md#crypto-test-vectors)', () => {
    const vectors: [string, number, string][] = [
      ['012345', 64, 'be072631276b1955'],
      ['password', 56, '78a07b6caf85fa'],
      ['Rough Consensus, and Running Code', 64, 'bb6ed30870b7f0e0'],
      ['password', 168, '59e4a8ca7c0385c3c37b3f6d2000247cb6e6bd5b3e'],
      ['MASSACHVSETTS INSTITVTE OF TECHNOLOGY', 192, 'db3b0d8f0b061e603282b308a50841229ad798fab9540c1b'],
      ['Q', 168, '518a54a215a8452a518a54a215a8452a518a54a215'],
      ['ba', 168, 'fb25d531ae8974499f52fd92ea9857c4ba24cf297e'],
      ['kerberos', 64, '6b65726265726f73'],
      ['kerberos', 128, '6b65726265726f737b9b5b2b93132b93'],
      ['kerberos', 168, '8372c236344e5f1550cd0747e15d62ca7a5a3bcea4'],
      ['kerberos', 256, '6b65726265726f737b9b5b2b93132b935c9bdcdad95c9899c4cae4dee6d6cae4'],
    ];
    it.each(vectors)('%s to %i bits', (input, bits, expected) => {
      expect(nfold(Buffer.from(input, 'ascii'), bits).toString('hex')).toBe(expected);
    });

    it('rejects an empty input or a partial byte count', () => {
      expect(() => nfold(Buffer.alloc(0), 64)).toThrow(RangeError);
      expect(() => nfold(Buffer.from('a'), 60)).toThrow(RangeError);
    });
  });

  describe('DK for the simplified profile (MIT t_derive.c, usage 2)', () => {
    const cases: [17 | 18, string, Record<string, string>][] = [
      [
        17,
        '42263c6e89f4fc28b8df68ee09799f15',
        {
          '99': '34280a382bc92769b2da2f9ef066854b',
          aa: '5b14fc4e250e14ddf9dccf1af6674f53',
          '55': '4ed31063621684f09ae8d89991af3e8f',
        },
      ],
      [
        18,
        'fe697b52bc0d3ce14432ba036a92e65bbb52280990a2fa27883998d72af30161',
        {
          '99': 'bfab388bdcb238e9f9c98d6a878304f04d30c82556375ac507a7a852790f4674',
          aa: 'c7cfd9cd75fe793a586a542d87e0d1396f1134a104bb1a9190b8c90ada3ddf37',
          '55': '97151b4c76945063e2eb0529dc067d97d7bba90776d8126d91f34f3101aea8ba',
        },
      ],
    ];
    for (const [etype, base, derived] of cases) {
      for (const [purpose, expected] of Object.entries(derived)) {
        it(`etype ${etype}, constant 00000002${purpose}`, () => {
          const key = aesSha1(etype).deriveKey(hex(base), usageConstant(2, parseInt(purpose, 16)));
          expect(key.toString('hex')).toBe(expected);
        });
      }
    }
  });
});
