// Checksum (RFC 4120 §5.2.9):
//   Checksum ::= SEQUENCE { cksumtype [0] Int32, checksum [1] OCTET STRING }
import * as enc from '../../der/encode.ts';
import { parseDer, type DerElement } from '../../der/decode.ts';

export interface Checksum {
  /** checksum type; −138 for hmac-md5, 0x8003 for the GSS authenticator checksum */
  cksumtype: number;
  checksum: Buffer;
}

const FIELDS = { 0: 'cksumtype', 1: 'checksum' } as const;

export function checksumToAsn(c: Checksum): enc.Asn {
  return enc.taggedSequence([
    [0, enc.int32(c.cksumtype)],
    [1, enc.octetString(c.checksum)],
  ]);
}

export function checksumFromDer(element: DerElement): Checksum {
  const f = element.fields(FIELDS);
  return { cksumtype: f.required(0).int32(), checksum: f.required(1).octetString() };
}

export function encodeChecksum(c: Checksum): Buffer {
  return enc.toDer(checksumToAsn(c));
}

export function decodeChecksum(der: Uint8Array): Checksum {
  return checksumFromDer(parseDer(der, 'Checksum'));
}
