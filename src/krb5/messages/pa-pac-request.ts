// KERB-PA-PAC-REQUEST (MS-KILE §2.2.3), padata type 128: asks an AD KDC to include (or omit)
// the PAC in the ticket.
//   KERB-PA-PAC-REQUEST ::= SEQUENCE { include-pac [0] BOOLEAN }
import * as enc from '../../der/encode.ts';
import { parseDer } from '../../der/decode.ts';

const FIELDS = { 0: 'include-pac' } as const;

export function encodePaPacRequest(includePac: boolean): Buffer {
  return enc.toDer(enc.taggedSequence([[0, enc.boolean(includePac)]]));
}

export function decodePaPacRequest(der: Uint8Array): boolean {
  return parseDer(der, 'KERB-PA-PAC-REQUEST').fields(FIELDS).required(0).boolean();
}
