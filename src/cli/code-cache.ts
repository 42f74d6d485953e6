// `cifs-upcall --train-code-cache`: the V8 code cache of the production bundle, trained on the
// upcall's own paths (docs/performance.md#the-trained-code-cache).
//
// V8 compiles a function the first time it runs. A code cache made right after compiling the
// bundle holds only its top level; one made with every function compiled (--no-lazy) holds all of
// them and costs every start the deserialisation of code no upcall runs (doctor, installer
// checks, DNS, KCM, …). This cache is made after the upcall's code has run: the three paths an
// upcall takes are driven through the real pipeline, in this process, against a world made up
// here — a FILE cache with a service ticket (path a), one with a TGT only and a KDC answering
// on loopback (path b), and no ticket at all with a gssproxy on a private socket (path c) — then
// V8 serialises every function compiled so far.
//
// Only trusted code and synthetic inputs run before the cache is written: the cache is made by
// root (or the owner of a build directory) in this one command, never by an upcall. An upcall
// runs user-controlled parsers after it dropped to the user, so a cache written by an upcall
// could carry bytecode a crafted credential cache had steered; V8 does not verify bytecode.
//
// The loader (scripts/build.mjs) passes the bundle's hash and a createCachedData() of the
// compiled script through LOADER_KEY; it reads the file only when it is owned by the reader or
// root, in a directory no one else can write, names this bundle's hash, and V8 then checks its
// own version and flags.
import { createSocket } from 'node:dgram';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import {
  chownSync,
  closeSync,
  constants,
  fsyncSync,
  mkdtempSync,
  openSync,
  renameSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { KeyUsage } from '../krb5/iana/key-usage.ts';
import { TicketFlags } from '../krb5/iana/flags.ts';
import { encryptionType } from '../krb5/crypto/index.ts';
import { encodeFileCcache } from '../krb5/ccache/marshal.ts';
import type { Credential, Principal } from '../krb5/ccache/model.ts';
import { decodeApReq, decodeAuthenticator, decodeTgsReq, encodeEncKdcRepPart, encodeTgsRep, encodeTicket } from '../krb5/messages/index.ts';
import { ApplicationTag } from '../krb5/iana/message-type.ts';
import { encodeResAcquireCred, encodeResInitSecContext } from '../gssproxy/protocol.ts';
import { Proc as GssxProc } from '../gssproxy/constants.ts';
import { XdrWriter } from '../gssproxy/xdr.ts';
import { ReplayKey } from '../kernel/key.ts';
import { native } from '../os/native.ts';
import { readProcessStat } from '../os/proc.ts';
import type { UpcallLog } from '../os/syslog.ts';
import { resolveSettings, NO_CONFIG } from '../pipeline/config.ts';
import { hostSystem, type UpcallSystem } from '../pipeline/system.ts';
import { runUpcall } from '../pipeline/upcall.ts';
import { parseCommandLine, type RunOptions } from './options.ts';
import { productionPreparer } from './sources.ts';
import { DeferredTrace } from './trace-sink.ts';
import { CODE_CACHE_MAGIC, type CodeCacheHeader } from './code-cache-file.ts';

/** What the loader hands the bundle (scripts/build.mjs loaderSource). */
export interface BundleLoader {
  /** SHA-256 of the bundle file, hex, computed by the build */
  bundleHash: string;
  /** where the loader looks for the cache */
  cachePath: string;
  /** what became of the cache at this start */
  codeCache: 'none' | 'rejected by V8' | 'accepted';
  /** V8's serialisation of the bundle's script: every function compiled so far */
  createCachedData(): Buffer;
}

export const LOADER_KEY = Symbol.for('cifs-upcall.loader');

export function bundleLoader(): BundleLoader | undefined {
  return (globalThis as { [LOADER_KEY]?: BundleLoader })[LOADER_KEY];
}

const REALM = 'TRAINING.INVALID';
const HOST = 'fs.training.invalid';
const AES256 = 18;
/** RFC 2744's GSS_S_FAILURE routine error (13 << 16) */
const GSS_S_FAILURE = 13 << 16;
/** Debian's nobody */
const NOBODY = 65534;
const SILENT_LOG: UpcallLog = { error() {}, warning() {}, info() {}, debug() {} };

function principal(realm: string, nameType: number, ...components: string[]): Principal {
  return { nameType, components, realm };
}

/** A ticket as a client sees one: server name and an enc-part it cannot (and need not) read. */
function opaqueTicket(server: Principal): Buffer {
  const serviceKey = encryptionType(AES256).randomKey();
  return encodeTicket({
    server,
    encPart: { etype: AES256, kvno: 2, cipher: encryptionType(AES256).encrypt(serviceKey, KeyUsage.KDC_REP_TICKET, serviceKey) },
  });
}

function credential(client: Principal, server: Principal, now: number): Credential {
  return {
    client,
    server,
    key: { enctype: AES256, value: encryptionType(AES256).randomKey() },
    authTime: now - 60,
    startTime: now - 60,
    endTime: now + 36_000,
    renewTill: 0,
    isSkey: false,
    flags: TicketFlags.FORWARDABLE | TicketFlags.PRE_AUTHENT,
    addresses: [],
    authData: [],
    ticket: opaqueTicket(server),
    secondTicket: Buffer.alloc(0),
  };
}

/** A KDC on loopback UDP that answers TGS-REQs for cifs/HOST with the TGT's client. */
async function trainingKdc(tgt: Credential): Promise<{ port: number; close(): void }> {
  const socket = createSocket('udp4');
  socket.on('message', (msg, from) => {
    try {
      const req = decodeTgsReq(msg);
      const apReq = decodeApReq(req.padata.find((p) => p.padataType === 1)!.padataValue);
      const profile = encryptionType(AES256);
      const authenticator = decodeAuthenticator(
        profile.decrypt(tgt.key.value, KeyUsage.TGS_REQ_PA_AUTHENTICATOR, apReq.authenticator.cipher),
      );
      const subkey = authenticator.subkey!;
      const now = new Date();
      const server = { nameType: 3, components: ['cifs', HOST], realm: REALM };
      const part = encodeEncKdcRepPart({
        tag: ApplicationTag.ENC_TGS_REP_PART,
        key: { keytype: AES256, keyvalue: profile.randomKey() },
        lastReq: [{ lrType: 0, lrValue: now }],
        nonce: req.reqBody.nonce,
        flags: TicketFlags.FORWARDABLE | TicketFlags.PRE_AUTHENT,
        authtime: now,
        starttime: now,
        endtime: new Date(now.getTime() + 36_000_000),
        server,
      });
      const reply = encodeTgsRep({
        client: { nameType: 1, components: tgt.client.components, realm: REALM },
        ticket: {
          server,
          encPart: { etype: AES256, kvno: 2, cipher: profile.encrypt(profile.randomKey(), KeyUsage.KDC_REP_TICKET, part) },
        },
        encPart: { etype: AES256, cipher: profile.encrypt(subkey.keyvalue, KeyUsage.TGS_REP_ENC_PART_SUBKEY, part) },
      });
      socket.send(reply, from.port, from.address);
    } catch {
      /* an unexpected request: the client times out, which trains that path instead */
    }
  });
  await new Promise<void>((ok) => socket.bind(0, '127.0.0.1', ok));
  return { port: socket.address().port, close: () => socket.close() };
}

/** A gssproxy on a private socket that answers every call with GSS_S_FAILURE (its status path). */
async function trainingGssproxy(path: string): Promise<{ close(): void }> {
  const server = createServer((conn) => {
    conn.on('data', (chunk: Buffer) => {
      if (chunk.length < 8) return;
      const w = new XdrWriter();
      const status = { majorStatus: GSS_S_FAILURE, minorStatus: 0, majorStatusString: Buffer.from('training') };
      // the procedure number: after the record mark, xid, message type, RPC, program and version
      if (chunk.readUInt32BE(24) === GssxProc.ACQUIRE_CRED) encodeResAcquireCred(w, { status, outputCredHandle: null });
      else encodeResInitSecContext(w, { status, contextHandle: null, outputToken: null });
      const body = w.finish();
      const head = Buffer.alloc(28);
      head.writeUInt32BE((0x8000_0000 | (24 + body.length)) >>> 0, 0);
      chunk.copy(head, 4, 4, 8); // the call's xid
      head.writeUInt32BE(1, 8); // REPLY
      // MSG_ACCEPTED (0), verifier AUTH_NONE with no body (0, 0), SUCCESS (0)
      conn.end(Buffer.concat([head, body]));
    });
  });
  await new Promise<void>((ok) => server.listen(path, ok));
  return { close: () => server.close() };
}

/** The pipeline with the host's /proc and passwd, but no privilege change: this process goes on. */
function trainingSystem(reference: number): UpcallSystem {
  return {
    ...hostSystem,
    // unarmed: caller reads "before the drop" are what training does
    armPhaseGuards() {},
    referenceStartTime: () => {
      const stat = readProcessStat(reference);
      if (!stat) throw new Error(`training: process ${reference} is gone`);
      return { startTime: stat.startTime, source: `training process ${reference}` };
    },
    dropPrivileges: (target) => {
      const addon = native();
      const caps = addon.capget();
      return {
        uid: target.uid,
        gid: target.gid,
        ...addon.getresids(),
        groups: addon.getgroups(),
        ...caps,
        bounding: 0n,
        boundingTrimmed: false,
        noNewPrivs: false,
      };
    },
  };
}

/** One upcall through the real pipeline; the outcome is not the point, the code it runs is. */
async function trainOn(argv: string[], reference: number): Promise<string> {
  const command = parseCommandLine(argv) as RunOptions;
  const trace = new DeferredTrace();
  const outcome = await runUpcall(
    {
      keyType: command.keyType,
      legacyUid: false,
      replay: true,
      settings: resolveSettings(NO_CONFIG, { host: '' }, command.settings),
    },
    {
      key: new ReplayKey(command.replayKey!),
      trace,
      log: SILENT_LOG,
      prepare: productionPreparer(command),
      system: trainingSystem(reference),
    },
  );
  trace.finish(outcome.ok ? 0 : 1);
  return outcome.ok
    ? `payload of ${outcome.payload.length} bytes from ${outcome.source}`
    : `failed (${outcome.error.kind}): ${outcome.error.message}`;
}

/**
 * Drive the three paths, then write the cache beside the bundle (0600, replaced atomically).
 * Returns the exit status; `say` prints one line of progress.
 */
export async function trainCodeCache(say: (line: string) => void): Promise<number> {
  const loader = bundleLoader();
  if (!loader) {
    say('--train-code-cache: only the built bundle (dist/cifs-upcall.cjs or its installed copy) has a code cache to train');
    return 1;
  }
  const dir = dirname(loader.cachePath);
  const owner = statSync(dir).uid;
  if (owner !== process.geteuid?.()) {
    say(
      `--train-code-cache: ${dir} belongs to uid ${owner}; only its owner may write the code cache there (run as root for /usr/lib/cifs-upcall)`,
    );
    return 1;
  }
  // the credential user: root never reads KRB5CCNAME from its caller, so root trains as nobody
  // (the upcall paths of an ordinary user); the files stay ours, the privilege drop is not done
  const euid = process.geteuid!();
  const user = (euid === 0 ? native().getpwuid(NOBODY) : null) ?? native().getpwuid(euid);
  if (!user) {
    say(`--train-code-cache: uid ${euid} has no passwd entry to train with`);
    return 1;
  }
  const uid = user.uid;
  const work = mkdtempSync(join(tmpdir(), 'cifs-upcall-train-'));
  const apps: Array<ReturnType<typeof spawn>> = [];
  const closers: Array<() => void> = [];
  const trained: string[] = [];
  try {
    const now = Math.floor(Date.now() / 1000);
    const client = principal(REALM, 1, user.name);
    const tgt = credential(client, principal(REALM, 2, 'krbtgt', REALM), now);
    const service = credential(client, principal(REALM, 3, 'cifs', HOST), now);
    const kdc = await trainingKdc(tgt);
    closers.push(kdc.close);
    const gssproxySocket = join(work, 'gssproxy.sock');
    closers.push((await trainingGssproxy(gssproxySocket)).close);
    const krb5Conf = join(work, 'krb5.conf');
    writeFileSync(
      krb5Conf,
      `[libdefaults]\n default_realm = ${REALM}\n dns_lookup_kdc = false\n dns_lookup_realm = false\n rdns = false\n dns_canonicalize_hostname = false\n` +
        `[realms]\n ${REALM} = {\n  kdc = 127.0.0.1:${kdc.port}\n }\n[domain_realm]\n .training.invalid = ${REALM}\n`,
    );
    const config = join(work, 'cifs-upcall.conf');
    writeFileSync(config, `[global]\nstrategy = local-first\nkeytab_fallback = never\ngssproxy_socket = ${gssproxySocket}\n`);
    const paths: Array<[string, string, Credential[] | null]> = [
      ['a: FILE cache with a service ticket', 'a', [tgt, service]],
      ['b: TGT only, one TGS exchange', 'b', [tgt]],
      ['c: no ticket, gssproxy', 'c', null],
    ];
    for (const [label, tag, credentials] of paths) {
      const cache = join(work, `krb5cc_${tag}`);
      if (credentials) {
        writeFileSync(cache, encodeFileCcache({ principal: client, credentials }), { mode: 0o600 });
        if (uid !== euid) chownSync(cache, uid, user.gid); // the user's own cache, as the upcall requires
      }
      // the "application": a process whose environment names the cache, as the kernel's caller
      const app = spawn('/bin/sleep', ['30'], { env: { KRB5CCNAME: `FILE:${cache}` }, stdio: 'ignore' });
      apps.push(app);
      const pid = app.pid!;
      await new Promise((ok) => setTimeout(ok, 20)); // exec'd: its /proc/<pid>/environ is the new one
      const hex = (n: number) => `0x${n.toString(16)}`;
      const description = `ver=0x2;host=${HOST};ip4=127.0.0.1;sec=krb5;uid=${hex(uid)};creduid=${hex(uid)};user=root;pid=${hex(pid)};upcall_target=app`;
      trained.push(`${label}: ${await trainOn(['--replay', description, '--config', config, '-k', krb5Conf], pid)}`);
    }
  } finally {
    for (const app of apps) app.kill('SIGKILL');
    for (const close of closers) close();
    rmSync(work, { recursive: true, force: true });
  }
  const data = loader.createCachedData();
  const header: CodeCacheHeader = {
    bundle: loader.bundleHash,
    node: process.version,
    v8: process.versions.v8,
    bytes: data.length,
    trainedOn: trained,
  };
  const temp = `${loader.cachePath}.${process.pid}.tmp`;
  const fd = openSync(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  try {
    writeSync(fd, `${CODE_CACHE_MAGIC}${JSON.stringify(header)}\n`);
    writeSync(fd, data);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    unlinkSync(temp);
    throw e;
  }
  closeSync(fd);
  renameSync(temp, loader.cachePath);
  for (const t of trained) say(`trained: ${t}`);
  say(`code cache: ${(data.length / 1024).toFixed(0)} KiB written to ${loader.cachePath} (node ${process.version})`);
  return 0;
}
