// Typed errors of the credential-cache back ends. The credential source maps them to
// CredentialError kinds (src/credentials.ts); each carries the cache name it concerns so a trace
// line can say which cache failed and why.

/** Why a cache operation failed, in the caller's terms. */
export type CcacheFailure =
  /** the cache (file, keyring, KCM cache, primary) does not exist */
  | 'not-found'
  /** the bytes do not follow the format (FILE, keyring payload, KCM reply) */
  | 'format'
  /** the name is malformed, names an unknown type, or default-name expansion failed */
  | 'bad-name'
  /** a known type this implementation does not support here (API:, MSLSA:) */
  | 'unsupported'
  /** the kernel refused access (EACCES/EPERM) */
  | 'permission'
  /** refused by our own safety checks: foreign owner, not a regular file, too large */
  | 'unsafe'
  /** the keyring anchor is the helper's own keyring, not the user's */
  | 'not-users-keyring'
  /** the KCM daemon answered with an error code */
  | 'kcm'
  /** the KCM daemon cannot be reached, or did not answer in time */
  | 'unreachable'
  /** any other system error */
  | 'io';

export class CcacheError extends Error {
  override readonly name: string = 'CcacheError';
  constructor(
    readonly kind: CcacheFailure,
    message: string,
    /** the cache concerned, as a full name ("FILE:/tmp/krb5cc_1000"), when known */
    readonly cacheName?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Malformed bytes; `offset` is where in the file (or payload) the problem was found. */
export class CcacheFormatError extends CcacheError {
  override readonly name = 'CcacheFormatError';
  constructor(
    message: string,
    readonly offset: number,
    cacheName?: string,
  ) {
    super('format', `${message} (at offset ${offset})`, cacheName);
  }
}

/** A KCM daemon status or operation result that is not 0; `code` is the com_err value. */
export class KcmError extends CcacheError {
  override readonly name = 'KcmError';
  constructor(
    readonly code: number,
    /** the KCM opcode name the daemon answered, e.g. "GET_PRINCIPAL" */
    readonly operation: string,
    message: string,
    cacheName?: string,
  ) {
    super('kcm', message, cacheName);
  }
}

/** errno names that mean "no such thing" for files and keys. */
const NOT_FOUND_CODES = new Set(['ENOENT', 'ENOTDIR', 'ELOOP', 'ENAMETOOLONG', 'ENOKEY', 'EKEYREVOKED', 'EKEYEXPIRED']);
const PERMISSION_CODES = new Set(['EACCES', 'EPERM', 'EISDIR', 'EROFS']);

/** Turn a Node/addon system error into a CcacheError with the given context. */
export function systemError(e: unknown, what: string, cacheName?: string): CcacheError {
  const code = typeof e === 'object' && e !== null ? (e as { code?: unknown }).code : undefined;
  const text = e instanceof Error ? e.message : String(e);
  if (typeof code === 'string' && NOT_FOUND_CODES.has(code)) {
    return new CcacheError('not-found', `${what}: ${code}`, cacheName, { cause: e });
  }
  if (typeof code === 'string' && PERMISSION_CODES.has(code)) {
    return new CcacheError('permission', `${what}: ${code} (permission denied)`, cacheName, { cause: e });
  }
  return new CcacheError('io', `${what}: ${text}`, cacheName, { cause: e });
}
