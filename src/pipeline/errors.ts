// Why an upcall failed, as one kind per stage; the CLI maps kinds to exit statuses
// (src/cli/exit-codes.ts) and the message is the one LOG_ERR line.

export type UpcallFailureKind =
  /** KEYCTL_DESCRIBE / INSTANTIATE failed: no such key, no permission, no authority */
  | 'key-access'
  /** not a key we may act on: owner not 0:0 (forged request), or a key type we were not told to accept */
  | 'key-refused'
  /** the description is malformed, unsupported (iakerb, version) or names no uid */
  | 'bad-description'
  /** no passwd entry for the credential uid */
  | 'identity'
  /** the triggering thread vanished, was replaced (pid reuse) or its namespaces could not be entered */
  | 'namespace'
  /** setgroups/setresgid/setresuid/capability drop failed */
  | 'privileges'
  /** every credential source failed (or none is configured) */
  | 'no-credentials'
  /** the reply could not be built (blob over 65535 bytes, malformed token from a source) */
  | 'reply'
  /** the configuration file is unreadable, unsafe or invalid */
  | 'config'
  /** a bug */
  | 'internal';

export class UpcallError extends Error {
  override readonly name = 'UpcallError';
  constructor(
    readonly kind: UpcallFailureKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
