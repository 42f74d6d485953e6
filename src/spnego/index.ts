// GSS token framing (RFC 2743), the krb5 mechanism's tokens and authenticator checksum
// (RFC 4121), and SPNEGO (RFC 4178) as cifs.upcall uses it.
export * from '../krb5/gss/oids.ts';
export * from '../krb5/gss/gss-token.ts';
export * from '../krb5/gss/gss-checksum.ts';
export * from './spnego.ts';
