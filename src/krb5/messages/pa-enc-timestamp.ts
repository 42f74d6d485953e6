// PA-ENC-TIMESTAMP (RFC 4120 §5.2.7.2), the classic AS-REQ pre-authentication:
//   PA-ENC-TIMESTAMP ::= EncryptedData -- PA-ENC-TS-ENC, client key, key usage 1
//   PA-ENC-TS-ENC ::= SEQUENCE { patimestamp [0] KerberosTime, pausec [1] Microseconds OPTIONAL }
import * as enc from '../../der/encode.ts';
import { parseDer } from '../../der/decode.ts';

export interface PaEncTsEnc {
  patimestamp: Date;
  pausec?: number;
}

const FIELDS = { 0: 'patimestamp', 1: 'pausec' } as const;

/** DER of PA-ENC-TS-ENC, to be encrypted with the client key (usage 1) into PA-DATA type 2. */
export function encodePaEncTsEnc(ts: PaEncTsEnc): Buffer {
  return enc.toDer(
    enc.taggedSequence([
      [0, enc.kerberosTime(ts.patimestamp)],
      [1, ts.pausec === undefined ? undefined : enc.microseconds(ts.pausec)],
    ]),
  );
}

export function decodePaEncTsEnc(der: Uint8Array): PaEncTsEnc {
  const f = parseDer(der, 'PA-ENC-TS-ENC').fields(FIELDS);
  const ts: PaEncTsEnc = { patimestamp: f.required(0).kerberosTime() };
  const usec = f.optional(1);
  if (usec) ts.pausec = usec.microseconds();
  return ts;
}
