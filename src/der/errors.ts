// The one error every Kerberos decoder throws on malformed input.

/** Malformed or unexpected DER; `field` is the path of the element, e.g. "TGS-REP.enc-part.etype". */
export class DecodeError extends Error {
  override name = 'DecodeError';
  constructor(
    readonly field: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`${field}: ${reason}`, options);
  }
}
