// Reading the PAC ([MS-PAC]) that an AD ticket carries, as far as the AD tests need it: which
// buffers are there, who the user is (UPN_DNS_INFO), whether the identity was asserted by an
// authentication authority (S-1-18-1, a real logon) or by a service (S-1-18-2, S4U2Self), and the
// S4U_DELEGATION_INFO a constrained-delegation ticket carries. Test-harness code.
//
// PACTYPE (MS-PAC 2.3): cBuffers u32le, Version u32le, then cBuffers PAC_INFO_BUFFER entries
// { ulType u32le, cbBufferSize u32le, Offset u64le }; offsets count from the start of the PAC.
// UPN_DNS_INFO (2.10): UpnLength u16, UpnOffset u16, DnsDomainNameLength u16, DnsDomainNameOffset
// u16, Flags u32 [, SamNameLength u16, SamNameOffset u16, SidLength u16, SidOffset u16 if Flags&2];
// strings UTF-16LE, offsets from the buffer's start; the SID is a raw SID (2.4.2.2 of MS-DTYP).

export const PAC_LOGON_INFO = 1;
export const PAC_SERVER_CHECKSUM = 6;
export const PAC_PRIVSVR_CHECKSUM = 7;
export const PAC_CLIENT_INFO = 10;
export const PAC_DELEGATION_INFO = 11;
export const PAC_UPN_DNS_INFO = 12;
export const PAC_ATTRIBUTES_INFO = 17;
export const PAC_REQUESTOR_SID = 18;

export const AUTHENTICATION_AUTHORITY_ASSERTED_IDENTITY = 'S-1-18-1';
export const SERVICE_ASSERTED_IDENTITY = 'S-1-18-2';

export class PacFormatError extends Error {}

export interface Pac {
  buffers: Map<number, Buffer>;
}

export function parsePac(pac: Buffer): Pac {
  if (pac.length < 8) throw new PacFormatError('PAC shorter than its header');
  const count = pac.readUInt32LE(0);
  if (8 + count * 16 > pac.length) throw new PacFormatError(`PAC announces ${count} buffers, too many for ${pac.length} bytes`);
  const buffers = new Map<number, Buffer>();
  for (let i = 0; i < count; i++) {
    const at = 8 + i * 16;
    const type = pac.readUInt32LE(at);
    const size = pac.readUInt32LE(at + 4);
    const offset = Number(pac.readBigUInt64LE(at + 8));
    if (offset + size > pac.length) throw new PacFormatError(`PAC buffer ${type} overruns the PAC`);
    buffers.set(type, pac.subarray(offset, offset + size));
  }
  return { buffers };
}

/** Binary SID (MS-DTYP 2.4.2.2) to its string form. */
export function sidToString(b: Buffer): string {
  if (b.length < 8) throw new PacFormatError('SID shorter than 8 bytes');
  const count = b[1]!;
  if (b.length < 8 + 4 * count) throw new PacFormatError('SID shorter than its sub-authority count');
  const authority = b.readUIntBE(2, 6);
  const subs: number[] = [];
  for (let i = 0; i < count; i++) subs.push(b.readUInt32LE(8 + 4 * i));
  return `S-${b[0]}-${authority}${subs.map((s) => `-${s}`).join('')}`;
}

function sidBytes(sid: string): Buffer {
  const parts = sid.split('-');
  if (parts[0] !== 'S' || parts.length < 4) throw new PacFormatError(`not a SID: ${sid}`);
  const subs = parts.slice(3).map(Number);
  const b = Buffer.alloc(8 + 4 * subs.length);
  b[0] = Number(parts[1]);
  b[1] = subs.length;
  b.writeUIntBE(Number(parts[2]), 2, 6);
  for (const [i, s] of subs.entries()) b.writeUInt32LE(s, 8 + 4 * i);
  return b;
}

/** True when the logon info lists `sid` among its extra SIDs (searched in its NDR encoding). */
export function logonInfoHasSid(pac: Pac, sid: string): boolean {
  const logon = pac.buffers.get(PAC_LOGON_INFO);
  if (!logon) return false;
  // NDR conformant dom_sid: u32le sub-authority count, then the binary SID
  const bin = sidBytes(sid);
  const ndr = Buffer.alloc(4 + bin.length);
  ndr.writeUInt32LE(bin[1]!, 0);
  bin.copy(ndr, 4);
  return logon.includes(ndr);
}

/** S-1-18-1 (the user logged on), S-1-18-2 (a service asserted it: S4U2Self), or null. */
export function assertedIdentity(pac: Pac): string | null {
  if (logonInfoHasSid(pac, SERVICE_ASSERTED_IDENTITY)) return SERVICE_ASSERTED_IDENTITY;
  if (logonInfoHasSid(pac, AUTHENTICATION_AUTHORITY_ASSERTED_IDENTITY)) return AUTHENTICATION_AUTHORITY_ASSERTED_IDENTITY;
  return null;
}

export interface UpnDnsInfo {
  upn: string;
  dnsDomain: string;
  samName: string | null;
  sid: string | null;
}

export function upnDnsInfo(pac: Pac): UpnDnsInfo | null {
  const b = pac.buffers.get(PAC_UPN_DNS_INFO);
  if (!b || b.length < 12) return null;
  const str = (len: number, off: number): string => b.subarray(off, off + len).toString('utf16le');
  const flags = b.readUInt32LE(8);
  const extended = (flags & 2) !== 0 && b.length >= 20;
  return {
    upn: str(b.readUInt16LE(0), b.readUInt16LE(2)),
    dnsDomain: str(b.readUInt16LE(4), b.readUInt16LE(6)),
    samName: extended ? str(b.readUInt16LE(12), b.readUInt16LE(14)) : null,
    sid: extended ? sidToString(b.subarray(b.readUInt16LE(18), b.readUInt16LE(18) + b.readUInt16LE(16))) : null,
  };
}

/** UTF-16LE runs of 4+ printable characters in a buffer (names inside NDR structures). */
export function utf16Strings(b: Buffer): string[] {
  const out: string[] = [];
  let cur = '';
  for (let i = 0; i + 1 < b.length; i += 2) {
    const c = b.readUInt16LE(i);
    if (c >= 0x20 && c < 0x7f) {
      cur += String.fromCharCode(c);
    } else {
      if (cur.length >= 4) out.push(cur);
      cur = '';
    }
  }
  if (cur.length >= 4) out.push(cur);
  return out;
}
