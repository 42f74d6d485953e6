// The key under construction, as the pipeline sees it: describe it, then either instantiate it
// with the cifs_spnego_msg payload or negate it. Two implementations:
//  * KernelKey — the real key whose serial request-key passed (%k). Describe works because we are
//    uid 0, the key's owner (before the privilege drop); instantiate/negate work at any uid because
//    the authority is request-key's assumed authorization key, inherited across exec and kept by
//    set*id (docs/kernel-key-protocol.md#the-payload).
//  * ReplayKey — `--replay`: a description given on the command line; the payload is captured
//    instead of instantiated, a negation is only recorded.
import { native } from '../os/native.ts';
import { formatDescribeString, type DescribedKey } from './key-description.ts';

export interface UpcallKey {
  /** key serial, undefined in replay mode */
  readonly serial: number | undefined;
  /** what KEYCTL_DESCRIBE returns: `type;uid;gid;perm;description` */
  describe(): string;
  instantiate(payload: Buffer): void;
  /** KEYCTL_NEGATE: request_key callers get ENOKEY until the timeout expires */
  negate(timeoutSeconds: number): void;
}

export class KernelKey implements UpcallKey {
  constructor(readonly serial: number) {}

  describe(): string {
    return native().keyDescribe(this.serial);
  }

  instantiate(payload: Buffer): void {
    // keyring 0: no extra link, as C does
    native().keyInstantiate(this.serial, payload, 0);
  }

  negate(timeoutSeconds: number): void {
    native().keyNegate(this.serial, timeoutSeconds, 0);
  }
}

export class ReplayKey implements UpcallKey {
  readonly serial = undefined;
  /** the payload the pipeline produced, when it did */
  payload: Buffer | undefined;
  /** the negative timeout the pipeline asked for, when it failed after trusting the key */
  negatedFor: number | undefined;

  constructor(private readonly described: DescribedKey) {}

  describe(): string {
    return formatDescribeString(this.described);
  }

  instantiate(payload: Buffer): void {
    this.payload = Buffer.from(payload);
  }

  negate(timeoutSeconds: number): void {
    this.negatedFor = timeoutSeconds;
  }
}
