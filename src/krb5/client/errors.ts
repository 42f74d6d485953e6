// Typed errors of the Kerberos client exchanges (TGS, AS, AP-REQ). The credential sources map
// `failure` to a CredentialError kind (src/credentials.ts); every message says what was asked
// of whom and why it failed, in the words a trace reader needs.
import type { KrbError } from '../messages/krb-error.ts';

export type ClientFailure =
  /** no usable TGT (or keytab key) for the client: nothing to ask the KDC with */
  | 'no-credentials'
  /** the KDC answered with a KRB-ERROR (see `krbError`) */
  | 'kdc-error'
  /** no KDC answered in time, or the upcall's time budget ran out */
  | 'unreachable'
  /** the reply cannot be decoded or decrypted, or contradicts the request */
  | 'bad-reply'
  /** a cached credential is malformed (its ticket is not DER) */
  | 'bad-cache'
  /** referral chasing went in circles or too deep */
  | 'referral-loop'
  /** krb5.conf or the keytab name is unusable, no KDC can be named for a realm */
  | 'config';

export class Krb5ClientError extends Error {
  override readonly name = 'Krb5ClientError';
  constructor(
    readonly kind: ClientFailure,
    message: string,
    readonly details: {
      /** the KDC's error when kind = 'kdc-error' */
      krbError?: KrbError;
      /** realm whose KDC was asked */
      realm?: string;
      cause?: unknown;
    } = {},
  ) {
    super(message, details.cause !== undefined ? { cause: details.cause } : undefined);
  }

  /** Wire error code of the KDC's KRB-ERROR, if that is what this is. */
  get code(): number | undefined {
    return this.details.krbError?.code;
  }
}
