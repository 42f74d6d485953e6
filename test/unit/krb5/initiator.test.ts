// The own-ticket sources (src/krb5/initiator.ts) on the paths that need no KDC: the service
// principal cifs.upcall's native path asks for, the cache name, cifs.upcall's acceptance test
// (docs/cifs-upcall-behaviour.md#credential-cache-choice: a valid cifs/ ticket is used with zero KDC traffic; else a TGT; else
// 'no-credentials' with the reason), MIT's enctype filter on cached tickets, the keytab
// fallback's refusals (#keytab-fallback there), and the CredentialError kinds of KDC refusals. Caches are real
// FILE caches written with the ccache codec into a private directory; the exchanges with real
// KDCs are in test/integration/krb5-*.test.ts.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CredentialError, type CredentialRequest } from '../../../src/credentials.ts';
import {
  CcacheSource,
  KeytabSource,
  cifsServicePrincipal,
  credentialKindOfKdcError,
  type Krb5SourceOptions,
} from '../../../src/krb5/initiator.ts';
import { Krb5Config } from '../../../src/krb5/config/krb5-config.ts';
import { encodeFileCcache } from '../../../src/krb5/ccache/marshal.ts';
import { encryptionType } from '../../../src/krb5/crypto/index.ts';
import { encodeKeytab } from '../../../src/krb5/keytab/keytab.ts';
import { encodeTicket } from '../../../src/krb5/messages/index.ts';
import { MemoryTrace } from '../../../src/trace.ts';
import type { Credential, Principal } from '../../../src/krb5/ccache/model.ts';
import { mintedCredential, openToken } from './client/helpers.ts';

const uid = process.getuid?.() ?? 0;
const gid = process.getgid?.() ?? 0;
let dir: string;

const alice: Principal = { nameType: 1, components: ['alice'], realm: 'EXAMPLE.TEST' };
const fs1: Principal = { nameType: 0, components: ['cifs', 'fs1.example.test'], realm: 'EXAMPLE.TEST' };
const serviceKey = { etype: 18, key: encryptionType(18).randomKey() };
const now = (): number => Math.floor(Date.now() / 1000);

function conf(name: string, extra = '', domainRealm = true): string {
  const path = join(dir, name);
  writeFileSync(
    path,
    `[libdefaults]
  default_realm = EXAMPLE.TEST
  dns_lookup_kdc = false
  dns_lookup_realm = false
  default_ccache_name = FILE:${dir}/krb5cc_%{uid}
  default_keytab_name = FILE:${dir}/absent.keytab
${extra}
[realms]
  EXAMPLE.TEST = {
    kdc = 127.0.0.1:9
  }
${domainRealm ? '[domain_realm]\n  .example.test = EXAMPLE.TEST\n' : ''}`,
  );
  return path;
}

function tgt(client: Principal, endTime: number): Credential {
  const server = { nameType: 2, components: ['krbtgt', client.realm], realm: client.realm };
  return {
    client,
    server,
    key: { enctype: 18, value: encryptionType(18).randomKey() },
    authTime: endTime - 36000,
    startTime: endTime - 36000,
    endTime,
    renewTill: 0,
    isSkey: false,
    flags: 0,
    addresses: [],
    authData: [],
    ticket: encodeTicket({ server, encPart: { etype: 18, kvno: 1, cipher: Buffer.alloc(50, 3) } }),
    secondTicket: Buffer.alloc(0),
  };
}

function cache(name: string, principal: Principal, credentials: Credential[]): string {
  const path = join(dir, name);
  writeFileSync(path, encodeFileCcache({ principal, credentials, kdcTimeOffset: { seconds: 0, microseconds: 0 } }), { mode: 0o600 });
  return `FILE:${path}`;
}

function request(o: Partial<CredentialRequest> = {}): CredentialRequest & { trace: MemoryTrace } {
  return {
    host: 'fs1.example.test',
    isMountSession: false,
    identity: { uid, gid, username: 'tester' },
    signal: AbortSignal.timeout(10_000),
    trace: new MemoryTrace(),
    ...o,
  } as CredentialRequest & { trace: MemoryTrace };
}

async function failure(p: Promise<unknown>): Promise<CredentialError> {
  const e = await p.then(
    () => {
      throw new Error('succeeded');
    },
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(CredentialError);
  return e as CredentialError;
}

/** Sources whose KDC exchanges are recorded (these tests must see none). */
function sources(configFile: string, extra: Krb5SourceOptions = {}) {
  const exchanges: string[] = [];
  const options: Krb5SourceOptions = { krb5ConfigFile: configFile, env: {}, onKdcExchange: (r) => exchanges.push(r.subject), ...extra };
  return { ccache: new CcacheSource(options), keytab: new KeytabSource(options), exchanges };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'cu-initiator-unit-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('service principal (krb5_sname_to_principal(host, "cifs", KRB5_NT_UNKNOWN))', () => {
  it('realm from [domain_realm], name type 0, the host as given', () => {
    const c = Krb5Config.fromText('[domain_realm]\n  .example.test = EXAMPLE.TEST\n');
    expect(cifsServicePrincipal('fs1.example.test', c)).toEqual({
      principal: { nameType: 0, components: ['cifs', 'fs1.example.test'], realm: 'EXAMPLE.TEST' },
      why: 'realm EXAMPLE.TEST from [domain_realm]',
    });
  });

  it('no mapping (or an address): the referral realm ""', () => {
    const c = Krb5Config.fromText('[libdefaults]\n  default_realm = EXAMPLE.TEST\n');
    expect(cifsServicePrincipal('fs1', c).principal).toEqual({ nameType: 0, components: ['cifs', 'fs1'], realm: '' });
    expect(cifsServicePrincipal('192.0.2.1', c).principal.realm).toBe('');
    expect(cifsServicePrincipal('fs1', c).why).toMatch(/referral realm, resolved by referral chasing from the client's realm/);
  });
});

describe('CcacheSource without the KDC', () => {
  it('a missing cache: no-credentials, naming the cache and where its name came from', async () => {
    const s = sources(conf('k1.conf'));
    const r = request();
    const e = await failure(s.ccache.acquire(r));
    expect(e.kind).toBe('no-credentials');
    expect(e.source).toBe('ccache');
    expect(e.message).toBe(`no credential cache (FILE:${dir}/krb5cc_${uid})`);
    expect(r.trace.messages('ccache')[0]).toBe(
      `credential cache FILE:${dir}/krb5cc_${uid} (default_ccache_name FILE:${dir}/krb5cc_%{uid} of krb5.conf for uid ${uid})`,
    );
  });

  it('the probed KRB5CCNAME wins over the default', async () => {
    const name = cache('probed', alice, [tgt(alice, now() - 7200)]);
    const r = request({ probedCcacheName: name });
    await failure(sources(conf('k2.conf')).ccache.acquire(r));
    expect(r.trace.messages('ccache')[0]).toBe(`credential cache ${name} (KRB5CCNAME of the triggering process)`);
  });

  it('an expired TGT and no cifs/ ticket: no-credentials, "expired 2 h ago", nothing sent', async () => {
    const s = sources(conf('k3.conf'));
    const e = await failure(s.ccache.acquire(request({ probedCcacheName: cache('expired', alice, [tgt(alice, now() - 7200)]) })));
    expect(e.kind).toBe('no-credentials');
    expect(e.message).toMatch(
      /^TGT krbtgt\/EXAMPLE\.TEST@EXAMPLE\.TEST in FILE:.* expired 2 h ago \(at \S+\), and there is no valid ticket for cifs\/fs1\.example\.test@EXAMPLE\.TEST$/,
    );
    expect(s.exchanges).toEqual([]);
  });

  it('no TGT at all', async () => {
    const e = await failure(sources(conf('k4.conf')).ccache.acquire(request({ probedCcacheName: cache('empty', alice, []) })));
    expect(e.message).toMatch(
      /\(alice@EXAMPLE\.TEST\) holds neither a valid ticket for cifs\/fs1\.example\.test@EXAMPLE\.TEST nor a TGT krbtgt\/EXAMPLE\.TEST@EXAMPLE\.TEST$/,
    );
  });

  it('a valid cifs/ ticket (7.2+): used with zero KDC traffic, even with the TGT expired; the token opens with the service key', async () => {
    const svc = mintedCredential({ client: alice, server: fs1, sessionEnctype: 17, serviceKey });
    const s = sources(conf('k5.conf'));
    const r = request({ probedCcacheName: cache('svc', alice, [tgt(alice, now() - 60), svc]) });
    const t = await s.ccache.acquire(r);
    expect(s.exchanges).toEqual([]);
    expect(t.krb5).toMatchObject({ ticketFrom: 'cache', kdcExchanges: 0, stored: '' });
    expect(t.clientPrincipal).toBe('alice@EXAMPLE.TEST');
    expect(t.servicePrincipal).toBe('cifs/fs1.example.test@EXAMPLE.TEST');
    expect(t.enctype).toBe(17);
    const tok = openToken(t.gssToken, serviceKey);
    expect(tok.ticket.key.keyvalue).toEqual(svc.key.value);
    expect(tok.authenticator.subkey).toEqual({ keytype: 17, keyvalue: t.sessionKey });
    expect(r.trace.messages('ccache').some((m) => m.startsWith('accepted: valid ticket cifs/fs1.example.test@EXAMPLE.TEST until'))).toBe(
      true,
    );
  });

  it('a ticket stored under the referral name cifs/<host>@ is found when [domain_realm] names the realm', async () => {
    const svc = { ...mintedCredential({ client: alice, server: fs1, sessionEnctype: 18, serviceKey }), server: { ...fs1, realm: '' } };
    const s = sources(conf('k6.conf'));
    const t = await s.ccache.acquire(request({ probedCcacheName: cache('svcref', alice, [svc]) }));
    expect(t.krb5.ticketFrom).toBe('cache');
    expect(t.servicePrincipal).toBe('cifs/fs1.example.test@EXAMPLE.TEST');
    expect(s.exchanges).toEqual([]);
  });

  it("a cached ticket whose session key is outside default_tgs_enctypes is not used (MIT's filter); the expired TGT then ends it", async () => {
    const svc = mintedCredential({ client: alice, server: fs1, sessionEnctype: 23, serviceKey });
    const s = sources(conf('k7.conf', '  default_tgs_enctypes = aes256-cts-hmac-sha1-96'));
    const e = await failure(s.ccache.acquire(request({ probedCcacheName: cache('rc4svc', alice, [tgt(alice, now() - 60), svc]) })));
    expect(e.kind).toBe('no-credentials');
    expect(e.message).toMatch(/^TGT krbtgt\/EXAMPLE\.TEST@EXAMPLE\.TEST expired \d+ s ago/);
    expect(s.exchanges).toEqual([]);
  });

  it('a valid TGT of a realm no KDC is configured for: config', async () => {
    const bob = { nameType: 1, components: ['bob'], realm: 'NOKDC.TEST' };
    const s = sources(conf('k8.conf', '', false));
    const e = await failure(s.ccache.acquire(request({ probedCcacheName: cache('nokdc', bob, [tgt(bob, now() + 3600)]) })));
    expect(e.kind).toBe('config');
    expect(e.message).toMatch(/Cannot find KDC for realm "NOKDC\.TEST"/);
  });

  it('a host that cannot name a service: config', async () => {
    const e = await failure(sources(conf('k9.conf')).ccache.acquire(request({ host: 'fs1/evil' })));
    expect(e.kind).toBe('config');
  });

  it('a krb5.conf MIT would refuse (a section header without "]"): config; a missing one is skipped, as MIT does', async () => {
    const broken = join(dir, 'broken.conf');
    writeFileSync(broken, '[libdefaults\n  default_realm = EXAMPLE.TEST\n');
    const e = await failure(sources(broken).ccache.acquire(request()));
    expect(e.kind).toBe('config');
    expect(e.message).toMatch(/^krb5\.conf: /);
    const r = request();
    expect((await failure(sources(join(dir, 'no-such.conf')).ccache.acquire(r))).kind).toBe('no-credentials');
    expect(r.trace.messages('krb5conf')[0]).toMatch(/^skipped .*no-such\.conf/);
  });
});

describe('KeytabSource refusals', () => {
  it("not the mount's own session: refused before anything is read", async () => {
    const s = sources(join(dir, 'never-read.conf'));
    const r = request({ mountUser: 'CLIENT$', isMountSession: false });
    const e = await failure(s.keytab.acquire(r));
    expect(e.kind).toBe('no-credentials');
    expect(e.source).toBe('keytab');
    expect(e.message).toMatch(/keytab fallback refused: user=CLIENT\$ is the mount's identity, and uid \d+ is not the mount's own session/);
    expect(r.trace.messages('krb5conf')).toEqual([]);
  });

  it('no user=: nothing to ask for', async () => {
    const e = await failure(sources(conf('t1.conf')).keytab.acquire(request({ isMountSession: true })));
    expect(e.message).toMatch(/no user= in the description/);
  });

  it('a realmless user= without default_realm: config', async () => {
    const path = join(dir, 't2.conf');
    writeFileSync(path, '[libdefaults]\n  dns_lookup_kdc = false\n');
    const e = await failure(sources(path).keytab.acquire(request({ isMountSession: true, mountUser: 'CLIENT$' })));
    expect(e.kind).toBe('config');
    expect(e.message).toMatch(/user=CLIENT\$ names no realm and krb5\.conf has no default_realm/);
  });

  it('the default keytab missing, or without a key for user=: no-credentials', async () => {
    const s = sources(conf('t3.conf'));
    const r = request({ isMountSession: true, mountUser: 'CLIENT$' });
    const e = await failure(s.keytab.acquire(r));
    expect(e.message).toMatch(new RegExp(`^keytab FILE:${dir}/absent\\.keytab: .*ENOENT`));
    expect(r.trace.messages('keytab')).toContain(`keytab FILE:${dir}/absent.keytab (default_keytab_name)`);
    const kt = join(dir, 'other.keytab');
    writeFileSync(
      kt,
      encodeKeytab([
        {
          principal: { nameType: 1, components: ['HOST$'], realm: 'EXAMPLE.TEST' },
          timestamp: 0,
          kvno: 1,
          key: { enctype: 18, value: Buffer.alloc(32, 1) },
        },
      ]),
    );
    const e2 = await failure(
      sources(conf('t4.conf'), { keytabName: kt }).keytab.acquire(request({ isMountSession: true, mountUser: 'CLIENT$@EXAMPLE.TEST' })),
    );
    expect(e2.kind).toBe('no-credentials');
    expect(e2.message).toBe(`keytab ${kt} holds no key for CLIENT$@EXAMPLE.TEST`);
    expect(s.exchanges).toEqual([]);
  });
});

describe('CredentialError kind of a KDC refusal (docs/kerberos.md#krb-error-handling)', () => {
  it.each([
    [7, 'tgs', 'service-unknown'],
    [7, 'as', 'config'],
    [32, 'tgs', 'no-credentials'],
    [6, 'as', 'no-credentials'],
    [24, 'as', 'no-credentials'],
    [6, 'tgs', 'refused'],
    [14, 'tgs', 'config'],
    [37, 'tgs', 'refused'],
    [13, 'tgs', 'refused'],
    [18, 'tgs', 'refused'],
    [20, 'tgs', 'refused'],
    [31, 'tgs', 'refused'],
    [41, 'tgs', 'refused'],
    [60, 'tgs', 'refused'],
  ] as const)('code %i in %s → %s', (code, stage, kind) => {
    expect(credentialKindOfKdcError(code, stage)).toBe(kind);
  });
});
