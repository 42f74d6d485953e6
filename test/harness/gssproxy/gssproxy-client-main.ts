// Test-only entry point: runs GssproxySource.acquire once in a process of its own (so the
// process can run as a realm user: gssproxy identifies callers by the euid at connect time) and
// prints one JSON line with the result or the CredentialError, plus the trace. Bundled with
// esbuild by gssproxy-run-as.ts; not part of the product.
import { CredentialError } from '../../../src/credentials.ts';
import { GssproxySource, type GssproxyNaming } from '../../../src/gssproxy/source.ts';
import { MemoryTrace } from '../../../src/trace.ts';

export interface ChildRequest {
  socketPath: string;
  host: string;
  uid: number;
  gid: number;
  username: string;
  naming?: GssproxyNaming;
  contextExport?: 'mit' | 'lucid';
  callTimeoutMs?: number;
}

export type ChildResult =
  | {
      ok: true;
      token: string;
      key: string;
      enctype: number;
      client: string;
      service: string;
      naming: string;
      rpcs: number;
      keyFrom: string;
      ms: number;
      euid: number;
      trace: string[];
    }
  | { ok: false; kind: string; message: string; euid: number; trace: string[] };

async function main(): Promise<void> {
  const req = JSON.parse(process.argv[2] ?? '{}') as ChildRequest;
  const trace = new MemoryTrace();
  const source = new GssproxySource({
    socketPath: req.socketPath,
    naming: req.naming,
    contextExport: req.contextExport,
    callTimeoutMs: req.callTimeoutMs,
  });
  const lines = (): string[] => trace.records.map((r) => `${r.t.toFixed(1)} ${r.area}: ${r.message}`);
  let out: ChildResult;
  try {
    const t = await source.acquire({
      host: req.host,
      isMountSession: false,
      identity: { uid: req.uid, gid: req.gid, username: req.username },
      signal: AbortSignal.timeout(20_000),
      trace,
    });
    out = {
      ok: true,
      token: t.gssToken.toString('hex'),
      key: t.sessionKey.toString('hex'),
      enctype: t.enctype,
      client: t.clientPrincipal,
      service: t.servicePrincipal,
      naming: t.gssproxy.naming,
      rpcs: t.gssproxy.rpcs,
      keyFrom: t.gssproxy.keyFrom,
      ms: t.gssproxy.ms,
      euid: process.geteuid?.() ?? -1,
      trace: lines(),
    };
  } catch (e) {
    out =
      e instanceof CredentialError
        ? { ok: false, kind: e.kind, message: e.message, euid: process.geteuid?.() ?? -1, trace: lines() }
        : { ok: false, kind: 'crash', message: String((e as Error)?.stack ?? e), euid: process.geteuid?.() ?? -1, trace: lines() };
  }
  process.stdout.write(JSON.stringify(out) + '\n');
}

void main();
