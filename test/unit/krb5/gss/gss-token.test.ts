import { describe, expect, it } from 'vitest';
import {
  Krb5TokenId,
  frameInitialContextToken,
  frameKrb5ApReq,
  parseInitialContextToken,
  parseKrb5Token,
  unframeKrb5ApReq,
} from '../../../../src/krb5/gss/gss-token.ts';
import { KRB5_MECH_OID, SPNEGO_OID } from '../../../../src/krb5/gss/oids.ts';
import { DecodeError } from '../../../../src/der/errors.ts';

const h = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

describe('RFC 2743 §3.1 InitialContextToken framing', () => {
  it('krb5 AP-REQ: 60 len 06 09 2a864886f712010202 01 00 <AP-REQ> (docs/kerberos.md#gss-token-framing)', () => {
    const apReq = h('6e0a30083006a0030201059f00');
    const token = frameKrb5ApReq(apReq);
    expect(token.subarray(0, 15).toString('hex')).toBe('601a06092a864886f7120102020100');
    expect(unframeKrb5ApReq(token)).toEqual(apReq);
    expect(parseKrb5Token(token)).toEqual({ tokenId: Krb5TokenId.AP_REQ, message: apReq });
  });

  it('any mechanism and inner token', () => {
    const t = frameInitialContextToken(SPNEGO_OID, Buffer.from('hello'));
    expect(t.toString('hex')).toBe('600d06062b0601050502' + Buffer.from('hello').toString('hex'));
    expect(parseInitialContextToken(t)).toEqual({ mechOid: SPNEGO_OID, innerToken: Buffer.from('hello') });
  });

  it('accepts a non-minimal outer length (BER) on input', () => {
    const t = h('60820011 06092a864886f712010202 0200 6e0a3008');
    expect(parseKrb5Token(t)).toEqual({ tokenId: Krb5TokenId.AP_REP, message: h('6e0a3008') });
  });

  it('errors are DecodeErrors', () => {
    const cases: [string, RegExp][] = [
      ['', /does not start/],
      ['6100', /does not start/],
      ['6005060100', /does not match/],
      ['6080', /indefinite/],
      ['60850100000000', /too large/],
      ['60020500', /expected an OBJECT IDENTIFIER/],
      ['6003060500', /truncated/],
    ];
    for (const [input, message] of cases) {
      expect(() => parseInitialContextToken(h(input)), input).toThrow(DecodeError);
      expect(() => parseInitialContextToken(h(input)), input).toThrow(message);
    }
    const spnego = frameInitialContextToken(SPNEGO_OID, Buffer.from('x'));
    expect(() => parseKrb5Token(spnego)).toThrow(/not krb5/);
    const apRep = frameInitialContextToken(KRB5_MECH_OID, h('02006f00'));
    expect(() => unframeKrb5ApReq(apRep)).toThrow(/not an AP-REQ/);
    expect(() => parseKrb5Token(frameInitialContextToken(KRB5_MECH_OID, h('01')))).toThrow(/missing TOK_ID/);
  });
});
