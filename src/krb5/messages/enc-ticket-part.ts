// EncTicketPart (RFC 4120 §5.3), the decrypted Ticket enc-part (service key, usage 2). Clients
// never see it; tests and fake KDCs/acceptors do.
//   EncTicketPart ::= [APPLICATION 3] SEQUENCE { flags [0] TicketFlags, key [1] EncryptionKey,
//     crealm [2] Realm, cname [3] PrincipalName, transited [4] TransitedEncoding,
//     authtime [5] KerberosTime, starttime [6] KerberosTime OPTIONAL, endtime [7] KerberosTime,
//     renew-till [8] KerberosTime OPTIONAL, caddr [9] HostAddresses OPTIONAL,
//     authorization-data [10] AuthorizationData OPTIONAL }
//   TransitedEncoding ::= SEQUENCE { tr-type [0] Int32, contents [1] OCTET STRING }
import * as enc from '../../der/encode.ts';
import { parseDer } from '../../der/decode.ts';
import { ApplicationTag } from '../iana/message-type.ts';
import { authorizationDataFromDer, authorizationDataToAsn, type AuthorizationDataEntry } from './authorization-data.ts';
import { encryptionKeyFromDer, encryptionKeyToAsn, type EncryptionKey } from './encryption-key.ts';
import { hostAddressesFromDer, hostAddressesToAsn, type HostAddress } from './host-address.ts';
import { principalNameFromDer, principalNameToAsn, withRealm, type PrincipalName } from './principal-name.ts';

export interface EncTicketPart {
  flags: number;
  key: EncryptionKey;
  /** cname with crealm */
  client: PrincipalName;
  transited: { trType: number; contents: Buffer };
  authtime: Date;
  starttime?: Date;
  endtime: Date;
  renewTill?: Date;
  caddr?: HostAddress[];
  authorizationData?: AuthorizationDataEntry[];
}

const FIELDS = {
  0: 'flags',
  1: 'key',
  2: 'crealm',
  3: 'cname',
  4: 'transited',
  5: 'authtime',
  6: 'starttime',
  7: 'endtime',
  8: 'renew-till',
  9: 'caddr',
  10: 'authorization-data',
} as const;
const TR_FIELDS = { 0: 'tr-type', 1: 'contents' } as const;

export function encodeEncTicketPart(part: EncTicketPart): Buffer {
  return enc.toDer(
    enc.application(
      ApplicationTag.ENC_TICKET_PART,
      enc.taggedSequence([
        [0, enc.kerberosFlags(part.flags)],
        [1, encryptionKeyToAsn(part.key)],
        [2, enc.kerberosString(part.client.realm)],
        [3, principalNameToAsn(part.client)],
        [
          4,
          enc.taggedSequence([
            [0, enc.int32(part.transited.trType)],
            [1, enc.octetString(part.transited.contents)],
          ]),
        ],
        [5, enc.kerberosTime(part.authtime)],
        [6, part.starttime && enc.kerberosTime(part.starttime)],
        [7, enc.kerberosTime(part.endtime)],
        [8, part.renewTill && enc.kerberosTime(part.renewTill)],
        [9, part.caddr && hostAddressesToAsn(part.caddr)],
        [10, part.authorizationData && authorizationDataToAsn(part.authorizationData)],
      ]),
    ),
  );
}

export function decodeEncTicketPart(der: Uint8Array): EncTicketPart {
  const f = parseDer(der, 'EncTicketPart').application(ApplicationTag.ENC_TICKET_PART).fields(FIELDS);
  const tr = f.required(4).fields(TR_FIELDS);
  const part: EncTicketPart = {
    flags: f.required(0).kerberosFlags(),
    key: encryptionKeyFromDer(f.required(1)),
    client: withRealm(principalNameFromDer(f.required(3)), f.required(2).kerberosString()),
    transited: { trType: tr.required(0).int32(), contents: tr.required(1).octetString() },
    authtime: f.required(5).kerberosTime(),
    endtime: f.required(7).kerberosTime(),
  };
  const starttime = f.optional(6);
  if (starttime) part.starttime = starttime.kerberosTime();
  const renewTill = f.optional(8);
  if (renewTill) part.renewTill = renewTill.kerberosTime();
  const caddr = f.optional(9);
  if (caddr) part.caddr = hostAddressesFromDer(caddr);
  const ad = f.optional(10);
  if (ad) part.authorizationData = authorizationDataFromDer(ad);
  return part;
}
