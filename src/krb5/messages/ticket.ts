// Ticket (RFC 4120 §5.3):
//   Ticket ::= [APPLICATION 1] SEQUENCE {
//     tkt-vno [0] INTEGER (5), realm [1] Realm, sname [2] PrincipalName, enc-part [3] EncryptedData }
// A decoded Ticket keeps its exact DER (`der`): clients forward tickets verbatim (AP-REQ,
// ccache) and must never re-encode them.
import * as enc from '../../der/encode.ts';
import { parseDer, type DerElement } from '../../der/decode.ts';
import { ApplicationTag } from '../iana/message-type.ts';
import { encryptedDataFromDer, encryptedDataToAsn, type EncryptedData } from './encrypted-data.ts';
import { principalNameFromDer, principalNameToAsn, withRealm, type PrincipalName } from './principal-name.ts';

export interface Ticket {
  /** service principal: sname with the ticket's realm */
  server: PrincipalName;
  /** enc-part: EncTicketPart encrypted in the service key (key usage 2) */
  encPart: EncryptedData;
  /** the complete DER of this Ticket exactly as received */
  der: Buffer;
}

/** What it takes to encode a Ticket (tests and fake KDCs; clients forward `der`). */
export type TicketFields = Omit<Ticket, 'der'>;

const FIELDS = { 0: 'tkt-vno', 1: 'realm', 2: 'sname', 3: 'enc-part' } as const;
const TICKET_TAG_BYTE = 0x61;

export function ticketToAsn(ticket: TicketFields): enc.Asn {
  return enc.application(
    ApplicationTag.TICKET,
    enc.taggedSequence([
      [0, enc.int32(5)],
      [1, enc.kerberosString(ticket.server.realm)],
      [2, principalNameToAsn(ticket.server)],
      [3, encryptedDataToAsn(ticket.encPart)],
    ]),
  );
}

/** A Ticket to embed: its received bytes verbatim, or freshly encoded fields. */
export function ticketAsn(ticket: Ticket | TicketFields | Uint8Array): enc.Asn {
  if (ticket instanceof Uint8Array) {
    if (ticket[0] !== TICKET_TAG_BYTE) throw new RangeError('ticket bytes do not start with [APPLICATION 1]');
    return enc.preEncoded(ticket);
  }
  if ('der' in ticket && ticket.der) return enc.preEncoded(ticket.der);
  return ticketToAsn(ticket);
}

export function ticketFromDer(element: DerElement): Ticket {
  const f = element.application(ApplicationTag.TICKET).fields(FIELDS);
  const vno = f.required(0).int32();
  if (vno !== 5) f.required(0).fail(`ticket version ${vno}, expected 5`);
  const realm = f.required(1).kerberosString();
  return {
    server: withRealm(principalNameFromDer(f.required(2)), realm),
    encPart: encryptedDataFromDer(f.required(3)),
    der: element.raw(),
  };
}

export function encodeTicket(ticket: TicketFields): Buffer {
  return enc.toDer(ticketToAsn(ticket));
}

export function decodeTicket(der: Uint8Array): Ticket {
  return ticketFromDer(parseDer(der, 'Ticket'));
}
