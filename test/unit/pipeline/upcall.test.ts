// The pipeline's steps and refusals with a scripted operating system (src/pipeline/system.ts), a
// replay key and scripted sources: no root, no daemons. The real system calls behind each step are
// proven by the integration tests (chassis-*, parity, userns-gssproxy) and the QEMU proof.
import { describe, expect, it } from 'vitest';
import { exitCodeFor } from '../../../src/cli/exit-codes.ts';
import { CredentialError, type CredentialRequest, type CredentialSource, type InitiatorToken } from '../../../src/credentials.ts';
import { ReplayKey } from '../../../src/kernel/key.ts';
import type { OpenedNamespaces } from '../../../src/os/namespaces.ts';
import type { PasswdEntry } from '../../../src/os/passwd.ts';
import type { PrivilegeReport } from '../../../src/os/privileges.ts';
import type { ProcessStat } from '../../../src/os/proc.ts';
import type { UpcallLog } from '../../../src/os/syslog.ts';
import { parseIdMap } from '../../../src/os/user-namespace.ts';
import { PrivilegeError } from '../../../src/os/privileges.ts';
import { ConfigError, NO_CONFIG, resolveSettings, type StrategyName } from '../../../src/pipeline/config.ts';
import { exactHostOnly, StrategySource } from '../../../src/pipeline/strategy.ts';
import type { UpcallSystem } from '../../../src/pipeline/system.ts';
import { DEFAULT_KEY_TYPE, runUpcall, type UpcallOptions } from '../../../src/pipeline/upcall.ts';
import { MemoryTrace } from '../../../src/trace.ts';

const CALLER = 4242;
const OWN_USERNS = 4026531837;

interface World {
  passwd: Record<number, PasswdEntry>;
  /** thread → stat; absent = gone */
  threads: Record<number, Partial<ProcessStat>>;
  /** reference start time (request-key's) */
  reference: bigint;
  /** thread → its user namespace: maps as the host sees them, or undefined = ours */
  userns: Record<number, { uidMap: string; gidMap: string } | undefined>;
  /** thread → Uid:/Gid: of /proc/<pid>/status */
  credentials: Record<number, { uid: number; gid: number }>;
  environ: Record<number, string | undefined>;
}

interface Calls {
  passwd: number[];
  entered: number[];
  dropped: Array<{ uid: number; gid: number }>;
  logged: Array<[string, string]>;
}

function world(over: Partial<World> = {}): World {
  return {
    passwd: {
      2001: { name: 'alice', uid: 2001, gid: 100, dir: '/home/alice', shell: '/bin/sh' },
      0: { name: 'root', uid: 0, gid: 0, dir: '/root', shell: '/bin/sh' },
    },
    threads: { [CALLER]: { pid: CALLER, comm: 'cat', state: 'S', startTime: 100n } },
    reference: 200n,
    userns: {},
    credentials: {},
    environ: {},
    ...over,
  };
}

function scriptedSystem(w: World, calls: Calls): UpcallSystem {
  return {
    prepare() {},
    armPhaseGuards() {},
    lookupPasswd(uid) {
      calls.passwd.push(uid);
      return w.passwd[uid] ?? null;
    },
    readProcessStat(pid) {
      const t = w.threads[pid];
      return t ? { pid, comm: 'cat', state: 'S', ppid: 1, flags: 0, startTime: 100n, ...t } : null;
    },
    referenceStartTime: () => ({ startTime: w.reference, source: 'request-key (scripted)' }),
    readCallerUserNamespace(pid) {
      const ns = w.userns[pid];
      return ns
        ? { callerInode: 4026532999, ownInode: OWN_USERNS, foreign: true, uidMap: parseIdMap(ns.uidMap), gidMap: parseIdMap(ns.gidMap) }
        : {
            callerInode: OWN_USERNS,
            ownInode: OWN_USERNS,
            foreign: false,
            uidMap: parseIdMap('0 0 4294967295'),
            gidMap: parseIdMap('0 0 4294967295'),
          };
    },
    readThreadCredentials(pid) {
      const c = w.credentials[pid];
      return c ? { uids: [c.uid, c.uid, c.uid, c.uid], gids: [c.gid, c.gid, c.gid, c.gid] } : null;
    },
    openTargetNamespaces(pid): OpenedNamespaces {
      return {
        pid,
        decisions: [{ type: 'mnt', ownInode: 1, targetInode: 2, action: 'enter' }],
        toEnter: [{ type: 'mnt', flag: 0x20000, fd: -1 }],
        close() {},
      };
    },
    inspectStayingNamespaces: () => [],
    enterNamespaces(opened) {
      calls.entered.push(opened.pid);
      return ['mnt'];
    },
    probeEnviron(pid) {
      const v = w.environ[pid];
      return v === undefined ? { status: 'absent', environBytes: 10 } : { status: 'found', value: v, environBytes: 10 };
    },
    dropPrivileges(target): PrivilegeReport {
      calls.dropped.push(target);
      const { uid, gid } = target;
      return {
        uid,
        gid,
        ruid: uid,
        euid: uid,
        suid: uid,
        rgid: gid,
        egid: gid,
        sgid: gid,
        groups: [],
        effective: 0n,
        permitted: 0n,
        inheritable: 0n,
        bounding: 0n,
        boundingTrimmed: false,
        noNewPrivs: false,
      };
    },
  };
}

const TOKEN: InitiatorToken = {
  // 60 len 06 09 <krb5 OID> 01 00 <AP-REQ stand-in>
  gssToken: Buffer.from('601006092a864886f71201020201006e00', 'hex'),
  sessionKey: Buffer.alloc(16, 7),
  enctype: 17,
  clientPrincipal: 'alice@EXAMPLE.TEST',
  servicePrincipal: 'cifs/fs1.example.test@EXAMPLE.TEST',
};

function source(name: string, outcome: 'ok' | CredentialError, seen: CredentialRequest[] = []): CredentialSource {
  return {
    name,
    async acquire(request) {
      seen.push(request);
      if (outcome === 'ok') return TOKEN;
      throw outcome;
    },
  };
}

function description(fields: Record<string, string> = {}): string {
  const all = {
    ver: '0x2',
    host: 'FS1.example.test',
    ip4: '127.0.0.2',
    sec: 'krb5',
    uid: '0x7d1',
    creduid: '0x7d1',
    pid: `0x${CALLER.toString(16)}`,
    upcall_target: 'app',
    ...fields,
  };
  return Object.entries(all)
    .filter(([, v]) => v !== '')
    .map(([k, v]) => `${k}=${v}`)
    .join(';');
}

async function upcall(opts: {
  desc?: string;
  owner?: { uid: number; gid: number };
  type?: string;
  w?: World;
  /** asked by the real strategy, in its order (fakes named ccache, keytab, gssproxy) */
  sources?: CredentialSource[];
  strategy?: StrategyName;
  options?: Partial<UpcallOptions>;
  /** negative_timeout of the configuration (applies once it has been read) */
  negativeFromConfig?: number;
  /** the preparation throws this (an unreadable configuration, say) */
  prepareError?: Error;
  /** replace parts of the scripted system (a failing privilege drop, say) */
  systemOverride?: Partial<UpcallSystem>;
  /** the key refuses the payload */
  instantiateError?: Error;
}) {
  const calls: Calls = { passwd: [], entered: [], dropped: [], logged: [] };
  const key = new ReplayKey({
    type: opts.type ?? 'cifs.spnego',
    uid: opts.owner?.uid ?? 0,
    gid: opts.owner?.gid ?? 0,
    perm: 0x3f010000,
    description: opts.desc ?? description(),
  });
  if (opts.instantiateError) {
    const error = opts.instantiateError;
    key.instantiate = () => {
      throw error;
    };
  }
  const trace = new MemoryTrace();
  const log: UpcallLog = {
    error: (m) => calls.logged.push(['err', m]),
    warning: (m) => calls.logged.push(['warning', m]),
    info: (m) => calls.logged.push(['info', m]),
    debug: (m) => calls.logged.push(['debug', m]),
  };
  const factories = Object.fromEntries((opts.sources ?? [source('ccache', 'ok')]).map((s) => [s.name, async () => s]));
  const strategy = new StrategySource({
    strategy: opts.strategy ?? 'local-first',
    sources: factories,
    keytabFallback: 'mount-session',
    hostForms: exactHostOnly,
  });
  const settings = resolveSettings(
    NO_CONFIG,
    { host: '' },
    opts.negativeFromConfig !== undefined ? { negativeTimeout: opts.negativeFromConfig } : {},
  );
  const prepared: string[] = [];
  const outcome = await runUpcall(
    { keyType: DEFAULT_KEY_TYPE, legacyUid: false, replay: true, settings: resolveSettings(NO_CONFIG, { host: '' }, {}), ...opts.options },
    {
      key,
      trace,
      log,
      system: { ...scriptedSystem(opts.w ?? world(), calls), ...opts.systemOverride },
      prepare: async (context) => {
        prepared.push(context.host);
        if (opts.prepareError) throw opts.prepareError;
        return { settings, source: strategy };
      },
    },
  );
  return { outcome, key, trace, calls, prepared, errors: calls.logged.filter(([l]) => l === 'err').map(([, m]) => m) };
}

function failure(r: Awaited<ReturnType<typeof upcall>>): { kind: string; exit: number; message: string } {
  if (r.outcome.ok) throw new Error('expected a failure');
  return { kind: r.outcome.error.kind, exit: exitCodeFor(r.outcome.error.kind), message: r.outcome.error.message };
}

describe('the whole upcall, scripted', () => {
  it('a caller of our own user namespace: passwd, thread, namespaces, drop, source, payload — in that order', async () => {
    const seen: CredentialRequest[] = [];
    const w = world({ environ: { [CALLER]: 'FILE:/tmp/krb5cc_alice' } });
    const r = await upcall({ w, sources: [source('ccache', 'ok', seen)] });
    expect(r.outcome.ok).toBe(true);
    expect(r.key.payload?.readUInt32LE(0)).toBe(2);
    expect(r.calls.passwd).toEqual([2001]);
    expect(r.calls.entered).toEqual([CALLER]);
    expect(r.calls.dropped).toEqual([{ uid: 2001, gid: 100 }]);
    expect(seen[0]).toMatchObject({
      host: 'fs1.example.test',
      isMountSession: false,
      probedCcacheName: 'FILE:/tmp/krb5cc_alice',
      identity: { uid: 2001, gid: 100, username: 'alice' },
    });
    expect(seen[0]?.identity.namespaceIds).toBeUndefined();
    const areas = r.trace.records.map((t) => t.area);
    expect(areas.indexOf('identity')).toBeLessThan(areas.indexOf('ns'));
    expect(r.trace.messages('result').at(-1)).toBe('payload produced (replay: no key instantiated)');
  });

  it("upcall_target=mount: no namespace entered, no probe, the mount's own session", async () => {
    const seen: CredentialRequest[] = [];
    const r = await upcall({ desc: description({ upcall_target: 'mount' }), sources: [source('ccache', 'ok', seen)] });
    expect(r.outcome.ok).toBe(true);
    expect(r.calls.entered).toEqual([]);
    expect(seen[0]?.isMountSession).toBe(true);
    expect(seen[0]?.probedCcacheName).toBeUndefined();
  });
});

describe('refused before the key is trusted: left untouched', () => {
  it('a key not owned by 0:0 (forged request): exit 3, no passwd lookup, not negated', async () => {
    const r = await upcall({ owner: { uid: 2101, gid: 100 } });
    expect(failure(r)).toMatchObject({ kind: 'key-refused', exit: 3 });
    expect(r.calls.passwd).toEqual([]);
    expect(r.key.negatedFor).toBeUndefined();
  });

  it('a key type not served: exit 3, not negated', async () => {
    const r = await upcall({ type: 'user' });
    expect(failure(r)).toMatchObject({ kind: 'key-refused', exit: 3 });
    expect(r.key.negatedFor).toBeUndefined();
  });
});

describe('refused after the key is trusted: negated for the negative timeout', () => {
  it.each([
    ['uid=zz', { uid: 'zz' }, /uid: "zz" is not a hexadecimal number/],
    ['sec=iakerb', { sec: 'iakerb' }, /IAKerb not supported/],
    ['neither uid= nor creduid=', { uid: '', creduid: '' }, /uid/],
  ])('a bad description (%s): exit 4, the field named', async (_name, fields, message) => {
    const r = await upcall({ desc: description(fields) });
    expect(failure(r)).toMatchObject({ kind: 'bad-description', exit: 4 });
    expect(failure(r).message).toMatch(message);
    expect(r.key.negatedFor).toBe(5);
    expect(r.calls.passwd).toEqual([]);
  });

  it.each(['app', 'mount'])("pid 0 (upcall_target=%s): exit 6, stock's line, before the passwd lookup", async (target) => {
    const r = await upcall({ desc: description({ pid: '0x0', upcall_target: target }) });
    expect(failure(r)).toMatchObject({ kind: 'namespace', exit: 6 });
    expect(r.errors).toContain('map_id(pid=0, map=uid_map, id=2001): No such file or directory');
    expect(r.calls.passwd).toEqual([]);
    expect(r.key.negatedFor).toBe(5);
  });

  it('a vanished thread: exit 6, nothing entered, no source asked', async () => {
    const seen: CredentialRequest[] = [];
    const r = await upcall({ w: world({ threads: {} }), sources: [source('ccache', 'ok', seen)] });
    expect(failure(r)).toMatchObject({ kind: 'namespace', exit: 6 });
    expect(failure(r).message).toMatch(/triggering thread 4242 no longer exists/);
    expect(seen).toEqual([]);
    expect(r.calls.entered).toEqual([]);
  });

  it('a thread younger than the request (pid reuse): exit 6, nothing entered', async () => {
    const r = await upcall({ w: world({ threads: { [CALLER]: { startTime: 300n } }, reference: 200n }) });
    expect(failure(r)).toMatchObject({ kind: 'namespace', exit: 6 });
    expect(failure(r).message).toMatch(/its id was reused/);
    expect(r.calls.entered).toEqual([]);
  });

  it('no passwd entry in our own user namespace: exit 5', async () => {
    const r = await upcall({ desc: description({ uid: '0xbb8', creduid: '0xbb8' }) });
    expect(failure(r)).toMatchObject({ kind: 'identity', exit: 5 });
    expect(failure(r).message).toBe('no passwd entry for uid 3000 (host passwd database)');
  });

  it('the negative timeout comes from the configuration when it sets one', async () => {
    const r = await upcall({
      sources: [source('ccache', new CredentialError('ccache', 'no-credentials', 'no cache'))],
      negativeFromConfig: 2,
    });
    expect(failure(r)).toMatchObject({ kind: 'no-credentials', exit: 8 });
    expect(r.key.negatedFor).toBe(2);
  });
});

describe('callers in another user namespace (docs/user-namespaces.md)', () => {
  const container = { uidMap: '0 100000 65536', gidMap: '0 100000 65536' };
  const hostUser: PasswdEntry = { name: 'ct-bob', uid: 102002, gid: 100100, dir: '/', shell: '/bin/sh' };
  const asHost = description({ uid: '0x18e72', creduid: '0x18e72' });

  it('a mapped uid and gid: the source gets the namespace ids for naming, the drop uses the host ids', async () => {
    const seen: CredentialRequest[] = [];
    const r = await upcall({
      desc: asHost,
      w: world({ passwd: { 102002: hostUser }, userns: { [CALLER]: container } }),
      sources: [source('ccache', 'ok', seen)],
    });
    expect(r.outcome.ok).toBe(true);
    expect(seen[0]?.identity).toEqual({ uid: 102002, gid: 100100, username: 'ct-bob', namespaceIds: { uid: 2002, gid: 100 } });
    expect(r.calls.dropped).toEqual([{ uid: 102002, gid: 100100 }]);
    expect(r.calls.logged).toContainEqual(['debug', 'host 102002:100100 -> NS 2002:100']);
  });

  it("an unmapped uid: exit 5, stock's line, no source asked, nothing entered", async () => {
    const seen: CredentialRequest[] = [];
    const r = await upcall({ w: world({ userns: { [CALLER]: container } }), sources: [source('gssproxy', 'ok', seen)] });
    expect(failure(r)).toMatchObject({ kind: 'identity', exit: 5 });
    expect(r.errors).toContain('UID 2001 not mapped in this namespace (unsupported)');
    expect(seen).toEqual([]);
    expect(r.calls.entered).toEqual([]);
    expect(r.key.negatedFor).toBe(5);
  });

  it('a namespace with no map at all: every uid unmapped', async () => {
    const r = await upcall({ w: world({ userns: { [CALLER]: { uidMap: '', gidMap: '' } } }) });
    expect(failure(r)).toMatchObject({ kind: 'identity', exit: 5 });
  });

  it("an unmapped primary gid: exit 5, stock's line", async () => {
    const r = await upcall({ w: world({ userns: { [CALLER]: { uidMap: '2001 2001 1', gidMap: '0 100000 65536' } } }) });
    expect(failure(r)).toMatchObject({ kind: 'identity', exit: 5 });
    expect(r.errors).toContain('GID 100 not mapped in this namespace (unsupported)');
  });

  it('an id in two ranges: ambiguous, exit 5', async () => {
    const r = await upcall({ w: world({ userns: { [CALLER]: { uidMap: '0 2000 10\n5 2000 10', gidMap: '0 0 1000' } } }) });
    expect(failure(r)).toMatchObject({ kind: 'identity', exit: 5 });
    expect(r.errors).toContain('uid_map has multiple mapped IDs for 2001 (unsupported)');
  });

  it('no host passwd entry: the gid comes from the thread when its fsuid is the credential uid', async () => {
    const seen: CredentialRequest[] = [];
    const w = world({ passwd: {}, userns: { [CALLER]: container }, credentials: { [CALLER]: { uid: 102002, gid: 100100 } } });
    const r = await upcall({ desc: asHost, w, sources: [source('ccache', 'ok', seen)] });
    expect(r.outcome.ok).toBe(true);
    expect(seen[0]?.identity).toEqual({ uid: 102002, gid: 100100, namespaceIds: { uid: 2002, gid: 100 } });
  });

  it('no host passwd entry and a thread running as someone else: refused like the stock', async () => {
    const w = world({ passwd: {}, userns: { [CALLER]: container }, credentials: { [CALLER]: { uid: 102003, gid: 100100 } } });
    const r = await upcall({ desc: asHost, w });
    expect(failure(r)).toMatchObject({ kind: 'identity', exit: 5 });
    expect(r.errors).toContain('failed to retrieve GID from UID 102002');
  });

  it("upcall_target=mount is not judged by the pid's namespace (cifs-utils 7.4+ semantics)", async () => {
    const r = await upcall({ desc: description({ upcall_target: 'mount' }), w: world({ userns: { [CALLER]: container } }) });
    expect(r.outcome.ok).toBe(true);
  });
});

describe('the credential sources', () => {
  it('asked in order; the first token wins; a failure falls through to the next', async () => {
    const first: CredentialRequest[] = [];
    const second: CredentialRequest[] = [];
    const r = await upcall({
      sources: [source('ccache', new CredentialError('ccache', 'no-credentials', 'no cache'), first), source('gssproxy', 'ok', second)],
    });
    expect(r.outcome.ok).toBe(true);
    expect(r.trace.messages('strategy')).toContain('gssproxy succeeded: alice@EXAMPLE.TEST → cifs/fs1.example.test@EXAMPLE.TEST');
    expect(first).toHaveLength(1);
    expect(second).toHaveLength(1);
  });

  it("all fail: exit 8 with each source's reason", async () => {
    const r = await upcall({
      sources: [
        source('ccache', new CredentialError('ccache', 'no-credentials', 'no credential cache (FILE:/tmp/krb5cc_2001)')),
        source('gssproxy', new CredentialError('gssproxy', 'refused', 'alice@EXAMPLE.TEST may not be delegated')),
      ],
    });
    expect(failure(r)).toMatchObject({ kind: 'no-credentials', exit: 8 });
    expect(failure(r).message).toBe(
      'Unable to obtain service ticket for alice (uid 2001) to cifs/fs1.example.test: ccache: no credential cache (FILE:/tmp/krb5cc_2001); gssproxy: alice@EXAMPLE.TEST may not be delegated',
    );
  });

  it('no source configured: exit 8', async () => {
    const r = await upcall({ sources: [] });
    expect(failure(r)).toMatchObject({ kind: 'no-credentials', exit: 8 });
    expect(failure(r).message).toBe(
      'Unable to obtain service ticket for alice (uid 2001) to cifs/fs1.example.test: no credential source was applicable',
    );
  });

  it('a token that is not an RFC 2743 initial context token: exit 9', async () => {
    const bad: CredentialSource = { name: 'ccache', acquire: async () => ({ ...TOKEN, gssToken: Buffer.from('a000', 'hex') }) };
    const r = await upcall({ sources: [bad] });
    expect(failure(r)).toMatchObject({ kind: 'reply', exit: 9 });
  });

  it("the keytab rule: only uid 0 or upcall_target=mount is the mount's own session, and only with user=", async () => {
    const asked: boolean[] = [];
    const variants: Array<Record<string, string>> = [
      { user: 'CLIENT$' }, // alice on a multiuser mount: never the mount's identity
      { uid: '0x0', creduid: '0x0', user: 'CLIENT$' },
      { upcall_target: 'mount', user: 'CLIENT$' },
      { uid: '0x0', creduid: '0x0' }, // no user=: nothing to ask the keytab for
    ];
    for (const fields of variants) {
      const seen: CredentialRequest[] = [];
      await upcall({ desc: description(fields), sources: [source('keytab', 'ok', seen)] });
      asked.push(seen.length === 1 && seen[0]!.isMountSession);
    }
    expect(asked).toEqual([false, true, true, false]);
  });

  it.each([
    ['compat', ['ccache'], 'a TGS failure with a usable cache is final'],
    ['local-first', ['ccache', 'gssproxy'], 'every failure falls through'],
    ['local-only', ['ccache'], 'never gssproxy'],
    ['proxy-first', ['gssproxy'], 'gssproxy first'],
    ['proxy-only', ['gssproxy'], 'gssproxy only'],
  ] as const)('strategy %s asks %j (%s)', async (strategy, expected, _why) => {
    const order: string[] = [];
    const recording = (name: string, outcome: 'ok' | CredentialError): CredentialSource => ({
      name,
      acquire: async (request) => {
        order.push(name);
        return source(name, outcome).acquire(request);
      },
    });
    // the cache holds a TGT but the KDC refuses it ('refused'); gssproxy would succeed
    await upcall({
      strategy,
      sources: [recording('ccache', new CredentialError('ccache', 'refused', 'TGS refused')), recording('gssproxy', 'ok')],
    });
    expect(order).toEqual(expected);
  });

  it('the service host is computed once and handed to the preparation and the sources', async () => {
    const seen: CredentialRequest[] = [];
    const r = await upcall({ desc: description({ host: 'FS1.Example.TEST' }), sources: [source('ccache', 'ok', seen)] });
    expect(r.prepared).toEqual(['fs1.example.test']);
    expect(seen[0]?.host).toBe('fs1.example.test');
  });
});

describe('--replay --pid: replaying a description copied from syslog', () => {
  const LIVE = 5151;
  it('a vanished pid is refused, and the cause names --pid', async () => {
    const r = await upcall({ w: world({ threads: {} }) });
    expect(failure(r).message).toMatch(/add --pid with a live process of the same user/);
  });

  it('a live process of the credential user stands for it: its namespaces are used, the trace says so', async () => {
    const w = world({ threads: { [LIVE]: { pid: LIVE, comm: 'bash', startTime: 50n } }, credentials: { [LIVE]: { uid: 2001, gid: 100 } } });
    const r = await upcall({ w, options: { replayPid: LIVE } });
    expect(r.outcome.ok).toBe(true);
    expect(r.calls.entered).toEqual([LIVE]);
    expect(r.trace.messages('ns')).toContain(
      `replay: the description's pid ${CALLER} replaced by --pid ${LIVE} (bash, uid 2001): its namespaces and environment are used`,
    );
  });

  it("another user's process is refused: exit 6, nothing entered", async () => {
    const w = world({ threads: { [LIVE]: { pid: LIVE, comm: 'bash', startTime: 50n } }, credentials: { [LIVE]: { uid: 2002, gid: 100 } } });
    const r = await upcall({ w, options: { replayPid: LIVE } });
    expect(failure(r)).toMatchObject({ kind: 'namespace', exit: 6 });
    expect(failure(r).message).toMatch(/runs as uid 2002, not as the credential uid 2001/);
    expect(r.calls.entered).toEqual([]);
  });
});

describe('the exit status of each stage', () => {
  it("the configuration cannot be read: exit 11, negated with the command line's timeout", async () => {
    const r = await upcall({ prepareError: new ConfigError('/etc/cifs-upcall.conf:2: strategy: expected one of …') });
    expect(failure(r)).toMatchObject({ kind: 'config', exit: 11 });
    expect(r.key.negatedFor).toBe(5);
  });

  it('the privilege drop fails: exit 7, no source asked', async () => {
    const seen: CredentialRequest[] = [];
    const r = await upcall({
      sources: [source('ccache', 'ok', seen)],
      systemOverride: {
        dropPrivileges: () => {
          throw new PrivilegeError('setresuid', 'Operation not permitted');
        },
      },
    });
    expect(failure(r)).toMatchObject({ kind: 'privileges', exit: 7 });
    expect(seen).toEqual([]);
  });

  it('the key refuses the payload: exit 2', async () => {
    const r = await upcall({ instantiateError: new Error('keyctl_instantiate: Operation not permitted') });
    expect(failure(r)).toMatchObject({ kind: 'key-access', exit: 2 });
  });

  it('anything unexpected: exit 10, internal error, still negated', async () => {
    const r = await upcall({
      systemOverride: {
        lookupPasswd: () => {
          throw new TypeError('boom');
        },
      },
    });
    expect(failure(r)).toMatchObject({ kind: 'internal', exit: 10 });
    expect(failure(r).message).toBe('internal error: boom');
    expect(r.key.negatedFor).toBe(5);
  });
});
