// ETYPE-INFO2 (RFC 4120 §5.2.7.5), sent by the KDC in PA-ETYPE-INFO2 (padata type 19) to tell
// the client which enctype, salt and string-to-key parameters its long-term key uses:
//   ETYPE-INFO2 ::= SEQUENCE SIZE (1..MAX) OF ETYPE-INFO2-ENTRY
//   ETYPE-INFO2-ENTRY ::= SEQUENCE { etype [0] Int32, salt [1] KerberosString OPTIONAL,
//                                    s2kparams [2] OCTET STRING OPTIONAL }
import * as enc from '../../der/encode.ts';
import { parseDer } from '../../der/decode.ts';

export interface EtypeInfo2Entry {
  etype: number;
  salt?: string;
  s2kparams?: Buffer;
}

const FIELDS = { 0: 'etype', 1: 'salt', 2: 's2kparams' } as const;

export function decodeEtypeInfo2(der: Uint8Array): EtypeInfo2Entry[] {
  const list = parseDer(der, 'ETYPE-INFO2').sequenceOf((e) => {
    const f = e.fields(FIELDS);
    const entry: EtypeInfo2Entry = { etype: f.required(0).int32() };
    const salt = f.optional(1);
    if (salt) entry.salt = salt.kerberosString();
    const params = f.optional(2);
    if (params) entry.s2kparams = params.octetString();
    return entry;
  });
  return list;
}

/** Encode ETYPE-INFO2 (tests and fake KDCs). */
export function encodeEtypeInfo2(list: readonly EtypeInfo2Entry[]): Buffer {
  return enc.toDer(
    enc.sequence(
      list.map((e) =>
        enc.taggedSequence([
          [0, enc.int32(e.etype)],
          [1, e.salt === undefined ? undefined : enc.kerberosString(e.salt)],
          [2, e.s2kparams && enc.octetString(e.s2kparams)],
        ]),
      ),
    ),
  );
}
