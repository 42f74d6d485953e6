// GSS token framing (RFC 2743), the krb5 mechanism's tokens and authenticator checksum
// (RFC 4121), and SPNEGO (RFC 4178) as cifs.upcall uses it.
export * from './oids.ts';
export * from './gss-token.ts';
export * from './gss-checksum.ts';
export * from './spnego.ts';
