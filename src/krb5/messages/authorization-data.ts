// AuthorizationData (RFC 4120 §5.2.6):
//   AuthorizationData ::= SEQUENCE OF SEQUENCE { ad-type [0] Int32, ad-data [1] OCTET STRING }
import * as enc from '../../der/encode.ts';
import { parseDer, type DerElement } from '../../der/decode.ts';

export interface AuthorizationDataEntry {
  /** 1 = AD-IF-RELEVANT, 128 = AD-WIN2K-PAC, 129 = AD-ETYPE-NEGOTIATION, … */
  adType: number;
  adData: Buffer;
}

const FIELDS = { 0: 'ad-type', 1: 'ad-data' } as const;

export function authorizationDataToAsn(list: readonly AuthorizationDataEntry[]): enc.Asn {
  return enc.sequence(
    list.map((a) =>
      enc.taggedSequence([
        [0, enc.int32(a.adType)],
        [1, enc.octetString(a.adData)],
      ]),
    ),
  );
}

export function authorizationDataFromDer(element: DerElement): AuthorizationDataEntry[] {
  return element.sequenceOf((e) => {
    const f = e.fields(FIELDS);
    return { adType: f.required(0).int32(), adData: f.required(1).octetString() };
  });
}

export function encodeAuthorizationData(list: readonly AuthorizationDataEntry[]): Buffer {
  return enc.toDer(authorizationDataToAsn(list));
}

export function decodeAuthorizationData(der: Uint8Array): AuthorizationDataEntry[] {
  return authorizationDataFromDer(parseDer(der, 'AuthorizationData'));
}
