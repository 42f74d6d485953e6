// EncAPRepPart (RFC 4120 §5.5.2), the decrypted AP-REP enc-part:
//   EncAPRepPart ::= [APPLICATION 27] SEQUENCE { ctime [0] KerberosTime, cusec [1] Microseconds,
//     subkey [2] EncryptionKey OPTIONAL, seq-number [3] UInt32 OPTIONAL }
// ctime/cusec must echo the authenticator's; a subkey here is the acceptor subkey.
import * as enc from '../../der/encode.ts';
import { parseDer } from '../../der/decode.ts';
import { ApplicationTag } from '../iana/message-type.ts';
import { encryptionKeyFromDer, encryptionKeyToAsn, type EncryptionKey } from './encryption-key.ts';

export interface EncApRepPart {
  ctime: Date;
  cusec: number;
  subkey?: EncryptionKey;
  seqNumber?: number;
}

const FIELDS = { 0: 'ctime', 1: 'cusec', 2: 'subkey', 3: 'seq-number' } as const;

export function encodeEncApRepPart(part: EncApRepPart): Buffer {
  return enc.toDer(
    enc.application(
      ApplicationTag.ENC_AP_REP_PART,
      enc.taggedSequence([
        [0, enc.kerberosTime(part.ctime)],
        [1, enc.microseconds(part.cusec)],
        [2, part.subkey && encryptionKeyToAsn(part.subkey)],
        [3, part.seqNumber === undefined ? undefined : enc.uint32(part.seqNumber)],
      ]),
    ),
  );
}

export function decodeEncApRepPart(der: Uint8Array): EncApRepPart {
  const f = parseDer(der, 'EncAPRepPart').application(ApplicationTag.ENC_AP_REP_PART).fields(FIELDS);
  const part: EncApRepPart = { ctime: f.required(0).kerberosTime(), cusec: f.required(1).microseconds() };
  const subkey = f.optional(2);
  if (subkey) part.subkey = encryptionKeyFromDer(subkey);
  const seq = f.optional(3);
  if (seq) part.seqNumber = seq.uint32();
  return part;
}
