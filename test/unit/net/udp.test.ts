// src/net/udp.ts: a UDP exchange through a pre-bound handle, so that node:dgram never loads
// node:cluster (and with it child_process and net). Each case runs in a fresh node, where
// process.moduleLoadList tells which built-ins were loaded; an echo server in this process answers.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createSocket, type Socket } from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probedTitle, probeIpv6Loopback, reportProbeSkip } from '../../harness/common/host-probes.ts';

const here = dirname(fileURLToPath(import.meta.url));

interface ChildReport {
  reply: string;
  bind: string;
  loaded: string[];
}

let echo4: Socket;
let echo6: Socket | undefined;
const work = mkdtempSync(join(tmpdir(), 'cu-udp-'));

async function listen(type: 'udp4' | 'udp6', address: string): Promise<Socket> {
  const s = createSocket(type);
  s.on('message', (msg, from) => s.send(Buffer.concat([Buffer.from('echo:'), msg]), from.port, from.address));
  await new Promise<void>((ok, fail) => {
    s.once('error', fail);
    s.bind(0, address, () => ok());
  });
  return s;
}

/** One exchange in a fresh node; `before` runs first (e.g. to take process.binding away). */
async function exchange(type: 'udp4' | 'udp6', address: string, port: number, before = ''): Promise<ChildReport> {
  const out = join(work, `child-${type}-${before ? 'fallback' : 'handle'}.mjs`);
  await build({
    stdin: {
      contents: `${before}
import { createUdpSocket, lastUdpBind } from './udp-entry.ts';
const socket = createUdpSocket({ type: ${JSON.stringify(type)} });
const timer = setTimeout(() => { console.log(JSON.stringify({ reply: 'timeout' })); process.exit(1); }, 5000);
socket.on('message', (m) => {
  clearTimeout(timer);
  const loaded = process.moduleLoadList.filter((n) => /^NativeModule (cluster|child_process|net)$/.test(n));
  console.log(JSON.stringify({ reply: m.toString(), bind: lastUdpBind, loaded }));
  socket.close();
});
socket.connect(${port}, ${JSON.stringify(address)}, () => socket.send('ping'));
`,
      resolveDir: here,
      loader: 'ts',
    },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile: out,
    logLevel: 'error',
    plugins: [
      {
        name: 'udp-entry',
        setup(b) {
          b.onResolve({ filter: /^\.\/udp-entry\.ts$/ }, () => ({ path: join(here, '..', '..', '..', 'src', 'net', 'udp.ts') }));
        },
      },
    ],
  });
  // asynchronously: the echo server lives in this process's event loop
  const { stdout } = await promisify(execFile)(process.execPath, [out], { encoding: 'utf8', timeout: 15_000 });
  return JSON.parse(stdout.trim().split('\n').pop()!) as ChildReport;
}

const IPV6_ROW = 'does the same over IPv6 (::1)';
const ipv6 = probeIpv6Loopback();
reportProbeSkip('test/unit/net/udp.test.ts', IPV6_ROW, ipv6);

beforeAll(async () => {
  echo4 = await listen('udp4', '127.0.0.1');
  if (ipv6.available) echo6 = await listen('udp6', '::1');
});

afterAll(() => {
  echo4.close();
  echo6?.close();
  rmSync(work, { recursive: true, force: true });
});

describe('createUdpSocket', () => {
  it('exchanges a datagram over IPv4 through the pre-bound handle without loading cluster, child_process or net', async () => {
    const r = await exchange('udp4', '127.0.0.1', echo4.address().port);
    expect(r).toEqual({ reply: 'echo:ping', bind: 'handle', loaded: [] });
  });

  it.skipIf(!ipv6.available)(probedTitle(IPV6_ROW, ipv6), async () => {
    const r = await exchange('udp6', '::1', echo6!.address().port);
    expect(r).toEqual({ reply: 'echo:ping', bind: 'handle', loaded: [] });
  });

  it("falls back to dgram's own bind when process.binding is gone, and still exchanges", async () => {
    const r = await exchange('udp4', '127.0.0.1', echo4.address().port, "process.binding = () => { throw new Error('gone'); };");
    expect(r.reply).toBe('echo:ping');
    expect(r.bind).toBe('dgram');
    // dgram's bind is what loads cluster: the difference the fast path makes
    expect(r.loaded).toContain('NativeModule cluster');
  });
});
