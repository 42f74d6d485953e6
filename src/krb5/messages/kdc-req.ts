// AS-REQ and TGS-REQ (RFC 4120 §5.4.1):
//   AS-REQ ::= [APPLICATION 10] KDC-REQ      TGS-REQ ::= [APPLICATION 12] KDC-REQ
//   KDC-REQ ::= SEQUENCE { pvno [1] 5, msg-type [2] 10|12, padata [3] SEQUENCE OF PA-DATA OPTIONAL,
//                          req-body [4] KDC-REQ-BODY }
//   KDC-REQ-BODY ::= SEQUENCE { kdc-options [0] KDCOptions, cname [1] PrincipalName OPTIONAL,
//     realm [2] Realm, sname [3] PrincipalName OPTIONAL, from [4] KerberosTime OPTIONAL,
//     till [5] KerberosTime, rtime [6] KerberosTime OPTIONAL, nonce [7] UInt32,
//     etype [8] SEQUENCE OF Int32, addresses [9] HostAddresses OPTIONAL,
//     enc-authorization-data [10] EncryptedData OPTIONAL, additional-tickets [11] SEQUENCE OF Ticket OPTIONAL }
// The req-body is encoded on its own (`encodeKdcReqBody`) because the TGS-REQ authenticator
// checksums its exact bytes; the request then embeds those same bytes.
import * as enc from '../../der/encode.ts';
import { parseDer, type DerElement } from '../../der/decode.ts';
import { MessageType } from '../iana/message-type.ts';
import { encryptedDataFromDer, encryptedDataToAsn, type EncryptedData } from './encrypted-data.ts';
import { hostAddressesFromDer, hostAddressesToAsn, type HostAddress } from './host-address.ts';
import { methodDataFromDer, methodDataToAsn, type PaData } from './pa-data.ts';
import { principalNameFromDer, principalNameToAsn, type NameParts } from './principal-name.ts';
import { ticketAsn, ticketFromDer, type Ticket, type TicketFields } from './ticket.ts';

export interface KdcReqBody {
  /** KdcOptions.* bits */
  kdcOptions: number;
  /** client name, AS-REQ only (its realm is `realm`) */
  cname?: NameParts;
  /** realm of the server (and of the client in an AS-REQ) */
  realm: string;
  /** server name (realm = `realm`); absent only for user-to-user with enc-tkt-in-skey */
  sname?: NameParts;
  from?: Date;
  till: Date;
  rtime?: Date;
  /** random 31-bit value echoed in the reply */
  nonce: number;
  /** enctypes the client accepts, in preference order */
  etype: number[];
  addresses?: HostAddress[];
  encAuthorizationData?: EncryptedData;
  /** additional tickets: received DER (Ticket.der / raw bytes) or fields to encode */
  additionalTickets?: Array<Ticket | TicketFields | Uint8Array>;
}

/** A decoded request body: additional tickets come back as decoded Tickets. */
export type DecodedKdcReqBody = Omit<KdcReqBody, 'additionalTickets'> & { additionalTickets?: Ticket[] };

export interface KdcReq {
  msgType: typeof MessageType.AS_REQ | typeof MessageType.TGS_REQ;
  padata: PaData[];
  reqBody: DecodedKdcReqBody;
  /** the exact DER of req-body (what a TGS-REQ authenticator checksums) */
  reqBodyDer: Buffer;
}

export interface KdcReqInput {
  padata?: readonly PaData[];
  /** the body, or its DER as returned by encodeKdcReqBody (to keep checksummed bytes exact) */
  reqBody: KdcReqBody | Uint8Array;
}

const BODY_FIELDS = {
  0: 'kdc-options',
  1: 'cname',
  2: 'realm',
  3: 'sname',
  4: 'from',
  5: 'till',
  6: 'rtime',
  7: 'nonce',
  8: 'etype',
  9: 'addresses',
  10: 'enc-authorization-data',
  11: 'additional-tickets',
} as const;
const REQ_FIELDS = { 1: 'pvno', 2: 'msg-type', 3: 'padata', 4: 'req-body' } as const;

const opt = <T>(value: T | undefined, f: (v: T) => enc.Asn): enc.Asn | undefined => (value === undefined ? undefined : f(value));

export function kdcReqBodyToAsn(body: KdcReqBody): enc.Asn {
  return enc.taggedSequence([
    [0, enc.kerberosFlags(body.kdcOptions)],
    [1, opt(body.cname, principalNameToAsn)],
    [2, enc.kerberosString(body.realm)],
    [3, opt(body.sname, principalNameToAsn)],
    [4, opt(body.from, enc.kerberosTime)],
    [5, enc.kerberosTime(body.till)],
    [6, opt(body.rtime, enc.kerberosTime)],
    [7, enc.uint32(body.nonce)],
    [8, enc.sequence(body.etype.map(enc.int32))],
    [9, opt(body.addresses, hostAddressesToAsn)],
    [10, opt(body.encAuthorizationData, encryptedDataToAsn)],
    [11, opt(body.additionalTickets, (list) => enc.sequence(list.map(ticketAsn)))],
  ]);
}

/** DER of a KDC-REQ-BODY; pass these bytes to the checksum and to encodeTgsReq/encodeAsReq. */
export function encodeKdcReqBody(body: KdcReqBody): Buffer {
  return enc.toDer(kdcReqBodyToAsn(body));
}

function kdcReqBodyFromDer(element: DerElement): DecodedKdcReqBody {
  const f = element.fields(BODY_FIELDS);
  const body: DecodedKdcReqBody = {
    kdcOptions: f.required(0).kerberosFlags(),
    realm: f.required(2).kerberosString(),
    till: f.required(5).kerberosTime(),
    nonce: f.required(7).uint32(),
    etype: f.required(8).sequenceOf((e) => e.int32()),
  };
  const cname = f.optional(1);
  if (cname) body.cname = principalNameFromDer(cname);
  const sname = f.optional(3);
  if (sname) body.sname = principalNameFromDer(sname);
  const from = f.optional(4);
  if (from) body.from = from.kerberosTime();
  const rtime = f.optional(6);
  if (rtime) body.rtime = rtime.kerberosTime();
  const addresses = f.optional(9);
  if (addresses) body.addresses = hostAddressesFromDer(addresses);
  const ead = f.optional(10);
  if (ead) body.encAuthorizationData = encryptedDataFromDer(ead);
  const tickets = f.optional(11);
  if (tickets) body.additionalTickets = tickets.sequenceOf(ticketFromDer);
  return body;
}

function encodeKdcReq(msgType: 10 | 12, input: KdcReqInput): Buffer {
  let body: enc.Asn;
  if (input.reqBody instanceof Uint8Array) {
    if (input.reqBody[0] !== 0x30) throw new RangeError('req-body bytes are not a SEQUENCE');
    body = enc.preEncoded(input.reqBody);
  } else {
    body = kdcReqBodyToAsn(input.reqBody);
  }
  return enc.toDer(
    enc.application(
      msgType,
      enc.taggedSequence([
        [1, enc.int32(5)],
        [2, enc.int32(msgType)],
        [3, input.padata && input.padata.length > 0 ? methodDataToAsn(input.padata) : undefined],
        [4, body],
      ]),
    ),
  );
}

export function encodeAsReq(input: KdcReqInput): Buffer {
  return encodeKdcReq(MessageType.AS_REQ, input);
}

export function encodeTgsReq(input: KdcReqInput): Buffer {
  return encodeKdcReq(MessageType.TGS_REQ, input);
}

function kdcReqFromDer(element: DerElement, tags: readonly number[]): KdcReq {
  const msgType = element.applicationTag();
  const f = element.application(tags).fields(REQ_FIELDS);
  const pvno = f.required(1).int32();
  if (pvno !== 5) f.required(1).fail(`protocol version ${pvno}, expected 5`);
  const declared = f.required(2).int32();
  if (declared !== msgType) f.required(2).fail(`msg-type ${declared} does not match [APPLICATION ${msgType}]`);
  const body = f.required(4);
  return {
    msgType: msgType as KdcReq['msgType'],
    padata: f.optional(3) ? methodDataFromDer(f.required(3)) : [],
    reqBody: kdcReqBodyFromDer(body),
    reqBodyDer: body.raw(),
  };
}

/** Decode an AS-REQ or a TGS-REQ (tests, traces, and KDC-side tooling). */
export function decodeKdcReq(der: Uint8Array): KdcReq {
  return kdcReqFromDer(parseDer(der, 'KDC-REQ'), [MessageType.AS_REQ, MessageType.TGS_REQ]);
}

export function decodeAsReq(der: Uint8Array): KdcReq {
  return kdcReqFromDer(parseDer(der, 'AS-REQ'), [MessageType.AS_REQ]);
}

export function decodeTgsReq(der: Uint8Array): KdcReq {
  return kdcReqFromDer(parseDer(der, 'TGS-REQ'), [MessageType.TGS_REQ]);
}
