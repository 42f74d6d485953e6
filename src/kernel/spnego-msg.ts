// The reply payload of a cifs.spnego key: struct cifs_spnego_msg (fs/smb/client/cifs_spnego.h),
// all header fields u32 in host byte order:
//
//   0  version      CIFS_SPNEGO_UPCALL_VERSION (2); the kernel refuses anything else
//   4  flags        0
//   8  sesskey_len  session key length
//   12 secblob_len  SPNEGO blob length
//   16 session key, then the SPNEGO blob
//   … then 4 zero bytes: C sizes its buffer as sizeof(struct) = 20 (a 1-byte trailing array
//     padded to 4), so its payloads end in 00000000 (docs/kernel-key-protocol.md#the-payload). We emit them
//     too, so payloads are byte-identical with C's; the kernel reads only the declared lengths.
import { UPCALL_VERSION } from './key-description.ts';

/** This machine's byte order, as os.endianness() says it (without loading node:os: ~0.5 ms of start-up). */
const HOST_BYTE_ORDER: 'LE' | 'BE' = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 'LE' : 'BE';

/** The SMB2/SMB1 security-buffer length fields are 16-bit (docs/kernel-key-protocol.md#size-limits). */
export const MAX_SECURITY_BLOB_BYTES = 65535;
const HEADER_BYTES = 16;
const C_TRAILING_PADDING = 4;

export class SpnegoMessageError extends Error {
  override readonly name = 'SpnegoMessageError';
}

export interface CifsSpnegoMessage {
  version: number;
  flags: number;
  sessionKey: Buffer;
  securityBlob: Buffer;
}

/** Encode the payload the kernel expects; `byteOrder` defaults to this machine's. */
export function encodeCifsSpnegoMessage(
  msg: { sessionKey: Buffer; securityBlob: Buffer; version?: number; flags?: number },
  byteOrder: 'LE' | 'BE' = HOST_BYTE_ORDER,
): Buffer {
  const version = msg.version ?? UPCALL_VERSION;
  if (version !== UPCALL_VERSION) {
    throw new SpnegoMessageError(`reply version ${version} refused: the kernel accepts only version ${UPCALL_VERSION}`);
  }
  if (msg.securityBlob.length === 0) throw new SpnegoMessageError('empty SPNEGO blob');
  if (msg.securityBlob.length > MAX_SECURITY_BLOB_BYTES) {
    throw new SpnegoMessageError(
      `SPNEGO blob of ${msg.securityBlob.length} bytes exceeds the SMB security buffer limit of ${MAX_SECURITY_BLOB_BYTES} bytes (ticket or PAC too large)`,
    );
  }
  const out = Buffer.alloc(HEADER_BYTES + msg.sessionKey.length + msg.securityBlob.length + C_TRAILING_PADDING);
  const put = byteOrder === 'LE' ? out.writeUInt32LE.bind(out) : out.writeUInt32BE.bind(out);
  put(version, 0);
  put(msg.flags ?? 0, 4);
  put(msg.sessionKey.length, 8);
  put(msg.securityBlob.length, 12);
  msg.sessionKey.copy(out, HEADER_BYTES);
  msg.securityBlob.copy(out, HEADER_BYTES + msg.sessionKey.length);
  return out;
}

/** Decode (tests, `--replay` diagnostics): checks the declared lengths fit the payload. */
export function decodeCifsSpnegoMessage(payload: Buffer, byteOrder: 'LE' | 'BE' = HOST_BYTE_ORDER): CifsSpnegoMessage {
  if (payload.length < HEADER_BYTES) throw new SpnegoMessageError(`payload of ${payload.length} bytes is shorter than the header`);
  const get = byteOrder === 'LE' ? payload.readUInt32LE.bind(payload) : payload.readUInt32BE.bind(payload);
  const keyLength = get(8);
  const blobLength = get(12);
  if (HEADER_BYTES + keyLength + blobLength > payload.length) {
    throw new SpnegoMessageError(`declared lengths ${keyLength}+${blobLength} exceed the ${payload.length}-byte payload`);
  }
  return {
    version: get(0),
    flags: get(4),
    sessionKey: payload.subarray(HEADER_BYTES, HEADER_BYTES + keyLength),
    securityBlob: payload.subarray(HEADER_BYTES + keyLength, HEADER_BYTES + keyLength + blobLength),
  };
}
