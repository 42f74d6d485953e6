// ONC RPC framing (RFC 5531 §9 call/reply bodies, §11 record marking) and the reply shapes the
// live gssproxy 0.9.1 produced (docs/gssproxy-protocol.md#record-marking-and-rpc-header, docs/gssproxy-protocol.md#server-reactions).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Proc } from '../../../src/gssproxy/constants.ts';
import {
  AcceptStat,
  MAX_RPC_SIZE,
  RecordAssembler,
  RpcFormatError,
  decodeReply,
  describeRefusal,
  encodeCall,
} from '../../../src/gssproxy/rpc.ts';
import { acceptedReply, deniedReply, fragmentedRecord, record } from '../../harness/gssproxy/gssproxy-fakes.ts';
import { vector } from './vectors.ts';

describe('call (RFC 5531 §9, spec §1.4)', () => {
  it('header: xid, CALL, rpcvers 2, prog 400112, vers 1, proc, AUTH_NONE cred and verf', () => {
    const wire = encodeCall(0xdeadbeef, Proc.INIT_SEC_CONTEXT, Buffer.from('cafe0000', 'hex'));
    expect(wire.toString('hex')).toBe(
      '8000002c' +
        'deadbeef' +
        '00000000' +
        '00000002' +
        '00061af0' +
        '00000001' +
        '00000008' +
        '00000000' +
        '00000000' +
        '00000000' +
        '00000000' +
        'cafe0000',
    );
  });
});

describe('reply (RFC 5531 §9, spec §1.5/§1.6)', () => {
  it('SUCCESS exposes the results', () => {
    const body = vector('get_call_context_ping_call').hex('expected_reply_body_hex');
    const reply = decodeReply(body);
    expect(reply).toMatchObject({ xid: 0x42, ok: true });
    if (reply.ok) expect(reply.results.remaining).toBe(44);
  });

  it('every accepted non-success status', () => {
    for (const [stat, text] of [
      [1, 'PROG_UNAVAIL'],
      [3, 'PROC_UNAVAIL'],
      [4, 'GARBAGE_ARGS'],
      [5, 'SYSTEM_ERR'],
    ] as const) {
      const reply = decodeReply(acceptedReply(9, stat).subarray(4));
      expect(reply.ok).toBe(false);
      if (!reply.ok) {
        expect(reply.refusal).toEqual({ kind: 'accepted', acceptStat: stat });
        expect(describeRefusal(reply.refusal)).toBe(text);
      }
    }
    const mismatch = decodeReply(acceptedReply(9, AcceptStat.PROG_MISMATCH).subarray(4));
    expect(!mismatch.ok && mismatch.refusal).toEqual({ kind: 'accepted', acceptStat: 2, mismatch: { low: 1, high: 1 } });
  });

  it('MSG_DENIED RPC_MISMATCH as captured live: xid 00000001 00000001 00000000 00000002 00000002', () => {
    const reply = decodeReply(Buffer.from('0000000700000001000000010000000000000002' + '00000002', 'hex'));
    expect(reply).toEqual({ xid: 7, ok: false, refusal: { kind: 'denied', rejectStat: 0, mismatch: { low: 2, high: 2 } } });
    const auth = decodeReply(deniedReply(8, 1).subarray(4));
    expect(auth).toEqual({ xid: 8, ok: false, refusal: { kind: 'denied', rejectStat: 1, authStat: 7 } });
    if (!auth.ok) expect(describeRefusal(auth.refusal)).toBe('MSG_DENIED AUTH_ERROR (auth_stat 7)');
  });

  it('garbage is RpcFormatError: a CALL, unknown stats, truncation', () => {
    expect(() => decodeReply(Buffer.from('0000000100000000', 'hex'))).toThrow(/expected an RPC REPLY/);
    expect(() => decodeReply(Buffer.from('000000010000000100000007', 'hex'))).toThrow(/unknown reply_stat 7/);
    expect(() => decodeReply(Buffer.from('00000001000000010000000100000009', 'hex'))).toThrow(/unknown reject_stat/);
    expect(() => decodeReply(Buffer.from('000000010000', 'hex'))).toThrow(RpcFormatError);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (b) => {
        try {
          decodeReply(Buffer.from(b));
        } catch (e) {
          if (!(e instanceof RpcFormatError)) throw e;
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('record marking (RFC 5531 §11)', () => {
  it('one record, split anywhere, comes out whole', () => {
    const body = vector('init_reply_minimal_example').hex('body_hex');
    const wire = record(body);
    fc.assert(
      fc.property(fc.array(fc.nat({ max: wire.length }), { maxLength: 6 }), (cuts) => {
        const points = [...new Set(cuts)].sort((a, b) => a - b);
        const a = new RecordAssembler();
        const out: Buffer[] = [];
        let from = 0;
        for (const p of [...points, wire.length]) {
          out.push(...a.push(wire.subarray(from, p)));
          from = p;
        }
        expect(out).toEqual([body]);
        expect(a.buffered).toBe(0);
      }),
    );
  });

  it('fragments without the last-fragment bit are joined until the one with it', () => {
    const body = Buffer.from(Array.from({ length: 1000 }, (_, i) => i & 0xff));
    const a = new RecordAssembler();
    expect(a.push(fragmentedRecord(body, 64))).toEqual([body]);
  });

  it('two records in one chunk', () => {
    const a = new RecordAssembler();
    expect(a.push(Buffer.concat([record(Buffer.from('aa', 'hex')), record(Buffer.from('bbcc', 'hex'))]))).toEqual([
      Buffer.from('aa', 'hex'),
      Buffer.from('bbcc', 'hex'),
    ]);
  });

  it('a record above 1 MiB is refused as soon as its mark arrives', () => {
    const a = new RecordAssembler();
    const mark = Buffer.alloc(4);
    mark.writeUInt32BE((0x8000_0000 | (MAX_RPC_SIZE + 1)) >>> 0, 0);
    expect(() => a.push(mark)).toThrow(/exceeds the 1048576-byte limit/);
    // exactly 1 MiB is fine
    const ok = new RecordAssembler();
    const big = Buffer.alloc(MAX_RPC_SIZE, 1);
    expect(ok.push(record(big))[0]!.length).toBe(MAX_RPC_SIZE);
    // fragments adding up past the limit are refused too
    const frag = new RecordAssembler();
    expect(() => frag.push(fragmentedRecord(Buffer.alloc(MAX_RPC_SIZE + 8), 1 << 19))).toThrow(RpcFormatError);
  });
});
