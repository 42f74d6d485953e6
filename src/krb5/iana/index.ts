// Kerberos registries (IANA / RFC 4120 constants), grouped one registry per module.
export { EncryptionType, enctypeName } from './etype.ts';
export { ChecksumType, checksumTypeName } from './checksum-type.ts';
export { KeyUsage } from './key-usage.ts';
export { NameType } from './name-type.ts';
export { PaType } from './pa-type.ts';
export { MessageType, ApplicationTag } from './message-type.ts';
export { ErrorCode, errorCodeInfo, mitErrorNumber, type ErrorCodeInfo } from './error-code.ts';
export { KdcOptions, TicketFlags, ApOptions, flagNames } from './flags.ts';
