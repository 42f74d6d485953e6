// Every parser of untrusted or semi-trusted input, as a fuzz target: an input generator (seeds
// from captured or encoded valid inputs, mutated; random bytes/text), the call under test, and
// the typed error(s) the parser is allowed to raise. Anything else it raises — or a typed error
// wrapping a JavaScript built-in error (TypeError, RangeError, …) as its cause — is a crash.
//
// Used by test/unit/fuzz (brief fast-check runs in CI) and test/fuzz/campaign.ts (npm run fuzz).
// Seeds are read on the first call of fuzzTargets(), never at import time.
import fc from 'fast-check';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { KeyDescriptionError, credentialUid, parseSpnegoDescription, splitDescribeString } from '../../src/kernel/key-description.ts';
import { credentialUidLikeC, parseSpnegoDescriptionLikeC } from '../reference/key-description-like-c.ts';
import { SpnegoMessageError, decodeCifsSpnegoMessage, encodeCifsSpnegoMessage } from '../../src/kernel/spnego-msg.ts';
import * as m from '../../src/krb5/messages/index.ts';
import { DecodeError } from '../../src/der/errors.ts';
import {
  decodeGssChecksum,
  decodeNegotiationToken,
  encodeGssChecksum,
  encodeNegTokenInit,
  encodeNegTokenResp,
  frameKrb5ApReq,
  parseInitialContextToken,
  parseKrb5Token,
  unframeKrb5ApReq,
} from '../../src/spnego/index.ts';
import { XdrDecodeError, XdrReader, XdrWriter } from '../../src/gssproxy/xdr.ts';
import * as gp from '../../src/gssproxy/protocol.ts';
import { RecordAssembler, RpcFormatError, decodeReply } from '../../src/gssproxy/rpc.ts';
import { ExportedContextError, parseExportedContext, sessionKeyFromExportedContext } from '../../src/gssproxy/exported-context.ts';
import { LucidContextError, parseLucidContext } from '../../src/gssproxy/lucid.ts';
import { CcacheError, KcmError } from '../../src/krb5/ccache/errors.ts';
import { decodeCredential, decodePrincipal, encodeCredential, encodePrincipal, parseFileCcache } from '../../src/krb5/ccache/marshal.ts';
import { KeyringCredentialCache, openKeyringCcache, parseKeyringResidual, type KeyctlCalls } from '../../src/krb5/ccache/keyring.ts';
import { KcmConnection, KcmCredentialCache, KcmOp } from '../../src/krb5/ccache/kcm.ts';
import { createServer, type Server } from 'node:net';
import { expandPathTokens, splitCcacheName } from '../../src/krb5/ccache/name.ts';
import { parsePrincipal, type Credential } from '../../src/krb5/ccache/model.ts';
import { KeytabFormatError, parseKeytab } from '../../src/krb5/keytab/keytab.ts';
import { Krb5Config, Krb5ConfigError, parseKdcSpec } from '../../src/krb5/config/krb5-config.ts';
import { ProfileError } from '../../src/krb5/config/profile.ts';
import { ConfigError, parseConfig, resolveSettings } from '../../src/pipeline/config.ts';
import { DnsFormatError, decodeMessage, encodeMessage, encodeQuery } from '../../src/net/dns/message.ts';
import { parseResolvConf } from '../../src/net/dns/resolv-conf.ts';
import { hostsLookup, hostsReverse, parseHostsFile } from '../../src/net/dns/hosts-file.ts';
import { parseIpAddress } from '../../src/net/dns/ip.ts';
import { findEnvironValue, parseProcessStat } from '../../src/os/proc.ts';
import { mutatedBytes, mutatedText } from './mutate.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** A typed error class a parser may raise for bad input. */
type ErrorClass = abstract new (...args: never[]) => Error;

export interface FuzzTarget<I = unknown> {
  /** unique, stable; used on the command line and in the report */
  name: string;
  /** the function(s) under test, for the report */
  subject: string;
  input: fc.Arbitrary<I>;
  /** the call under test; returns normally for accepted input */
  run(input: I): void | Promise<void>;
  /** the typed errors bad input may raise (empty: the parser never throws) */
  expected: readonly ErrorClass[];
  /** printable form of an input for findings (hex for bytes) */
  show(input: I): string;
  /** the valid inputs the mutations start from (at least one must be accepted) */
  seeds: readonly I[];
}

const BUILT_INS = [TypeError, RangeError, ReferenceError, SyntaxError, EvalError, URIError];

/** A built-in JavaScript error somewhere in the cause chain: a bug, even when wrapped in a typed error. */
function builtInCause(e: unknown): Error | null {
  for (let cur: unknown = e, depth = 0; cur && depth < 8; cur = (cur as { cause?: unknown }).cause, depth++) {
    if (BUILT_INS.some((c) => cur instanceof c)) return cur as Error;
  }
  return null;
}

export type Verdict = { kind: 'accepted' } | { kind: 'rejected'; error: Error } | { kind: 'crash'; error: unknown };

export function classify(target: FuzzTarget<never>, e: unknown): Verdict {
  if (builtInCause(e)) return { kind: 'crash', error: e };
  if (target.expected.some((c) => e instanceof c)) return { kind: 'rejected', error: e as Error };
  return { kind: 'crash', error: e };
}

/** Run one input synchronously where possible; a promise only for async targets. */
export function runOne<I>(target: FuzzTarget<I>, input: I): Verdict | Promise<Verdict> {
  let result: void | Promise<void>;
  try {
    result = target.run(input);
  } catch (e) {
    return classify(target as FuzzTarget<never>, e);
  }
  if (result instanceof Promise) {
    return result.then(
      (): Verdict => ({ kind: 'accepted' }),
      (e: unknown) => classify(target as FuzzTarget<never>, e),
    );
  }
  return { kind: 'accepted' };
}

/** Call `fn`, letting only the typed errors through silently (for targets that try several readings). */
function tolerating(classes: readonly ErrorClass[], fn: () => unknown): void {
  try {
    fn();
  } catch (e) {
    if (builtInCause(e) || !classes.some((c) => e instanceof c)) throw e;
  }
}

const hex = (b: Buffer): string => b.toString('hex');
const json = (t: string): string => JSON.stringify(t);

function bytesTarget(
  name: string,
  subject: string,
  seeds: Buffer[],
  expected: ErrorClass[],
  run: (b: Buffer) => void | Promise<void>,
  maxRandom?: number,
): FuzzTarget<Buffer> {
  return { name, subject, input: mutatedBytes(seeds, maxRandom), run, expected, show: hex, seeds };
}

function textTarget(
  name: string,
  subject: string,
  seeds: string[],
  words: string[],
  expected: ErrorClass[],
  run: (t: string) => void | Promise<void>,
): FuzzTarget<string> {
  return { name, subject, input: mutatedText(seeds, words), run, expected, show: json, seeds };
}

// ---- seeds ----------------------------------------------------------------------------------

/** Descriptions in the kernel's format (fs/smb/client/cifs_spnego.c), plus edge cases. */
const DESCRIPTIONS = [
  'ver=0x2;host=FS1.Example.COM;ip4=10.0.0.5;sec=krb5;uid=0x0;creduid=0x0;pid=0x1092;upcall_target=app',
  'ver=0x2;host=fs1.example.com;ip4=10.0.0.5;sec=krb5;uid=0x3e8;creduid=0x3e8;pid=0x2f1a',
  'ver=0x2;host=fs6.example.com;ip6=2001:0db8:0000:0000:0000:0000:0000:0010;sec=krb5;uid=0x3e8;creduid=0x3e9;pid=0x7a69;upcall_target=mount',
  'ver=0x2;host=nas.example.com;ip4=192.0.2.20;sec=krb5;uid=0x0;creduid=0x0;user=svc-backup@EXAMPLE.COM;pid=0x309;upcall_target=app',
  'ver=0x2;host=srv;ip4=10.1.2.3;sec=mskrb5;uid=0x0;creduid=0x0;user=;pid=0x1a2b',
  'ver=0x2;host=fs1.example.com;ip4=10.0.0.5;sec=iakerb;uid=0x0;creduid=0x0;pid=0x1092;upcall_target=app',
  'ver=0x2;host=a;ip4=1.2.3.4;sec=krb5;uid=0x3e8;creduid=0x3e8;user=x;sec=krb5;pid=0x1;uid=0x0',
];
const DESCRIPTION_WORDS = [
  ';',
  '=',
  'ver=',
  'host=',
  'ip4=',
  'ip6=',
  'sec=',
  'uid=',
  'creduid=',
  'user=',
  'pid=',
  'upcall_target=',
  '0x',
  '0x2',
  '0x0',
  '0xffffffff',
  '0x100000000',
  '-1',
  '00',
  '0777',
  '4294967296',
  '99999999999999999999',
  'krb5',
  'mskrb5',
  'iakerb',
  'app',
  'mount',
  '::',
  '::ffff:1.2.3.4',
  '256.1.1.1',
  '1.2.3',
  'a.b',
  '-x-.',
  '.',
  ' ',
  '\t',
  '\n',
  '\0',
  '\u00e9',
  'x'.repeat(300),
  'h'.repeat(1100),
  '%s',
  '../',
  'cifs.spnego;0;0;39010000;',
];

const KCM_PRINCIPAL = { nameType: 1, components: ['alice'], realm: 'EXAMPLE.TEST' };
function sampleCredential(server: string[], endTime = 2_000_000_000): Credential {
  return {
    client: KCM_PRINCIPAL,
    server: { nameType: 2, components: server, realm: 'EXAMPLE.TEST' },
    key: { enctype: 18, value: Buffer.alloc(32, 7) },
    authTime: 1_700_000_000,
    startTime: 1_700_000_000,
    endTime,
    renewTill: 0,
    isSkey: false,
    flags: 0x40e10000,
    addresses: [],
    authData: [],
    ticket: Buffer.from('6182000430020100', 'hex'),
    secondTicket: Buffer.alloc(0),
  };
}

interface MitFixture {
  preauthRequired: string;
  asReq: string;
  asRep: string;
  unknownService: string;
  clockSkew: string;
  tgs: { tgsReq: string; tgsRep: string; apReq: string }[];
  mitTokens: { token: string }[];
  mutual: { apReqToken: string; apRepToken: string };
}

function derSeeds(): Record<string, Buffer[]> {
  const fx = JSON.parse(readFileSync(join(root, 'test/unit/krb5/messages/fixtures/mit-krb5-1.20.1.json'), 'utf8')) as MitFixture;
  const h = (s: string) => Buffer.from(s, 'hex');
  const captured = [
    fx.preauthRequired,
    fx.asReq,
    fx.asRep,
    fx.unknownService,
    fx.clockSkew,
    ...fx.tgs.flatMap((t) => [t.tgsReq, t.tgsRep]),
    fx.mutual.apRepToken,
  ].map(h);
  const principal = { nameType: 1, components: ['alice'], realm: 'EXAMPLE.TEST' };
  const server = { nameType: 2, components: ['krbtgt', 'EXAMPLE.TEST'], realm: 'EXAMPLE.TEST' };
  const key = { keytype: 18, keyvalue: Buffer.alloc(32, 1) };
  const ed = { etype: 18, kvno: 2, cipher: Buffer.alloc(40, 2) };
  const t = new Date('2026-01-02T03:04:05Z');
  const ticket = m.encodeTicket({ server, encPart: ed });
  const own: Record<string, Buffer[]> = {
    Ticket: [ticket],
    EncKdcRepPart: [
      m.encodeEncKdcRepPart({
        tag: 25,
        key,
        lastReq: [{ lrType: 0, lrValue: t }],
        nonce: 7,
        keyExpiration: t,
        flags: 0x40e10000,
        authtime: t,
        starttime: t,
        endtime: t,
        renewTill: t,
        server,
        caddr: [{ addrType: 2, address: Buffer.from([127, 0, 0, 1]) }],
        encryptedPaData: [{ padataType: 149, padataValue: Buffer.from('3000', 'hex') }],
      }),
    ],
    EncTicketPart: [
      m.encodeEncTicketPart({
        flags: 0x40e10000,
        key,
        client: principal,
        transited: { trType: 1, contents: Buffer.alloc(0) },
        authtime: t,
        starttime: t,
        endtime: t,
        renewTill: t,
        authorizationData: [{ adType: 1, adData: Buffer.from('3000', 'hex') }],
      }),
    ],
    Authenticator: [
      m.encodeAuthenticator({
        client: principal,
        cksum: { cksumtype: 0x8003, checksum: encodeGssChecksum({ flags: 0 }) },
        cusec: 5,
        ctime: t,
        subkey: key,
        seqNumber: 9,
        authorizationData: [{ adType: 1, adData: Buffer.alloc(4) }],
      }),
    ],
    EncApRepPart: [m.encodeEncApRepPart({ ctime: t, cusec: 1, subkey: key, seqNumber: 3 })],
    PaEncTsEnc: [m.encodePaEncTsEnc({ patimestamp: t, pausec: 12 })],
    EtypeInfo2: [m.encodeEtypeInfo2([{ etype: 18, salt: 'EXAMPLE.TESTalice', s2kparams: Buffer.from('00001000', 'hex') }, { etype: 23 }])],
    PaPacRequest: [m.encodePaPacRequest(true)],
    MethodData: [
      m.encodeMethodData([
        { padataType: 19, padataValue: Buffer.from('3000', 'hex') },
        { padataType: 2, padataValue: Buffer.alloc(0) },
      ]),
    ],
    EncryptionKey: [m.encodeEncryptionKey(key)],
    EncryptedData: [m.encodeEncryptedData(ed)],
    Checksum: [m.encodeChecksum({ cksumtype: 16, checksum: Buffer.alloc(12, 3) })],
    AuthorizationData: [
      m.encodeAuthorizationData([
        { adType: 1, adData: Buffer.from('3000', 'hex') },
        { adType: 128, adData: Buffer.alloc(20) },
      ]),
    ],
    ApReq: [...fx.tgs.map((x) => h(x.apReq)), m.encodeApReq({ apOptions: 0x20000000, ticket, authenticator: ed })],
    ApRep: [h(fx.mutual.apRepToken).subarray(17), m.encodeApRep({ encPart: ed })],
    KrbError: [h(fx.preauthRequired), h(fx.unknownService), h(fx.clockSkew)],
  };
  // every DER target also mutates every captured message: a corrupted AS-REP is a fine KRB-ERROR probe
  const out: Record<string, Buffer[]> = {};
  for (const [k, v] of Object.entries(own)) out[k] = [...v, ...captured];
  return out;
}

const DER_DECODERS: Array<[string, (b: Uint8Array) => unknown, string]> = [
  ['Ticket', m.decodeTicket, 'Ticket'],
  ['KdcReq', m.decodeKdcReq, 'Ticket'],
  ['AsReq', m.decodeAsReq, 'Ticket'],
  ['TgsReq', m.decodeTgsReq, 'Ticket'],
  ['KdcRep', m.decodeKdcRep, 'Ticket'],
  ['AsRep', m.decodeAsRep, 'Ticket'],
  ['TgsRep', m.decodeTgsRep, 'Ticket'],
  ['EncKdcRepPart', m.decodeEncKdcRepPart, 'EncKdcRepPart'],
  ['EncTicketPart', m.decodeEncTicketPart, 'EncTicketPart'],
  ['KrbError', m.decodeKrbError, 'KrbError'],
  ['ApReq', m.decodeApReq, 'ApReq'],
  ['Authenticator', m.decodeAuthenticator, 'Authenticator'],
  ['ApRep', m.decodeApRep, 'ApRep'],
  ['EncApRepPart', m.decodeEncApRepPart, 'EncApRepPart'],
  ['PaEncTsEnc', m.decodePaEncTsEnc, 'PaEncTsEnc'],
  ['EtypeInfo2', m.decodeEtypeInfo2, 'EtypeInfo2'],
  ['PaPacRequest', m.decodePaPacRequest, 'PaPacRequest'],
  ['MethodData', m.decodeMethodData, 'MethodData'],
  ['EncryptionKey', m.decodeEncryptionKey, 'EncryptionKey'],
  ['EncryptedData', m.decodeEncryptedData, 'EncryptedData'],
  ['Checksum', m.decodeChecksum, 'Checksum'],
  ['AuthorizationData', m.decodeAuthorizationData, 'AuthorizationData'],
];

interface GpVector {
  [k: string]: unknown;
}
function gssproxyVectors(): Record<string, GpVector> {
  return JSON.parse(readFileSync(join(root, 'test/unit/gssproxy/gssproxy-test-vectors.json'), 'utf8')) as Record<string, GpVector>;
}

// ---- fakes for the ccache back ends whose parsing sits behind a keyring or a socket -------------

/**
 * A kernel keyring holding one KEYRING cache (MIT layout), whose key payloads are the fuzz input:
 * the input is split at 0xff 0xfe into [primary-name payload, principal, time offsets, cred…].
 */
function fakeKeyring(parts: Buffer[]): KeyctlCalls {
  const PERSISTENT = 50;
  const COLLECTION = 100;
  const CACHE = 200;
  const payload = new Map<number, Buffer>();
  const described = new Map<number, string>();
  const named = new Map<string, number>();
  let next = 300;
  const add = (type: string, name: string, body: Buffer): number => {
    const id = next++;
    payload.set(id, body);
    described.set(id, `${type};1000;1000;3f010000;${name}`);
    named.set(`${type}/${name}`, id);
    return id;
  };
  const [primary, princ, offsets, ...creds] = parts;
  if (primary && primary.length > 0) add('user', 'krb_ccache:primary', primary);
  const serials: number[] = [];
  if (princ) serials.push(add('user', '__krb5_princ__', princ));
  if (offsets && offsets.length > 0) serials.push(add('user', '__krb5_time_offsets__', offsets));
  for (const [i, c] of creds.entries()) serials.push(add(i % 3 === 2 ? 'big_key' : 'user', `cred${i}`, c));
  const ring = Buffer.alloc(serials.length * 4);
  for (const [i, s] of serials.entries()) ring.writeInt32LE(s, i * 4);
  payload.set(CACHE, ring);
  const noKey = (): never => {
    throw Object.assign(new Error('Required key not available'), { code: 'ENOKEY' });
  };
  return {
    keySearch: (ring, type, description) => {
      if (type === 'keyring') {
        if (ring === PERSISTENT && description === '_krb') return COLLECTION;
        if (ring === COLLECTION) return CACHE;
        return noKey();
      }
      return named.get(`${type}/${description}`) ?? noKey();
    },
    keyRead: (id) => payload.get(id) ?? noKey(),
    keyDescribe: (id) => described.get(id) ?? noKey(),
    keyGetPersistent: () => PERSISTENT,
    keyGetKeyringId: (id) => id,
    addKey: () => noKey(),
    keySetTimeout: () => undefined,
  } as KeyctlCalls;
}

function splitParts(b: Buffer): Buffer[] {
  const parts: Buffer[] = [];
  let start = 0;
  for (let i = 0; i + 1 < b.length; i++) {
    if (b[i] === 0xff && b[i + 1] === 0xfe) {
      parts.push(b.subarray(start, i));
      start = i + 2;
      i++;
    }
  }
  parts.push(b.subarray(start));
  return parts;
}
const joinParts = (parts: Buffer[]): Buffer => Buffer.concat(parts.flatMap((p, i) => (i === 0 ? [p] : [Buffer.from([0xff, 0xfe]), p])));

/**
 * A KCM daemon's operation outputs (after the result code), taken from the input in call order:
 * GET_PRINCIPAL, GET_KDC_OFFSET, GET_CRED_LIST (or, when that part starts with 0xee, an
 * "unsupported" answer and then GET_CRED_UUID_LIST and one GET_CRED_BY_UUID per UUID).
 */
function fakeKcm(parts: Buffer[]): KcmConnection {
  let i = 0;
  return {
    call: async () => {
      const out = parts[i++];
      if (out === undefined) throw new CcacheError('unreachable', 'fake KCM: no more replies');
      if (out.length > 0 && out[0] === 0xee) throw new KcmError(-1765328137, 'GET_CRED_LIST', 'unsupported');
      return out;
    },
  } as unknown as KcmConnection;
}

/**
 * A KCM daemon on a Unix socket in `dir` that answers each connection's first request with the
 * bytes of the current input, then closes: the client's frame layer (length, transport status,
 * result code, limits) reads real socket data.
 */
class FakeKcmDaemon {
  private server: Server | null = null;
  reply: Buffer = Buffer.alloc(0);
  constructor(readonly path: string) {}

  async ensure(): Promise<void> {
    if (this.server) return;
    rmSync(this.path, { force: true });
    const server = createServer((s) => {
      s.on('error', () => undefined);
      s.once('data', () => s.end(this.reply));
    });
    server.unref();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.path, () => resolve());
    });
    this.server = server;
  }
}

// ---- the targets ----------------------------------------------------------------------------

let cached: FuzzTarget<never>[] | null = null;

/** Every fuzz target, in report order. `workDir` holds files some targets write (krb5.conf includes). */
export function fuzzTargets(workDir: string): FuzzTarget<never>[] {
  if (cached) return cached;
  mkdirSync(workDir, { recursive: true });
  const targets: FuzzTarget<never>[] = [];
  const add = <I>(t: FuzzTarget<I>): void => {
    targets.push(t as unknown as FuzzTarget<never>);
  };

  // -- kernel key protocol
  add(
    textTarget(
      'key-description.strict',
      'parseSpnegoDescription + credentialUid',
      DESCRIPTIONS,
      DESCRIPTION_WORDS,
      [KeyDescriptionError],
      (t) => {
        const d = parseSpnegoDescription(t);
        credentialUid(d, false);
      },
    ),
  );
  add(
    textTarget(
      'key-description.c-reference',
      'parseSpnegoDescriptionLikeC + credentialUidLikeC',
      DESCRIPTIONS,
      DESCRIPTION_WORDS,
      [],
      (t) => {
        const r = parseSpnegoDescriptionLikeC(t);
        if (r.accepted) {
          credentialUidLikeC(r.decoded, false);
          credentialUidLikeC(r.decoded, true);
        }
      },
    ),
  );
  add(
    textTarget(
      'key-describe-string',
      'splitDescribeString (KEYCTL_DESCRIBE output)',
      DESCRIPTIONS.map((d) => `cifs.spnego;0;0;39010000;${d}`),
      [...DESCRIPTION_WORDS, '39010000', '3f010000', 'user;', '1000;'],
      [KeyDescriptionError],
      (t) => {
        splitDescribeString(t);
      },
    ),
  );
  add(
    bytesTarget(
      'cifs_spnego_msg.decode',
      'decodeCifsSpnegoMessage (LE and BE)',
      [
        encodeCifsSpnegoMessage({ version: 2, flags: 0, sessionKey: Buffer.alloc(32, 1), securityBlob: Buffer.alloc(40, 2) }),
        encodeCifsSpnegoMessage({ version: 2, flags: 0, sessionKey: Buffer.alloc(16, 1), securityBlob: Buffer.from([0x60]) }),
      ],
      [SpnegoMessageError],
      (b) => {
        tolerating([SpnegoMessageError], () => decodeCifsSpnegoMessage(b, 'BE'));
        decodeCifsSpnegoMessage(b, 'LE');
      },
    ),
  );

  // -- Kerberos DER messages: one target per decoder
  const der = derSeeds();
  for (const [name, decode, seedKey] of DER_DECODERS) {
    add(
      bytesTarget(`der.${name}`, `decode${name}`, der[seedKey]!, [DecodeError], (b) => {
        decode(b);
      }),
    );
  }

  // -- GSS / SPNEGO
  const fx = JSON.parse(readFileSync(join(root, 'test/unit/krb5/messages/fixtures/mit-krb5-1.20.1.json'), 'utf8')) as MitFixture;
  const mitTokens = fx.mitTokens.map((t) => Buffer.from(t.token, 'hex'));
  const gssSeeds = [
    ...mitTokens,
    Buffer.from(fx.mutual.apReqToken, 'hex'),
    Buffer.from(fx.mutual.apRepToken, 'hex'),
    encodeNegTokenInit({ mechTypes: ['1.2.840.113554.1.2.2'], mechToken: frameKrb5ApReq(Buffer.from(fx.tgs[0]!.apReq, 'hex')) }),
    encodeNegTokenResp({ negState: 0, supportedMech: '1.2.840.48018.1.2.2', responseToken: Buffer.from(fx.mutual.apRepToken, 'hex') }),
  ];
  add(
    bytesTarget('spnego.NegotiationToken', 'decodeNegotiationToken', gssSeeds, [DecodeError], (b) => {
      decodeNegotiationToken(b);
    }),
  );
  add(
    bytesTarget('gss.InitialContextToken', 'parseInitialContextToken', gssSeeds, [DecodeError], (b) => {
      parseInitialContextToken(b);
    }),
  );
  add(
    bytesTarget('gss.krb5-token', 'parseKrb5Token + unframeKrb5ApReq', gssSeeds, [DecodeError], (b) => {
      parseKrb5Token(b);
      unframeKrb5ApReq(b);
    }),
  );
  add(
    bytesTarget(
      'gss.checksum-8003',
      'decodeGssChecksum (RFC 4121 §4.1.1)',
      [
        encodeGssChecksum({ flags: 0 }),
        encodeGssChecksum({ flags: 0x130 }),
        encodeGssChecksum({ flags: 0x1, delegation: Buffer.alloc(30, 5) }),
      ],
      [DecodeError],
      (b) => {
        decodeGssChecksum(b);
      },
    ),
  );

  // -- gssproxy: XDR result decoders, RPC reply header, record marks, context tokens
  const v = gssproxyVectors();
  const vh = (name: string, field: string) => Buffer.from(String(v[name]![field]), 'hex');
  const initResult = vh('init_reply_minimal_example', 'body_hex').subarray(24);
  const replyBody = vh('init_reply_minimal_example', 'body_hex');
  const pingReply = vh('get_call_context_ping_call', 'expected_reply_body_hex');
  const status = new XdrWriter();
  gp.encodeStatus(status, {});
  const statusOnly = status.finish();
  const emptyArrays = Buffer.alloc(16);
  const xdrSeeds = [
    statusOnly,
    Buffer.concat([statusOnly, emptyArrays]),
    initResult,
    replyBody.subarray(24),
    pingReply.subarray(24),
    vh('gssx_name_hostbased', 'hex'),
    vh('gssx_call_ctx_lucid', 'hex'),
    vh('gssx_name_string_uid_1500', 'hex'),
  ];
  const results: Array<[string, (r: XdrReader) => unknown]> = [
    ['IndicateMechs', gp.decodeResIndicateMechs],
    ['GetCallContext', gp.decodeResGetCallContext],
    ['ImportAndCanonName', gp.decodeResImportAndCanonName],
    ['AcquireCred', gp.decodeResAcquireCred],
    ['InitSecContext', gp.decodeResInitSecContext],
    ['ReleaseHandle', gp.decodeResReleaseHandle],
  ];
  for (const [name, decode] of results) {
    add(
      bytesTarget(
        `xdr.Res${name}`,
        `decodeRes${name} + done()`,
        xdrSeeds,
        [XdrDecodeError],
        (b) => {
          const r = new XdrReader(b);
          decode(r);
          r.done();
        },
        400,
      ),
    );
  }
  add(
    bytesTarget('rpc.reply', 'decodeReply (ONC-RPC reply header)', [replyBody, pingReply], [RpcFormatError], (b) => {
      decodeReply(b);
    }),
  );
  const record = (body: Buffer, mark = 0x80000000 | body.length) => {
    const h = Buffer.alloc(4);
    h.writeUInt32BE(mark >>> 0);
    return Buffer.concat([h, body]);
  };
  add(
    bytesTarget(
      'rpc.record-marks',
      'RecordAssembler.push (split at every 7th byte)',
      [record(replyBody), Buffer.concat([record(replyBody.subarray(0, 30), 30), record(replyBody.subarray(30))])],
      [RpcFormatError],
      (b) => {
        const a = new RecordAssembler(64 * 1024);
        for (let i = 0; i < b.length; i += 7) a.push(b.subarray(i, i + 7));
      },
    ),
  );
  add(
    bytesTarget(
      'gssproxy.reply-end-to-end',
      'record → decodeReply → decodeResInitSecContext → sessionKeyFromExportedContext',
      [record(replyBody)],
      [RpcFormatError, XdrDecodeError, ExportedContextError],
      (b) => {
        const a = new RecordAssembler(64 * 1024);
        for (const body of a.push(b)) {
          const reply = decodeReply(body);
          if (!reply.ok) continue;
          const res = gp.decodeResInitSecContext(reply.results);
          reply.results.done();
          const token = res.contextHandle?.exportedContextToken;
          if (token && token.length > 0) sessionKeyFromExportedContext(token);
        }
      },
    ),
  );
  const ctxSeeds = [
    'default_export_after_ap_rep',
    'default_export_established',
    'partial_export_mutual_pending',
    'lucid_v1_established',
  ].map((n) => vh(n, 'exported_context_token_hex'));
  add(
    bytesTarget(
      'gssproxy.exported-context',
      'parseExportedContext (fast and full) + sessionKeyFromExportedContext',
      ctxSeeds,
      [ExportedContextError],
      (b) => {
        parseExportedContext(b);
        parseExportedContext(b, { full: true });
        sessionKeyFromExportedContext(b);
      },
      600,
    ),
  );
  add(
    bytesTarget(
      'gssproxy.lucid',
      'parseLucidContext (LE and BE)',
      [vh('lucid_v1_established', 'exported_context_token_hex')],
      [LucidContextError],
      (b) => {
        tolerating([LucidContextError], () => parseLucidContext(b, 'BE'));
        parseLucidContext(b, 'LE');
      },
      100,
    ),
  );

  // -- credential caches
  const ccDir = join(root, 'test/unit/krb5/ccache/fixtures');
  const ccSeeds = readdirSync(ccDir)
    .filter((f) => f.endsWith('.ccache'))
    .sort()
    .map((f) => readFileSync(join(ccDir, f)));
  add(
    bytesTarget(
      'ccache.FILE',
      'parseFileCcache (v1–v4)',
      ccSeeds,
      [CcacheError],
      (b) => {
        parseFileCcache(b, 'FILE:/fuzz');
      },
      600,
    ),
  );
  const principalV4 = encodePrincipal(KCM_PRINCIPAL, 4);
  const credV4 = encodeCredential(sampleCredential(['krbtgt', 'EXAMPLE.TEST']), 4);
  const credV4b = encodeCredential(sampleCredential(['cifs', 'fs1.example.test'], 1), 4);
  const primaryPayload = Buffer.concat([Buffer.from('0000000100000003', 'hex'), Buffer.from('tkt')]);
  const offsets = Buffer.from('0000000affffff00', 'hex');
  add(
    bytesTarget(
      'ccache.KEYRING-payloads',
      'openKeyringCcache + KeyringCredentialCache.readSync over keyring payloads',
      [
        joinParts([primaryPayload, principalV4, offsets, credV4, credV4b]),
        joinParts([Buffer.alloc(0), principalV4, Buffer.alloc(0), credV4]),
      ],
      [CcacheError],
      (b) => {
        const keyctl = fakeKeyring(splitParts(b));
        const cache = openKeyringCcache('persistent:1000', { keyctl, euid: 1000, now: () => 1_800_000_000 });
        if (!(cache instanceof KeyringCredentialCache)) throw new Error('not a keyring cache');
        cache.readSync();
      },
      400,
    ),
  );
  const credList = (creds: Buffer[]) =>
    Buffer.concat([
      Buffer.from([0, 0, 0, creds.length]),
      ...creds.flatMap((c) => {
        const l = Buffer.alloc(4);
        l.writeUInt32BE(c.length);
        return [l, c];
      }),
    ]);
  const offsetOut = Buffer.from('0000012c', 'hex');
  add(
    bytesTarget(
      'ccache.KCM-replies',
      'KcmCredentialCache.read over daemon outputs (GET_CRED_LIST and the UUID walk)',
      [
        joinParts([principalV4, offsetOut, credList([credV4, credV4b])]),
        joinParts([principalV4, offsetOut, Buffer.from([0xee]), Buffer.alloc(32, 9), credV4, credV4b]),
        joinParts([Buffer.alloc(0)]),
      ],
      [CcacheError],
      async (b) => {
        await new KcmCredentialCache('1000', fakeKcm(splitParts(b))).read();
      },
      400,
    ),
  );
  const kcmDaemon = new FakeKcmDaemon(join(workDir, `kcm-${process.pid}.sock`));
  const frame = (status: number, out: Buffer, result = 0) => {
    const h = Buffer.alloc(12);
    h.writeUInt32BE(out.length + 4, 0);
    h.writeInt32BE(status, 4);
    h.writeInt32BE(result, 8);
    return Buffer.concat([h, out]);
  };
  add(
    bytesTarget(
      'ccache.KCM-frames',
      'KcmConnection.call over a Unix socket (reply length, status, result code, limits)',
      [frame(0, principalV4), frame(0, Buffer.from('1000\0')), frame(-1765328243, Buffer.alloc(0)), frame(0, Buffer.alloc(0), -1765328137)],
      [CcacheError],
      async (b) => {
        await kcmDaemon.ensure();
        kcmDaemon.reply = b;
        const conn = new KcmConnection({ socketPath: kcmDaemon.path, timeoutMs: 2000 });
        try {
          await conn.call(KcmOp.GET_PRINCIPAL, Buffer.from('1000\0'));
        } finally {
          conn.close();
        }
      },
      200,
    ),
  );
  add(
    bytesTarget(
      'ccache.record',
      'decodeCredential / decodePrincipal (v1–v4)',
      [credV4, credV4b, principalV4, ...ccSeeds.map((s) => s.subarray(12))],
      [CcacheError],
      (b) => {
        for (const version of [1, 2, 3] as const) {
          tolerating([CcacheError], () => decodeCredential(b, version));
          tolerating([CcacheError], () => decodePrincipal(b, version));
        }
        tolerating([CcacheError], () => decodePrincipal(b, 4));
        decodeCredential(b, 4);
      },
    ),
  );
  add(
    textTarget(
      'ccache.name',
      'splitCcacheName + parseKeyringResidual + expandPathTokens + parsePrincipal (KRB5CCNAME and user=)',
      [
        'FILE:/tmp/krb5cc_1000',
        'DIR::/run/user/1000/krb5cc',
        'KEYRING:persistent:1000:krb_ccache_X',
        'KCM:1000',
        'MEMORY:x',
        'FILE:/tmp/krb5cc_%{uid}',
        '%{TEMP}/krb5cc_%{euid}_%{username}',
        'alice/admin@EXAMPLE.TEST',
        'a\\@b@R',
        'C:\\x',
      ],
      [
        '%{',
        '}',
        'uid',
        'euid',
        'username',
        'TEMP',
        'null',
        'LIBDIR',
        ':',
        '@',
        '/',
        '\\',
        'KEYRING:',
        'persistent:',
        'API:',
        'FILE:',
        '%{u}',
      ],
      [CcacheError],
      (t) => {
        tolerating([CcacheError], () => splitCcacheName(t));
        tolerating([CcacheError], () => parseKeyringResidual(t));
        parsePrincipal(t, 1, 'EXAMPLE.TEST');
        expandPathTokens(t, { uid: 1000, euid: 1000, username: 'alice' });
      },
    ),
  );

  // -- keytab
  const ktDir = join(root, 'test/unit/krb5/keytab/fixtures');
  const ktSeeds = readdirSync(ktDir)
    .filter((f) => f.endsWith('.keytab'))
    .sort()
    .map((f) => readFileSync(join(ktDir, f)));
  add(
    bytesTarget(
      'keytab',
      'parseKeytab (v1, v2)',
      ktSeeds,
      [KeytabFormatError],
      (b) => {
        parseKeytab(b, 'FILE:/fuzz.keytab');
      },
      600,
    ),
  );

  // -- krb5.conf (profile syntax + typed relations); includes resolve inside workDir
  const inc = (n: string) => join(workDir, n);
  writeFileSync(inc('a.conf'), `[libdefaults]\n default_realm = EXAMPLE.TEST\ninclude ${inc('b.conf')}\n`);
  writeFileSync(inc('b.conf'), `[realms]\n EXAMPLE.TEST = {\n  kdc = 127.0.0.1:88\n }\ninclude ${inc('a.conf')}\n`);
  writeFileSync(inc('self.conf'), `include ${inc('self.conf')}\n`);
  mkdirSync(inc('d'), { recursive: true });
  writeFileSync(inc('d/x.conf'), '[domain_realm]\n .example.test = EXAMPLE.TEST\n');
  const krb5Seeds: string[] = [
    `[libdefaults]\n default_realm = EXAMPLE.TEST\n dns_lookup_kdc = false\n rdns = false\n kdc_timeout = 3s\n clockskew = 300\n` +
      ` permitted_enctypes = aes256-cts aes128-cts -rc4-hmac DEFAULT\n default_ccache_name = KEYRING:persistent:%{uid}\n udp_preference_limit = 1\n` +
      `[realms]\n EXAMPLE.TEST = {\n  kdc = 127.0.0.1:8888\n  kdc = tcp/[::1]:88\n  admin_server = kdc.example.test\n }\n` +
      `[domain_realm]\n .example.test = EXAMPLE.TEST\n example.test = EXAMPLE.TEST\n[capaths]\n EXAMPLE.TEST = {\n  OTHER.TEST = .\n }\n`,
    `[libdefaults]*\n default_realm = "quoted \\"R\\"\\t"\n[realms]\n R =\n {\n kdc = x\n }*\n`,
    `include ${inc('a.conf')}\n`,
    `includedir ${inc('d')}\n`,
    `include ${inc('self.conf')}\n`,
    `module /x:y\n`,
  ];
  add(
    textTarget(
      'krb5.conf',
      'Krb5Config.fromText (profile parser, includes) + every typed accessor',
      krb5Seeds,
      [
        '[',
        ']',
        ']*',
        '{',
        '}',
        '}*',
        ' = ',
        '=',
        '\n',
        '\r\n',
        '#',
        ';',
        '"',
        '\\',
        '*',
        ' ',
        '\t',
        'include ',
        'includedir ',
        `include ${inc('a.conf')}\n`,
        `include ${inc('self.conf')}\n`,
        `includedir ${inc('d')}\n`,
        'libdefaults',
        'realms',
        'domain_realm',
        'capaths',
        'kdc',
        'default_realm',
        'kdc_timeout',
        'clockskew',
        'permitted_enctypes',
        'aes256-cts',
        'des',
        '-',
        '+',
        'DEFAULT',
        'udp_preference_limit',
        '1h2m3s',
        '99999999999999999999',
        '0x10',
        '-5',
        'true',
        'no',
        '[::1]:88',
        'tcp/',
        'kdc.example.test:x',
      ],
      [ProfileError, Krb5ConfigError],
      (t) => {
        const c = Krb5Config.fromText(t, join(workDir, 'fuzzed.conf'));
        c.defaultRealm();
        c.defaultCcacheName();
        c.defaultKeytabName();
        c.defaultClientKeytabName();
        c.dnsLookupKdc();
        c.dnsLookupRealm();
        c.dnsUriLookup();
        c.dnsCanonicalizeHostname();
        c.rdns();
        c.udpPreferenceLimit();
        c.kdcTimeoutMs();
        c.requestTimeoutMs();
        c.clockskewSeconds();
        c.kdcTimesync();
        c.allowWeakCrypto();
        c.permittedEnctypes();
        c.defaultTgsEnctypes();
        c.forwardable();
        c.canonicalize();
        c.kcmSocket();
        for (const realm of c.realms().slice(0, 4)) {
          c.realmKdcs(realm);
          c.forwardable(realm);
          c.realmPath('EXAMPLE.TEST', realm);
        }
        c.domainRealm('fs1.example.test');
        c.capaths('EXAMPLE.TEST', 'OTHER.TEST');
      },
    ),
  );
  add(
    textTarget(
      'krb5.conf.kdc-spec',
      'parseKdcSpec',
      ['127.0.0.1:88', 'tcp/[::1]:750', 'kdc.example.test', 'udp/host:x', '[fe80::1%eth0]'],
      ['[', ']', ':', '/', 'tcp', 'udp', 'kkdcp', 'https://', '65536', '0', '-1', '::1', '%'],
      [Krb5ConfigError],
      (t) => {
        parseKdcSpec(t);
      },
    ),
  );

  // -- /etc/cifs-upcall.conf
  const confSeeds = [
    '[global]\nstrategy = local-first\nnegative_timeout = 5\n# c\n[server *.example.test]\nstrategy = proxy-only\ngssproxy_socket = /run/gssproxy.sock\n' +
      '[cgroup /system.slice/*]\nenv_probe = no\nkdc_timeout = 0.5\ntrust_dns = yes\nkrb5_conf = /etc/krb5.conf\nkeytab = FILE:/k\n',
    '[server fs?.EXAMPLE.test]\ngssproxy_naming = uid-name # trailing\nkeytab_fallback = never\ntimeout = 600\n',
  ];
  add({
    name: 'cifs-upcall.conf',
    subject: 'parseConfig + resolveSettings (glob matching against a host and a cgroup)',
    input: fc.tuple(
      mutatedText(confSeeds, [
        '[global]',
        '[server ',
        '[cgroup ',
        ']',
        '*',
        '?',
        '=',
        '\n',
        '#',
        ' #',
        'strategy',
        'timeout',
        'negative_timeout',
        '86401',
        '1e3',
        '0.04',
        'yes',
        'off',
        'compat',
        'proxy-first',
        '/',
        'relative',
        '[',
        '*?*?*?*?*?*?*?*?',
        '*a*a*a*a*a*a*a*a*a*a*a*b',
      ]),
      fc.oneof(fc.constant('fs1.example.test'), fc.constant('a'.repeat(1024)), fc.string({ maxLength: 80 })),
    ),
    run: ([text, host]) => {
      const config = parseConfig(text, '/etc/cifs-upcall.conf');
      resolveSettings(config, { host, cgroup: `/system.slice/${host}` }, {});
    },
    expected: [ConfigError],
    show: ([text, host]) => JSON.stringify({ text, host }),
    seeds: [
      [confSeeds[0]!, 'fs1.example.test'],
      [confSeeds[1]!, 'fs1.example.test'],
    ],
  });

  // -- DNS, resolv.conf, hosts
  const dnsSeeds = [
    encodeQuery({ id: 1, name: '_kerberos._udp.example.test', type: 33 }),
    encodeMessage({
      id: 7,
      flags: {
        response: true,
        opcode: 0,
        authoritative: true,
        truncated: false,
        recursionDesired: true,
        recursionAvailable: true,
        authenticData: false,
        checkingDisabled: false,
        rcode: 0,
      },
      questions: [{ name: '_kerberos._udp.example.test', type: 33, class: 1 }],
      answers: [
        {
          name: '_kerberos._udp.example.test',
          type: 33,
          class: 1,
          ttl: 60,
          data: { type: 'SRV', priority: 0, weight: 5, port: 88, target: 'kdc.example.test' },
        },
        { name: 'kdc.example.test', type: 1, class: 1, ttl: 60, data: { type: 'A', address: '127.0.0.1' } },
        { name: 'kdc.example.test', type: 28, class: 1, ttl: 60, data: { type: 'AAAA', address: '::1' } },
        { name: '_kerberos.example.test', type: 16, class: 1, ttl: 60, data: { type: 'TXT', strings: ['EXAMPLE.TEST'] } },
        {
          name: '_kerberos.example.test',
          type: 256,
          class: 1,
          ttl: 60,
          data: { type: 'URI', priority: 1, weight: 1, target: 'krb5srv:m:udp:kdc.example.test' },
        },
        { name: '1.0.0.127.in-addr.arpa', type: 12, class: 1, ttl: 60, data: { type: 'PTR', target: 'kdc.example.test' } },
      ],
      authorities: [],
      additionals: [],
    }),
  ];
  add(
    bytesTarget(
      'dns.message',
      'decodeMessage (RFC 1035 with compression, SRV/URI/TXT/A/AAAA/PTR)',
      dnsSeeds,
      [DnsFormatError],
      (b) => {
        decodeMessage(b);
      },
      512,
    ),
  );
  add(
    textTarget(
      'resolv.conf',
      'parseResolvConf',
      [
        'nameserver 127.0.0.1\nnameserver ::1\nsearch example.test other.test\noptions ndots:2 timeout:1 attempts:3 rotate edns0 use-vc\n',
        'domain example.test\n# c\n; c\nnameserver 10.0.0.1 # x\noptions ndots:99 timeout:0\n',
      ],
      [
        'nameserver ',
        'search ',
        'domain ',
        'options ',
        'ndots:',
        'timeout:',
        'attempts:',
        'rotate',
        'use-vc',
        '\n',
        ' ',
        '\t',
        '#',
        '-1',
        '999999999999',
        '::',
        'fe80::1%lo',
      ],
      [],
      (t) => {
        parseResolvConf(t, 'host.example.test');
      },
    ),
  );
  add(
    textTarget(
      'hosts',
      'parseHostsFile + hostsLookup + hostsReverse',
      ['127.0.0.1 localhost\n::1 localhost ip6-localhost\n127.0.1.1 kdc.example.test kdc # c\n192.0.2.5\tfs1.example.test fs1\n'],
      ['127.0.0.1', '::1', '::ffff:127.0.0.1', ' ', '\t', '\n', '#', 'kdc', '.example.test', '1.2.3', '0x7f.1', 'fe80::1%eth0'],
      [],
      (t) => {
        const entries = parseHostsFile(t);
        hostsLookup(entries, 'kdc.example.test');
        hostsLookup(entries, 'localhost', 6);
        hostsReverse(entries, parseIpAddress('127.0.0.1')!);
      },
    ),
  );

  // -- /proc
  add(
    bytesTarget(
      'proc.environ',
      'findEnvironValue (first non-empty KRB5CCNAME=)',
      [Buffer.from('HOME=/root\0KRB5CCNAME=FILE:/tmp/krb5cc_1000\0PATH=/bin\0'), Buffer.from('KRB5CCNAME=\0KRB5CCNAME=KCM:\0')],
      [],
      (b) => {
        findEnvironValue(b, 'KRB5CCNAME');
      },
    ),
  );
  add({
    name: 'proc.stat',
    subject: 'parseProcessStat with any 1–15-byte comm (the caller chooses its comm)',
    input: fc.tuple(
      fc.string({ unit: 'binary', minLength: 1, maxLength: 15 }).filter((c) => !c.includes('\0')),
      fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
      fc.integer({ min: 1, max: 4194304 }),
    ),
    run: ([comm, start, pid]) => {
      const line = `${pid} (${comm}) S 1 ${pid} ${pid} 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 ${start} 12345 678 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n`;
      const s = parseProcessStat(line);
      if (s.comm !== comm || s.startTime !== start || s.pid !== pid || s.ppid !== 1) {
        throw new Error(`parseProcessStat misread ${JSON.stringify(line)}: ${JSON.stringify({ ...s, startTime: String(s.startTime) })}`);
      }
    },
    expected: [],
    show: ([comm, start, pid]) => JSON.stringify({ comm, start: String(start), pid }),
    seeds: [
      ['bash', 12345n, 42],
      [') S 1 (x', 1n, 7],
      ['a b) c', (1n << 64n) - 1n, 4194304],
    ],
  });

  cached = targets;
  return targets;
}
