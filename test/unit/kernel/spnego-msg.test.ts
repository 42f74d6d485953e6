// Vectors: docs/kernel-key-protocol.md#example-payload (C's 97-byte payload on a little-endian
// host, and the layout observed from cifs.upcall 7.0 under a real kernel) and #size-limits.
import { describe, expect, it } from 'vitest';
import {
  decodeCifsSpnegoMessage,
  encodeCifsSpnegoMessage,
  MAX_SECURITY_BLOB_BYTES,
  SpnegoMessageError,
} from '../../../src/kernel/spnego-msg.ts';

const SESSION_KEY = Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex');
/** docs/kerberos.md#spnego-test-vector: SPNEGO for sec=krb5 (61 bytes) */
const BLOB = Buffer.from(
  '603b06062b0601050502a031302fa00d300b06092a864886f712010202a21e041c601a06092a864886f71201020201006e0a30083006a0030201059f00',
  'hex',
);
/** C output, 97 bytes = 20 + 16 + 61, ending in C's 4 padding bytes */
const C_PAYLOAD = Buffer.from(
  '02000000' +
    '00000000' +
    '10000000' +
    '3d000000' +
    '000102030405060708090a0b0c0d0e0f' +
    '603b06062b0601050502a031302fa00d300b06092a864886f712010202a21e041c601a06092a864886f71201020201006e0a30083006a0030201059f00' +
    '00000000',
  'hex',
);

describe('cifs_spnego_msg (docs/kernel-key-protocol.md#the-payload)', () => {
  it('is byte-identical with C on a little-endian host', () => {
    const out = encodeCifsSpnegoMessage({ sessionKey: SESSION_KEY, securityBlob: BLOB }, 'LE');
    expect(out.length).toBe(97);
    expect(out.toString('hex')).toBe(C_PAYLOAD.toString('hex'));
  });

  it('uses host byte order by default (this machine: os.endianness())', async () => {
    const { endianness } = await import('node:os');
    const out = encodeCifsSpnegoMessage({ sessionKey: SESSION_KEY, securityBlob: BLOB });
    expect(out.equals(encodeCifsSpnegoMessage({ sessionKey: SESSION_KEY, securityBlob: BLOB }, endianness()))).toBe(true);
  });

  it('writes the header big-endian on a big-endian host', () => {
    const out = encodeCifsSpnegoMessage({ sessionKey: SESSION_KEY, securityBlob: BLOB }, 'BE');
    expect(out.subarray(0, 16).toString('hex')).toBe('00000002' + '00000000' + '00000010' + '0000003d');
    expect(out.subarray(16).equals(C_PAYLOAD.subarray(16))).toBe(true);
  });

  it('has the observed layout for a 32-byte key and a 592-byte blob (644 bytes total)', () => {
    const blob = Buffer.alloc(592, 0xaa);
    const out = encodeCifsSpnegoMessage({ sessionKey: Buffer.alloc(32, 1), securityBlob: blob }, 'LE');
    expect(out.length).toBe(644);
    expect(out.subarray(0, 16).toString('hex')).toBe('02000000000000002000000050020000');
    const back = decodeCifsSpnegoMessage(out, 'LE');
    expect(back.version).toBe(2);
    expect(back.sessionKey.length).toBe(32);
    expect(back.securityBlob.equals(blob)).toBe(true);
  });

  it('accepts a blob of exactly 65535 bytes and refuses 65536 (SMB 16-bit length)', () => {
    expect(encodeCifsSpnegoMessage({ sessionKey: SESSION_KEY, securityBlob: Buffer.alloc(MAX_SECURITY_BLOB_BYTES, 1) }).length).toBe(
      20 + 16 + 65535,
    );
    expect(() => encodeCifsSpnegoMessage({ sessionKey: SESSION_KEY, securityBlob: Buffer.alloc(65536, 1) })).toThrow(
      /exceeds the SMB security buffer limit of 65535/,
    );
  });

  it('refuses a reply version other than 2 (the kernel rejects it: EKEYREJECTED)', () => {
    for (const version of [0, 1, 3]) {
      expect(() => encodeCifsSpnegoMessage({ sessionKey: SESSION_KEY, securityBlob: BLOB, version })).toThrow(SpnegoMessageError);
    }
  });

  it('refuses an empty blob; decode refuses lengths beyond the payload', () => {
    expect(() => encodeCifsSpnegoMessage({ sessionKey: SESSION_KEY, securityBlob: Buffer.alloc(0) })).toThrow(SpnegoMessageError);
    expect(() => decodeCifsSpnegoMessage(C_PAYLOAD.subarray(0, 40), 'LE')).toThrow(/exceed/);
    expect(() => decodeCifsSpnegoMessage(Buffer.alloc(8), 'LE')).toThrow(/shorter than the header/);
  });
});
