// Exit statuses of cifs-upcall. cifs.upcall returns 1 for most failures and sometimes 0 on failure
// (truncated GSS/krb5 codes, docs/cifs-upcall-behaviour.md#exit-status); the kernel ignores the status, humans and
// scripts do not. Here: 0 only when the key was instantiated (or, with --replay, a payload was
// produced; or for --help/--version), and a distinct small code per failure stage.
import type { UpcallFailureKind } from '../pipeline/errors.ts';

export const ExitCode = {
  OK: 0,
  USAGE: 1,
  KEY_ACCESS: 2,
  KEY_REFUSED: 3,
  BAD_DESCRIPTION: 4,
  IDENTITY: 5,
  NAMESPACE: 6,
  PRIVILEGES: 7,
  NO_CREDENTIALS: 8,
  REPLY: 9,
  INTERNAL: 10,
  CONFIG: 11,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export const EXIT_CODE_TABLE: ReadonlyArray<{ code: ExitCode; meaning: string }> = [
  { code: ExitCode.OK, meaning: 'key instantiated (--replay: payload written); --help, --version' },
  { code: ExitCode.USAGE, meaning: 'bad command line (unknown option, bad value, no or bad key serial; --replay not as root)' },
  { code: ExitCode.KEY_ACCESS, meaning: 'the key could not be described or instantiated (gone, no authority)' },
  { code: ExitCode.KEY_REFUSED, meaning: 'key refused: not owned by 0:0 (forged request) or a type not served' },
  { code: ExitCode.BAD_DESCRIPTION, meaning: 'malformed or unsupported description (field named in the log; iakerb; no uid)' },
  { code: ExitCode.IDENTITY, meaning: 'no passwd entry for the credential uid' },
  { code: ExitCode.NAMESPACE, meaning: 'triggering process gone or replaced, or its namespaces could not be entered' },
  { code: ExitCode.PRIVILEGES, meaning: "dropping to the user's uid/gid or dropping capabilities failed" },
  { code: ExitCode.NO_CREDENTIALS, meaning: 'no credential source produced a ticket for the user' },
  { code: ExitCode.REPLY, meaning: 'the reply could not be built (SPNEGO blob over 65535 bytes, malformed token)' },
  { code: ExitCode.INTERNAL, meaning: 'internal error (a bug: please report it with --trace output)' },
  {
    code: ExitCode.CONFIG,
    meaning: 'configuration error: /etc/cifs-upcall.conf (or --config) unreadable, unsafe or invalid (--check-config: the file is invalid)',
  },
];

const BY_KIND: Record<UpcallFailureKind, ExitCode> = {
  'key-access': ExitCode.KEY_ACCESS,
  'key-refused': ExitCode.KEY_REFUSED,
  'bad-description': ExitCode.BAD_DESCRIPTION,
  identity: ExitCode.IDENTITY,
  namespace: ExitCode.NAMESPACE,
  privileges: ExitCode.PRIVILEGES,
  'no-credentials': ExitCode.NO_CREDENTIALS,
  reply: ExitCode.REPLY,
  internal: ExitCode.INTERNAL,
  config: ExitCode.CONFIG,
};

export function exitCodeFor(kind: UpcallFailureKind): ExitCode {
  return BY_KIND[kind];
}
