// gssproxy's `linux_lucid_v1` context export (call_ctx option exported_context_type =
// linux_lucid_v1; docs/gssproxy-protocol.md#lucid-context): the kernel's "krb5_rfc4121_buffer", in the
// daemon's host byte order, produced only for COMPLETE contexts.
//
//   offset 0   u32  flags: 0x1 initiator, 0x2 CFX (RFC 4121), 0x4 acceptor subkey
//   offset 4   u32  endtime (unix seconds)
//   offset 8   u64  send_seq
//   offset 16  u32  enctype (DES3 appears as 6, DES3_CBC_RAW)
//   offset 20  ...  the session key: acceptor subkey, else the context key (the subkey)

/** This machine's byte order, as os.endianness() says it (without loading node:os: ~0.5 ms of start-up). */
const HOST_BYTE_ORDER: 'LE' | 'BE' = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 'LE' : 'BE';

export const LucidFlag = { INITIATOR: 0x1, CFX: 0x2, ACCEPTOR_SUBKEY: 0x4 } as const;

export class LucidContextError extends Error {
  override readonly name = 'LucidContextError';
}

export interface LucidContext {
  flags: number;
  initiator: boolean;
  cfx: boolean;
  acceptorSubkey: boolean;
  endtime: number;
  sendSeq: bigint;
  enctype: number;
  key: Buffer;
}

const HEADER = 20;
const MAX_KEY = 64;

export function parseLucidContext(buf: Buffer, byteOrder: 'LE' | 'BE' = HOST_BYTE_ORDER): LucidContext {
  if (buf.length < HEADER + 1) {
    throw new LucidContextError(`linux_lucid_v1 context of ${buf.length} bytes is shorter than its ${HEADER}-byte header plus a key`);
  }
  const le = byteOrder === 'LE';
  const flags = le ? buf.readUInt32LE(0) : buf.readUInt32BE(0);
  if (flags & ~0x7)
    throw new LucidContextError(`linux_lucid_v1 flags 0x${flags.toString(16)} have unknown bits (byte order ${byteOrder}?)`);
  const keyLength = buf.length - HEADER;
  if (keyLength > MAX_KEY) throw new LucidContextError(`linux_lucid_v1 key of ${keyLength} bytes is implausible`);
  return {
    flags,
    initiator: (flags & LucidFlag.INITIATOR) !== 0,
    cfx: (flags & LucidFlag.CFX) !== 0,
    acceptorSubkey: (flags & LucidFlag.ACCEPTOR_SUBKEY) !== 0,
    endtime: le ? buf.readUInt32LE(4) : buf.readUInt32BE(4),
    sendSeq: le ? buf.readBigUInt64LE(8) : buf.readBigUInt64BE(8),
    enctype: le ? buf.readUInt32LE(16) : buf.readUInt32BE(16),
    key: Buffer.from(buf.subarray(HEADER)),
  };
}
