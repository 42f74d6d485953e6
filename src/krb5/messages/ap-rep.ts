// AP-REP (RFC 4120 §5.5.2), the acceptor's answer when mutual authentication was requested:
//   AP-REP ::= [APPLICATION 15] SEQUENCE { pvno [0] 5, msg-type [1] 15, enc-part [2] EncryptedData }
// enc-part decrypts (ticket session key, usage 12) to EncAPRepPart (enc-ap-rep-part.ts).
import * as enc from '../../der/encode.ts';
import { parseDer } from '../../der/decode.ts';
import { MessageType } from '../iana/message-type.ts';
import { encryptedDataFromDer, encryptedDataToAsn, type EncryptedData } from './encrypted-data.ts';

export interface ApRep {
  encPart: EncryptedData;
}

const FIELDS = { 0: 'pvno', 1: 'msg-type', 2: 'enc-part' } as const;

export function encodeApRep(rep: ApRep): Buffer {
  return enc.toDer(
    enc.application(
      MessageType.AP_REP,
      enc.taggedSequence([
        [0, enc.int32(5)],
        [1, enc.int32(MessageType.AP_REP)],
        [2, encryptedDataToAsn(rep.encPart)],
      ]),
    ),
  );
}

export function decodeApRep(der: Uint8Array): ApRep {
  const f = parseDer(der, 'AP-REP').application(MessageType.AP_REP).fields(FIELDS);
  const pvno = f.required(0).int32();
  if (pvno !== 5) f.required(0).fail(`protocol version ${pvno}, expected 5`);
  const msgType = f.required(1).int32();
  if (msgType !== MessageType.AP_REP) f.required(1).fail(`msg-type ${msgType}, expected 15`);
  return { encPart: encryptedDataFromDer(f.required(2)) };
}
