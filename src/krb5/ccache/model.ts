// The credential-cache model shared by every back end (FILE, DIR, KEYRING, KCM, MEMORY): a
// principal, a credential record as libkrb5 stores it (krb5_creds), cache configuration entries
// ("X-CACHECONF:" pseudo-credentials), the KDC time offset, and the CredentialCache interface.
//
// Principal and Credential deliberately duplicate the small parts of src/krb5/messages that a
// cache needs (PrincipalName + realm, the raw Ticket DER), so caches do not depend on the ASN.1
// layer; the integrator may merge them.

/** A Kerberos principal: name type (a hint; never compared), components, realm. */
export interface Principal {
  nameType: number;
  components: string[];
  /** may be "" (the referral realm of RFC 6806 service names) */
  realm: string;
}

/** An encryption key with its enctype (RFC 3961); enctypes are signed 16-bit in caches. */
export interface Keyblock {
  enctype: number;
  value: Buffer;
}

/** A HostAddress as cached (RFC 4120 §5.2.5): type and raw bytes. */
export interface HostAddress {
  type: number;
  data: Buffer;
}

/** One AuthorizationData element as cached (RFC 4120 §5.2.6); types are signed 16-bit. */
export interface AuthDataElement {
  type: number;
  data: Buffer;
}

/**
 * One cache record (MIT krb5_creds). Times are seconds since the epoch as unsigned 32-bit values,
 * 0 meaning absent. `ticket` is the raw DER Ticket ([APPLICATION 1]), forwarded verbatim.
 */
export interface Credential {
  client: Principal;
  server: Principal;
  key: Keyblock;
  authTime: number;
  startTime: number;
  endTime: number;
  renewTill: number;
  /** ticket encrypted in another ticket's session key (user-to-user) */
  isSkey: boolean;
  /** TicketFlags as a 32-bit word, bit 0 of the ASN.1 BIT STRING = 0x80000000 */
  flags: number;
  addresses: HostAddress[];
  authData: AuthDataElement[];
  ticket: Buffer;
  secondTicket: Buffer;
}

/** KDC time = local time + offset (FILE header tag 1, keyring __krb5_time_offsets__, KCM). */
export interface KdcTimeOffset {
  seconds: number;
  microseconds: number;
}

/** A cache configuration entry: `krb5_ccache_conf_data/<key>[/<principal>]@X-CACHECONF:`. */
export interface CacheConfigEntry {
  key: string;
  /** the unparsed principal the entry is about (e.g. the TGS for fast_avail), or null */
  principal: string | null;
  value: Buffer;
}

/** Keys MIT libkrb5 writes (krb5.hin KRB5_CC_CONF_*). */
export const CacheConfigKey = {
  FAST_AVAIL: 'fast_avail',
  PA_CONFIG_DATA: 'pa_config_data',
  PA_TYPE: 'pa_type',
  PROXY_IMPERSONATOR: 'proxy_impersonator',
  REFRESH_TIME: 'refresh_time',
  START_REALM: 'start_realm',
} as const;

export const CONFIG_REALM = 'X-CACHECONF:';
export const CONFIG_FIRST_COMPONENT = 'krb5_ccache_conf_data';

/** Everything a cache holds, read in one go. */
export interface CcacheContents {
  principal: Principal;
  /** tickets only: removed entries and config entries are left out */
  credentials: Credential[];
  config: CacheConfigEntry[];
  kdcTimeOffset: KdcTimeOffset | null;
}

export type CcacheType = 'FILE' | 'DIR' | 'KEYRING' | 'KCM' | 'MEMORY';

/** A credential cache of any type, opened by name. */
export interface CredentialCache {
  readonly type: CcacheType;
  /** the full name as MIT prints it: FILE:/tmp/krb5cc_1000, DIR::/d/tkt, KEYRING:persistent:1000:1000, KCM:1000 */
  readonly name: string;
  principal(): Promise<Principal>;
  /** tickets, in cache order, without removed entries or config entries */
  credentials(): Promise<Credential[]>;
  configEntries(): Promise<CacheConfigEntry[]>;
  kdcTimeOffset(): Promise<KdcTimeOffset | null>;
  /** one consistent read of principal, tickets, config entries and time offset */
  read(): Promise<CcacheContents>;
  /** add one credential the way libkrb5 does for this cache type */
  store(credential: Credential): Promise<void>;
}

/**
 * A cache read and written synchronously (FILE/DIR, KEYRING): after a namespace switch only
 * synchronous reads are safe; the async CredentialCache methods are these reads.
 */
export abstract class SynchronousCredentialCache implements CredentialCache {
  abstract readonly type: CcacheType;
  abstract readonly name: string;
  abstract readSync(): CcacheContents;
  abstract storeSync(credential: Credential): void;

  async read(): Promise<CcacheContents> {
    return this.readSync();
  }

  async principal(): Promise<Principal> {
    return this.readSync().principal;
  }

  async credentials(): Promise<Credential[]> {
    return this.readSync().credentials;
  }

  async configEntries(): Promise<CacheConfigEntry[]> {
    return this.readSync().config;
  }

  async kdcTimeOffset(): Promise<KdcTimeOffset | null> {
    return this.readSync().kdcTimeOffset;
  }

  async store(credential: Credential): Promise<void> {
    this.storeSync(credential);
  }
}

// ---- principals ---------------------------------------------------------------------------

/** Realm and components equal; the name type is ignored (krb5_principal_compare). */
export function principalsEqual(a: Principal, b: Principal): boolean {
  return a.realm === b.realm && a.components.length === b.components.length && a.components.every((c, i) => c === b.components[i]);
}

const QUOTED: Record<string, string> = { '/': '\\/', '@': '\\@', '\\': '\\\\', '\n': '\\n', '\t': '\\t', '\b': '\\b', '\0': '\\0' };

function quote(text: string): string {
  return text.replace(/[/@\\\n\t\b\0]/g, (c) => QUOTED[c] ?? c);
}

/** MIT krb5_unparse_name: components joined by "/", "@realm", with \ escapes (keyring key names). */
export function unparsePrincipal(p: Principal): string {
  return `${p.components.map(quote).join('/')}@${quote(p.realm)}`;
}

const UNQUOTED: Record<string, string> = { n: '\n', t: '\t', b: '\b', '0': '\0' };

/**
 * MIT krb5_parse_name for a full name: "/" separates components, the first unescaped "@" starts
 * the realm; a missing realm takes `defaultRealm` (or "" when none is given).
 */
export function parsePrincipal(text: string, nameType = 1, defaultRealm = ''): Principal {
  const components: string[] = [];
  let current = '';
  let realm: string | null = null;
  for (let i = 0; i < text.length; i++) {
    let c = text[i]!;
    if (c === '\\' && i + 1 < text.length) {
      const next = text[++i]!;
      c = UNQUOTED[next] ?? next;
      current += c;
      continue;
    }
    if (realm === null && c === '@') {
      components.push(current);
      current = '';
      realm = '';
      continue;
    }
    if (realm === null && c === '/') {
      components.push(current);
      current = '';
      continue;
    }
    current += c;
  }
  if (realm === null) {
    components.push(current);
    return { nameType, components, realm: defaultRealm };
  }
  return { nameType, components, realm: current };
}

// ---- config entries ----------------------------------------------------------------------

/** krb5_is_config_principal: realm "X-CACHECONF:" and first component "krb5_ccache_conf_data". */
export function isConfigPrincipal(p: Principal): boolean {
  return p.realm === CONFIG_REALM && p.components[0] === CONFIG_FIRST_COMPONENT;
}

/** MIT marks a removed FILE entry with endtime 0 and a non-zero authtime (-1). */
export function isRemovedEntry(c: Credential): boolean {
  return c.endTime === 0 && c.authTime !== 0;
}

export function configEntryFromCredential(c: Credential): CacheConfigEntry {
  return {
    key: c.server.components[1] ?? '',
    principal: c.server.components[2] ?? null,
    value: c.ticket,
  };
}

/** A config entry as libkrb5 stores it (krb5_cc_set_config): all other fields zero. */
export function configCredential(client: Principal, key: string, value: Buffer, about?: Principal): Credential {
  const components = [CONFIG_FIRST_COMPONENT, key];
  if (about) components.push(unparsePrincipal(about));
  return {
    client,
    server: { nameType: 0, components, realm: CONFIG_REALM },
    key: { enctype: 0, value: Buffer.alloc(0) },
    authTime: 0,
    startTime: 0,
    endTime: 0,
    renewTill: 0,
    isSkey: false,
    flags: 0,
    addresses: [],
    authData: [],
    ticket: value,
    secondTicket: Buffer.alloc(0),
  };
}

/** Split raw records into tickets and config entries, dropping removed entries. */
export function classifyRecords(records: Credential[]): { credentials: Credential[]; config: CacheConfigEntry[]; removed: number } {
  const credentials: Credential[] = [];
  const config: CacheConfigEntry[] = [];
  let removed = 0;
  for (const r of records) {
    if (isRemovedEntry(r)) removed++;
    else if (isConfigPrincipal(r.server)) config.push(configEntryFromCredential(r));
    else credentials.push(r);
  }
  return { credentials, config, removed };
}

/** The first config value for `key` (and, when given, the principal it is about), as libkrb5 returns it. */
export function configValue(contents: Pick<CcacheContents, 'config'>, key: string, about?: string): Buffer | null {
  const hit = contents.config.find((e) => e.key === key && (about === undefined || e.principal === about));
  return hit ? hit.value : null;
}

/** Zero the key bytes of credentials that are no longer needed (secrets hygiene). */
export function wipeKeys(credentials: Iterable<Credential>): void {
  for (const c of credentials) c.key.value.fill(0);
}
