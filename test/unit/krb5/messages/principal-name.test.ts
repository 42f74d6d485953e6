import { describe, expect, it } from 'vitest';
import {
  PrincipalParseError,
  decodeTicket,
  encodeTicket,
  parsePrincipal,
  sameName,
  samePrincipal,
  unparsePrincipal,
} from '../../../../src/krb5/messages/index.ts';
import { NameType } from '../../../../src/krb5/iana/index.ts';

describe('principal text form (MIT krb5_parse_name / krb5_unparse_name rules)', () => {
  it('components, realm and the inferred name type', () => {
    expect(parsePrincipal('alice@EXAMPLE.TEST')).toEqual({ nameType: NameType.PRINCIPAL, components: ['alice'], realm: 'EXAMPLE.TEST' });
    expect(parsePrincipal('cifs/fs1.example.test@EXAMPLE.TEST')).toEqual({
      nameType: NameType.PRINCIPAL,
      components: ['cifs', 'fs1.example.test'],
      realm: 'EXAMPLE.TEST',
    });
    expect(parsePrincipal('krbtgt/OTHER.TEST@EXAMPLE.TEST').nameType).toBe(NameType.SRV_INST);
    expect(parsePrincipal('WELLKNOWN/ANONYMOUS@WELLKNOWN:ANONYMOUS').nameType).toBe(NameType.WELLKNOWN);
    expect(parsePrincipal('cifs/host', { defaultRealm: 'R', nameType: NameType.UNKNOWN })).toEqual({
      nameType: 0,
      components: ['cifs', 'host'],
      realm: 'R',
    });
    expect(parsePrincipal('cifs/host').realm).toBe('');
    expect(parsePrincipal('a//b@R').components).toEqual(['a', '', 'b']);
  });

  it('escapes: \\/ \\@ \\\\ and \\n \\t \\b \\0', () => {
    expect(parsePrincipal('a\\/b\\@c\\\\d@R\\@X').components).toEqual(['a/b@c\\d']);
    expect(parsePrincipal('a\\/b\\@c\\\\d@R\\@X').realm).toBe('R@X');
    expect(parsePrincipal('x\\ny\\tz\\bw\\0v\\q@R').components).toEqual(['x\ny\tz\bw\0vq']);
    const p = { nameType: 1, components: ['we/ird@', 'tab\there', 'nul\0', 'back\\slash'], realm: 'RE@LM/X' };
    const text = unparsePrincipal(p);
    expect(text).toBe('we\\/ird\\@/tab\\there/nul\\0/back\\\\slash@RE\\@LM\\/X');
    expect(parsePrincipal(text)).toEqual(p);
  });

  it('unparse leaves out an empty realm', () => {
    expect(unparsePrincipal({ components: ['cifs', 'fs1'], realm: '' })).toBe('cifs/fs1');
    expect(unparsePrincipal({ components: ['user'], realm: 'R' })).toBe('user@R');
  });

  it('malformed text', () => {
    expect(() => parsePrincipal('a@B@C')).toThrow(PrincipalParseError);
    expect(() => parsePrincipal('a@B/C')).toThrow(/unescaped "\/" in the realm/);
    expect(() => parsePrincipal('a\\')).toThrow(/trailing backslash/);
  });

  it('comparison ignores the name type', () => {
    const a = parsePrincipal('cifs/h@R', { nameType: 0 });
    const b = parsePrincipal('cifs/h@R', { nameType: 3 });
    expect(samePrincipal(a, b)).toBe(true);
    const elsewhere = { ...b, realm: 'S' };
    expect(samePrincipal(a, elsewhere)).toBe(false);
    expect(sameName(a, elsewhere)).toBe(true);
    expect(sameName(a, parsePrincipal('cifs/h/x@R'))).toBe(false);
  });

  it('on the wire the realm travels in its own field (Ticket realm[1] + sname[2])', () => {
    const server = parsePrincipal('cifs/fs1.example.test@EXAMPLE.TEST', { nameType: NameType.SRV_HST });
    const der = encodeTicket({ server, encPart: { etype: 18, kvno: 3, cipher: Buffer.from('00', 'hex') } });
    expect(der.toString('hex')).toBe(
      [
        '614f',
        '304d',
        'a003',
        '020105', // tkt-vno 5
        'a10e',
        '1b0c' + Buffer.from('EXAMPLE.TEST').toString('hex'), // realm
        'a223',
        '3021',
        'a003020103',
        'a11a',
        '3018', // sname: NT-SRV-HST, 2 components
        '1b04' + Buffer.from('cifs').toString('hex'),
        '1b10' + Buffer.from('fs1.example.test').toString('hex'),
        'a311',
        '300f',
        'a003020112',
        'a103020103',
        'a203040100', // enc-part: etype 18, kvno 3, cipher 00
      ].join(''),
    );
    expect(decodeTicket(der).server).toEqual(server);
  });
});
