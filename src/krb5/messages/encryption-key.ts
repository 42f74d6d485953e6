// EncryptionKey (RFC 4120 §5.2.9):
//   EncryptionKey ::= SEQUENCE { keytype [0] Int32, keyvalue [1] OCTET STRING }
import * as enc from '../../der/encode.ts';
import { parseDer, type DerElement } from '../../der/decode.ts';

export interface EncryptionKey {
  /** enctype of the key */
  keytype: number;
  keyvalue: Buffer;
}

const FIELDS = { 0: 'keytype', 1: 'keyvalue' } as const;

export function encryptionKeyToAsn(key: EncryptionKey): enc.Asn {
  return enc.taggedSequence([
    [0, enc.int32(key.keytype)],
    [1, enc.octetString(key.keyvalue)],
  ]);
}

export function encryptionKeyFromDer(element: DerElement): EncryptionKey {
  const f = element.fields(FIELDS);
  return { keytype: f.required(0).int32(), keyvalue: f.required(1).octetString() };
}

export function encodeEncryptionKey(key: EncryptionKey): Buffer {
  return enc.toDer(encryptionKeyToAsn(key));
}

export function decodeEncryptionKey(der: Uint8Array): EncryptionKey {
  return encryptionKeyFromDer(parseDer(der, 'EncryptionKey'));
}
