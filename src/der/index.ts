// DER for the Kerberos ASN.1 module (RFC 4120 §5): builders (encode.ts), strict/lenient readers
// (decode.ts) and the DecodeError every decoder throws (errors.ts).
//
// Why asn1js and not @peculiar/asn1-schema: the schema layer hard-codes the tag class of tagged
// fields to context-specific, so it cannot express the [APPLICATION n] wrapper every Kerberos PDU
// carries (docs/kerberos.md#the-asn1-library); asn1js's object model takes any tag class. asn1js is used only as a
// BER object model: the Kerberos rules (whole-second KerberosTime — asn1js would append
// milliseconds —, 32-bit KerberosFlags, GeneralString bytes, explicit tags in ascending order,
// no indefinite lengths, children that fit their parent) are enforced in this folder.
export * as encode from './encode.ts';
export { parseDer, DerElement, TaggedFields } from './decode.ts';
export { DecodeError } from './errors.ts';
