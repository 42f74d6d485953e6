// KCM client failure handling that a well-behaved daemon never exercises: oversized, malformed,
// truncated or missing replies, an idle connection the daemon closed, and timeouts/aborts. The
// peer here is a scripted Unix-socket server; the protocol itself is tested against the real
// sssd-kcm in test/integration/ccache-backends.test.ts.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type CcacheError, KcmError } from '../../../../src/krb5/ccache/errors.ts';
import { isUnsupportedKcmCode, KcmConnection, KcmOp, KrbCcacheCode, openKcmCcache } from '../../../../src/krb5/ccache/kcm.ts';

const scratch = mkdtempSync(join(tmpdir(), 'cu-kcm-unit-'));
const servers: Server[] = [];
afterAll(async () => {
  for (const s of servers) await new Promise((r) => s.close(r));
  rmSync(scratch, { recursive: true, force: true });
});
let n = 0;

/** A server that hands each complete request (opcode, body) to `answer`. */
async function scripted(answer: (op: number, body: Buffer, sock: Socket, index: number) => void): Promise<string> {
  const path = join(scratch, `s${n++}.sock`);
  let index = 0;
  const server = createServer((sock) => {
    let buf = Buffer.alloc(0);
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 4 && buf.length >= 4 + buf.readUInt32BE(0)) {
        const len = buf.readUInt32BE(0);
        const req = buf.subarray(4, 4 + len);
        buf = buf.subarray(4 + len);
        answer(req.readUInt16BE(2), req.subarray(4), sock, index++);
      }
    });
    sock.on('error', () => undefined);
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(path, r));
  return path;
}

function reply(result: number, output: Buffer = Buffer.alloc(0)): Buffer {
  const payload = Buffer.alloc(4 + output.length);
  payload.writeInt32BE(result, 0);
  output.copy(payload, 4);
  const head = Buffer.alloc(8);
  head.writeUInt32BE(payload.length, 0);
  return Buffer.concat([head, payload]);
}

describe('KCM client robustness', () => {
  it('frames requests as MIT does: u32 length, 2, 0, u16 opcode, name NUL', async () => {
    let seen: Buffer | null = null;
    const path = await scripted((op, body, sock) => {
      seen = Buffer.concat([Buffer.from([0, op]), body]);
      sock.write(reply(0, Buffer.from('2001\0')));
    });
    const cache = await openKcmCcache('', { socketPath: path });
    expect(cache.name).toBe('KCM:2001');
    expect(seen).toEqual(Buffer.from([0, KcmOp.GET_DEFAULT_CACHE]));
    cache.close();
  });

  it('refuses a reply announcing more than 10 MiB without reading it', async () => {
    const path = await scripted((_op, _b, sock) => {
      const head = Buffer.alloc(8);
      head.writeUInt32BE(10 * 1024 * 1024 + 1, 0);
      sock.write(head);
    });
    await expect(new KcmConnection({ socketPath: path }).call(KcmOp.NOOP, Buffer.alloc(0))).rejects.toThrow(
      /above the 10485760-byte limit/,
    );
  });

  it('a non-zero transport status is a KcmError with that code', async () => {
    const path = await scripted((_op, _b, sock) => {
      const head = Buffer.alloc(8);
      head.writeInt32BE(KrbCcacheCode.KRB5_CC_IO, 4);
      sock.write(head);
    });
    const e = await new KcmConnection({ socketPath: path }).call(KcmOp.NOOP, Buffer.alloc(0)).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(KcmError);
    expect((e as KcmError).code).toBe(KrbCcacheCode.KRB5_CC_IO);
  });

  it('a connection closed mid-reply is "unreachable", not a hang', async () => {
    const path = await scripted((_op, _b, sock) => {
      sock.end(reply(0, Buffer.from('abc')).subarray(0, 9));
    });
    const e = (await new KcmConnection({ socketPath: path }).call(KcmOp.NOOP, Buffer.alloc(0)).catch((x: unknown) => x)) as CcacheError;
    expect(e.kind).toBe('unreachable');
    expect(e.message).toMatch(/closed before the reply to NOOP was complete/);
  });

  it('no reply within the timeout, or an abort, ends the call', async () => {
    const path = await scripted(() => undefined);
    const started = Date.now();
    const e = (await new KcmConnection({ socketPath: path, timeoutMs: 200 })
      .call(KcmOp.NOOP, Buffer.alloc(0))
      .catch((x: unknown) => x)) as CcacheError;
    expect(e.message).toMatch(/no reply to NOOP within 200 ms/);
    expect(Date.now() - started).toBeLessThan(2000);
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 50);
    const a = (await new KcmConnection({ socketPath: path, signal: ac.signal })
      .call(KcmOp.NOOP, Buffer.alloc(0))
      .catch((x: unknown) => x)) as CcacheError;
    expect(a.message).toMatch(/aborted/);
  });

  it('a missing socket says so', async () => {
    const e = (await new KcmConnection({ socketPath: join(scratch, 'none.sock') })
      .call(KcmOp.NOOP, Buffer.alloc(0))
      .catch((x: unknown) => x)) as CcacheError;
    expect(e.kind).toBe('unreachable');
    expect(e.message).toMatch(/no socket \(is the KCM daemon running\?\)/);
    await expect(new KcmConnection({ socketPath: '-' }).call(KcmOp.NOOP, Buffer.alloc(0))).rejects.toThrow(/KCM is disabled/);
  });

  it('reconnects once when the daemon closed the idle connection (as sssd does)', async () => {
    let connections = 0;
    const path = await scripted((_op, _b, sock, i) => {
      sock.end(reply(0, Buffer.from(`n${i}\0`))); // answer, then close like an idle timeout
    });
    const server = servers.at(-1)!;
    server.on('connection', () => {
      connections++;
    });
    const conn = new KcmConnection({ socketPath: path });
    expect(await conn.call(KcmOp.GET_DEFAULT_CACHE, Buffer.alloc(0))).toEqual(Buffer.from('n0\0'));
    await new Promise((r) => setTimeout(r, 50));
    expect(await conn.call(KcmOp.GET_DEFAULT_CACHE, Buffer.alloc(0))).toEqual(Buffer.from('n1\0'));
    expect(connections).toBe(2);
    conn.close();
  });

  it('falls back to the UUID walk when GET_CRED_LIST is unsupported, and rejects malformed UUID lists', async () => {
    const ops: number[] = [];
    const path = await scripted((op, _b, sock) => {
      ops.push(op);
      if (op === KcmOp.GET_CRED_LIST) sock.write(reply(KrbCcacheCode.KRB5_CC_NOSUPP));
      else sock.write(reply(0, Buffer.alloc(17)));
    });
    const cache = await openKcmCcache('x', { socketPath: path });
    await expect(cache.records()).rejects.toThrow(/17 bytes is not a list of 16-byte UUIDs/);
    expect(ops).toEqual([KcmOp.GET_CRED_LIST, KcmOp.GET_CRED_UUID_LIST]);
    cache.close();
  });

  it('unsupported-operation codes are the three MIT recognizes', () => {
    expect([KrbCcacheCode.KRB5_FCC_INTERNAL, KrbCcacheCode.KRB5_CC_IO, KrbCcacheCode.KRB5_CC_NOSUPP].every(isUnsupportedKcmCode)).toBe(
      true,
    );
    expect(isUnsupportedKcmCode(KrbCcacheCode.KRB5_FCC_NOFILE)).toBe(false);
  });
});
