// EncryptedData (RFC 4120 §5.2.9):
//   EncryptedData ::= SEQUENCE { etype [0] Int32, kvno [1] UInt32 OPTIONAL, cipher [2] OCTET STRING }
import * as enc from '../../der/encode.ts';
import { parseDer, type DerElement } from '../../der/decode.ts';

export interface EncryptedData {
  etype: number;
  /** key version number of the key used; absent for session-key encryptions */
  kvno?: number;
  cipher: Buffer;
}

const FIELDS = { 0: 'etype', 1: 'kvno', 2: 'cipher' } as const;

export function encryptedDataToAsn(data: EncryptedData): enc.Asn {
  return enc.taggedSequence([
    [0, enc.int32(data.etype)],
    [1, data.kvno === undefined ? undefined : enc.uint32(data.kvno)],
    [2, enc.octetString(data.cipher)],
  ]);
}

export function encryptedDataFromDer(element: DerElement): EncryptedData {
  const f = element.fields(FIELDS);
  const kvno = f.optional(1)?.uint32();
  return {
    etype: f.required(0).int32(),
    ...(kvno === undefined ? {} : { kvno }),
    cipher: f.required(2).octetString(),
  };
}

export function encodeEncryptedData(data: EncryptedData): Buffer {
  return enc.toDer(encryptedDataToAsn(data));
}

export function decodeEncryptedData(der: Uint8Array): EncryptedData {
  return encryptedDataFromDer(parseDer(der, 'EncryptedData'));
}
