// Picking credentials out of a cache the way MIT krb5_get_credentials does before it talks to a
// KDC (krb/get_creds.c, ccache/cc_retr.c), on one consistent read of the cache:
//  * start realm = config "start_realm" if present, else the default principal's realm;
//  * local TGT = client = default principal, server = krbtgt/R@R; no expiry filter when found,
//    the caller fails "ticket expired" without contacting the KDC;
//  * service ticket = client = default principal, server = the requested name exactly (realm
//    included, possibly the empty referral realm), not user-to-user, endtime ≥ now
//    (MIT KRB5_TC_MATCH_TIMES with endtime = now);
//  * principals compare by realm and components only (name types differ in practice: NT-UNKNOWN
//    requests vs NT-SRV-INST replies);
//  * with a permitted enctype list (KRB5_TC_SUPPORTED_KTYPES) the match whose session-key enctype
//    comes first in the list wins, earlier cache entries winning ties; matches with enctypes
//    outside the list are never returned.
// `now` is KDC time in seconds: local time plus the cache's KDC time offset (kdcNow).
import {
  CacheConfigKey,
  configValue,
  principalsEqual,
  unparsePrincipal,
  type CcacheContents,
  type Credential,
  type KdcTimeOffset,
  type Principal,
} from './model.ts';

/** Local seconds adjusted by the cache's KDC time offset (MIT krb5_timeofday with a valid offset). */
export function kdcNow(offset: KdcTimeOffset | null, localMs: number = Date.now()): number {
  const micros = Math.floor(localMs * 1000) + (offset ? offset.seconds * 1_000_000 + offset.microseconds : 0);
  return Math.floor(micros / 1_000_000);
}

/** The realm whose TGT TGS requests start from. */
export function startRealm(contents: Pick<CcacheContents, 'principal' | 'config'>): string {
  const configured = configValue(contents, CacheConfigKey.START_REALM);
  return configured && configured.length > 0 ? configured.toString('utf8') : contents.principal.realm;
}

export function tgsPrincipal(realm: string, issuingRealm: string = realm): Principal {
  return { nameType: 2, components: ['krbtgt', realm], realm: issuingRealm };
}

export interface SelectOptions {
  /** permitted session-key enctypes in preference order; undefined = any */
  permittedEnctypes?: readonly number[];
}

/** Among matching credentials, MIT's pick by enctype preference (cc_retr.c). */
function pickByEnctype(
  matches: Credential[],
  permitted: readonly number[] | undefined,
): { best: Credential | null; rejectedEnctype: boolean } {
  if (!permitted) return { best: matches[0] ?? null, rejectedEnctype: false };
  let best: Credential | null = null;
  let bestRank = Infinity;
  let rejectedEnctype = false;
  for (const c of matches) {
    const rank = permitted.indexOf(c.key.enctype);
    if (rank < 0) rejectedEnctype = true;
    else if (rank < bestRank) {
      best = c;
      bestRank = rank;
    }
  }
  return { best, rejectedEnctype };
}

export type TgtLookup =
  | { status: 'valid'; credential: Credential }
  /** found, but its endtime has passed: fail without a KDC round trip */
  | { status: 'expired'; credential: Credential }
  /** only TGTs whose session-key enctype is not permitted */
  | { status: 'enctype-not-permitted'; credential: null }
  | { status: 'missing'; credential: null };

/** The local TGT krbtgt/<realm>@<realm> of the default principal (MIT get_cached_local_tgt). */
export function findTgt(contents: CcacheContents, realm: string, now: number, options: SelectOptions = {}): TgtLookup {
  const server = tgsPrincipal(realm);
  const matches = contents.credentials.filter((c) => principalsEqual(c.client, contents.principal) && principalsEqual(c.server, server));
  const { best, rejectedEnctype } = pickByEnctype(matches, options.permittedEnctypes);
  if (!best) return rejectedEnctype ? { status: 'enctype-not-permitted', credential: null } : { status: 'missing', credential: null };
  return best.endTime < now ? { status: 'expired', credential: best } : { status: 'valid', credential: best };
}

/** An unexpired cross-realm TGT krbtgt/<realm>@<any> (matched on the name only). */
export function findForeignTgt(contents: CcacheContents, realm: string, now: number, options: SelectOptions = {}): Credential | null {
  const matches = contents.credentials.filter(
    (c) =>
      principalsEqual(c.client, contents.principal) &&
      c.server.components.length === 2 &&
      c.server.components[0] === 'krbtgt' &&
      c.server.components[1] === realm &&
      c.endTime >= now,
  );
  return pickByEnctype(matches, options.permittedEnctypes).best;
}

/** A cached ticket for exactly `server` (realm included) that is still valid at `now`. */
export function findServiceTicket(
  contents: CcacheContents,
  server: Principal,
  now: number,
  options: SelectOptions = {},
): Credential | null {
  const matches = contents.credentials.filter(
    (c) => principalsEqual(c.client, contents.principal) && principalsEqual(c.server, server) && !c.isSkey && c.endTime >= now,
  );
  return pickByEnctype(matches, options.permittedEnctypes).best;
}

export type UpcallCacheVerdict =
  /** 7.2+: a cached, unexpired ticket for the requested cifs/<host> principal */
  | { accepted: true; reason: 'service-ticket'; credential: Credential }
  | { accepted: true; reason: 'tgt'; credential: Credential }
  | { accepted: false; reason: 'no-tgt' | 'tgt-expired'; credential: Credential | null };

/**
 * cifs.upcall's own test of whether a default cache is usable (get_existing_cc,
 * docs/cifs-upcall-behaviour.md#credential-cache-choice) — not MIT's matching: with `service` (7.2+), a ticket for exactly that principal with
 * endtime ≥ now wins; otherwise a TGT is needed whose unparsed server name starts with
 * "krbtgt/<realm of the default principal>" compared case-insensitively, with endtime > now.
 * `now` is the local clock (cifs.upcall uses time(NULL)).
 */
export function upcallCacheVerdict(contents: CcacheContents, now: number, service?: Principal): UpcallCacheVerdict {
  if (service) {
    const ticket = contents.credentials.find((c) => principalsEqual(c.server, service) && !c.isSkey && c.endTime >= now);
    if (ticket) return { accepted: true, reason: 'service-ticket', credential: ticket };
  }
  const prefix = `krbtgt/${contents.principal.realm}`.toLowerCase();
  let expired: Credential | null = null;
  for (const c of contents.credentials) {
    if (!unparsePrincipal(c.server).toLowerCase().startsWith(prefix)) continue;
    if (c.endTime > now) return { accepted: true, reason: 'tgt', credential: c };
    expired ??= c;
  }
  return expired
    ? { accepted: false, reason: 'tgt-expired', credential: expired }
    : { accepted: false, reason: 'no-tgt', credential: null };
}
