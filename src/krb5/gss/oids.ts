// Mechanism OIDs that appear in GSS and SPNEGO tokens (RFC 1964/4121, RFC 4178, MS-SPNG).

/** Kerberos 5 GSS mechanism (RFC 1964 / RFC 4121). DER: 06 09 2a 86 48 86 f7 12 01 02 02 */
export const KRB5_MECH_OID = '1.2.840.113554.1.2.2';
/** Microsoft's mis-encoded Kerberos OID, used for sec=mskrb5. DER: 06 09 2a 86 48 82 f7 12 01 02 02 */
export const MS_KRB5_MECH_OID = '1.2.840.48018.1.2.2';
/** SPNEGO (RFC 4178). DER: 06 06 2b 06 01 05 05 02 */
export const SPNEGO_OID = '1.3.6.1.5.5.2';
export const NTLMSSP_OID = '1.3.6.1.4.1.311.2.2.10';
export const NEGOEX_OID = '1.3.6.1.4.1.311.2.2.30';
/** IAKERB (RFC draft / MS-KILE) */
export const IAKERB_OID = '1.3.6.1.5.2.5';

const names: Record<string, string> = {
  [KRB5_MECH_OID]: 'krb5',
  [MS_KRB5_MECH_OID]: 'mskrb5',
  [SPNEGO_OID]: 'spnego',
  [NTLMSSP_OID]: 'ntlmssp',
  [NEGOEX_OID]: 'negoex',
  [IAKERB_OID]: 'iakerb',
};

/** Short name of a mechanism OID for traces ("krb5", "mskrb5", …), else the dotted OID. */
export function mechName(oid: string): string {
  return names[oid] ?? oid;
}
