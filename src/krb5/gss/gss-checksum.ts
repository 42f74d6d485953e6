// The GSS-API authenticator checksum of the krb5 mechanism (RFC 4121 §4.1.1), carried as
// Checksum { cksumtype 0x8003, checksum <below> } in the AP-REQ Authenticator:
//
//   Lgth   u32 LE  = 16 (length of Bnd)
//   Bnd    16 bytes  MD5 of the channel bindings, or zeros without bindings
//   Flags  u32 LE  GSS context flags (GssFlags)
//   [DlgOpt u16 LE = 1, Dlgth u16 LE, Deleg = KRB-CRED]   only when DELEG is set
//   [Exts …]                                               RFC 4121 extensions
//
// cifs.upcall's native path sends exactly 24 bytes: 10000000, 16 zero bytes, 00000000
// (no bindings, flags 0: no mutual authentication, docs/kerberos.md#ap-req-and-the-gss-checksum).
import { cryptoPrimitives } from '../crypto/primitives.ts';
import type { Checksum } from '../messages/checksum.ts';
import { DecodeError } from '../../der/errors.ts';

export const GSS_CHECKSUM_TYPE = 0x8003;

/** GSS context flags as they appear in the checksum's Flags field (RFC 2744, RFC 4757 §7.1). */
export const GssFlags = {
  DELEG: 0x1,
  MUTUAL: 0x2,
  REPLAY: 0x4,
  SEQUENCE: 0x8,
  CONF: 0x10,
  INTEG: 0x20,
  ANON: 0x40,
  PROT_READY: 0x80,
  TRANS: 0x100,
  DCE_STYLE: 0x1000,
  IDENTIFY: 0x2000,
  EXTENDED_ERROR: 0x4000,
} as const;

export interface GssChecksumFields {
  /** MD5 of the channel bindings (16 bytes); zeros when absent */
  bindingsHash?: Uint8Array;
  /** GssFlags bits; default 0 */
  flags?: number;
  /** KRB-CRED to delegate; requires GssFlags.DELEG */
  delegation?: Uint8Array;
  /** raw RFC 4121 extensions appended after everything else */
  extensions?: Uint8Array;
}

export interface GssChecksum {
  bindingsHash: Buffer;
  flags: number;
  delegation?: Buffer;
  extensions: Buffer;
}

/** The checksum value bytes. With no argument: cifs.upcall's fixed 24 bytes. */
export function encodeGssChecksum(fields: GssChecksumFields = {}): Buffer {
  const flags = fields.flags ?? 0;
  const bindings = fields.bindingsHash ?? Buffer.alloc(16);
  if (bindings.length !== 16) throw new RangeError('channel-bindings hash must be 16 bytes');
  if (fields.delegation && !(flags & GssFlags.DELEG)) throw new RangeError('delegation needs the DELEG flag');
  if (!fields.delegation && flags & GssFlags.DELEG) throw new RangeError('DELEG flag set without a KRB-CRED');
  const head = Buffer.alloc(24);
  head.writeUInt32LE(16, 0);
  head.set(bindings, 4);
  head.writeUInt32LE(flags >>> 0, 20);
  const parts = [head];
  if (fields.delegation) {
    if (fields.delegation.length > 0xffff) throw new RangeError('KRB-CRED too large for Dlgth');
    const dlg = Buffer.alloc(4);
    dlg.writeUInt16LE(1, 0);
    dlg.writeUInt16LE(fields.delegation.length, 2);
    parts.push(dlg, Buffer.from(fields.delegation));
  }
  if (fields.extensions) parts.push(Buffer.from(fields.extensions));
  return Buffer.concat(parts);
}

/** The Authenticator cksum field: { cksumtype: 0x8003, checksum: encodeGssChecksum(fields) }. */
export function gssAuthenticatorChecksum(fields: GssChecksumFields = {}): Checksum {
  return { cksumtype: GSS_CHECKSUM_TYPE, checksum: encodeGssChecksum(fields) };
}

export function decodeGssChecksum(value: Uint8Array): GssChecksum {
  const path = 'GSS checksum (0x8003)';
  const b = Buffer.from(value);
  if (b.length < 24) throw new DecodeError(path, `${b.length} bytes, at least 24 expected`);
  const lgth = b.readUInt32LE(0);
  if (lgth !== 16) throw new DecodeError(path, `Lgth ${lgth}, expected 16`);
  const flags = b.readUInt32LE(20);
  let offset = 24;
  const out: GssChecksum = { bindingsHash: b.subarray(4, 20), flags, extensions: Buffer.alloc(0) };
  if (flags & GssFlags.DELEG) {
    if (b.length < offset + 4) throw new DecodeError(path, 'DELEG set but the delegation header is missing');
    const dlgOpt = b.readUInt16LE(offset);
    const dlgth = b.readUInt16LE(offset + 2);
    if (dlgOpt !== 1) throw new DecodeError(path, `DlgOpt ${dlgOpt}, expected 1`);
    if (b.length < offset + 4 + dlgth) throw new DecodeError(path, 'delegated credentials truncated');
    out.delegation = b.subarray(offset + 4, offset + 4 + dlgth);
    offset += 4 + dlgth;
  }
  out.extensions = b.subarray(offset);
  return out;
}

export interface ChannelBindings {
  initiatorAddrType?: number;
  initiatorAddress?: Uint8Array;
  acceptorAddrType?: number;
  acceptorAddress?: Uint8Array;
  applicationData?: Uint8Array;
}

/**
 * Bnd for given channel bindings (RFC 4121 §4.1.1.2): MD5 over u32le(initiator type) ‖
 * u32le(len) ‖ addr ‖ u32le(acceptor type) ‖ u32le(len) ‖ addr ‖ u32le(len) ‖ application data.
 * SMB does not use channel bindings; this exists for completeness and tests.
 */
export function channelBindingsHash(cb: ChannelBindings): Buffer {
  const u32 = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(n >>> 0, 0);
    return b;
  };
  const field = (d: Uint8Array | undefined) => [u32(d?.length ?? 0), Buffer.from(d ?? [])];
  return cryptoPrimitives().digest('md5', [
    u32(cb.initiatorAddrType ?? 0),
    ...field(cb.initiatorAddress),
    u32(cb.acceptorAddrType ?? 0),
    ...field(cb.acceptorAddress),
    ...field(cb.applicationData),
  ]);
}
