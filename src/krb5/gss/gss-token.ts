// RFC 2743 §3.1 mechanism-independent token framing, and the krb5 mechanism's use of it
// (RFC 4121 §4.1):
//
//   InitialContextToken ::= [APPLICATION 0] IMPLICIT SEQUENCE {
//       thisMech MechType, innerContextToken ANY DEFINED BY thisMech }
//   60 <DER length> 06 <len> <mech OID> <inner token>
//   krb5 inner token = TOK_ID (2 bytes: 01 00 AP-REQ, 02 00 AP-REP, 03 00 KRB-ERROR) ‖ message
//
// The inner token is mechanism-defined bytes, not a DER element, so parsing reads the outer
// header itself instead of handing the token to the DER parser.
import * as enc from '../../der/encode.ts';
import { parseDer } from '../../der/decode.ts';
import { DecodeError } from '../../der/errors.ts';
import { KRB5_MECH_OID } from './oids.ts';

/** krb5 mechanism TOK_ID values (RFC 4121 §4.1). */
export const Krb5TokenId = {
  AP_REQ: 0x0100,
  AP_REP: 0x0200,
  KRB_ERROR: 0x0300,
} as const;

/** Wrap a mechanism token: 60 len 06 len OID inner. */
export function frameInitialContextToken(mechOid: string, innerToken: Uint8Array): Buffer {
  return enc.toDer(enc.application(0, [enc.objectIdentifier(mechOid), enc.preEncoded(innerToken)]));
}

/** The krb5 GSS initial context token around an AP-REQ: 60 len 06 09 2a864886f712010202 01 00 <AP-REQ>. */
export function frameKrb5ApReq(apReqDer: Uint8Array): Buffer {
  const inner = Buffer.alloc(2 + apReqDer.length);
  inner.writeUInt16BE(Krb5TokenId.AP_REQ, 0);
  inner.set(apReqDer, 2);
  return frameInitialContextToken(KRB5_MECH_OID, inner);
}

export interface InitialContextToken {
  /** dotted mechanism OID */
  mechOid: string;
  /** the mechanism's token after the OID */
  innerToken: Buffer;
}

/** Read a DER definite length at `offset`; returns [length, header bytes used]. */
function readLength(bytes: Uint8Array, offset: number, path: string): [number, number] {
  if (offset >= bytes.length) throw new DecodeError(path, 'truncated length');
  const first = bytes[offset];
  if (first < 0x80) return [first, 1];
  const count = first & 0x7f;
  if (count === 0) throw new DecodeError(path, 'indefinite length is not allowed');
  if (count > 4) throw new DecodeError(path, `length of ${count} bytes is too large`);
  if (offset + 1 + count > bytes.length) throw new DecodeError(path, 'truncated length');
  let length = 0;
  for (let i = 0; i < count; i++) length = length * 256 + bytes[offset + 1 + i];
  return [length, 1 + count];
}

/** Parse an RFC 2743 InitialContextToken (the whole input must be the token). */
export function parseInitialContextToken(token: Uint8Array): InitialContextToken {
  const path = 'InitialContextToken';
  if (token.length < 2 || token[0] !== 0x60) throw new DecodeError(path, 'does not start with [APPLICATION 0] (0x60)');
  const [length, lengthBytes] = readLength(token, 1, path);
  const start = 1 + lengthBytes;
  if (start + length !== token.length) {
    throw new DecodeError(path, `length ${length} does not match the ${token.length - start} bytes present`);
  }
  if (token[start] !== 0x06) throw new DecodeError(`${path}.thisMech`, 'expected an OBJECT IDENTIFIER');
  const [oidLength, oidLengthBytes] = readLength(token, start + 1, `${path}.thisMech`);
  const oidEnd = start + 1 + oidLengthBytes + oidLength;
  if (oidEnd > token.length) throw new DecodeError(`${path}.thisMech`, 'truncated');
  const mechOid = parseDer(token.subarray(start, oidEnd), `${path}.thisMech`).objectIdentifier();
  return { mechOid, innerToken: Buffer.from(token.subarray(oidEnd)) };
}

export interface Krb5Token {
  /** Krb5TokenId.* */
  tokenId: number;
  /** the Kerberos message after TOK_ID (AP-REQ, AP-REP or KRB-ERROR DER) */
  message: Buffer;
}

/** Parse a krb5 mechanism initial token: checks the OID, splits TOK_ID and the message. */
export function parseKrb5Token(token: Uint8Array): Krb5Token {
  const { mechOid, innerToken } = parseInitialContextToken(token);
  if (mechOid !== KRB5_MECH_OID) throw new DecodeError('InitialContextToken.thisMech', `mechanism ${mechOid} is not krb5`);
  if (innerToken.length < 2) throw new DecodeError('InitialContextToken.innerContextToken', 'missing TOK_ID');
  return { tokenId: innerToken.readUInt16BE(0), message: innerToken.subarray(2) };
}

/** The AP-REQ inside a krb5 initial context token (the inverse of frameKrb5ApReq). */
export function unframeKrb5ApReq(token: Uint8Array): Buffer {
  const { tokenId, message } = parseKrb5Token(token);
  if (tokenId !== Krb5TokenId.AP_REQ) {
    throw new DecodeError(
      'InitialContextToken.innerContextToken',
      `TOK_ID ${tokenId.toString(16).padStart(4, '0')} is not an AP-REQ (0100)`,
    );
  }
  return message;
}
