// fast-check generators for the Kerberos message types (property tests).
import fc from 'fast-check';

export const int32 = fc.integer({ min: -0x80000000, max: 0x7fffffff });
export const uint32 = fc.integer({ min: 0, max: 0xffffffff });
export const bytes = (maxLength = 48) => fc.uint8Array({ maxLength }).map((b) => Buffer.from(b));
/** KerberosString: any valid Unicode text (encoded as UTF-8 in a GeneralString) */
export const kstring = fc.string({ unit: 'grapheme', maxLength: 12 });
/** KerberosTime values: whole seconds, years 1 … 9999 */
export const ktime = fc
  .date({ min: new Date('0001-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59Z'), noInvalidDate: true })
  .map((d) => new Date(Math.floor(d.getTime() / 1000) * 1000));
export const usec = fc.integer({ min: 0, max: 999999 });

export const nameParts = fc.record({ nameType: int32, components: fc.array(kstring, { maxLength: 4 }) });
export const principal = fc.record({ nameType: int32, components: fc.array(kstring, { maxLength: 4 }), realm: kstring });
export const encryptionKey = fc.record({ keytype: int32, keyvalue: bytes(32) });
export const encryptedData = fc.record({ etype: int32, kvno: uint32, cipher: bytes(64) }, { requiredKeys: ['etype', 'cipher'] });
export const checksum = fc.record({ cksumtype: int32, checksum: bytes(24) });
export const paData = fc.record({ padataType: int32, padataValue: bytes(32) });
export const hostAddress = fc.record({ addrType: int32, address: bytes(16) });
export const authData = fc.record({ adType: int32, adData: bytes(16) });
export const ticketFields = fc.record({ server: principal, encPart: encryptedData });
