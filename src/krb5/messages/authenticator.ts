// Authenticator (RFC 4120 §5.5.1), encrypted into AP-REQ.authenticator:
//   Authenticator ::= [APPLICATION 2] SEQUENCE { authenticator-vno [0] 5, crealm [1] Realm,
//     cname [2] PrincipalName, cksum [3] Checksum OPTIONAL, cusec [4] Microseconds,
//     ctime [5] KerberosTime, subkey [6] EncryptionKey OPTIONAL, seq-number [7] UInt32 OPTIONAL,
//     authorization-data [8] AuthorizationData OPTIONAL }
// Key usage 7 inside a TGS-REQ (cksum = req-body checksum, usage 6), 11 in an AP-REQ for GSS
// (cksum = the 0x8003 GSS checksum, src/krb5/gss/gss-checksum.ts).
import * as enc from '../../der/encode.ts';
import { parseDer } from '../../der/decode.ts';
import { ApplicationTag } from '../iana/message-type.ts';
import { authorizationDataFromDer, authorizationDataToAsn, type AuthorizationDataEntry } from './authorization-data.ts';
import { checksumFromDer, checksumToAsn, type Checksum } from './checksum.ts';
import { encryptionKeyFromDer, encryptionKeyToAsn, type EncryptionKey } from './encryption-key.ts';
import { principalNameFromDer, principalNameToAsn, withRealm, type PrincipalName } from './principal-name.ts';

export interface Authenticator {
  /** cname with crealm */
  client: PrincipalName;
  cksum?: Checksum;
  /** microseconds of ctime (0 … 999999) */
  cusec: number;
  /** client time in whole seconds (fractions are dropped on encode) */
  ctime: Date;
  subkey?: EncryptionKey;
  seqNumber?: number;
  authorizationData?: AuthorizationDataEntry[];
}

const FIELDS = {
  0: 'authenticator-vno',
  1: 'crealm',
  2: 'cname',
  3: 'cksum',
  4: 'cusec',
  5: 'ctime',
  6: 'subkey',
  7: 'seq-number',
  8: 'authorization-data',
} as const;

export function encodeAuthenticator(a: Authenticator): Buffer {
  return enc.toDer(
    enc.application(
      ApplicationTag.AUTHENTICATOR,
      enc.taggedSequence([
        [0, enc.int32(5)],
        [1, enc.kerberosString(a.client.realm)],
        [2, principalNameToAsn(a.client)],
        [3, a.cksum && checksumToAsn(a.cksum)],
        [4, enc.microseconds(a.cusec)],
        [5, enc.kerberosTime(a.ctime)],
        [6, a.subkey && encryptionKeyToAsn(a.subkey)],
        [7, a.seqNumber === undefined ? undefined : enc.uint32(a.seqNumber)],
        [8, a.authorizationData && authorizationDataToAsn(a.authorizationData)],
      ]),
    ),
  );
}

export function decodeAuthenticator(der: Uint8Array): Authenticator {
  const f = parseDer(der, 'Authenticator').application(ApplicationTag.AUTHENTICATOR).fields(FIELDS);
  const vno = f.required(0).int32();
  if (vno !== 5) f.required(0).fail(`authenticator version ${vno}, expected 5`);
  const a: Authenticator = {
    client: withRealm(principalNameFromDer(f.required(2)), f.required(1).kerberosString()),
    cusec: f.required(4).microseconds(),
    ctime: f.required(5).kerberosTime(),
  };
  const cksum = f.optional(3);
  if (cksum) a.cksum = checksumFromDer(cksum);
  const subkey = f.optional(6);
  if (subkey) a.subkey = encryptionKeyFromDer(subkey);
  const seq = f.optional(7);
  if (seq) a.seqNumber = seq.uint32();
  const ad = f.optional(8);
  if (ad) a.authorizationData = authorizationDataFromDer(ad);
  return a;
}
