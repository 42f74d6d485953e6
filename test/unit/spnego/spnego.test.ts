import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  KRB5_MECH_OID,
  MS_KRB5_MECH_OID,
  NegState,
  NTLMSSP_OID,
  cifsSpnegoInitToken,
  decodeNegotiationToken,
  encodeNegTokenInit,
  encodeNegTokenResp,
  frameKrb5ApReq,
  mechName,
} from '../../../src/spnego/index.ts';
import { DecodeError } from '../../../src/der/errors.ts';

const h = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

// docs/kerberos.md#spnego-test-vector: a placeholder 13-byte "AP-REQ" exercises the framing only.
const placeholderApReq = h('6e0a30083006a0030201059f00');
const gssVector = '601a06092a864886f71201020201006e0a30083006a0030201059f00';
const spnegoKrb5 =
  '603b06062b0601050502a031302fa00d300b06092a864886f712010202a21e041c601a06092a864886f71201020201006e0a30083006a0030201059f00';
const spnegoMsKrb5 = spnegoKrb5.replace('a00d300b06092a864886f712010202', 'a00d300b06092a864882f712010202');

describe('cifs.upcall SPNEGO NegTokenInit', () => {
  it('GSS framing of the placeholder AP-REQ (28 bytes)', () => {
    const gss = frameKrb5ApReq(placeholderApReq);
    expect(gss.toString('hex')).toBe(gssVector);
    expect(gss.length).toBe(28);
  });

  it('sec=krb5 (61 bytes)', () => {
    const token = cifsSpnegoInitToken(h(gssVector), 'krb5');
    expect(token.toString('hex')).toBe(spnegoKrb5);
    expect(token.length).toBe(61);
  });

  it('sec=mskrb5 lists the Microsoft OID but keeps the standard OID inside (61 bytes)', () => {
    const token = cifsSpnegoInitToken(h(gssVector), 'mskrb5');
    expect(token.toString('hex')).toBe(spnegoMsKrb5);
    expect(token.subarray(33).toString('hex')).toBe(gssVector);
  });

  // token = 6e followed by aa × (n − 1)
  const longForm: [number, number, string, number, string, string][] = [
    [
      100,
      115,
      '607106092a864886f7120102020100',
      151,
      '60819406062b0601050502a08189308186a00d300b06092a864886f712010202a275047360710609',
      '3ae6be12253717454560745baf356cc14f19f6e2b6319b97b2f772eba9c9c637',
    ],
    [
      1500,
      1517,
      '608205e906092a864886f7120102020100',
      1560,
      '6082061406062b0601050502a082060830820604a00d300b06092a864886f712010202a28205f104',
      'e1564daaa921e3e69283f56958415e28266d70bf16e89e07234dc7007b2a549c',
    ],
    [
      70000,
      70018,
      '608301117d06092a864886f7120102020100',
      70066,
      '60830111ad06062b0601050502a0830111a0308301119ba00d300b06092a864886f712010202a283',
      '9fb07807a20ae9f8c8e5985737cc11a8da23cb8b6828d0786e7365cc72d88444',
    ],
  ];
  it.each(longForm)('long-form lengths, n = %i', (n, gssLength, gssStart, spnegoLength, spnegoStart, sha256) => {
    const apReq = Buffer.alloc(n, 0xaa);
    apReq[0] = 0x6e;
    const gss = frameKrb5ApReq(apReq);
    expect(gss.length).toBe(gssLength);
    expect(gss.subarray(0, gssStart.length / 2).toString('hex')).toBe(gssStart);
    const spnego = cifsSpnegoInitToken(gss, 'krb5');
    expect(spnego.length).toBe(spnegoLength);
    expect(spnego.subarray(0, 40).toString('hex')).toBe(spnegoStart);
    expect(createHash('sha256').update(spnego).digest('hex')).toBe(sha256);
  });

  it('lengths around the 1/2/3-byte boundaries decode back', () => {
    for (const n of [1, 100, 104, 105, 106, 127, 128, 200, 255, 256, 65_000, 65_535, 65_536]) {
      const apReq = Buffer.alloc(n, 0x11);
      const spnego = cifsSpnegoInitToken(frameKrb5ApReq(apReq), 'krb5');
      const decoded = decodeNegotiationToken(spnego);
      expect(decoded.kind).toBe('negTokenInit');
      if (decoded.kind !== 'negTokenInit') return;
      expect(decoded.mechTypes).toEqual([KRB5_MECH_OID]);
      expect(decoded.mechToken).toEqual(frameKrb5ApReq(apReq));
    }
  });
});

describe('SPNEGO decoding', () => {
  it('the cifs.upcall token decodes to one mech and the GSS token', () => {
    expect(decodeNegotiationToken(h(spnegoMsKrb5))).toEqual({
      kind: 'negTokenInit',
      mechTypes: [MS_KRB5_MECH_OID],
      mechToken: h(gssVector),
    });
  });

  it("MIT acceptor's final answer (docs/kerberos.md#spnego): accept-completed, supportedMech krb5", () => {
    const resp = decodeNegotiationToken(h('a1143012a0030a0100a10b06092a864886f712010202'));
    expect(resp).toEqual({ kind: 'negTokenResp', negState: NegState.ACCEPT_COMPLETED, supportedMech: KRB5_MECH_OID });
    expect(encodeNegTokenResp({ negState: 0, supportedMech: KRB5_MECH_OID }).toString('hex')).toBe(
      'a1143012a0030a0100a10b06092a864886f712010202',
    );
  });

  it('MIT SPNEGO initiator shape (docs/kerberos.md#spnego) decodes: header bytes of a 0x2fc-byte token', () => {
    // 60 82 02f8 06 06 2b0601050502 a0 82 02ec 30 82 02e8 a0 0d 30 0b 06 09 <krb5> a2 82 02d5 04 82 02d1 <0x2d1 bytes>
    const inner = Buffer.alloc(0x2d1, 0x42);
    const token = encodeNegTokenInit({ mechTypes: [KRB5_MECH_OID], mechToken: inner });
    expect(token.subarray(0, 39).toString('hex')).toBe('608202f806062b0601050502a08202ec308202e8a00d300b06092a864886f712010202a28202d5');
    expect(token.length).toBe(0x2f8 + 4);
  });

  it('a Windows-style mech list, reqFlags and mechListMIC round-trip', () => {
    const token = encodeNegTokenInit({
      mechTypes: [MS_KRB5_MECH_OID, KRB5_MECH_OID, '1.3.6.1.4.1.311.2.2.30', NTLMSSP_OID],
      reqFlags: 0x60000000,
      mechToken: Buffer.from('abc'),
      mechListMIC: Buffer.from('mic'),
    });
    const d = decodeNegotiationToken(token);
    expect(d).toEqual({
      kind: 'negTokenInit',
      mechTypes: [MS_KRB5_MECH_OID, KRB5_MECH_OID, '1.3.6.1.4.1.311.2.2.30', NTLMSSP_OID],
      reqFlags: 0x60000000,
      mechToken: Buffer.from('abc'),
      mechListMIC: Buffer.from('mic'),
    });
    expect(mechName(MS_KRB5_MECH_OID)).toBe('mskrb5');
  });

  it("a server's NegTokenInit2 with negHints (MS-SPNG)", () => {
    // a0 <[0] SEQ { [0] mechTypes, [3] negHints { [0] hintName "not_defined_in_RFC4178@please_ignore" } }>
    const name = Buffer.from('not_defined_in_RFC4178@please_ignore');
    const hints = Buffer.concat([h('a0'), Buffer.from([name.length + 2]), h('1b'), Buffer.from([name.length]), name]);
    const hintSeq = Buffer.concat([h('30'), Buffer.from([hints.length]), hints]);
    const three = Buffer.concat([h('a3'), Buffer.from([hintSeq.length]), hintSeq]);
    const mechs = h('a00d300b06092a864886f712010202');
    const seq = Buffer.concat([h('30'), Buffer.from([mechs.length + three.length]), mechs, three]);
    const choice = Buffer.concat([h('a0'), Buffer.from([seq.length]), seq]);
    const d = decodeNegotiationToken(choice);
    expect(d).toEqual({ kind: 'negTokenInit', mechTypes: [KRB5_MECH_OID], negHints: { hintName: name.toString() } });
  });

  it('rejects other mechanisms and malformed tokens with DecodeError', () => {
    const wrongMech = frameKrb5ApReq(placeholderApReq); // krb5 OID, not SPNEGO
    expect(() => decodeNegotiationToken(wrongMech)).toThrow(/not SPNEGO/);
    for (const bad of ['', '60', '6003060100', 'a2023000', '603b06062b0601050502', '30023000', 'a1023000ff']) {
      expect(() => decodeNegotiationToken(h(bad))).toThrow(DecodeError);
    }
  });
});
