// RFC 5531 (ONC RPC v2): call header, reply header and record marking (§11) as gssproxy uses them.
//
//   record   = u32 mark (bit 31 = last fragment, bits 0-30 = length) + fragment bytes
//   call     = xid, 0 (CALL), rpcvers 2, prog 400112, vers 1, proc, cred {AUTH_NONE, <>},
//              verf {AUTH_NONE, <>}, procedure arguments
//   reply    = xid, 1 (REPLY), reply_stat
//              MSG_ACCEPTED: verf {flavor, body<400>}, accept_stat, [SUCCESS: results |
//                            PROG_MISMATCH: low, high]
//              MSG_DENIED:   reject_stat, [RPC_MISMATCH: low, high | AUTH_ERROR: auth_stat]
//
// gssproxy sends one single-fragment record per reply and drops the connection for a record
// without the last-fragment bit or above 1 MiB (MAX_RPC_SIZE), each way.
import { GSSPROXY_PROGRAM, GSSPROXY_VERSION } from './constants.ts';
import { XdrReader, XdrWriter } from './xdr.ts';

export const MAX_RPC_SIZE = 1 << 20;
export const LAST_FRAGMENT = 0x8000_0000;

const CALL = 0;
const REPLY = 1;
const RPC_VERSION = 2;
const AUTH_NONE = 0;
const MSG_ACCEPTED = 0;
const MSG_DENIED = 1;

export const AcceptStat = {
  SUCCESS: 0,
  PROG_UNAVAIL: 1,
  PROG_MISMATCH: 2,
  PROC_UNAVAIL: 3,
  GARBAGE_ARGS: 4,
  SYSTEM_ERR: 5,
} as const;

export const RejectStat = { RPC_MISMATCH: 0, AUTH_ERROR: 1 } as const;

const acceptStatNames = ['SUCCESS', 'PROG_UNAVAIL', 'PROG_MISMATCH', 'PROC_UNAVAIL', 'GARBAGE_ARGS', 'SYSTEM_ERR'];

export function acceptStatName(stat: number): string {
  return acceptStatNames[stat] ?? `accept_stat ${stat}`;
}

/** A reply that is well-formed RPC but not a SUCCESS (the call was refused at the RPC layer). */
export type RpcRefusal =
  | { kind: 'accepted'; acceptStat: number; mismatch?: { low: number; high: number } }
  | { kind: 'denied'; rejectStat: number; mismatch?: { low: number; high: number }; authStat?: number };

export type RpcReply = { xid: number; ok: true; results: XdrReader } | { xid: number; ok: false; refusal: RpcRefusal };

/** The reply bytes are not an RPC reply we can read (garbage, wrong direction, truncated). */
export class RpcFormatError extends Error {
  override readonly name = 'RpcFormatError';
}

/** Call record (record mark included) for `proc` with already-encoded arguments. */
export function encodeCall(xid: number, proc: number, args: Uint8Array): Buffer {
  const w = new XdrWriter(48 + args.length);
  w.u32(0); // record mark, filled in below
  w.u32(xid >>> 0)
    .u32(CALL)
    .u32(RPC_VERSION)
    .u32(GSSPROXY_PROGRAM)
    .u32(GSSPROXY_VERSION)
    .u32(proc);
  w.u32(AUTH_NONE).opaque(Buffer.alloc(0)); // cred
  w.u32(AUTH_NONE).opaque(Buffer.alloc(0)); // verf
  w.raw(args);
  const record = w.finish();
  record.writeUInt32BE((LAST_FRAGMENT | (record.length - 4)) >>> 0, 0);
  return record;
}

/** Parse a reply message body (record mark already removed). */
export function decodeReply(body: Buffer): RpcReply {
  const r = new XdrReader(body);
  try {
    const xid = r.u32('xid');
    const msgType = r.u32('msg_type');
    if (msgType !== REPLY) throw new RpcFormatError(`expected an RPC REPLY (1), got message type ${msgType}`);
    const replyStat = r.u32('reply_stat');
    if (replyStat === MSG_ACCEPTED) {
      r.u32('verf.flavor');
      const verf = r.opaque('verf.body');
      if (verf.length > 400) throw new RpcFormatError(`reply verifier of ${verf.length} bytes (max 400)`);
      const acceptStat = r.u32('accept_stat');
      if (acceptStat === AcceptStat.SUCCESS) return { xid, ok: true, results: r };
      if (acceptStat === AcceptStat.PROG_MISMATCH) {
        const low = r.u32('mismatch.low');
        const high = r.u32('mismatch.high');
        return { xid, ok: false, refusal: { kind: 'accepted', acceptStat, mismatch: { low, high } } };
      }
      return { xid, ok: false, refusal: { kind: 'accepted', acceptStat } };
    }
    if (replyStat === MSG_DENIED) {
      const rejectStat = r.u32('reject_stat');
      if (rejectStat === RejectStat.RPC_MISMATCH) {
        const low = r.u32('mismatch.low');
        const high = r.u32('mismatch.high');
        return { xid, ok: false, refusal: { kind: 'denied', rejectStat, mismatch: { low, high } } };
      }
      if (rejectStat === RejectStat.AUTH_ERROR) {
        return { xid, ok: false, refusal: { kind: 'denied', rejectStat, authStat: r.u32('auth_stat') } };
      }
      throw new RpcFormatError(`unknown reject_stat ${rejectStat}`);
    }
    throw new RpcFormatError(`unknown reply_stat ${replyStat}`);
  } catch (e) {
    if (e instanceof RpcFormatError) throw e;
    throw new RpcFormatError(`malformed RPC reply header: ${(e as Error).message}`, { cause: e });
  }
}

/** Human words for a refusal, e.g. "PROC_UNAVAIL" or "MSG_DENIED AUTH_ERROR (auth_stat 7)". */
export function describeRefusal(refusal: RpcRefusal): string {
  if (refusal.kind === 'accepted') {
    const m = refusal.mismatch ? ` (server supports versions ${refusal.mismatch.low}..${refusal.mismatch.high})` : '';
    return `${acceptStatName(refusal.acceptStat)}${m}`;
  }
  if (refusal.rejectStat === RejectStat.RPC_MISMATCH) {
    const m = refusal.mismatch ? ` (server speaks RPC ${refusal.mismatch.low}..${refusal.mismatch.high})` : '';
    return `MSG_DENIED RPC_MISMATCH${m}`;
  }
  return `MSG_DENIED AUTH_ERROR (auth_stat ${refusal.authStat ?? '?'})`;
}

/**
 * Reassembles records from stream chunks. Fragments are concatenated until one carries the
 * last-fragment bit; a record growing past `maxSize` is refused before its bytes are buffered.
 */
export class RecordAssembler {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private fragments: Buffer[] = [];
  private recordBytes = 0;

  constructor(private readonly maxSize = MAX_RPC_SIZE) {}

  /** Feed bytes; returns every record completed by them. Throws RpcFormatError on a bad mark. */
  push(chunk: Buffer): Buffer[] {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    const out: Buffer[] = [];
    for (;;) {
      if (this.pendingBytes < 4) break;
      const head = this.peek(4);
      const mark = head.readUInt32BE(0);
      const length = mark & 0x7fff_ffff;
      const last = (mark & LAST_FRAGMENT) !== 0;
      if (this.recordBytes + length > this.maxSize) {
        throw new RpcFormatError(
          `reply record of ${this.recordBytes + length} bytes exceeds the ${this.maxSize}-byte limit (record mark 0x${mark.toString(16).padStart(8, '0')})`,
        );
      }
      if (this.pendingBytes < 4 + length) break;
      this.take(4);
      this.fragments.push(this.take(length));
      this.recordBytes += length;
      if (last) {
        out.push(this.fragments.length === 1 ? this.fragments[0]! : Buffer.concat(this.fragments));
        this.fragments = [];
        this.recordBytes = 0;
      }
    }
    return out;
  }

  /** Bytes received that do not yet form a complete record. */
  get buffered(): number {
    return this.pendingBytes + this.recordBytes;
  }

  private peek(n: number): Buffer {
    if (this.pending[0]!.length >= n) return this.pending[0]!.subarray(0, n);
    return Buffer.concat(this.pending).subarray(0, n);
  }

  private take(n: number): Buffer {
    if (n === 0) return Buffer.alloc(0);
    let joined = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending);
    const taken = joined.subarray(0, n);
    joined = joined.subarray(n);
    this.pending = joined.length > 0 ? [joined] : [];
    this.pendingBytes -= n;
    return taken;
  }
}
