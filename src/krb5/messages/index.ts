// Kerberos messages (RFC 4120 §5), one per module: encoders take plain typed objects and return
// DER Buffers; decoders return typed objects and throw DecodeError on malformed input.
export { DecodeError } from '../../der/errors.ts';
export * from './principal-name.ts';
export * from './encryption-key.ts';
export * from './encrypted-data.ts';
export * from './checksum.ts';
export * from './pa-data.ts';
export * from './host-address.ts';
export * from './authorization-data.ts';
export * from './ticket.ts';
export * from './enc-ticket-part.ts';
export * from './kdc-req.ts';
export * from './kdc-rep.ts';
export * from './enc-kdc-rep-part.ts';
export * from './krb-error.ts';
export * from './authenticator.ts';
export * from './ap-req.ts';
export * from './ap-rep.ts';
export * from './enc-ap-rep-part.ts';
export * from './pa-enc-timestamp.ts';
export * from './etype-info2.ts';
export * from './pa-pac-request.ts';
