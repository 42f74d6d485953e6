// A small real MIT KDC for transport tests: DB2 back end in a private state directory, krb5kdc -n
// on a free 127.0.0.1 port (UDP and TCP), stopped by PID. Recipe: docs/test-environments.md#mini-kdc,
// docs/test-environments.md#loopback-realm. Also the few hand-made Kerberos messages the transport tests send
// (an AS-REQ builder, a KRB-ERROR code reader) so they need no message codec.
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomInt } from 'node:crypto';
import { findFreePort, portIsFree, run, startDaemon, stopDaemon, waitFor, type Daemon } from '../common/processes.ts';
import type { KdcReplyClass, KdcWireTransport } from '../../../src/krb5/kdc/transport.ts';

export interface MiniKdc {
  realm: string;
  stateDir: string;
  host: string;
  port: number;
  /** client krb5.conf: explicit kdc, no DNS */
  krb5Conf: string;
  kdcConf: string;
  log: string;
  pid: number;
  /** environment for MIT tools (kinit, kvno…) against this realm */
  env: NodeJS.ProcessEnv;
  principals: {
    /** requires pre-authentication: an AS-REQ without padata gets KDC_ERR_PREAUTH_REQUIRED (25) */
    preauthUser: string;
    /** no pre-authentication: an AS-REQ gets an AS-REP */
    plainUser: string;
    password: string;
  };
  stop(): Promise<void>;
}

export interface MiniKdcOptions {
  realm?: string;
  /** kdc_max_dgram_reply_size: larger UDP replies become KRB_ERR_RESPONSE_TOO_BIG */
  maxDgramReplySize?: number;
}

const MASTER_PW = 'mini-kdc-master-1';
const USER_PW = 'mini-kdc-user-1';

export async function startMiniKdc(options: MiniKdcOptions = {}): Promise<MiniKdc> {
  const realm = options.realm ?? 'KDCT.TEST';
  const stateDir = mkdtempSync(join(tmpdir(), 'cifs-upcall-mini-kdc-'));
  writeFileSync(join(stateDir, '.cifs-upcall-mini-kdc'), 'state directory of test/harness/realm/mini-kdc.ts\n');
  const port = findFreePort(62000, 63000);
  const host = '127.0.0.1';
  const kdcConf = join(stateDir, 'kdc.conf');
  const krb5Conf = join(stateDir, 'krb5.conf');
  const log = join(stateDir, 'kdc.log');
  writeFileSync(
    kdcConf,
    [
      '[kdcdefaults]',
      `  kdc_listen = ${host}:${port}`,
      `  kdc_tcp_listen = ${host}:${port}`,
      ...(options.maxDgramReplySize ? [`  kdc_max_dgram_reply_size = ${options.maxDgramReplySize}`] : []),
      '[realms]',
      `  ${realm} = {`,
      `    database_name = ${join(stateDir, 'principal')}`,
      `    key_stash_file = ${join(stateDir, 'stash')}`,
      `    acl_file = ${join(stateDir, 'kadm5.acl')}`,
      '    supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal',
      '  }',
      '[logging]',
      `  kdc = FILE:${log}`,
      `  default = FILE:${join(stateDir, 'krb5.log')}`,
      '',
    ].join('\n'),
  );
  writeFileSync(
    krb5Conf,
    [
      '[libdefaults]',
      `  default_realm = ${realm}`,
      '  dns_lookup_kdc = false',
      '  dns_lookup_realm = false',
      '  rdns = false',
      '  dns_canonicalize_hostname = false',
      `  default_ccache_name = FILE:${join(stateDir, 'ccache')}`,
      '[realms]',
      `  ${realm} = {`,
      `    kdc = ${host}:${port}`,
      '  }',
      '',
    ].join('\n'),
  );
  writeFileSync(join(stateDir, 'kadm5.acl'), '');
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    KRB5_CONFIG: krb5Conf,
    KRB5_KDC_PROFILE: kdcConf,
    KRB5CCNAME: `FILE:${join(stateDir, 'ccache')}`,
    KRB5RCACHEDIR: stateDir,
  };
  run('kdb5_util', ['create', '-s', '-P', MASTER_PW, '-r', realm], { env });
  const kadmin = (query: string): void => {
    const r = run('kadmin.local', ['-r', realm, '-q', query], { env });
    if (/error|fail/i.test(r.stdout + r.stderr)) throw new Error(`kadmin.local ${query}: ${r.stdout}${r.stderr}`);
  };
  kadmin(`addprinc -pw ${USER_PW} +requires_preauth alice`);
  kadmin(`addprinc -pw ${USER_PW} -requires_preauth bob`);

  if (!portIsFree(port)) throw new Error(`port ${port} was taken while the KDC database was built`);
  const daemon: Daemon = startDaemon('krb5kdc', '/usr/sbin/krb5kdc', ['-n', '-r', realm, '-P', join(stateDir, 'kdc.pid')], {
    env,
    log: join(stateDir, 'krb5kdc.out'),
    marker: realm,
  });
  const stop = async (): Promise<void> => {
    await stopDaemon(daemon);
    if (existsSync(join(stateDir, '.cifs-upcall-mini-kdc'))) rmSync(stateDir, { recursive: true, force: true });
  };
  try {
    await waitFor(
      `krb5kdc on ${host}:${port}`,
      () => {
        const udp = run('ss', ['-Hlunp', `sport = :${port}`], { allowFail: true }).stdout;
        const tcp = run('ss', ['-Hltnp', `sport = :${port}`], { allowFail: true }).stdout;
        return udp.includes(`pid=${daemon.pid},`) && tcp.includes(`pid=${daemon.pid},`);
      },
      { daemon, timeoutMs: 15_000 },
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    realm,
    stateDir,
    host,
    port,
    krb5Conf,
    kdcConf,
    log,
    pid: daemon.pid,
    env,
    principals: { preauthUser: 'alice', plainUser: 'bob', password: USER_PW },
    stop,
  };
}

// ---- minimal DER for the transport tests (RFC 4120 §5.4.1 AS-REQ, §5.9.1 KRB-ERROR) ----

function derLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function tlv(tag: number, content: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), derLength(content.length), content]);
}

const seq = (...items: Buffer[]): Buffer => tlv(0x30, Buffer.concat(items));
const ctx = (n: number, inner: Buffer): Buffer => tlv(0xa0 + n, inner);
const genStr = (s: string): Buffer => tlv(0x1b, Buffer.from(s, 'utf8'));
const octets = (b: Buffer): Buffer => tlv(0x04, b);

function derInt(n: number): Buffer {
  const bytes: number[] = [];
  let v = n;
  do {
    bytes.unshift(v & 0xff);
    v = Math.floor(v / 256);
  } while (v > 0);
  if (bytes[0]! & 0x80) bytes.unshift(0);
  return tlv(0x02, Buffer.from(bytes));
}

function principal(nameType: number, ...components: string[]): Buffer {
  return seq(ctx(0, derInt(nameType)), ctx(1, seq(...components.map(genStr))));
}

/**
 * An AS-REQ for `client@realm` asking for krbtgt/realm, etypes aes256/aes128. `padding` adds a
 * PA-DATA of an unassigned type (the KDC ignores it) to make the request that many bytes larger.
 */
export function buildAsReq(realm: string, client: string, padding = 0): Buffer {
  const till = '20370101000000Z';
  const body = seq(
    ctx(0, tlv(0x03, Buffer.from([0, 0x40, 0, 0, 0x10]))), // forwardable | renewable-ok
    ctx(1, principal(1, client)),
    ctx(2, genStr(realm)),
    ctx(3, principal(2, 'krbtgt', realm)),
    ctx(5, tlv(0x18, Buffer.from(till, 'ascii'))),
    ctx(7, derInt(randomInt(1, 0x7fffffff))),
    ctx(8, seq(derInt(18), derInt(17))),
  );
  const padata = padding > 0 ? [ctx(3, seq(seq(ctx(1, derInt(150)), ctx(2, octets(Buffer.alloc(padding, 0x5a))))))] : [];
  return tlv(0x6a, seq(ctx(1, derInt(5)), ctx(2, derInt(10)), ...padata, ctx(4, body)));
}

/** Read a DER length at `pos`; returns [length, header size]. */
function readLength(buf: Buffer, pos: number): [number, number] {
  const first = buf[pos];
  if (first === undefined) throw new Error('truncated DER length');
  if (first < 0x80) return [first, 1];
  const count = first & 0x7f;
  let n = 0;
  for (let i = 0; i < count; i++) n = n * 256 + buf[pos + 1 + i]!;
  return [n, 1 + count];
}

/** error-code [6] of a KRB-ERROR ([APPLICATION 30]), or undefined when `reply` is not one. */
export function krbErrorCode(reply: Buffer): number | undefined {
  if (reply[0] !== 0x7e) return undefined;
  const [, h] = readLength(reply, 1);
  let pos = 1 + h;
  if (reply[pos] !== 0x30) return undefined;
  const [seqLen, sh] = readLength(reply, pos + 1);
  pos += 1 + sh;
  const end = pos + seqLen;
  while (pos < end) {
    const tag = reply[pos]!;
    const [len, lh] = readLength(reply, pos + 1);
    if (tag === 0xa6) {
      const inner = pos + 1 + lh;
      const [intLen, ih] = readLength(reply, inner + 1);
      let v = 0;
      for (let i = 0; i < intLen; i++) v = v * 256 + reply[inner + 1 + ih + i]!;
      return v;
    }
    pos += 1 + lh + len;
  }
  return undefined;
}

/** The classifier a Kerberos client would pass to sendToKdc (docs/kerberos.md#kdc-transport). */
export function classifyKdcReply(reply: Buffer, transport: KdcWireTransport): KdcReplyClass {
  if (reply[0] === 0x6b || reply[0] === 0x6d) return 'final';
  if (reply[0] !== 0x7e) return 'invalid';
  let code: number | undefined;
  try {
    code = krbErrorCode(reply);
  } catch {
    return 'invalid';
  }
  if (code === undefined) return 'invalid';
  if (code === 29) return 'svc-unavailable';
  if (code === 52 && transport === 'udp') return 'too-big';
  return 'final';
}
