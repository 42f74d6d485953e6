// PA-DATA and METHOD-DATA (RFC 4120 §5.2.7, §5.9.1):
//   PA-DATA ::= SEQUENCE { padata-type [1] Int32, padata-value [2] OCTET STRING }  -- tags 1, 2
//   METHOD-DATA ::= SEQUENCE OF PA-DATA      (also the usual content of KRB-ERROR e-data)
import * as enc from '../../der/encode.ts';
import { parseDer, type DerElement } from '../../der/decode.ts';

export interface PaData {
  /** PaType.* */
  padataType: number;
  padataValue: Buffer;
}

const FIELDS = { 1: 'padata-type', 2: 'padata-value' } as const;

export function paDataToAsn(pa: PaData): enc.Asn {
  return enc.taggedSequence([
    [1, enc.int32(pa.padataType)],
    [2, enc.octetString(pa.padataValue)],
  ]);
}

export function paDataFromDer(element: DerElement): PaData {
  const f = element.fields(FIELDS);
  return { padataType: f.required(1).int32(), padataValue: f.required(2).octetString() };
}

export function methodDataToAsn(list: readonly PaData[]): enc.Asn {
  return enc.sequence(list.map(paDataToAsn));
}

export function methodDataFromDer(element: DerElement): PaData[] {
  return element.sequenceOf(paDataFromDer);
}

export function encodeMethodData(list: readonly PaData[]): Buffer {
  return enc.toDer(methodDataToAsn(list));
}

export function decodeMethodData(der: Uint8Array): PaData[] {
  return methodDataFromDer(parseDer(der, 'METHOD-DATA'));
}
