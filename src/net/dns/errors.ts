// Typed failures of a DNS lookup, each with the getaddrinfo code glibc reports for it
// (cifs.upcall's exit status after a failed short-name resolution is that code).

/** getaddrinfo(3) error codes (glibc values). */
export const EaiCode = {
  EAI_NONAME: -2,
  EAI_AGAIN: -3,
  EAI_FAIL: -4,
  EAI_NODATA: -5,
} as const;
export type EaiName = keyof typeof EaiCode;

export abstract class DnsLookupError extends Error {
  abstract readonly eai: EaiName;
  constructor(
    message: string,
    /** the name (or address) that was looked up */
    readonly query: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
  get eaiCode(): number {
    return EaiCode[this.eai];
  }
}

/** NXDOMAIN for every candidate name, or no hosts-file line (EAI_NONAME). */
export class DnsNotFoundError extends DnsLookupError {
  readonly eai = 'EAI_NONAME' as const;
}

/** The name exists but has no record of the wanted type (EAI_NODATA). */
export class DnsNoDataError extends DnsLookupError {
  readonly eai = 'EAI_NODATA' as const;
}

/** No server answered in time (EAI_AGAIN). */
export class DnsTimeoutError extends DnsLookupError {
  readonly eai = 'EAI_AGAIN' as const;
}

/** Every server failed: SERVFAIL, REFUSED, NOTIMP, port unreachable, or a malformed reply (EAI_AGAIN). */
export class DnsServerError extends DnsLookupError {
  readonly eai = 'EAI_AGAIN' as const;
}

/** The input cannot be looked up at all (not an address, invalid name) (EAI_FAIL). */
export class DnsBadQueryError extends DnsLookupError {
  readonly eai = 'EAI_FAIL' as const;
}
