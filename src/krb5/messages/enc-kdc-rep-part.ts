// EncASRepPart / EncTGSRepPart (RFC 4120 §5.4.2), the decrypted enc-part of a KDC reply:
//   EncASRepPart ::= [APPLICATION 25] EncKDCRepPart   EncTGSRepPart ::= [APPLICATION 26] EncKDCRepPart
//   EncKDCRepPart ::= SEQUENCE { key [0] EncryptionKey, last-req [1] LastReq, nonce [2] UInt32,
//     key-expiration [3] KerberosTime OPTIONAL, flags [4] TicketFlags, authtime [5] KerberosTime,
//     starttime [6] KerberosTime OPTIONAL, endtime [7] KerberosTime, renew-till [8] KerberosTime OPTIONAL,
//     srealm [9] Realm, sname [10] PrincipalName, caddr [11] HostAddresses OPTIONAL,
//     encrypted-pa-data [12] SEQUENCE OF PA-DATA OPTIONAL }
//   LastReq ::= SEQUENCE OF SEQUENCE { lr-type [0] Int32, lr-value [1] KerberosTime }
// Both tags are accepted for either reply (RFC 4120 §5.4.2 notes implementations that send 25 in
// TGS replies); `tag` tells which one came.
import * as enc from '../../der/encode.ts';
import { parseDer, type DerElement } from '../../der/decode.ts';
import { ApplicationTag } from '../iana/message-type.ts';
import { encryptionKeyFromDer, encryptionKeyToAsn, type EncryptionKey } from './encryption-key.ts';
import { hostAddressesFromDer, hostAddressesToAsn, type HostAddress } from './host-address.ts';
import { methodDataFromDer, methodDataToAsn, type PaData } from './pa-data.ts';
import { principalNameFromDer, principalNameToAsn, withRealm, type PrincipalName } from './principal-name.ts';

export interface LastReqEntry {
  lrType: number;
  lrValue: Date;
}

export interface EncKdcRepPart {
  /** APPLICATION tag it came with: 25 (EncASRepPart) or 26 (EncTGSRepPart) */
  tag: typeof ApplicationTag.ENC_AS_REP_PART | typeof ApplicationTag.ENC_TGS_REP_PART;
  /** the session key of the new ticket */
  key: EncryptionKey;
  lastReq: LastReqEntry[];
  nonce: number;
  keyExpiration?: Date;
  /** TicketFlags.* bits */
  flags: number;
  authtime: Date;
  /** absent means "same as authtime" */
  starttime?: Date;
  endtime: Date;
  renewTill?: Date;
  /** sname with srealm */
  server: PrincipalName;
  caddr?: HostAddress[];
  encryptedPaData?: PaData[];
}

const FIELDS = {
  0: 'key',
  1: 'last-req',
  2: 'nonce',
  3: 'key-expiration',
  4: 'flags',
  5: 'authtime',
  6: 'starttime',
  7: 'endtime',
  8: 'renew-till',
  9: 'srealm',
  10: 'sname',
  11: 'caddr',
  12: 'encrypted-pa-data',
} as const;
const LR_FIELDS = { 0: 'lr-type', 1: 'lr-value' } as const;

const opt = <T>(value: T | undefined, f: (v: T) => enc.Asn): enc.Asn | undefined => (value === undefined ? undefined : f(value));

export function encodeEncKdcRepPart(part: EncKdcRepPart): Buffer {
  return enc.toDer(
    enc.application(
      part.tag,
      enc.taggedSequence([
        [0, encryptionKeyToAsn(part.key)],
        [
          1,
          enc.sequence(
            part.lastReq.map((lr) =>
              enc.taggedSequence([
                [0, enc.int32(lr.lrType)],
                [1, enc.kerberosTime(lr.lrValue)],
              ]),
            ),
          ),
        ],
        [2, enc.uint32(part.nonce)],
        [3, opt(part.keyExpiration, enc.kerberosTime)],
        [4, enc.kerberosFlags(part.flags)],
        [5, enc.kerberosTime(part.authtime)],
        [6, opt(part.starttime, enc.kerberosTime)],
        [7, enc.kerberosTime(part.endtime)],
        [8, opt(part.renewTill, enc.kerberosTime)],
        [9, enc.kerberosString(part.server.realm)],
        [10, principalNameToAsn(part.server)],
        [11, opt(part.caddr, hostAddressesToAsn)],
        [12, opt(part.encryptedPaData, methodDataToAsn)],
      ]),
    ),
  );
}

function encKdcRepPartFromDer(element: DerElement): EncKdcRepPart {
  const tag = element.applicationTag();
  const f = element.application([ApplicationTag.ENC_AS_REP_PART, ApplicationTag.ENC_TGS_REP_PART]).fields(FIELDS);
  const part: EncKdcRepPart = {
    tag: tag as EncKdcRepPart['tag'],
    key: encryptionKeyFromDer(f.required(0)),
    lastReq: f.required(1).sequenceOf((e) => {
      const lr = e.fields(LR_FIELDS);
      return { lrType: lr.required(0).int32(), lrValue: lr.required(1).kerberosTime() };
    }),
    nonce: f.required(2).uint32(),
    flags: f.required(4).kerberosFlags(),
    authtime: f.required(5).kerberosTime(),
    endtime: f.required(7).kerberosTime(),
    server: withRealm(principalNameFromDer(f.required(10)), f.required(9).kerberosString()),
  };
  const keyExpiration = f.optional(3);
  if (keyExpiration) part.keyExpiration = keyExpiration.kerberosTime();
  const starttime = f.optional(6);
  if (starttime) part.starttime = starttime.kerberosTime();
  const renewTill = f.optional(8);
  if (renewTill) part.renewTill = renewTill.kerberosTime();
  const caddr = f.optional(11);
  if (caddr) part.caddr = hostAddressesFromDer(caddr);
  const encPa = f.optional(12);
  if (encPa) part.encryptedPaData = methodDataFromDer(encPa);
  return part;
}

/** Decode a decrypted AS-REP or TGS-REP enc-part ([APPLICATION 25] or [APPLICATION 26]). */
export function decodeEncKdcRepPart(der: Uint8Array): EncKdcRepPart {
  return encKdcRepPartFromDer(parseDer(der, 'EncKDCRepPart'));
}
