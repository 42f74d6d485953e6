// The other procedures and the RPC layer against the real gssproxy 0.9.1
// (docs/gssproxy-protocol.md#server-reactions, #procedures-used): GET_CALL_CONTEXT as a probe, INDICATE_MECHS,
// IMPORT_AND_CANON_NAME (canonicalization and localname), RELEASE_HANDLE (always UNAVAILABLE:
// the daemon is stateless), and how the daemon answers malformed calls. Requests that would
// crash the shared daemon (INIT_SEC_CONTEXT without target) are never sent.
import { afterAll, describe, expect, inject, it } from 'vitest';
import { connect } from 'node:net';
import { GssproxyClient, probeGssproxy } from '../../src/gssproxy/client.ts';
import { CredUsage, GSSPROXY_PROGRAM, HandleType, Oid, OptionName, oidToDotted } from '../../src/gssproxy/constants.ts';
import { GssproxyRpcError } from '../../src/gssproxy/errors.ts';
import { hostbasedServiceName, stringUidName } from '../../src/gssproxy/protocol.ts';
import { RecordAssembler, decodeReply } from '../../src/gssproxy/rpc.ts';
import { GssRoutine, renderStatus } from '../../src/gssproxy/status.ts';
import { XdrWriter } from '../../src/gssproxy/xdr.ts';

const env = inject('realm');
const client = new GssproxyClient({ socketPath: env.gssproxy.socket, timeoutMs: 10_000 });
afterAll(() => client.close());

/** Send hand-built bytes on a fresh connection; resolve with the reply body or "closed". */
function rawExchange(bytes: Buffer): Promise<Buffer | 'closed'> {
  return new Promise((resolve, reject) => {
    const s = connect({ path: env.gssproxy.socket });
    const a = new RecordAssembler();
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error('no answer within 5 s'));
    }, 5000);
    s.on('data', (d: Buffer) => {
      const r = a.push(d);
      if (r.length) {
        clearTimeout(timer);
        s.destroy();
        resolve(r[0]!);
      }
    });
    s.on('close', () => {
      clearTimeout(timer);
      resolve('closed');
    });
    s.on('error', () => undefined);
    s.write(bytes);
  });
}

function rawCall(header: { rpcvers?: number; prog?: number; vers?: number; proc: number; flavor?: number }, lastFragment = true): Buffer {
  const w = new XdrWriter();
  w.u32(0)
    .u32(0x1234)
    .u32(0)
    .u32(header.rpcvers ?? 2)
    .u32(header.prog ?? GSSPROXY_PROGRAM)
    .u32(header.vers ?? 1)
    .u32(header.proc);
  w.u32(header.flavor ?? 0)
    .opaque(Buffer.alloc(0))
    .u32(0)
    .opaque(Buffer.alloc(0));
  w.u32(0).u32(0).u32(0).u32(0); // an empty call context + empty options
  const b = Buffer.from(w.finish());
  b.writeUInt32BE(((lastFragment ? 0x8000_0000 : 0) | (b.length - 4)) >>> 0, 0);
  return b;
}

describe('procedures', () => {
  it('GET_CALL_CONTEXT: the stub answers SUCCESS with an all-zero result (a service matches root)', async () => {
    const res = await client.getCallContext();
    expect(res.status.majorStatus).toBe(0);
    expect(res.serverCallCtx.length).toBe(0);
    const probe = await probeGssproxy({ socketPath: env.gssproxy.socket, timeoutMs: 5000 });
    expect(probe.matched).toBe(true);
  });

  it('INDICATE_MECHS: krb5, IAKERB and SPNEGO', async () => {
    const res = await client.indicateMechs();
    expect(res.status.majorStatus).toBe(0);
    const mechs = res.mechs.map((m) => oidToDotted(m.mech));
    expect(mechs).toContain('1.2.840.113554.1.2.2');
    expect(mechs).toContain('1.3.6.1.5.2.5');
    expect(mechs).toContain('1.3.6.1.5.5.2');
  });

  it('IMPORT_AND_CANON_NAME: cifs@fs1.example.test canonicalizes to the krb5 principal', async () => {
    const res = await client.importAndCanonName({ inputName: hostbasedServiceName('cifs', env.hosts.fs1), mech: Oid.KRB5 });
    expect(res.status.majorStatus).toBe(0);
    expect(res.outputName!.displayName.toString()).toBe('cifs/fs1.example.test@EXAMPLE.TEST');
    expect(res.outputName!.nameType).toEqual(Oid.KRB5_NT_PRINCIPAL_NAME);
    expect(res.outputName!.exportedName.subarray(0, 4).toString('hex')).toBe('0401000b');
  });

  it('IMPORT_AND_CANON_NAME with the localname option maps alice@EXAMPLE.TEST to the local user', async () => {
    const res = await client.importAndCanonName({
      inputName: { displayName: Buffer.from('alice@EXAMPLE.TEST'), nameType: Oid.KRB5_NT_PRINCIPAL_NAME },
      mech: Oid.KRB5,
      options: [{ option: OptionName.LOCALNAME, value: Buffer.alloc(0) }],
    });
    expect(res.status.majorStatus).toBe(0);
    const local = res.options.find((o) => o.option.equals(OptionName.LOCALNAME));
    expect(local?.value.toString()).toBe('alice');
  });

  it('ACQUIRE_CRED as root for a uid, then RELEASE_HANDLE of it: GSS_S_UNAVAILABLE (nothing to release)', async () => {
    const acq = await client.acquireCred({
      desiredName: stringUidName(env.users.bob!.uid),
      desiredMechs: [Oid.KRB5],
      credUsage: CredUsage.INITIATE,
    });
    expect(acq.status.majorStatus).toBe(0);
    const cred = acq.outputCredHandle!;
    expect(cred.needsRelease).toBe(false);
    expect(cred.elements[0]!.mn.displayName.toString()).toBe('bob@EXAMPLE.TEST');
    expect(Number(cred.elements[0]!.initiatorTimeRec)).toBeGreaterThan(0);
    expect(Number(cred.elements[0]!.initiatorTimeRec)).toBeLessThanOrEqual(36_000); // relative seconds, not epoch
    const rel = await client.releaseHandle({ handle: { type: HandleType.CRED, cred } });
    expect(rel.status.majorStatus).toBe(GssRoutine.UNAVAILABLE);
    expect(renderStatus(rel.status).majorText).toMatch(/not available|unavailable/i);
  });

  it('INIT_SEC_CONTEXT with the MS krb5 OID and no credential: GSS_S_NO_CRED (only the exact krb5 OID works)', async () => {
    const res = await client.initSecContext({ targetName: hostbasedServiceName('cifs', env.hosts.fs1), mechType: Oid.KRB5_MS });
    expect(res.status.majorStatus).toBe(GssRoutine.NO_CRED);
  });
});

describe('the RPC layer of the real daemon', () => {
  it('NULLPROC and procedure 16 → PROC_UNAVAIL (there is no NULL ping)', async () => {
    for (const proc of [0, 16]) {
      const e = await client.transport.call(proc, Buffer.alloc(12)).then(
        () => null,
        (x: unknown) => x,
      );
      expect(e).toBeInstanceOf(GssproxyRpcError);
      expect((e as Error).message).toMatch(/PROC_UNAVAIL/);
    }
  });

  it('wrong program → PROG_UNAVAIL; wrong version → PROG_MISMATCH 1..1', async () => {
    const p = await rawExchange(rawCall({ prog: 100003, proc: 2 }));
    expect(p !== 'closed' && decodeReply(p)).toMatchObject({ ok: false, refusal: { kind: 'accepted', acceptStat: 1 } });
    const v = await rawExchange(rawCall({ vers: 2, proc: 2 }));
    expect(v !== 'closed' && decodeReply(v)).toMatchObject({
      ok: false,
      refusal: { kind: 'accepted', acceptStat: 2, mismatch: { low: 1, high: 1 } },
    });
  });

  it('rpcvers 3 → MSG_DENIED RPC_MISMATCH 2..2; AUTH_SYS → MSG_DENIED AUTH_ERROR', async () => {
    const r = await rawExchange(rawCall({ rpcvers: 3, proc: 2 }));
    expect(r !== 'closed' && decodeReply(r)).toMatchObject({
      ok: false,
      refusal: { kind: 'denied', rejectStat: 0, mismatch: { low: 2, high: 2 } },
    });
    const a = await rawExchange(rawCall({ flavor: 1, proc: 2 }));
    expect(a !== 'closed' && decodeReply(a)).toMatchObject({ ok: false, refusal: { kind: 'denied', rejectStat: 1 } });
  });

  it('a record without the last-fragment bit: the daemon drops the connection', async () => {
    expect(await rawExchange(rawCall({ proc: 2 }, false))).toBe('closed');
  });

  it('undecodable arguments → GARBAGE_ARGS', async () => {
    const e = await client.transport.call(3, Buffer.from('ffffffff', 'hex')).then(
      () => null,
      (x: unknown) => x,
    );
    expect((e as Error).message).toMatch(/GARBAGE_ARGS/);
  });
});
