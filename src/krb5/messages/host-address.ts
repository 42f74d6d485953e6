// HostAddress / HostAddresses (RFC 4120 §5.2.5):
//   HostAddress ::= SEQUENCE { addr-type [0] Int32, address [1] OCTET STRING }
import * as enc from '../../der/encode.ts';
import type { DerElement } from '../../der/decode.ts';

export interface HostAddress {
  /** 2 = IPv4, 24 = IPv6, 20 = NetBIOS */
  addrType: number;
  address: Buffer;
}

const FIELDS = { 0: 'addr-type', 1: 'address' } as const;

export function hostAddressesToAsn(list: readonly HostAddress[]): enc.Asn {
  return enc.sequence(
    list.map((a) =>
      enc.taggedSequence([
        [0, enc.int32(a.addrType)],
        [1, enc.octetString(a.address)],
      ]),
    ),
  );
}

export function hostAddressesFromDer(element: DerElement): HostAddress[] {
  return element.sequenceOf((e) => {
    const f = e.fields(FIELDS);
    return { addrType: f.required(0).int32(), address: f.required(1).octetString() };
  });
}
