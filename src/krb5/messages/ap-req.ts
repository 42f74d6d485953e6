// AP-REQ (RFC 4120 §5.5.1):
//   AP-REQ ::= [APPLICATION 14] SEQUENCE { pvno [0] 5, msg-type [1] 14, ap-options [2] APOptions,
//     ticket [3] Ticket, authenticator [4] EncryptedData }
// The ticket is embedded verbatim (Ticket.der or raw bytes from a ccache).
import * as enc from '../../der/encode.ts';
import { parseDer } from '../../der/decode.ts';
import { MessageType } from '../iana/message-type.ts';
import { encryptedDataFromDer, encryptedDataToAsn, type EncryptedData } from './encrypted-data.ts';
import { ticketAsn, ticketFromDer, type Ticket, type TicketFields } from './ticket.ts';

export interface ApReq {
  /** ApOptions.* bits (0 for cifs: no mutual authentication) */
  apOptions: number;
  ticket: Ticket;
  /** the Authenticator, encrypted with the ticket session key (usage 11, or 7 in a TGS-REQ) */
  authenticator: EncryptedData;
}

export interface ApReqInput {
  apOptions: number;
  /** Ticket.der or raw ticket bytes (forwarded verbatim), or fields to encode */
  ticket: Ticket | TicketFields | Uint8Array;
  authenticator: EncryptedData;
}

const FIELDS = { 0: 'pvno', 1: 'msg-type', 2: 'ap-options', 3: 'ticket', 4: 'authenticator' } as const;

export function encodeApReq(req: ApReqInput): Buffer {
  return enc.toDer(
    enc.application(
      MessageType.AP_REQ,
      enc.taggedSequence([
        [0, enc.int32(5)],
        [1, enc.int32(MessageType.AP_REQ)],
        [2, enc.kerberosFlags(req.apOptions)],
        [3, ticketAsn(req.ticket)],
        [4, encryptedDataToAsn(req.authenticator)],
      ]),
    ),
  );
}

export function decodeApReq(der: Uint8Array): ApReq {
  const f = parseDer(der, 'AP-REQ').application(MessageType.AP_REQ).fields(FIELDS);
  const pvno = f.required(0).int32();
  if (pvno !== 5) f.required(0).fail(`protocol version ${pvno}, expected 5`);
  const msgType = f.required(1).int32();
  if (msgType !== MessageType.AP_REQ) f.required(1).fail(`msg-type ${msgType}, expected 14`);
  return {
    apOptions: f.required(2).kerberosFlags(),
    ticket: ticketFromDer(f.required(3)),
    authenticator: encryptedDataFromDer(f.required(4)),
  };
}
