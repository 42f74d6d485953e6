// AS-REP and TGS-REP (RFC 4120 §5.4.2):
//   AS-REP ::= [APPLICATION 11] KDC-REP      TGS-REP ::= [APPLICATION 13] KDC-REP
//   KDC-REP ::= SEQUENCE { pvno [0] 5, msg-type [1] 11|13, padata [2] SEQUENCE OF PA-DATA OPTIONAL,
//     crealm [3] Realm, cname [4] PrincipalName, ticket [5] Ticket, enc-part [6] EncryptedData }
// enc-part decrypts to EncASRepPart / EncTGSRepPart (enc-kdc-rep-part.ts): AS-REP with the
// client key (usage 3), TGS-REP with the authenticator subkey (usage 9) or the TGT session key
// (usage 8).
import * as enc from '../../der/encode.ts';
import { parseDer, type DerElement } from '../../der/decode.ts';
import { MessageType } from '../iana/message-type.ts';
import { encryptedDataFromDer, encryptedDataToAsn, type EncryptedData } from './encrypted-data.ts';
import { methodDataFromDer, methodDataToAsn, type PaData } from './pa-data.ts';
import { principalNameFromDer, principalNameToAsn, withRealm, type PrincipalName } from './principal-name.ts';
import { ticketAsn, ticketFromDer, type Ticket, type TicketFields } from './ticket.ts';

export interface KdcRep {
  msgType: typeof MessageType.AS_REP | typeof MessageType.TGS_REP;
  padata: PaData[];
  /** cname with crealm */
  client: PrincipalName;
  /** the new ticket; `ticket.der` is what goes into the ccache and the AP-REQ */
  ticket: Ticket;
  encPart: EncryptedData;
}

export interface KdcRepInput {
  padata?: readonly PaData[];
  client: PrincipalName;
  ticket: Ticket | TicketFields | Uint8Array;
  encPart: EncryptedData;
}

const FIELDS = {
  0: 'pvno',
  1: 'msg-type',
  2: 'padata',
  3: 'crealm',
  4: 'cname',
  5: 'ticket',
  6: 'enc-part',
} as const;

function encodeKdcRep(msgType: 11 | 13, rep: KdcRepInput): Buffer {
  return enc.toDer(
    enc.application(
      msgType,
      enc.taggedSequence([
        [0, enc.int32(5)],
        [1, enc.int32(msgType)],
        [2, rep.padata && rep.padata.length > 0 ? methodDataToAsn(rep.padata) : undefined],
        [3, enc.kerberosString(rep.client.realm)],
        [4, principalNameToAsn(rep.client)],
        [5, ticketAsn(rep.ticket)],
        [6, encryptedDataToAsn(rep.encPart)],
      ]),
    ),
  );
}

/** Encode an AS-REP (tests and fake KDCs). */
export function encodeAsRep(rep: KdcRepInput): Buffer {
  return encodeKdcRep(MessageType.AS_REP, rep);
}

/** Encode a TGS-REP (tests and fake KDCs). */
export function encodeTgsRep(rep: KdcRepInput): Buffer {
  return encodeKdcRep(MessageType.TGS_REP, rep);
}

function kdcRepFromDer(element: DerElement, tags: readonly number[]): KdcRep {
  const msgType = element.applicationTag();
  const f = element.application(tags).fields(FIELDS);
  const pvno = f.required(0).int32();
  if (pvno !== 5) f.required(0).fail(`protocol version ${pvno}, expected 5`);
  const declared = f.required(1).int32();
  if (declared !== msgType) f.required(1).fail(`msg-type ${declared} does not match [APPLICATION ${msgType}]`);
  const padata = f.optional(2);
  return {
    msgType: msgType as KdcRep['msgType'],
    padata: padata ? methodDataFromDer(padata) : [],
    client: withRealm(principalNameFromDer(f.required(4)), f.required(3).kerberosString()),
    ticket: ticketFromDer(f.required(5)),
    encPart: encryptedDataFromDer(f.required(6)),
  };
}

export function decodeAsRep(der: Uint8Array): KdcRep {
  return kdcRepFromDer(parseDer(der, 'AS-REP'), [MessageType.AS_REP]);
}

export function decodeTgsRep(der: Uint8Array): KdcRep {
  return kdcRepFromDer(parseDer(der, 'TGS-REP'), [MessageType.TGS_REP]);
}

/** Decode either reply type; check `msgType`. */
export function decodeKdcRep(der: Uint8Array): KdcRep {
  return kdcRepFromDer(parseDer(der, 'KDC-REP'), [MessageType.AS_REP, MessageType.TGS_REP]);
}
