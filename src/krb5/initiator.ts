// The own-ticket credential sources: cifs.upcall's native krb5 path in TypeScript
// (docs/cifs-upcall-behaviour.md#credential-cache-choice, #keytab-fallback, #native-krb5-path;
// docs/kerberos.md#scope).
//
//   CcacheSource ("ccache")  the user's credential cache: KRB5CCNAME probed from the triggering
//     process, else the default name of krb5.conf for the user. cifs.upcall's acceptance test:
//     a valid ticket for cifs/<host> (7.2+) is used with no KDC traffic; else a TGT
//     krbtgt/<realm>@… whose endtime is in the future; else 'no-credentials' with the reason.
//     Then krb5_get_credentials (cached ticket or TGS with referrals), the new ticket stored back
//     into the cache, the native AP-REQ, and its subkey as the session key.
//   KeytabSource ("keytab")  user= as a principal (no realm → default_realm), a TGT from the
//     keytab (-K, else the default keytab) by an AS exchange into a private MEMORY cache, then the
//     same TGS + AP-REQ. Only for the mount's own session (the strategy checks it too).
//
// Service principal (native path): cifs/<host> with name type NT-UNKNOWN (0), the host as the
// pipeline gives it (lower-cased, no canonicalization), realm from [domain_realm], else the
// referral realm "" that referral chasing resolves from the client's realm.
//
// Runs after the pipeline dropped to the user (and entered the caller's namespaces): every file
// is read with synchronous calls by the ccache, keytab and config modules; names are resolved by
// src/net/dns only; sockets are made on this thread.
import {
  CredentialError,
  checkServiceHost,
  keytabRefusal,
  namingUid,
  type CredentialFailureKind,
  type CredentialRequest,
  type CredentialSource,
  type InitiatorToken,
} from '../credentials.ts';
import type { Trace } from '../trace.ts';
import type { DnsOptions } from '../net/dns/index.ts';
import { loadKrb5Config, Krb5ConfigError, type Krb5Config } from './config/krb5-config.ts';
import { ProfileError } from './config/profile.ts';
import {
  CcacheError,
  MemoryCredentialCache,
  openCredentialCache,
  resolveDefaultCcacheName,
  upcallCacheVerdict,
  wipeKeys,
  type CcacheContents,
  type Credential,
  type CredentialCache,
  type Principal,
} from './ccache/index.ts';
import { KeytabError, readKeytab, resolveDefaultKeytabName, type Keytab } from './keytab/keytab.ts';
import { Krb5CryptoError } from './crypto/index.ts';
import { DecodeError } from '../der/errors.ts';
import { enctypeName } from './iana/etype.ts';
import { ErrorCode } from './iana/error-code.ts';
import { NameType } from './iana/name-type.ts';
import { decodeTicket } from './messages/ticket.ts';
import { parsePrincipal, PrincipalParseError } from './messages/principal-name.ts';
import { buildCifsApReq } from './client/ap-req.ts';
import { getInitialTgtWithKeytab } from './client/as.ts';
import { KdcClock, describeDuration, isoSeconds } from './client/clock.ts';
import { copyPrincipal, principalText } from './client/credential.ts';
import { Krb5ClientError } from './client/errors.ts';
import { KdcSession, type KdcExchangeRecord } from './client/kdc-exchange.ts';
import { TgsClient, cachedServiceTicket } from './client/tgs.ts';
import { monotonicMs } from '../clock.ts';

export interface Krb5SourceOptions {
  /** cifs.upcall -k: krb5.conf to read instead of KRB5_CONFIG / /etc/krb5.conf */
  krb5ConfigFile?: string;
  /** cifs.upcall -K: keytab for the keytab fallback */
  keytabName?: string;
  /** per-attempt KDC wait in milliseconds (krb5.conf's kdc_timeout wins) */
  kdcTimeoutMs?: number;
  /** the process environment for KRB5_CONFIG, KRB5_KTNAME and TMPDIR (default process.env) */
  env?: { KRB5_CONFIG?: string; KRB5_KTNAME?: string; TMPDIR?: string };
  /** cap of one KDC exchange (default 30 s; krb5.conf request_timeout wins when smaller) */
  kdcExchangeTimeoutMs?: number;
  /** on KRB_AP_ERR_SKEW adopt the KDC's time and retry once (default: krb5.conf kdc_timesync ≠ 0) */
  skewRetry?: boolean;
  /** resolver settings (tests point them at a loopback DNS server) */
  dns?: DnsOptions;
  /** observer of every KDC exchange (diagnostics, captured test fixtures) */
  onKdcExchange?: (record: KdcExchangeRecord) => void;
}

/** What the own-ticket sources return: the token plus how it was obtained. */
export interface Krb5Token extends InitiatorToken {
  krb5: {
    /** the cache used: the user's, or MEMORY:… for the keytab's TGT */
    cache: string;
    /** 'cache': a cached cifs/ ticket, no KDC traffic; 'kdc': a TGS exchange */
    ticketFrom: 'cache' | 'kdc';
    /** KDC round trips of this acquisition (AS and TGS, retries included) */
    kdcExchanges: number;
    /** realms whose KDCs issued tickets, in order */
    realms: string[];
    /** what became of the new ticket: "stored in …", "not stored: …", "" when from the cache */
    stored: string;
    /** KDC time offset used for the authenticator, seconds */
    kdcOffsetSeconds: number;
    /** the offset came from a KRB_AP_ERR_SKEW of the KDC rather than the cache */
    skewCorrected: boolean;
    ms: number;
  };
}

// ---- shared ---------------------------------------------------------------------------------

/** cifs/<host> as krb5_sname_to_principal(host, "cifs", KRB5_NT_UNKNOWN) makes it. */
export function cifsServicePrincipal(host: string, config: Krb5Config): { principal: Principal; why: string } {
  const realm = config.domainRealm(host);
  return {
    principal: { nameType: NameType.UNKNOWN, components: ['cifs', host], realm },
    why:
      realm !== ''
        ? `realm ${realm} from [domain_realm]`
        : `no [domain_realm] entry for ${host}: the referral realm, resolved by referral chasing from the client's realm`,
  };
}

abstract class Krb5SourceBase implements CredentialSource {
  abstract readonly name: 'ccache' | 'keytab';
  private config: Krb5Config | undefined;

  constructor(protected readonly options: Krb5SourceOptions = {}) {}

  protected get env(): NonNullable<Krb5SourceOptions['env']> {
    return this.options.env ?? process.env;
  }

  abstract acquire(request: CredentialRequest): Promise<Krb5Token>;

  /** krb5.conf, read once per source (synchronously, as the user). */
  protected loadConfig(trace: Trace): Krb5Config {
    if (!this.config) {
      try {
        this.config = loadKrb5Config({
          configFile: this.options.krb5ConfigFile,
          env: this.env,
          trace,
        });
      } catch (e) {
        throw new CredentialError(this.name, 'config', `krb5.conf: ${(e as Error).message}`, { cause: e });
      }
    }
    return this.config;
  }

  protected session(config: Krb5Config, request: CredentialRequest): KdcSession {
    return new KdcSession({
      config,
      trace: request.trace,
      signal: request.signal,
      perAttemptTimeoutMs: this.options.kdcTimeoutMs,
      overallTimeoutMs: this.options.kdcExchangeTimeoutMs,
      ...(this.options.dns ? { dns: this.options.dns } : {}),
      ...(this.options.onKdcExchange ? { onExchange: this.options.onKdcExchange } : {}),
    });
  }

  /**
   * krb5_get_credentials + krb5_mk_req_extended on an accepted cache: the cached cifs/ ticket or
   * a TGS exchange (stored back), then the native AP-REQ.
   */
  protected async tokenFrom(args: {
    cache: CredentialCache;
    contents: CcacheContents;
    service: Principal;
    config: Krb5Config;
    session: KdcSession;
    request: CredentialRequest;
    started: number;
  }): Promise<Krb5Token> {
    const { cache, contents, service, config, session, request } = args;
    const trace = request.trace;
    const clock = new KdcClock(contents.kdcTimeOffset);
    // MIT matches cached credentials against krb5_get_tgs_ktypes (default_tgs_enctypes, else
    // permitted_enctypes), not permitted_enctypes alone (verified with MIT kvno)
    const enctypes = config.defaultTgsEnctypes();
    const names = service.realm !== '' ? [service, { ...service, realm: '' }] : [service];
    const cached = cachedServiceTicket(contents, names, clock.now().seconds, enctypes);
    let credential: Credential;
    let stored = '';
    let realms: string[] = [];
    /** the ticket's server name, from the TGS-REP it came in (checked there against the enc-part) */
    let ticketServer: Principal | undefined;
    if (cached) {
      trace.event(
        'tgs',
        `cached ticket ${principalText(cached.server)} valid until ${isoSeconds(cached.endTime)} (${enctypeName(cached.key.enctype)}): no KDC traffic`,
        {
          endtime: cached.endTime,
          enctype: cached.key.enctype,
        },
      );
      credential = cached;
    } else {
      const tgs = new TgsClient({
        session,
        clock,
        config,
        trace,
        contents,
        cache,
        enctypes,
        skewRetry: this.options.skewRetry,
      });
      const result = await tgs.getServiceTicket(service);
      stored = await tgs.store(result);
      credential = result.credential;
      realms = result.realms;
      ticketServer = result.issuedFor;
    }
    const ap = buildCifsApReq(credential, clock.now());
    // a fresh ticket's key was stored (copied) already; the cached one is wiped with the contents
    if (!cached) credential.key.value.fill(0);
    let issuedFor = principalText(ticketServer ?? credential.server);
    // a cached entry names its server fully unless it was stored under the referral realm (""):
    // only then is the ticket itself decoded for the name (asn1js: ~1.5 ms of an upcall's CPU)
    if (!ticketServer && credential.server.realm === '') {
      try {
        issuedFor = principalText(decodeTicket(credential.ticket).server);
      } catch {
        /* the AP-REQ carries the bytes verbatim; the name is only for the trace */
      }
    }
    const ms = monotonicMs() - args.started;
    trace.event(
      'ap-req',
      `AP-REQ for ${issuedFor} as ${principalText(credential.client)}: ${enctypeName(ap.subkey.enctype)} subkey (the session key), ` +
        `0x8003 checksum with no bindings and flags 0, no sequence number, ap-options 0, ctime ${ap.ctime.toISOString()} ` +
        `(KDC offset ${clock.offsetSeconds.toFixed(3)} s${clock.corrected ? ', corrected by the KDC' : ''}); ${ap.gssToken.length}-byte token`,
      {
        enctype: ap.subkey.enctype,
        kdcExchanges: session.exchanges.length,
        ms: Math.round(ms * 10) / 10,
      },
    );
    return {
      gssToken: ap.gssToken,
      sessionKey: ap.subkey.value,
      enctype: ap.subkey.enctype,
      clientPrincipal: principalText(credential.client),
      servicePrincipal: issuedFor,
      krb5: {
        cache: cache.name,
        ticketFrom: cached ? 'cache' : 'kdc',
        kdcExchanges: session.exchanges.length,
        realms,
        stored,
        kdcOffsetSeconds: clock.offsetSeconds,
        skewCorrected: clock.corrected,
        ms,
      },
    };
  }

  /** Any failure as a CredentialError of this source, traced. */
  protected failure(e: unknown, request: CredentialRequest, stage: 'tgs' | 'as'): CredentialError {
    const make = (kind: CredentialFailureKind, message: string): CredentialError => {
      request.trace.event(this.name === 'keytab' ? 'keytab' : 'ccache', `failed (${kind}): ${message}`);
      return new CredentialError(this.name, kind, message, { cause: e });
    };
    if (e instanceof CredentialError) return e;
    if (request.signal.aborted && !(e instanceof Krb5ClientError)) {
      return make('unreachable', `the upcall's time budget ran out: ${(e as Error)?.message ?? String(e)}`);
    }
    if (e instanceof Krb5ClientError) {
      switch (e.kind) {
        case 'no-credentials':
          return make('no-credentials', e.message);
        case 'unreachable':
          return make('unreachable', e.message);
        case 'config':
          return make('config', e.message);
        case 'bad-reply':
        case 'bad-cache':
        case 'referral-loop':
          return make('protocol', e.message);
        case 'kdc-error':
          return make(credentialKindOfKdcError(e.code ?? 0, stage), e.message);
      }
    }
    if (e instanceof Krb5ConfigError || e instanceof ProfileError) return make('config', `krb5.conf: ${e.message}`);
    if (e instanceof CcacheError) return make('no-credentials', e.message);
    if (e instanceof Krb5CryptoError || e instanceof DecodeError) return make('protocol', (e as Error).message);
    return make('protocol', `unexpected error: ${(e as Error)?.message ?? String(e)}`);
  }
}

/** CredentialError kind of a KDC refusal (docs/kerberos.md#krb-error-handling) in a TGS or AS exchange. */
export function credentialKindOfKdcError(code: number, stage: 'tgs' | 'as'): CredentialFailureKind {
  switch (code) {
    case ErrorCode.KDC_ERR_S_PRINCIPAL_UNKNOWN:
      return stage === 'tgs' ? 'service-unknown' : 'config';
    case ErrorCode.KRB_AP_ERR_TKT_EXPIRED:
      return 'no-credentials';
    case ErrorCode.KDC_ERR_C_PRINCIPAL_UNKNOWN:
    case ErrorCode.KDC_ERR_PREAUTH_FAILED:
    case ErrorCode.KDC_ERR_KEY_EXPIRED:
      return stage === 'as' ? 'no-credentials' : 'refused';
    case ErrorCode.KDC_ERR_ETYPE_NOSUPP:
      return 'config';
    default:
      return 'refused';
  }
}

// ---- the user's cache ---------------------------------------------------------------------

export class CcacheSource extends Krb5SourceBase {
  readonly name = 'ccache';

  async acquire(request: CredentialRequest): Promise<Krb5Token> {
    const started = monotonicMs();
    const { trace, identity, host } = request;
    checkServiceHost(this.name, host);
    const config = this.loadConfig(trace);
    const { principal: service, why } = cifsServicePrincipal(host, config);
    trace.event('tgs', `service principal ${principalText(service)} (name type NT-UNKNOWN, no canonicalization; ${why})`, {
      realm: service.realm,
    });

    const { name, origin } = this.cacheName(request, config);
    trace.event('ccache', `credential cache ${name} (${origin})`, { cache: name, origin });
    if (identity.namespaceIds && /^KEYRING:/i.test(name)) {
      // user and persistent keyrings are registered per user namespace: the caller's are not the
      // ones the init namespace would give us for the same kuid (keyrings(7), docs/user-namespaces.md)
      const message = `credential cache ${name} is a kernel keyring of the caller's user namespace, which a helper in the init user namespace cannot reach`;
      trace.event('ccache', `rejected: ${message}`, { kind: 'foreign-keyring' });
      throw new CredentialError(this.name, 'no-credentials', message);
    }
    let cache: CredentialCache;
    let contents: CcacheContents;
    try {
      cache = await openCredentialCache(name, {
        expectedOwner: identity.uid,
        euid: identity.uid,
        helperProcess: true,
        kcmSocket: config.kcmSocket(),
        timeoutMs: Math.max(this.options.kdcTimeoutMs ?? 0, 5000),
        signal: request.signal,
      });
    } catch (e) {
      throw this.unusableCache(e, name, request);
    }
    try {
      try {
        contents = await cache.read();
      } catch (e) {
        throw this.unusableCache(e, cache.name, request);
      }
      this.describeCache(cache, contents, trace);
      this.accept(cache, contents, service, trace);
      try {
        return await this.tokenFrom({ cache, contents, service, config, session: this.session(config, request), request, started });
      } catch (e) {
        throw this.failure(e, request, 'tgs');
      } finally {
        wipeKeys(contents.credentials);
      }
    } finally {
      (cache as { close?: () => void }).close?.();
    }
  }

  /** probed KRB5CCNAME, else krb5_cc_default_name for the user (KRB5CCNAME of our own env is not used). */
  private cacheName(request: CredentialRequest, config: Krb5Config): { name: string; origin: string } {
    if (request.probedCcacheName !== undefined) {
      return { name: request.probedCcacheName, origin: 'KRB5CCNAME of the triggering process' };
    }
    const { identity } = request;
    // the caller's world names its caches with its own uid (docs/user-namespaces.md)
    const uid = namingUid(identity);
    const forWhom = identity.namespaceIds ? `uid ${uid} of the caller's user namespace (host uid ${identity.uid})` : `uid ${uid}`;
    try {
      const profile = config.profile.value(['libdefaults', 'default_ccache_name'])?.value;
      const resolved = resolveDefaultCcacheName({
        uid,
        euid: uid,
        username: identity.username,
        ...(this.env.TMPDIR ? { tmpdir: this.env.TMPDIR } : {}),
        profileDefaultCcacheName: profile,
      });
      return {
        name: resolved.name,
        origin:
          resolved.source === 'default_ccache_name'
            ? `default_ccache_name ${profile} of krb5.conf for ${forWhom}`
            : `built-in default for ${forWhom}`,
      };
    } catch (e) {
      throw new CredentialError(this.name, 'config', `cannot name ${forWhom}'s default credential cache: ${(e as Error).message}`, {
        cause: e,
      });
    }
  }

  /** A cache that cannot be opened or read counts as absent, as in cifs.upcall. */
  private unusableCache(e: unknown, name: string, request: CredentialRequest): CredentialError {
    if (e instanceof CcacheError) {
      const kind: CredentialFailureKind = e.kind === 'bad-name' || e.kind === 'unsupported' ? 'config' : 'no-credentials';
      const what: Record<string, string> = {
        'not-found': 'does not exist',
        format: 'is corrupt',
        permission: 'is not readable by the user',
        unsafe: 'was refused',
        'not-users-keyring': "is the helper's own keyring, not the user's",
        kcm: 'was refused by the KCM daemon',
        unreachable: 'is unreachable (KCM daemon)',
        io: 'cannot be read',
        'bad-name': 'has an invalid name',
        unsupported: 'is of an unsupported type',
      };
      const message = `credential cache ${name} ${what[e.kind] ?? 'is unusable'}`;
      // the system's detail (the errno, the owner found) in the trace; the cause says it once
      request.trace.event('ccache', `rejected: ${message}: ${e.message}`, { kind: e.kind });
      return new CredentialError(this.name, kind, e.kind === 'not-found' ? `no credential cache (${name})` : `${message}: ${e.message}`, {
        cause: e,
      });
    }
    return this.failure(e, request, 'tgs');
  }

  private describeCache(cache: CredentialCache, contents: CcacheContents, trace: Trace): void {
    const offset = contents.kdcTimeOffset;
    trace.event(
      'ccache',
      `${cache.name}: default principal ${principalText(contents.principal)}, ${contents.credentials.length} ticket(s)` +
        `${offset ? `, KDC time offset ${offset.seconds} s ${offset.microseconds} µs` : ', no KDC time offset'}`,
      {
        principal: principalText(contents.principal),
        tickets: contents.credentials.map((c) => principalText(c.server)),
      },
    );
  }

  /** cifs.upcall's acceptance test (get_existing_cc, 7.2+), on the local clock. */
  private accept(cache: CredentialCache, contents: CcacheContents, service: Principal, trace: Trace): void {
    const now = Math.floor(Date.now() / 1000);
    let verdict = upcallCacheVerdict(contents, now, service);
    if (!(verdict.accepted && verdict.reason === 'service-ticket') && service.realm !== '') {
      // MIT stores referral results under the empty realm
      const referralForm = upcallCacheVerdict(contents, now, { ...service, realm: '' });
      if (referralForm.accepted && referralForm.reason === 'service-ticket') verdict = referralForm;
    }
    if (verdict.accepted) {
      const c = verdict.credential;
      trace.event(
        'ccache',
        verdict.reason === 'service-ticket'
          ? `accepted: valid ticket ${principalText(c.server)} until ${isoSeconds(c.endTime)} (cifs.upcall 7.2+ uses it without a TGT)`
          : `accepted: TGT ${principalText(c.server)} valid for ${describeDuration(c.endTime - now)} more (until ${isoSeconds(c.endTime)})`,
        {
          verdict: verdict.reason,
        },
      );
      return;
    }
    const tgtName = `krbtgt/${contents.principal.realm}@${contents.principal.realm}`;
    const message =
      verdict.reason === 'tgt-expired'
        ? `TGT ${principalText(verdict.credential!.server)} in ${cache.name} expired ${describeDuration(now - verdict.credential!.endTime)} ago (at ${isoSeconds(verdict.credential!.endTime)}), and there is no valid ticket for ${principalText(service)}`
        : `${cache.name} (${principalText(contents.principal)}) holds neither a valid ticket for ${principalText(service)} nor a TGT ${tgtName}`;
    trace.event('ccache', `rejected: ${message}`, { verdict: verdict.reason });
    throw new CredentialError(this.name, 'no-credentials', message);
  }
}

// ---- the keytab fallback --------------------------------------------------------------------

export class KeytabSource extends Krb5SourceBase {
  readonly name = 'keytab';

  async acquire(request: CredentialRequest): Promise<Krb5Token> {
    const started = monotonicMs();
    const { trace, identity, host, mountUser } = request;
    // the keytab rule (src/credentials.ts), also applied here for a caller that skips the strategy
    const refusal = keytabRefusal(request, 'mount-session');
    if (refusal !== null || mountUser === undefined) {
      const message = `keytab fallback refused: ${refusal ?? 'no user= in the description'}`;
      trace.event('keytab', message);
      throw new CredentialError(this.name, 'no-credentials', message);
    }
    checkServiceHost(this.name, host);
    const config = this.loadConfig(trace);
    const client = this.clientPrincipal(mountUser, config);
    const { principal: service, why } = cifsServicePrincipal(host, config);
    trace.event('tgs', `service principal ${principalText(service)} (name type NT-UNKNOWN, no canonicalization; ${why})`, {
      realm: service.realm,
    });

    const keytab = this.readKeytab(request, config);
    let memory: MemoryCredentialCache | undefined;
    try {
      const session = this.session(config, request);
      const clock = new KdcClock(null);
      let tgt;
      try {
        tgt = await getInitialTgtWithKeytab({
          client,
          keytab,
          session,
          clock,
          config,
          trace,
          skewRetry: this.options.skewRetry,
        });
      } catch (e) {
        throw this.failure(e, request, 'as');
      }
      memory = MemoryCredentialCache.create(tgt.credential.client, { kdcTimeOffset: tgt.kdcTimeOffset });
      await memory.store(tgt.credential);
      trace.event('keytab', `TGT for ${principalText(tgt.credential.client)} kept in ${memory.name} (never written anywhere)`);
      const contents = await memory.read();
      try {
        return await this.tokenFrom({ cache: memory, contents, service, config, session, request, started });
      } catch (e) {
        throw this.failure(e, request, 'tgs');
      }
    } finally {
      memory?.destroy();
      for (const entry of keytab.entries) entry.key.value.fill(0);
    }
  }

  /** krb5_parse_name(user): "\" escapes, "@REALM" honoured, default realm otherwise. */
  private clientPrincipal(mountUser: string, config: Krb5Config): Principal {
    let parsed;
    try {
      parsed = parsePrincipal(mountUser, { nameType: NameType.PRINCIPAL, defaultRealm: config.defaultRealm() ?? '' });
    } catch (e) {
      if (e instanceof PrincipalParseError) throw new CredentialError(this.name, 'config', `user=${mountUser}: ${e.message}`, { cause: e });
      throw e;
    }
    if (parsed.realm === '') {
      throw new CredentialError(this.name, 'config', `user=${mountUser} names no realm and krb5.conf has no default_realm`);
    }
    return copyPrincipal(parsed);
  }

  private readKeytab(request: CredentialRequest, config: Krb5Config): Keytab {
    const { identity, trace } = request;
    let name: string;
    let origin: string;
    if (this.options.keytabName !== undefined) {
      name = this.options.keytabName;
      origin = '-K';
    } else {
      try {
        const profile = config.profile.value(['libdefaults', 'default_keytab_name'])?.value;
        const r = resolveDefaultKeytabName({
          uid: namingUid(identity),
          euid: namingUid(identity),
          username: identity.username,
          envKRB5_KTNAME: this.env.KRB5_KTNAME,
          profileDefaultKeytabName: profile,
        });
        name = r.name;
        origin = r.source;
      } catch (e) {
        throw new CredentialError(this.name, 'config', `cannot name the default keytab: ${(e as Error).message}`, { cause: e });
      }
    }
    trace.event('keytab', `keytab ${name} (${origin})`);
    try {
      return readKeytab(name);
    } catch (e) {
      if (e instanceof KeytabError) {
        const kind: CredentialFailureKind =
          e.kind === 'format' ? 'protocol' : e.kind === 'bad-name' || e.kind === 'unsupported' ? 'config' : 'no-credentials';
        const message = `keytab ${name}: ${e.message}`;
        trace.event('keytab', `unusable (${kind}): ${message}`);
        throw new CredentialError(this.name, kind, message, { cause: e });
      }
      throw this.failure(e, request, 'as');
    }
  }
}
