// Byte-exact encodes of every captured gssproxy call and decodes of the captured replies
// (docs/gssproxy-protocol.md#byte-vectors; vectors from gssproxy-test-vectors.json).
import { describe, expect, it } from 'vitest';
import { CredUsage, Oid, OptionName, OptionValue, Proc } from '../../../src/gssproxy/constants.ts';
import {
  decodeArgAcquireCred,
  decodeArgInitSecContext,
  decodeCallCtx,
  decodeName,
  decodeResGetCallContext,
  decodeResInitSecContext,
  encodeArgAcquireCred,
  encodeArgGetCallContext,
  encodeArgInitSecContext,
  encodeCallCtx,
  encodeName,
  hostbasedServiceName,
  stringUidName,
  type GssxCtx,
} from '../../../src/gssproxy/protocol.ts';
import { decodeReply, encodeCall } from '../../../src/gssproxy/rpc.ts';
import { XdrEncodeError, XdrReader, XdrWriter } from '../../../src/gssproxy/xdr.ts';
import { vector, vectorNames } from './vectors.ts';

function bytes(encode: (w: XdrWriter) => void): Buffer {
  const w = new XdrWriter();
  encode(w);
  return Buffer.from(w.finish());
}

const lucidCallCtx = { options: [{ option: OptionName.EXPORTED_CONTEXT_TYPE, value: OptionValue.LINUX_LUCID_V1 }] };

describe('encode: captured calls, byte for byte', () => {
  it('INIT_SEC_CONTEXT minimal (vector init_call_minimal): 168 bytes', () => {
    const args = bytes((w) =>
      encodeArgInitSecContext(w, {
        targetName: hostbasedServiceName('cifs', 'fs1.example.com'),
        mechType: Oid.KRB5,
        reqFlags: 0n,
      }),
    );
    const wire = encodeCall(vector('init_call_minimal').get<number>('xid'), Proc.INIT_SEC_CONTEXT, args);
    expect(wire.length).toBe(168);
    expect(wire.toString('hex')).toBe(vector('init_call_minimal').hex('wire_hex').toString('hex'));
    // a few landmarks of the listing
    expect(wire.subarray(0, 4).toString('hex')).toBe('800000a4');
    expect(wire.readUInt32BE(0x40)).toBe(1); // target_name present
    expect(wire.subarray(0x80, 0x8c).toString('hex')).toBe('2a864886f712010202000000');
  });

  it('gssx_name for cifs@fs1.example.com, hostbased (gssx_name_hostbased)', () => {
    const v = vector('gssx_name_hostbased');
    expect(bytes((w) => encodeName(w, hostbasedServiceName('cifs', v.get<string>('display').split('@')[1]!)))).toEqual(v.hex('hex'));
  });

  it('gssx_name for uid 1500 as GSS_C_NT_STRING_UID_NAME, digits + NUL (gssx_name_string_uid_1500)', () => {
    expect(bytes((w) => encodeName(w, stringUidName(1500)))).toEqual(vector('gssx_name_string_uid_1500').hex('hex'));
  });

  it('gssx_call_ctx with exported_context_type = linux_lucid_v1, NULs included (gssx_call_ctx_lucid)', () => {
    expect(bytes((w) => encodeCallCtx(w, lucidCallCtx))).toEqual(vector('gssx_call_ctx_lucid').hex('hex'));
  });

  it('GET_CALL_CONTEXT probe, xid 0x42 (get_call_context_ping_call)', () => {
    const v = vector('get_call_context_ping_call');
    const wire = encodeCall(
      v.get<number>('xid'),
      Proc.GET_CALL_CONTEXT,
      bytes((w) => encodeArgGetCallContext(w, {})),
    );
    expect(wire).toEqual(v.hex('hex'));
  });

  it('ACQUIRE_CRED as the interposer sends it (acquire_cred_interposer_style_call)', () => {
    const v = vector('acquire_cred_interposer_style_call');
    const wire = encodeCall(
      v.get<number>('xid'),
      Proc.ACQUIRE_CRED,
      bytes((w) => encodeArgAcquireCred(w, { credUsage: CredUsage.INITIATE })),
    );
    expect(wire).toEqual(v.hex('hex'));
  });

  it('ACQUIRE_CRED of a root caller naming uid 1500 (acquire_cred_root_trusted_string_uid_call)', () => {
    const v = vector('acquire_cred_root_trusted_string_uid_call');
    const wire = encodeCall(
      v.get<number>('xid'),
      Proc.ACQUIRE_CRED,
      bytes((w) =>
        encodeArgAcquireCred(w, {
          desiredName: stringUidName(1500),
          desiredMechs: [Oid.KRB5],
          credUsage: CredUsage.INITIATE,
        }),
      ),
    );
    expect(wire).toEqual(v.hex('hex'));
    // and the daemon's view of those bytes
    const seen = decodeArgAcquireCred(new XdrReader(wire, 44));
    expect(seen.desiredName?.displayName).toEqual(Buffer.from('1500\0'));
    expect(seen.desiredName?.nameType).toEqual(Oid.NT_STRING_UID_NAME);
  });

  it('INIT_SEC_CONTEXT asking for the lucid export (lucid_v1_established.call_wire_hex)', () => {
    const v = vector('lucid_v1_established');
    const wire = encodeCall(
      3,
      Proc.INIT_SEC_CONTEXT,
      bytes((w) =>
        encodeArgInitSecContext(w, {
          callCtx: lucidCallCtx,
          targetName: hostbasedServiceName('cifs', 'fs1.example.com'),
          mechType: Oid.KRB5,
        }),
      ),
    );
    expect(wire).toEqual(v.hex('call_wire_hex'));
  });

  it('INIT_SEC_CONTEXT leg 2 (context handle + AP-REP input token) re-encodes field by field (default_export_after_ap_rep)', () => {
    const v = vector('default_export_after_ap_rep');
    const wire = v.hex('call_wire_hex');
    const r = new XdrReader(wire, 44);
    const arg = decodeArgInitSecContext(r);
    r.done();
    expect(arg.contextHandle?.exportedContextToken).toEqual(vector('partial_export_mutual_pending').hex('exported_context_token_hex'));
    expect(arg.inputToken).toEqual(vector('partial_export_mutual_pending').hex('acceptor_ap_rep_token_hex'));
    expect(arg.reqFlags).toBe(2n); // MUTUAL
    expect(arg.targetName.displayName.toString()).toBe('cifs@fs1.example.com');
    // drop the raw copies: every field goes through the encoder
    const ctx = { ...arg.contextHandle! } as GssxCtx;
    delete ctx.raw;
    const again = encodeCall(
      5,
      Proc.INIT_SEC_CONTEXT,
      bytes((w) => encodeArgInitSecContext(w, { ...arg, contextHandle: ctx })),
    );
    expect(again).toEqual(wire);
  });

  it('refuses INIT_SEC_CONTEXT without a target name (the request that crashes gssproxy)', () => {
    expect(() => bytes((w) => encodeArgInitSecContext(w, { targetName: {}, mechType: Oid.KRB5 }))).toThrow(XdrEncodeError);
    expect(() =>
      bytes((w) =>
        encodeArgInitSecContext(w, {
          targetName: undefined as unknown as { displayName: Buffer },
          mechType: Oid.KRB5,
        }),
      ),
    ).toThrow(/target name/);
  });
});

describe('decode: captured replies', () => {
  it('INIT_SEC_CONTEXT reply to the minimal call (init_reply_minimal_example, 1972 bytes)', () => {
    const v = vector('init_reply_minimal_example');
    const body = v.hex('body_hex');
    expect(v.hex('record_mark_hex').readUInt32BE(0)).toBe((0x8000_0000 | body.length) >>> 0);
    expect(body.length).toBe(1972);
    const reply = decodeReply(body);
    expect(reply.xid).toBe(2);
    if (!reply.ok) throw new Error('expected SUCCESS');
    const res = decodeResInitSecContext(reply.results);
    reply.results.done();
    expect(res.status.majorStatus).toBe(0);
    expect(res.status.minorStatus).toBe(0);
    expect(res.status.mech).toEqual(Oid.KRB5);
    const ctx = res.contextHandle!;
    expect(ctx.exportedContextToken.length).toBe(686);
    expect(ctx.exportedContextToken.subarray(0, 13)).toEqual(Buffer.from('000000092a864886f712010202', 'hex'));
    expect(ctx.state.length).toBe(0);
    expect(ctx.needsRelease).toBe(false);
    expect(ctx.mech).toEqual(Oid.KRB5);
    expect(ctx.srcName.displayName.toString()).toBe('host/client.example.com@EXAMPLE.COM');
    expect(ctx.srcName.nameType).toEqual(Oid.KRB5_NT_PRINCIPAL_NAME);
    expect(ctx.srcName.exportedName.subarray(0, 2).toString('hex')).toBe('0401');
    expect(ctx.srcName.exportedCompositeName.subarray(0, 2).toString('hex')).toBe('0402');
    expect(ctx.targName.displayName.toString()).toBe('cifs/fs1.example.com@EXAMPLE.COM');
    expect(Number(ctx.lifetime)).toBeGreaterThan(35_000);
    expect(Number(ctx.lifetime)).toBeLessThanOrEqual(36_000);
    expect(ctx.ctxFlags).toBe(432n);
    expect(ctx.locallyInitiated).toBe(true);
    expect(ctx.open).toBe(true);
    expect(ctx.options).toEqual([]);
    expect(res.outputToken!.length).toBe(775);
    expect(res.outputToken!.subarray(0, 17).toString('hex')).toBe('6082030306092a864886f7120102020100');
    expect(res.outputToken![17]).toBe(0x6e);
    expect(res.options).toEqual([]);
    // the raw ctx is exactly the bytes between the presence word and the output token
    expect(ctx.raw!.length).toBe(body.length - 24 - 48 - 4 - 4 - 4 - 776 - 4);
  });

  it('GET_CALL_CONTEXT reply: 24-byte header + 44 zero bytes (get_call_context_ping_call)', () => {
    const body = vector('get_call_context_ping_call').hex('expected_reply_body_hex');
    const reply = decodeReply(body);
    expect(reply.xid).toBe(0x42);
    if (!reply.ok) throw new Error('expected SUCCESS');
    const res = decodeResGetCallContext(reply.results);
    reply.results.done();
    expect(res.status.majorStatus).toBe(0);
    expect(res.serverCallCtx.length).toBe(0);
    expect(body.length).toBe(24 + 44);
  });

  it('the lucid call context decodes back to the NUL-terminated option', () => {
    const ctx = decodeCallCtx(new XdrReader(vector('gssx_call_ctx_lucid').hex('hex')));
    expect(ctx.options).toEqual(lucidCallCtx.options);
    expect(ctx.options[0]!.option.length).toBe(22);
    expect(ctx.options[0]!.value.length).toBe(15);
  });

  it('gssx_name vectors decode to what was encoded', () => {
    const n = decodeName(new XdrReader(vector('gssx_name_hostbased').hex('hex')));
    expect(n.displayName.toString()).toBe('cifs@fs1.example.com');
    expect(n.nameType).toEqual(Oid.NT_HOSTBASED_SERVICE);
  });
});

describe('vector coverage', () => {
  it('every vector of gssproxy-test-vectors.json is exercised by these unit tests', () => {
    const covered = [
      // protocol.test.ts
      'init_call_minimal',
      'gssx_name_hostbased',
      'gssx_name_string_uid_1500',
      'gssx_call_ctx_lucid',
      'get_call_context_ping_call',
      'acquire_cred_interposer_style_call',
      'acquire_cred_root_trusted_string_uid_call',
      'lucid_v1_established',
      'default_export_after_ap_rep',
      'init_reply_minimal_example',
      // exported-context.test.ts
      'default_export_established',
      'partial_export_mutual_pending',
    ];
    expect(vectorNames().sort()).toEqual([...covered].sort());
  });
});
