// Typed errors of the Kerberos crypto layer. Callers branch on the class: an IntegrityError on a
// KDC reply means "wrong key or tampered data", an UnsupportedEnctypeError means "negotiate
// something else".
import { enctypeName } from '../iana/etype.ts';
import { checksumTypeName } from '../iana/checksum-type.ts';

export class Krb5CryptoError extends Error {
  override name = 'Krb5CryptoError';
}

export class UnsupportedEnctypeError extends Krb5CryptoError {
  override name = 'UnsupportedEnctypeError';
  constructor(readonly etype: number) {
    super(`unsupported encryption type ${etype} (${enctypeName(etype)})`);
  }
}

export class UnsupportedChecksumTypeError extends Krb5CryptoError {
  override name = 'UnsupportedChecksumTypeError';
  constructor(readonly cksumtype: number) {
    super(`unsupported checksum type ${cksumtype} (${checksumTypeName(cksumtype)})`);
  }
}

/** Decryption failed its integrity check (wrong key, wrong key usage, or modified data). */
export class IntegrityError extends Krb5CryptoError {
  override name = 'IntegrityError';
  constructor(
    readonly etype: number,
    detail: string,
  ) {
    super(`${enctypeName(etype)}: ${detail}`);
  }
}

/** A key of the wrong length for its enctype. */
export class InvalidKeyError extends Krb5CryptoError {
  override name = 'InvalidKeyError';
  constructor(
    readonly etype: number,
    readonly length: number,
    expected: number,
  ) {
    super(`${enctypeName(etype)} key must be ${expected} bytes, got ${length}`);
  }
}
