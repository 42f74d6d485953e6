// RFC 4120 §3.3 / §5.4 TGS exchange with referral chasing (RFC 6806) and cross-realm TGT walking,
// the way MIT krb5_get_credentials does it (docs/kerberos.md#tgs-exchange, #reading-the-tgs-rep,
// #referrals-and-cross-realm, #krb-error-handling):
//
//   request  = TGS-REQ { padata [PA-TGS-REQ = AP-REQ(TGT, Authenticator{cksum = checksum(K, 6,
//              req-body DER), subkey, no seq-number} encrypted with K, usage 7)], req-body }
//              kdc-options = TGT flags & 0x54800000 (| canonicalize on referral requests),
//              till = TGT endtime, etype = default_tgs_enctypes
//   reply    = TGS-REP, enc-part decrypted with the subkey (usage 9), else K (usage 8)
//   referral = a TGS-REP carrying krbtgt/X@cur instead of the service: ask X's KDC next
//              (≤ 10 hops, no realm twice); the first referral request refused for its name or
//              options (7, 12, 13, 60, 68) → one request without canonicalize (in the fallback
//              host realm for referral-realm names); other refusals are final at once
//   walking  = for a known service realm other than the start realm: ask for krbtgt/<farthest
//              realm of the path>@cur first, stepping back toward cur when the KDC refuses
// Cached TGTs and tickets are matched against default_tgs_enctypes (else permitted_enctypes): MIT
// krb5_get_tgs_ktypes, which is what KRB5_TC_SUPPORTED_KTYPES filters by (verified: MIT kvno with
// default_tgs_enctypes = arcfour-hmac refuses an aes256 TGT). The credential finally obtained is
// stored in the cache under the *requested* name (possibly with the empty referral realm), as MIT
// does; explicitly requested cross-realm TGTs too. Storing is best effort: a cache that refuses
// it costs a trace line, not the upcall. KRB_AP_ERR_SKEW (with kdc_timesync) and
// KRB_AP_ERR_REPEAT get one retry with a fresh authenticator; MIT does that only for AS.
import type { Trace } from '../../trace.ts';
import type { Krb5Config } from '../config/krb5-config.ts';
import { findForeignTgt, findServiceTicket, findTgt, startRealm, tgsPrincipal } from '../ccache/select.ts';
import {
  principalsEqual,
  type CcacheContents,
  type Credential,
  type CredentialCache,
  type Keyblock,
  type Principal,
} from '../ccache/model.ts';
import { encryptionType, IntegrityError, type EncryptionProfile } from '../crypto/index.ts';
import { randomInt } from '../crypto/primitives.ts';
import { enctypeName } from '../iana/etype.ts';
import { ErrorCode } from '../iana/error-code.ts';
import { KdcOptions, TicketFlags } from '../iana/flags.ts';
import { KeyUsage } from '../iana/key-usage.ts';
import { PaType } from '../iana/pa-type.ts';
import { encodeApReq } from '../messages/ap-req.ts';
import { encodeAuthenticator } from '../messages/authenticator.ts';
import { decodeEncKdcRepPart, type EncKdcRepPart } from '../messages/enc-kdc-rep-part.ts';
import { decodeTgsRep, type KdcRep } from '../messages/kdc-rep.ts';
import { encodeKdcReqBody, encodeTgsReq, type KdcReqBody } from '../messages/kdc-req.ts';
import type { KrbError } from '../messages/krb-error.ts';
import { sameName } from '../messages/principal-name.ts';
import { describeDuration, isoSeconds, type KdcClock, type KdcTimestamp } from './clock.ts';
import { credentialFromReply, copyPrincipal, isTgsName, principalText, tgtTargetRealm } from './credential.ts';
import { Krb5ClientError } from './errors.ts';
import type { KdcSession } from './kdc-exchange.ts';

/** TicketFlags copied into kdc-options (MIT KDC_TKT_COMMON_MASK: forwardable, proxiable, may-postdate, renewable). */
export const TGT_FLAGS_TO_KDC_OPTIONS = 0x54800000;
/** RFC 6806 / MIT: at most this many referral hops. */
export const MAX_REFERRAL_HOPS = 10;

/**
 * Refusals of the first (canonicalize) request after which one plain request is worth it: the
 * name or the option was the problem. MIT falls back after any error; a skewed clock, an expired
 * or revoked TGT would only fail twice.
 */
const FALLBACK_CODES: ReadonlySet<number> = new Set([
  ErrorCode.KDC_ERR_S_PRINCIPAL_UNKNOWN,
  ErrorCode.KDC_ERR_POLICY,
  ErrorCode.KDC_ERR_BADOPTION,
  ErrorCode.KRB_ERR_GENERIC,
  ErrorCode.KDC_ERR_WRONG_REALM,
]);

const TICKET_TAG = 0x61;
const TGS_REP_TAG = 0x6d;

// ---- one request -------------------------------------------------------------------------

export interface TgsRequestInput {
  /** the TGT presented: its client, session key, flags, endtime and raw ticket */
  tgt: Credential;
  /** the server asked for; its realm is the realm of the KDC asked (the TGT's target realm) */
  server: Principal;
  canonicalize: boolean;
  /** enctypes accepted for the new ticket's session key, in preference order */
  enctypes: readonly number[];
  /** KDC time to put in the authenticator */
  now: KdcTimestamp;
  nonce?: number;
}

export interface TgsRequest {
  der: Buffer;
  /** the exact req-body bytes the authenticator checksum covers */
  reqBodyDer: Buffer;
  body: KdcReqBody;
  /** the authenticator subkey: the reply's enc-part is encrypted with it (usage 9) */
  subkey: Keyblock;
  /** KDC time of the request, seconds */
  requestTime: number;
}

function tgtProfile(tgt: Credential): EncryptionProfile {
  try {
    return encryptionType(tgt.key.enctype);
  } catch (e) {
    throw new Krb5ClientError(
      'config',
      `the TGT ${principalText(tgt.server)} has a session key of ${enctypeName(tgt.key.enctype)}, which this client does not implement`,
      { cause: e },
    );
  }
}

/** Build a TGS-REQ (docs/kerberos.md#tgs-exchange). */
export function buildTgsRequest(input: TgsRequestInput): TgsRequest {
  const { tgt, server, now } = input;
  if (tgt.ticket.length === 0 || tgt.ticket[0] !== TICKET_TAG) {
    throw new Krb5ClientError(
      'bad-cache',
      `the cached ${principalText(tgt.server)} does not hold a DER Ticket (first byte 0x${(tgt.ticket[0] ?? 0).toString(16)})`,
    );
  }
  const profile = tgtProfile(tgt);
  const body: KdcReqBody = {
    kdcOptions: ((tgt.flags & TGT_FLAGS_TO_KDC_OPTIONS) | (input.canonicalize ? KdcOptions.CANONICALIZE : 0)) >>> 0,
    realm: server.realm,
    sname: { nameType: server.nameType, components: [...server.components] },
    till: new Date(tgt.endTime * 1000),
    nonce: input.nonce ?? randomInt(0, 0x7fffffff),
    etype: [...input.enctypes],
    ...(tgt.addresses.length > 0 ? { addresses: tgt.addresses.map((a) => ({ addrType: a.type, address: a.data })) } : {}),
  };
  const reqBodyDer = encodeKdcReqBody(body);
  const subkey: Keyblock = { enctype: profile.etype, value: profile.randomKey() };
  const authenticator = encodeAuthenticator({
    client: copyPrincipal(tgt.client),
    cksum: {
      cksumtype: profile.checksumType,
      checksum: profile.checksum(tgt.key.value, KeyUsage.TGS_REQ_PA_AUTHENTICATOR_CHECKSUM, reqBodyDer),
    },
    cusec: now.usec,
    ctime: now.time,
    subkey: { keytype: subkey.enctype, keyvalue: subkey.value },
  });
  const apReq = encodeApReq({
    apOptions: 0,
    ticket: tgt.ticket,
    authenticator: { etype: profile.etype, cipher: profile.encrypt(tgt.key.value, KeyUsage.TGS_REQ_PA_AUTHENTICATOR, authenticator) },
  });
  const der = encodeTgsReq({ padata: [{ padataType: PaType.TGS_REQ, padataValue: apReq }], reqBody: reqBodyDer });
  return { der, reqBodyDer, body, subkey, requestTime: now.seconds };
}

export interface TgsReply {
  rep: KdcRep;
  part: EncKdcRepPart;
  /** which key decrypted the enc-part: 9 = authenticator subkey, 8 = TGT session key */
  usage: 8 | 9;
}

function badReply(realm: string, what: string, cause?: unknown): Krb5ClientError {
  return new Krb5ClientError('bad-reply', `TGS-REP from ${realm}: ${what}`, { realm, ...(cause !== undefined ? { cause } : {}) });
}

/**
 * Decode, decrypt and check a TGS-REP against its request (docs/kerberos.md#reading-the-tgs-rep; MIT gc_via_tkt.c):
 * client as in the TGT, ticket and enc-part name the same server, that server is the one asked
 * for (unless canonicalize was set, or both are TGS names), nonce echoed, endtime ≤ till, and
 * the starttime within clockskew of the request time.
 */
export function readTgsReply(der: Buffer, request: TgsRequest, tgt: Credential, clockskewSeconds: number): TgsReply {
  const realm = request.body.realm;
  if (der[0] !== TGS_REP_TAG) throw badReply(realm, `expected a TGS-REP ([APPLICATION 13]), got tag 0x${(der[0] ?? 0).toString(16)}`);
  let rep: KdcRep;
  try {
    rep = decodeTgsRep(der);
  } catch (e) {
    throw badReply(realm, `undecodable: ${(e as Error).message}`, e);
  }
  let plain: Buffer;
  let usage: 8 | 9 = 9;
  try {
    if (rep.encPart.etype !== request.subkey.enctype) throw new IntegrityError(rep.encPart.etype, 'not the subkey enctype');
    plain = encryptionType(request.subkey.enctype).decrypt(request.subkey.value, KeyUsage.TGS_REP_ENC_PART_SUBKEY, rep.encPart.cipher);
  } catch (first) {
    // old Heimdal KDCs encrypt with the TGT session key (usage 8) even when a subkey was sent
    try {
      if (rep.encPart.etype !== tgt.key.enctype) throw first;
      plain = encryptionType(tgt.key.enctype).decrypt(tgt.key.value, KeyUsage.TGS_REP_ENC_PART_SESSION_KEY, rep.encPart.cipher);
      usage = 8;
    } catch (e) {
      throw badReply(
        realm,
        `enc-part (${enctypeName(rep.encPart.etype)}) decrypts with neither the subkey (usage 9) nor the TGT session key (usage 8): ${(first as Error).message}`,
        e,
      );
    }
  }
  let part: EncKdcRepPart;
  try {
    part = decodeEncKdcRepPart(plain);
  } catch (e) {
    throw badReply(realm, `undecodable EncTGSRepPart: ${(e as Error).message}`, e);
  } finally {
    plain.fill(0);
  }
  const asked = { nameType: request.body.sname?.nameType ?? 0, components: request.body.sname?.components ?? [], realm };
  if (!principalsEqual(rep.client, tgt.client)) {
    throw badReply(realm, `names client ${principalText(rep.client)}, but the TGT is ${principalText(tgt.client)}'s`);
  }
  if (!principalsEqual(rep.ticket.server, part.server)) {
    throw badReply(realm, `ticket is for ${principalText(rep.ticket.server)} but the enc-part says ${principalText(part.server)}`);
  }
  const canonicalize = (request.body.kdcOptions & KdcOptions.CANONICALIZE) !== 0;
  if (!sameName(part.server, asked) && !canonicalize && !(isTgsName(asked) && isTgsName(part.server))) {
    throw badReply(realm, `asked for ${principalText(asked)}, got a ticket for ${principalText(part.server)}`);
  }
  if (part.nonce !== request.body.nonce) throw badReply(realm, `nonce ${part.nonce} is not ours (${request.body.nonce})`);
  const endtime = Math.floor(part.endtime.getTime() / 1000);
  const till = Math.floor(request.body.till.getTime() / 1000);
  if (endtime > till) throw badReply(realm, `endtime ${isoSeconds(endtime)} is later than the requested till ${isoSeconds(till)}`);
  const start = Math.floor((part.starttime ?? part.authtime).getTime() / 1000);
  if (Math.abs(start - request.requestTime) > clockskewSeconds) {
    throw badReply(
      realm,
      `ticket starts at ${isoSeconds(start)}, ${describeDuration(start - request.requestTime)} from our request time ${isoSeconds(request.requestTime)} (more than clockskew ${clockskewSeconds} s)`,
    );
  }
  return { rep, part, usage };
}

// ---- the state machine ---------------------------------------------------------------------

export interface TgsClientOptions {
  session: KdcSession;
  clock: KdcClock;
  config: Krb5Config;
  trace: Trace;
  /** the cache, read once */
  contents: CcacheContents;
  /** where new credentials are stored (null: nowhere) */
  cache: CredentialCache | null;
  /**
   * enctypes asked for, and the only session-key enctypes accepted from the cache and in
   * replies (MIT krb5_get_tgs_ktypes: default_tgs_enctypes, else permitted_enctypes)
   */
  enctypes?: readonly number[];
  /** on KRB_AP_ERR_SKEW, adopt the KDC's time and retry once (default: kdc_timesync ≠ 0) */
  skewRetry?: boolean;
}

export interface ServiceTicketResult {
  /** server = the requested name (as stored) */
  credential: Credential;
  /** the server as the KDC named it (srealm included) */
  issuedFor: Principal;
  /** realms whose KDCs answered, in order */
  realms: string[];
  /** TGS-REQs sent for this ticket (referral hops, fallbacks, skew retry included) */
  requests: number;
  /** "stored in FILE:…", "not stored: …" */
  stored: string;
}

interface Obtained {
  credential: Credential;
  part: EncKdcRepPart;
  realm: string;
}

/** Cached credential for any of `names` (in order) valid at `now` (MIT KRB5_TC_MATCH_TIMES). */
export function cachedServiceTicket(
  contents: CcacheContents,
  names: readonly Principal[],
  now: number,
  permitted?: readonly number[],
): Credential | null {
  for (const name of names) {
    const found = findServiceTicket(contents, name, now, permitted ? { permittedEnctypes: permitted } : {});
    if (found) return found;
  }
  return null;
}

export class TgsClient {
  private readonly enctypes: readonly number[];
  private readonly skewRetry: boolean;
  private readonly realms: string[] = [];
  private requests = 0;
  private storedNotes: string[] = [];

  constructor(private readonly o: TgsClientOptions) {
    this.enctypes = o.enctypes ?? o.config.defaultTgsEnctypes();
    this.skewRetry = o.skewRetry ?? o.config.kdcTimesync() !== 0;
  }

  private get trace(): Trace {
    return this.o.trace;
  }

  /** krb5_get_credentials without the cache lookup: the KDC path for `requested`. */
  async getServiceTicket(requested: Principal): Promise<ServiceTicketResult> {
    const start = startRealm(this.o.contents);
    const referral = requested.realm === '';
    let server: Principal = { ...copyPrincipal(requested), realm: referral ? start : requested.realm };
    this.trace.event(
      'tgs',
      `asking for ${principalText(requested)}: ${
        referral
          ? `referral realm, so starting at ${start} (the client's ${start === this.o.contents.principal.realm ? 'realm' : 'start_realm'}) with canonicalize`
          : `in realm ${server.realm}, canonicalize set (MIT asks for referrals first)`
      }`,
      { start, realm: server.realm },
    );

    let cur = await this.tgtFor(server.realm, start);
    const seen = new Set<string>([tgtTargetRealm(cur.server)]);
    for (let hop = 1; ; hop++) {
      let got: Obtained;
      try {
        got = await this.request(cur, server, true);
      } catch (e) {
        if (!(e instanceof Krb5ClientError) || e.kind !== 'kdc-error' || hop > 1 || !FALLBACK_CODES.has(e.code ?? 0)) throw e;
        // the first referral request was refused: one plain request (get_creds.c fallback)
        if (!referral) {
          this.trace.event(
            'tgs',
            `${server.realm} refused the canonicalize request (${e.details.krbError?.codeName}); asking once more without canonicalize`,
          );
          return this.finish(requested, await this.request(cur, server, false));
        }
        const host = server.components[1] ?? '';
        const dns = {
          ...this.o.session.options.dns,
          ...(this.o.session.options.signal ? { signal: this.o.session.options.signal } : {}),
          trace: this.trace,
        };
        const fallback = server.components.length === 2 ? await this.o.config.fallbackHostRealm(host, dns) : undefined;
        if (!fallback || fallback === server.realm) {
          this.trace.event(
            'tgs',
            `${server.realm} refused the referral request (${e.details.krbError?.codeName}); fallback realm of ${host} is ${fallback ?? '(none)'}: asking ${server.realm} once more without canonicalize`,
          );
          return this.finish(requested, await this.request(cur, server, false));
        }
        this.trace.event(
          'tgs',
          `${server.realm} refused the referral request (${e.details.krbError?.codeName}); trying the fallback realm ${fallback} of ${host} (upper-cased parent domain)`,
        );
        const refusedBy = server.realm;
        server = { ...server, realm: fallback };
        try {
          cur = await this.tgtFor(fallback, start);
        } catch (f) {
          if (!(f instanceof Krb5ClientError) || f.kind !== 'kdc-error') throw f;
          // say what failed first: e.g. a single AD domain without trusts knows neither the
          // service nor a way to the guessed realm; keep the first refusal's code (service-unknown)
          throw new Krb5ClientError(
            'kdc-error',
            `${refusedBy} KDC does not know ${principalText({ ...server, realm: refusedBy })} ` +
              `(${e.details.krbError?.codeName} to the referral request), and no cross-realm TGT leads from ${start} to the fallback realm ${fallback} of ${host}: ${f.message}`,
            { ...(e.details.krbError ? { krbError: e.details.krbError } : {}), realm: refusedBy, cause: f },
          );
        }
        return this.finish(requested, await this.request(cur, server, false));
      }
      const returned = got.part.server;
      if (sameName(returned, server)) {
        if (!this.enctypes.includes(got.credential.key.enctype)) {
          this.trace.event(
            'tgs',
            `${principalText(returned)} came with a ${enctypeName(got.credential.key.enctype)} session key, not in default_tgs_enctypes: asking again without canonicalize`,
          );
          return this.finish(requested, await this.request(cur, server, false));
        }
        return this.finish(requested, got);
      }
      if (!isTgsName(returned)) {
        this.trace.event(
          'tgs',
          `${got.realm} answered with a ticket for ${principalText(returned)} instead of ${principalText(server)} (a rewritten name, not a referral): asking again without canonicalize`,
        );
        return this.finish(requested, await this.request(cur, server, false));
      }
      const next = tgtTargetRealm(returned);
      if (next === tgtTargetRealm(cur.server)) {
        this.trace.event('tgs', `${got.realm} referred us to its own realm: asking again without canonicalize`);
        return this.finish(requested, await this.request(cur, server, false));
      }
      if (hop >= MAX_REFERRAL_HOPS || seen.has(next)) {
        throw new Krb5ClientError(
          'referral-loop',
          `referral chasing for ${principalText(requested)} ${seen.has(next) ? `came back to realm ${next}` : `exceeded ${MAX_REFERRAL_HOPS} hops`} (path ${[...seen, next].join(' → ')})`,
        );
      }
      seen.add(next);
      this.trace.event(
        'tgs',
        `referral: ${got.realm}'s KDC says ${server.components.join('/')} is in realm ${next} and gave us ${principalText(returned)}; asking ${next}'s KDC (hop ${hop + 1})`,
        { from: got.realm, to: next },
      );
      cur = got.credential;
      server = { ...server, realm: next };
    }
  }

  private finish(requested: Principal, got: Obtained): ServiceTicketResult {
    const issuedFor = copyPrincipal(got.part.server);
    const credential: Credential = { ...got.credential, server: copyPrincipal(requested) };
    this.trace.event(
      'tgs',
      `got ${principalText(issuedFor)} from ${got.realm}: ${enctypeName(credential.key.enctype)} session key, valid until ${isoSeconds(credential.endTime)}`,
      {
        enctype: credential.key.enctype,
        endtime: credential.endTime,
        flags: credential.flags,
      },
    );
    return {
      credential,
      issuedFor,
      realms: [...this.realms],
      requests: this.requests,
      stored: '',
    };
  }

  /** Store `result.credential` (best effort); returns what happened, for traces and results. */
  async store(result: ServiceTicketResult): Promise<string> {
    result.stored = await this.storeCredential(result.credential, principalText(result.credential.server));
    return result.stored;
  }

  /** Notes of intermediate TGTs stored during the walk. */
  get intermediateStores(): readonly string[] {
    return this.storedNotes;
  }

  private async storeCredential(credential: Credential, what: string): Promise<string> {
    const cache = this.o.cache;
    if (!cache) return 'not stored: no cache';
    try {
      await cache.store(credential);
      const note = `stored ${what} in ${cache.name}`;
      this.trace.event('ccache', note);
      return note;
    } catch (e) {
      const note = `not stored: ${cache.name} refused ${what}: ${(e as Error)?.message ?? String(e)}`;
      this.trace.event('ccache', `${note} (not fatal: the ticket is used anyway, the next upcall asks the KDC again)`);
      return note;
    }
  }

  /** A TGT usable at `realm`'s KDC (get_creds.c get_tgt). */
  private async tgtFor(realm: string, start: string): Promise<Credential> {
    const now = this.o.clock.now().seconds;
    const contents = this.o.contents;
    const opts = { permittedEnctypes: this.enctypes };
    if (realm !== start) {
      const foreign = findForeignTgt(contents, realm, now, opts);
      if (foreign) {
        this.trace.event('tgs', `cached cross-realm TGT ${principalText(foreign.server)} valid until ${isoSeconds(foreign.endTime)}`);
        return foreign;
      }
    }
    const local = findTgt(contents, start, now, opts);
    const name = `krbtgt/${start}@${start}`;
    switch (local.status) {
      case 'missing':
        throw new Krb5ClientError('no-credentials', `no TGT ${name} for ${principalText(contents.principal)} in the cache`);
      case 'enctype-not-permitted':
        throw new Krb5ClientError(
          'config',
          `the cache's TGT ${name} has a session-key enctype outside default_tgs_enctypes (${this.enctypes.map(enctypeName).join(', ')})`,
        );
      case 'expired':
        throw new Krb5ClientError(
          'no-credentials',
          `TGT ${name} expired ${describeDuration(now - local.credential.endTime)} ago (at ${isoSeconds(local.credential.endTime)}, KDC time)`,
        );
      case 'valid':
        break;
    }
    const tgt = local.credential;
    this.trace.event('tgs', `TGT ${name}: ${enctypeName(tgt.key.enctype)}, valid for ${describeDuration(tgt.endTime - now)} more`);
    if (realm === start) return tgt;
    return this.walk(tgt, start, realm);
  }

  /** Cross-realm TGTs from `start` to `target` along the realm path (get_creds.c step_get_tgt). */
  private async walk(local: Credential, start: string, target: string): Promise<Credential> {
    const path = this.o.config.realmPath(start, target);
    const capaths = this.o.config.capaths(start, target) !== undefined;
    this.trace.event('tgs', `realm path ${path.join(' → ')} (${capaths ? '[capaths]' : 'hierarchical'})`);
    let cur = local;
    let at = 0;
    while (tgtTargetRealm(cur.server) !== target) {
      const curRealm = tgtTargetRealm(cur.server);
      let lastError: Krb5ClientError | null = null;
      let advanced = false;
      for (let i = path.length - 1; i > at; i--) {
        const want = tgsPrincipal(path[i]!, curRealm);
        const cached = this.cachedExact(want);
        if (cached) {
          this.trace.event('tgs', `cached ${principalText(want)} valid until ${isoSeconds(cached.endTime)}`);
          cur = cached;
          at = i;
          advanced = true;
          break;
        }
        let got: Obtained;
        try {
          got = await this.request(cur, want, false);
        } catch (e) {
          if (e instanceof Krb5ClientError && e.kind === 'kdc-error') {
            this.trace.event(
              'tgs',
              `${curRealm} has no ${principalText(want)} (${e.details.krbError?.codeName}); stepping back toward ${curRealm}`,
            );
            lastError = e;
            continue;
          }
          throw e;
        }
        const reached = tgtTargetRealm(got.part.server);
        if (reached === start) {
          throw new Krb5ClientError(
            'bad-reply',
            `${curRealm} answered the request for ${principalText(want)} with a TGT back to the start realm ${start}`,
          );
        }
        const index = path.indexOf(reached);
        if (index > at) {
          if (reached === path[i]) {
            this.storedNotes.push(await this.storeCredential(got.credential, principalText(got.credential.server)));
          }
          cur = got.credential;
          at = index;
          advanced = true;
          break;
        }
        this.trace.event('tgs', `${curRealm} gave a TGT for ${reached}, which is off the path: following it toward ${target}`);
        return this.offPath(got.credential, target, new Set(path.slice(0, at + 1)));
      }
      if (!advanced) {
        throw lastError ?? new Krb5ClientError('no-credentials', `no way from ${curRealm} toward ${target} along ${path.join(' → ')}`);
      }
    }
    return cur;
  }

  /** Keep asking the KDC of an off-path realm for krbtgt/target (≤ 10 hops, no loops). */
  private async offPath(tgt: Credential, target: string, seen: Set<string>): Promise<Credential> {
    let cur = tgt;
    for (let hop = 0; ; hop++) {
      const curRealm = tgtTargetRealm(cur.server);
      if (curRealm === target) return cur;
      if (hop >= MAX_REFERRAL_HOPS || seen.has(curRealm)) {
        throw new Krb5ClientError(
          'referral-loop',
          `cross-realm TGT chase toward ${target} ${seen.has(curRealm) ? `came back to ${curRealm}` : `exceeded ${MAX_REFERRAL_HOPS} hops`}`,
        );
      }
      seen.add(curRealm);
      const got = await this.request(cur, tgsPrincipal(target, curRealm), false);
      cur = got.credential;
    }
  }

  private cachedExact(server: Principal): Credential | null {
    const now = this.o.clock.now().seconds;
    const c = this.o.contents;
    return (
      c.credentials.find(
        (x) =>
          principalsEqual(x.client, c.principal) &&
          principalsEqual(x.server, server) &&
          x.endTime >= now &&
          this.enctypes.includes(x.key.enctype),
      ) ?? null
    );
  }

  /** One TGS exchange with the KDC `tgt` is for; one retry after KRB_AP_ERR_SKEW or _REPEAT. */
  private async request(tgt: Credential, server: Principal, canonicalize: boolean): Promise<Obtained> {
    const realm = tgtTargetRealm(tgt.server);
    const target: Principal = { ...server, realm };
    const subject = principalText(target);
    for (let attempt = 0; ; attempt++) {
      const built = buildTgsRequest({ tgt, server: target, canonicalize, enctypes: this.enctypes, now: this.o.clock.now() });
      this.requests++;
      const answer = await this.o.session.send(realm, built.der, 'TGS-REQ', `${subject}${canonicalize ? ' (canonicalize)' : ''}`);
      if (answer.kind === 'error') {
        const e = answer.error;
        if (attempt === 0 && e.code === ErrorCode.KRB_AP_ERR_SKEW && this.skewRetry) {
          const off = this.o.clock.correct(e.krbError.stime, e.krbError.susec);
          this.trace.event(
            'tgs',
            `${realm} says our clock is off (KRB_AP_ERR_SKEW): its time is ${e.krbError.stime.toISOString()}, ours (with the cache's offset) was ${describeDuration(off)} ${off > 0 ? 'behind' : 'ahead'}; retrying once with the KDC's time (kdc_timesync)`,
            {
              skewSeconds: Math.round(off * 1000) / 1000,
            },
          );
          continue;
        }
        if (attempt === 0 && e.code === ErrorCode.KRB_AP_ERR_REPEAT) {
          this.trace.event('tgs', `${realm} saw our authenticator as a replay: retrying once with a fresh one`);
          continue;
        }
        throw kdcError(e, realm, subject, built, this.o.clock);
      }
      const reply = readTgsReply(answer.der, built, tgt, this.o.config.clockskewSeconds());
      if (!this.realms.includes(realm)) this.realms.push(realm);
      const credential = credentialFromReply(reply.rep, reply.part);
      // a ticket obtained through a foreign TGT is not ok-as-delegate unless that TGT was (gc_via_tkt.c)
      if (tgtTargetRealm(tgt.server) !== tgt.server.realm && (tgt.flags & TicketFlags.OK_AS_DELEGATE) === 0) {
        credential.flags &= ~TicketFlags.OK_AS_DELEGATE;
        credential.flags >>>= 0;
      }
      if (reply.usage === 8) this.trace.event('tgs', `${realm}'s reply was encrypted in the TGT session key (usage 8), not our subkey`);
      return { credential, part: reply.part, realm };
    }
  }
}

/** The KDC's refusal as an error naming who refused what, with skew details when relevant. */
function kdcError(e: KrbError, realm: string, subject: string, request: TgsRequest, clock: KdcClock): Krb5ClientError {
  let message = `${realm} KDC refused TGS-REQ for ${subject}: ${e.message}`;
  if (e.code === ErrorCode.KRB_AP_ERR_SKEW || e.code === ErrorCode.KRB_AP_ERR_TKT_NYV) {
    const kdc = Math.floor(e.krbError.stime.getTime() / 1000);
    message +=
      ` — the KDC's time is ${isoSeconds(kdc)}, ours was ${isoSeconds(request.requestTime)} ` +
      `(${describeDuration(kdc - request.requestTime)} ${kdc > request.requestTime ? 'behind' : 'ahead'}; KDC time offset in use ${clock.offsetSeconds.toFixed(0)} s${clock.corrected ? ', already corrected once' : ''})`;
  }
  if (
    e.code === ErrorCode.KDC_ERR_POLICY &&
    e.ntStatus === undefined &&
    !isTgsName(request.body.sname ?? { nameType: 0, components: [] })
  ) {
    // Samba's AD DC gives no e-text or e-data here, and logs no reason (verified against 4.22)
    message +=
      " — the KDC's policy refuses the client of this TGT now (an Active Directory DC answers so for an account disabled after its TGT was issued)";
  }
  return new Krb5ClientError('kdc-error', message, { krbError: e, realm });
}
