// GssproxySource against scripted stand-ins (test/harness/gssproxy/gssproxy-fakes.ts): the exact request
// shape (target cifs@<host> hostbased, mech = krb5 OID, req_flags 0, no context/cb/token, the
// uid-name credential echoed byte for byte), the naming choice, and the mapping of every failure
// layer to a CredentialError kind with a message that says what to check. The replies are the
// captured ones (gssproxy-test-vectors.json) with the xid of the call.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { CredentialError, type CredentialRequest } from '../../../src/credentials.ts';
import { CredUsage, Oid, OptionName, OptionValue, Proc } from '../../../src/gssproxy/constants.ts';
import {
  decodeArgAcquireCred,
  decodeArgInitSecContext,
  decodeCtx,
  decodeResInitSecContext,
  encodeResAcquireCred,
  encodeResInitSecContext,
  type GssxCred,
  type GssxCtx,
} from '../../../src/gssproxy/protocol.ts';
import { decodeReply } from '../../../src/gssproxy/rpc.ts';
import { GssproxySource, type GssproxySourceOptions } from '../../../src/gssproxy/source.ts';
import { GssRoutine, KRB5_TABLE_BASE } from '../../../src/gssproxy/status.ts';
import { XdrReader, XdrWriter } from '../../../src/gssproxy/xdr.ts';
import { MemoryTrace } from '../../../src/trace.ts';
import {
  acceptedReply,
  makeDeadSocket,
  socketDir,
  startClosingGssproxy,
  startFakeGssproxy,
  startGarbageGssproxy,
  startHungGssproxy,
  successReply,
  type FakeGssproxy,
  type SeenCall,
} from '../../harness/gssproxy/gssproxy-fakes.ts';
import { vector } from './vectors.ts';

const { dir, cleanup } = socketDir();
afterAll(cleanup);
let servers: FakeGssproxy[] = [];
let n = 0;
const path = (): string => join(dir, `src${n++}.sock`);
async function serve(p: Promise<FakeGssproxy>): Promise<FakeGssproxy> {
  const s = await p;
  servers.push(s);
  return s;
}
afterEach(async () => {
  for (const s of servers) await s.close();
  servers = [];
});

function request(uid = 2001, signal = AbortSignal.timeout(10_000)): CredentialRequest & { trace: MemoryTrace } {
  return {
    host: 'fs1.example.com',
    isMountSession: false,
    identity: { uid, gid: 100, username: 'alice' },
    signal,
    trace: new MemoryTrace(),
  };
}

function source(socketPath: string, options: Partial<GssproxySourceOptions> = {}): GssproxySource {
  return new GssproxySource({ socketPath, effectiveUid: () => 2001, callTimeoutMs: 1000, ...options });
}

/** The captured INIT_SEC_CONTEXT results (xid-free part of init_reply_minimal_example). */
function capturedInitResults(): Buffer {
  return vector('init_reply_minimal_example').hex('body_hex').subarray(24);
}

function capturedContext(): { ctx: GssxCtx; token: Buffer } {
  const reply = decodeReply(vector('init_reply_minimal_example').hex('body_hex'));
  if (!reply.ok) throw new Error('vector is not SUCCESS');
  const res = decodeResInitSecContext(reply.results);
  return { ctx: res.contextHandle!, token: res.outputToken! };
}

function initResults(
  status: { majorStatus: number; minorStatus?: number; minorStatusString?: Buffer },
  ctx: GssxCtx | null,
  token: Buffer | null,
): Buffer {
  const w = new XdrWriter();
  encodeResInitSecContext(w, { status: { mech: Oid.KRB5, ...status }, contextHandle: ctx, outputToken: token });
  return Buffer.from(w.finish());
}

async function failure(p: Promise<unknown>): Promise<CredentialError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(CredentialError);
    return e as CredentialError;
  }
  throw new Error('expected a CredentialError');
}

describe('the request gssproxy receives', () => {
  it('euid naming: one INIT_SEC_CONTEXT, cifs@<host> hostbased, krb5 OID exactly, req_flags 0, nothing else', async () => {
    const s = await serve(startFakeGssproxy(path(), (call, conn) => conn.write(successReply(call.xid, capturedInitResults()))));
    const req = request();
    const token = await source(s.path, { naming: 'euid' }).acquire(req);
    expect(s.calls.map((c) => c.proc)).toEqual([Proc.INIT_SEC_CONTEXT]);
    const r = new XdrReader(s.calls[0]!.args);
    const arg = decodeArgInitSecContext(r);
    r.done();
    expect(arg.targetName.displayName.toString('latin1')).toBe('cifs@fs1.example.com'); // no NUL
    expect(arg.targetName.nameType).toEqual(Oid.NT_HOSTBASED_SERVICE);
    expect(arg.mechType).toEqual(Oid.KRB5);
    expect(arg.reqFlags).toBe(0n);
    expect(arg.timeReq).toBe(0n);
    expect(arg.contextHandle).toBeNull();
    expect(arg.credHandle).toBeNull();
    expect(arg.inputCb).toBeNull();
    expect(arg.inputToken).toBeNull();
    expect(arg.options).toEqual([]);
    expect(arg.callCtx?.options).toEqual([]);
    // what comes back: the daemon's token untouched, the subkey of the exported context
    const { ctx, token: captured } = capturedContext();
    expect(token.gssToken).toEqual(captured);
    expect(token.clientPrincipal).toBe('host/client.example.com@EXAMPLE.COM');
    expect(token.servicePrincipal).toBe('cifs/fs1.example.com@EXAMPLE.COM');
    expect(token.enctype).toBe(18);
    expect(token.sessionKey.length).toBe(32);
    // independently: the 32 bytes after the first "KV5M_KEYBLOCK, enctype 18, length 32" header
    const header = Buffer.from('970ea7030000001200000020', 'hex');
    const at = ctx.exportedContextToken.indexOf(header);
    expect(at).toBeGreaterThan(0);
    expect(token.sessionKey).toEqual(ctx.exportedContextToken.subarray(at + 12, at + 44));
    expect(token.gssproxy).toMatchObject({ naming: 'euid', rpcs: 1, keyFrom: 'subkey' });
  });

  it('uid-name naming: ACQUIRE_CRED for "<uid>\\0" as STRING_UID, then INIT with that credential byte for byte', async () => {
    const credXdr = (() => {
      const w = new XdrWriter();
      const cred: GssxCred = {
        desiredName: {
          displayName: Buffer.from('alice@EXAMPLE.COM'),
          nameType: Oid.KRB5_NT_PRINCIPAL_NAME,
          exportedName: Buffer.alloc(0),
          exportedCompositeName: Buffer.alloc(0),
          nameAttributes: [],
          extensions: [],
        },
        elements: [],
        credHandleReference: Buffer.from('opaque-encrypted-handle'),
        needsRelease: false,
      };
      encodeResAcquireCred(w, { status: {}, outputCredHandle: cred });
      return Buffer.from(w.finish());
    })();
    const s = await serve(
      startFakeGssproxy(path(), (call: SeenCall, conn) => {
        conn.write(successReply(call.xid, call.proc === Proc.ACQUIRE_CRED ? credXdr : capturedInitResults()));
      }),
    );
    const token = await source(s.path, { effectiveUid: () => 0 }).acquire(request(2001));
    expect(s.calls.map((c) => c.proc)).toEqual([Proc.ACQUIRE_CRED, Proc.INIT_SEC_CONTEXT]);
    expect(s.connections).toBe(1);
    const acq = decodeArgAcquireCred(new XdrReader(s.calls[0]!.args));
    expect(acq.desiredName!.displayName).toEqual(Buffer.from('2001\0', 'latin1'));
    expect(acq.desiredName!.nameType).toEqual(Oid.NT_STRING_UID_NAME);
    expect(acq.desiredMechs).toEqual([Oid.KRB5]);
    expect(acq.credUsage).toBe(CredUsage.INITIATE);
    expect(acq.inputCredHandle).toBeNull();
    const init = decodeArgInitSecContext(new XdrReader(s.calls[1]!.args));
    expect(init.credHandle!.raw).toEqual(credXdr.subarray(36 + 4, credXdr.length - 4));
    expect(init.reqFlags).toBe(0n);
    expect(token.gssproxy).toMatchObject({ naming: 'uid-name', rpcs: 2 });
  });

  it('lucid export: asks with the NUL-terminated option and takes the key from the lucid buffer', async () => {
    const lucid = vector('lucid_v1_established');
    const { ctx } = capturedContext();
    const lucidCtx: GssxCtx = { ...ctx, raw: undefined, exportedContextToken: lucid.hex('exported_context_token_hex') };
    const s = await serve(
      startFakeGssproxy(path(), (call, conn) =>
        conn.write(successReply(call.xid, initResults({ majorStatus: 0 }, lucidCtx, lucid.hex('output_token_hex')))),
      ),
    );
    const token = await source(s.path, { contextExport: 'lucid' }).acquire(request());
    const arg = decodeArgInitSecContext(new XdrReader(s.calls[0]!.args));
    expect(arg.callCtx!.options).toEqual([{ option: OptionName.EXPORTED_CONTEXT_TYPE, value: OptionValue.LINUX_LUCID_V1 }]);
    expect(token.sessionKey.toString('hex')).toBe(lucid.get<string>('acceptor_sspi_session_key_hex'));
    expect(token.gssproxy.keyFrom).toBe('lucid');
  });

  it('lucid asked but the daemon sent the default export: the MIT parser takes over', async () => {
    const s = await serve(startFakeGssproxy(path(), (call, conn) => conn.write(successReply(call.xid, capturedInitResults()))));
    const token = await source(s.path, { contextExport: 'lucid' }).acquire(request());
    expect(token.gssproxy.keyFrom).toBe('subkey');
  });
});

describe('naming', () => {
  it('auto: root asking for another uid names it; anyone else connects as themselves', () => {
    expect(source('/x', { effectiveUid: () => 0 }).chooseNaming(2001).naming).toBe('uid-name');
    expect(source('/x', { effectiveUid: () => 0 }).chooseNaming(0).naming).toBe('euid');
    expect(source('/x', { effectiveUid: () => 2001 }).chooseNaming(2001).naming).toBe('euid');
    expect(source('/x', { naming: 'uid-name', effectiveUid: () => 2001 }).chooseNaming(2001).naming).toBe('uid-name');
  });

  it('euid naming from the wrong euid is refused before anything is sent (the daemon would answer for that euid)', async () => {
    const s = await serve(startHungGssproxy(path()));
    const e = await failure(source(s.path, { naming: 'euid', effectiveUid: () => 0 }).acquire(request(2001)));
    expect(e.kind).toBe('config');
    expect(e.message).toMatch(/needs the process to run as uid 2001, but its euid is 0/);
    expect(s.connections).toBe(0);
  });
});

describe('failures → CredentialError kinds', () => {
  it('no gssproxy running (socket without listener) → unreachable, connection refused', async () => {
    const p = path();
    makeDeadSocket(p);
    const e = await failure(source(p).acquire(request()));
    expect(e.kind).toBe('unreachable');
    expect(e.message).toMatch(/connection refused on .*gssproxy is not running/);
    expect(e.source).toBe('gssproxy');
  });

  it('no socket at all → unreachable, ENOENT', async () => {
    const e = await failure(source(join(dir, 'nothing-here.sock')).acquire(request()));
    expect(e.kind).toBe('unreachable');
    expect(e.message).toMatch(/no gssproxy socket at .*ENOENT/);
  });

  it('a hung gssproxy → unreachable after the per-call timeout', async () => {
    const s = await serve(startHungGssproxy(path()));
    const t0 = performance.now();
    const e = await failure(source(s.path, { callTimeoutMs: 300 }).acquire(request()));
    expect(e.kind).toBe('unreachable');
    expect(e.message).toMatch(/no reply from gssproxy .* within 300 ms/);
    expect(performance.now() - t0).toBeLessThan(2000);
  });

  it('the upcall budget (request signal) ends a hung call', async () => {
    const s = await serve(startHungGssproxy(path()));
    const e = await failure(source(s.path, { callTimeoutMs: 60_000 }).acquire(request(2001, AbortSignal.timeout(150))));
    expect(e.kind).toBe('unreachable');
    expect(e.message).toMatch(/aborted/);
  });

  it('connection closed without a reply on every connection → no service matches uid U on socket S', async () => {
    const s = await serve(startClosingGssproxy(path()));
    const req = request();
    const e = await failure(source(s.path).acquire(req));
    expect(e.kind).toBe('no-credentials');
    expect(e.message).toContain(`no gssproxy service matches uid 2001 on socket ${s.path}`);
    // the probe was a GET_CALL_CONTEXT on a second connection
    expect(s.calls.map((c) => c.proc)).toEqual([Proc.INIT_SEC_CONTEXT, Proc.GET_CALL_CONTEXT]);
    expect(req.trace.messages('gssproxy').some((m) => m.includes('GET_CALL_CONTEXT probe'))).toBe(true);
  });

  it('closed on INIT although a service matches (probe answered) → unreachable, "did it crash?"', async () => {
    const s = await serve(
      startFakeGssproxy(path(), (call, conn) => {
        if (call.proc === Proc.GET_CALL_CONTEXT) conn.write(successReply(call.xid, Buffer.alloc(44)));
        else conn.end();
      }),
    );
    const e = await failure(source(s.path).acquire(request()));
    expect(e.kind).toBe('unreachable');
    expect(e.message).toMatch(/closed the connection while handling GSSX_INIT_SEC_CONTEXT although a service matches .* crash/);
  });

  it('garbage → protocol', async () => {
    const s = await serve(startGarbageGssproxy(path(), Buffer.from('SSH-2.0-OpenSSH_9.2\r\n')));
    const e = await failure(source(s.path).acquire(request()));
    expect(e.kind).toBe('protocol');
    expect(e.message).toMatch(/^garbage from gssproxy/);
  });

  it('RPC SYSTEM_ERR → config, "gssproxy internal error — check its log"', async () => {
    const s = await serve(
      startFakeGssproxy(path(), (call, conn) => {
        const r = acceptedReply(call.xid, 5);
        conn.write(r);
      }),
    );
    const e = await failure(source(s.path).acquire(request()));
    expect(e.kind).toBe('config');
    expect(e.message).toMatch(/^gssproxy internal error — check its log/);
  });

  it("GSS NO_CRED → no-credentials; the KDC's reason → refused with that reason", async () => {
    const statuses = [
      {
        majorStatus: GssRoutine.NO_CRED,
        minorStatus: KRB5_TABLE_BASE + 195,
        minorStatusString: Buffer.from('No credentials cache found\0'),
      },
      {
        majorStatus: GssRoutine.FAILURE,
        minorStatus: KRB5_TABLE_BASE + 13,
        minorStatusString: Buffer.from("KDC can't fulfill requested option\0"),
      },
      {
        majorStatus: GssRoutine.FAILURE,
        minorStatus: KRB5_TABLE_BASE + 7,
        minorStatusString: Buffer.from('Server cifs/fs1.example.com@EXAMPLE.COM not found in Kerberos database\0'),
      },
    ];
    const s = await serve(
      startFakeGssproxy(path(), (call, conn) => conn.write(successReply(call.xid, initResults(statuses.shift()!, null, null)))),
    );
    const src = source(s.path);
    const e1 = await failure(src.acquire(request()));
    expect(e1.kind).toBe('no-credentials');
    const r2 = request();
    const e2 = await failure(src.acquire(r2));
    expect(e2.kind).toBe('refused');
    expect(e2.message).toMatch(/^KDC can't fulfill requested option — constrained delegation refused/);
    // the GSS major/minor detail goes to the trace, once, not into the cause a user reads
    expect(e2.message).not.toContain('minor 0x');
    expect(r2.trace.messages('gssproxy').filter((m) => m.includes('minor 0x96c73a0d'))).toHaveLength(1);
    const e3 = await failure(src.acquire(request()));
    expect(e3.kind).toBe('service-unknown');
    expect(e3.message).toMatch(/^Server cifs\/fs1.example.com@EXAMPLE.COM not found in Kerberos database/);
  });

  it('CONTINUE_NEEDED (a service enforcing MUTUAL_AUTH) → config: the kernel cannot finish it', async () => {
    const partial = vector('partial_export_mutual_pending');
    const { ctx, token } = capturedContext();
    const pctx: GssxCtx = { ...ctx, raw: undefined, exportedContextToken: partial.hex('exported_context_token_hex'), open: false };
    const s = await serve(
      startFakeGssproxy(path(), (call, conn) => conn.write(successReply(call.xid, initResults({ majorStatus: 1 }, pctx, token)))),
    );
    const e = await failure(source(s.path).acquire(request()));
    expect(e.kind).toBe('config');
    expect(e.message).toMatch(/CONTINUE_NEEDED.*MUTUAL_AUTH/);
  });

  it('a completed context without an output token, or a token that is not a krb5 token → protocol', async () => {
    const { ctx } = capturedContext();
    const bare: GssxCtx = { ...ctx, raw: undefined };
    const replies = [initResults({ majorStatus: 0 }, bare, null), initResults({ majorStatus: 0 }, bare, Buffer.from('a0030201', 'hex'))];
    const s = await serve(startFakeGssproxy(path(), (call, conn) => conn.write(successReply(call.xid, replies.shift()!))));
    const e1 = await failure(source(s.path).acquire(request()));
    expect(e1.kind).toBe('protocol');
    expect(e1.message).toMatch(/without an output token/);
    const e2 = await failure(source(s.path).acquire(request()));
    expect(e2.message).toMatch(/not an RFC 2743 krb5 token/);
  });

  it('a context whose export cannot be parsed → protocol', async () => {
    const { ctx, token } = capturedContext();
    const broken: GssxCtx = { ...ctx, raw: undefined, exportedContextToken: ctx.exportedContextToken.subarray(0, 60) };
    const s = await serve(
      startFakeGssproxy(path(), (call, conn) => conn.write(successReply(call.xid, initResults({ majorStatus: 0 }, broken, token)))),
    );
    const e = await failure(source(s.path).acquire(request()));
    expect(e.kind).toBe('protocol');
    expect(e.message).toMatch(/MIT exported context/);
  });
});

describe('the captured context decodes the same with or without its raw copy', () => {
  it('decodeCtx of the raw bytes', () => {
    const { ctx } = capturedContext();
    const again = decodeCtx(new XdrReader(ctx.raw!));
    expect(again.exportedContextToken).toEqual(ctx.exportedContextToken);
  });
});

describe('host names', () => {
  it('a host that would change the meaning of cifs@<host> is refused before connecting', async () => {
    for (const host of ['', 'a@b', 'fs1/x', 'fs1 x', 'fs1\0']) {
      const e = await failure(source('/nonexistent.sock').acquire({ ...request(), host }));
      expect(e.kind).toBe('config');
      expect(e.message).toMatch(/cannot name the service/);
    }
  });
});
