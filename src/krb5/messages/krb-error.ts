// KRB-ERROR (RFC 4120 §5.9.1):
//   KRB-ERROR ::= [APPLICATION 30] SEQUENCE { pvno [0] 5, msg-type [1] 30,
//     ctime [2] KerberosTime OPTIONAL, cusec [3] Microseconds OPTIONAL, stime [4] KerberosTime,
//     susec [5] Microseconds, error-code [6] Int32, crealm [7] Realm OPTIONAL,
//     cname [8] PrincipalName OPTIONAL, realm [9] Realm, sname [10] PrincipalName,
//     e-text [11] KerberosString OPTIONAL, e-data [12] OCTET STRING OPTIONAL }
// e-data is usually METHOD-DATA (e.g. PA-ETYPE-INFO2 with KDC_ERR_PREAUTH_REQUIRED), sometimes
// TYPED-DATA or vendor data; `krbErrorPaData` tries the METHOD-DATA reading. Active Directory puts
// a KERB-ERROR-DATA with the account check's NTSTATUS there (kerb-error-data.ts): KrbError
// carries it and names it in its message.
import * as enc from '../../der/encode.ts';
import { parseDer } from '../../der/decode.ts';
import { DecodeError } from '../../der/errors.ts';
import { errorCodeInfo } from '../iana/error-code.ts';
import { MessageType } from '../iana/message-type.ts';
import { describeNtStatus, extendedErrorStatus } from './kerb-error-data.ts';
import { decodeMethodData, type PaData } from './pa-data.ts';
import { principalNameFromDer, principalNameToAsn, unparsePrincipal, withRealm, type PrincipalName } from './principal-name.ts';

export interface KrbErrorMessage {
  ctime?: Date;
  cusec?: number;
  /** the KDC's (or server's) current time: the clock reference for skew corrections */
  stime: Date;
  susec: number;
  /** ErrorCode.* */
  errorCode: number;
  /** cname with crealm; present only when both came */
  client?: PrincipalName;
  /** sname with realm */
  server: PrincipalName;
  eText?: string;
  eData?: Buffer;
}

const FIELDS = {
  0: 'pvno',
  1: 'msg-type',
  2: 'ctime',
  3: 'cusec',
  4: 'stime',
  5: 'susec',
  6: 'error-code',
  7: 'crealm',
  8: 'cname',
  9: 'realm',
  10: 'sname',
  11: 'e-text',
  12: 'e-data',
} as const;

export function encodeKrbError(e: KrbErrorMessage): Buffer {
  return enc.toDer(
    enc.application(
      MessageType.KRB_ERROR,
      enc.taggedSequence([
        [0, enc.int32(5)],
        [1, enc.int32(MessageType.KRB_ERROR)],
        [2, e.ctime && enc.kerberosTime(e.ctime)],
        [3, e.cusec === undefined ? undefined : enc.microseconds(e.cusec)],
        [4, enc.kerberosTime(e.stime)],
        [5, enc.microseconds(e.susec)],
        [6, enc.int32(e.errorCode)],
        [7, e.client && enc.kerberosString(e.client.realm)],
        [8, e.client && principalNameToAsn(e.client)],
        [9, enc.kerberosString(e.server.realm)],
        [10, principalNameToAsn(e.server)],
        [11, e.eText === undefined ? undefined : enc.kerberosString(e.eText)],
        [12, e.eData && enc.octetString(e.eData)],
      ]),
    ),
  );
}

export function decodeKrbError(der: Uint8Array): KrbErrorMessage {
  const top = parseDer(der, 'KRB-ERROR');
  const f = top.application(MessageType.KRB_ERROR).fields(FIELDS);
  const pvno = f.required(0).int32();
  if (pvno !== 5) f.required(0).fail(`protocol version ${pvno}, expected 5`);
  const msgType = f.required(1).int32();
  if (msgType !== MessageType.KRB_ERROR) f.required(1).fail(`msg-type ${msgType}, expected 30`);
  const e: KrbErrorMessage = {
    stime: f.required(4).kerberosTime(),
    susec: f.required(5).microseconds(),
    errorCode: f.required(6).int32(),
    server: withRealm(principalNameFromDer(f.required(10)), f.required(9).kerberosString()),
  };
  const ctime = f.optional(2);
  if (ctime) e.ctime = ctime.kerberosTime();
  const cusec = f.optional(3);
  if (cusec) e.cusec = cusec.microseconds();
  const crealm = f.optional(7);
  const cname = f.optional(8);
  if (crealm && cname) e.client = withRealm(principalNameFromDer(cname), crealm.kerberosString());
  const eText = f.optional(11);
  if (eText) e.eText = eText.kerberosString();
  const eData = f.optional(12);
  if (eData) e.eData = eData.octetString();
  return e;
}

/** e-data read as METHOD-DATA, or undefined when it is absent or something else. */
export function krbErrorPaData(e: KrbErrorMessage): PaData[] | undefined {
  if (!e.eData || e.eData.length === 0) return undefined;
  try {
    return decodeMethodData(e.eData);
  } catch (err) {
    if (err instanceof DecodeError) return undefined;
    throw err;
  }
}

/**
 * A KRB-ERROR received from a KDC or server, as an exception. `code` is the wire error code;
 * the message reads like "server not found in Kerberos database (KDC_ERR_S_PRINCIPAL_UNKNOWN,
 * 7) for cifs/fs1.example.test@EXAMPLE.TEST: <e-text>", followed by an AD KDC's NTSTATUS, e.g.
 * "; the directory says NTSTATUS 0xc0000072 STATUS_ACCOUNT_DISABLED: the account is disabled".
 */
export class KrbError extends Error {
  override name = 'KrbError';
  /** wire error code (ErrorCode.*) */
  readonly code: number;
  /** symbolic name, e.g. "KRB_AP_ERR_SKEW" */
  readonly codeName: string;
  /** short explanation, e.g. "clock skew too great" */
  readonly explanation: string;
  /** the NTSTATUS of an Active Directory KDC's KERB-EXT-ERROR e-data (MS-KILE §2.2.2), if any */
  readonly ntStatus: number | undefined;

  constructor(
    readonly krbError: KrbErrorMessage,
    context?: string,
  ) {
    const info = errorCodeInfo(krbError.errorCode);
    const server = unparsePrincipal(krbError.server);
    const parts = [`${info.explanation} (${info.name}, ${krbError.errorCode})`];
    if (context) parts.push(context);
    else if (krbError.server.components.length > 0) parts.push(`for ${server}`);
    let message = parts.join(' ');
    if (krbError.eText) message += `: ${krbError.eText}`;
    const ntStatus = extendedErrorStatus(krbError.eData);
    if (ntStatus !== undefined) message += `; the directory says ${describeNtStatus(ntStatus)}`;
    super(message);
    this.ntStatus = ntStatus;
    this.code = krbError.errorCode;
    this.codeName = info.name;
    this.explanation = info.explanation;
  }

  /** Parse a KRB-ERROR and wrap it (throws DecodeError if the bytes are not one). */
  static fromDer(der: Uint8Array, context?: string): KrbError {
    return new KrbError(decodeKrbError(der), context);
  }
}
