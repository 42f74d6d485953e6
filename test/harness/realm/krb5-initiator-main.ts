// Test-only entry point: runs the own-ticket sources (CcacheSource / KeytabSource) in a process
// of its own, so that it can run as a realm user after setpriv — like the real upcall after it
// dropped privileges — and prints one JSON line: one result per requested host, each with the
// token, the session key, the trace and (optionally) every KDC exchange's bytes. Each host is a
// fresh source instance (a new upcall); the process is the same. Bundled with esbuild by
// krb5-run-as.ts; not part of the product.
import { CredentialError } from '../../../src/credentials.ts';
import { CcacheSource, KeytabSource, type Krb5SourceOptions } from '../../../src/krb5/initiator.ts';
import { MemoryTrace } from '../../../src/trace.ts';

export interface Krb5ChildRequest {
  source: 'ccache' | 'keytab';
  /** one acquisition per entry, in order: a host, or a host with its own krb5.conf (-k) */
  hosts: Array<string | { host: string; krb5ConfigFile: string }>;
  uid: number;
  gid: number;
  username: string;
  probedCcacheName?: string;
  mountUser?: string;
  isMountSession?: boolean;
  krb5ConfigFile?: string;
  keytabName?: string;
  kdcTimeoutMs?: number;
  kdcExchangeTimeoutMs?: number;
  skewRetry?: boolean;
  /** the request's AbortSignal fires after this long (the upcall budget); default 20 s */
  budgetMs?: number;
  /** include request/reply bytes of every KDC exchange */
  capture?: boolean;
}

export interface CapturedExchange {
  realm: string;
  kind: string;
  subject: string;
  server: string;
  transport: string;
  ms: number;
  errorCode?: number;
  request?: string;
  reply?: string;
}

export type Krb5ChildResult =
  | {
      ok: true;
      host: string;
      token: string;
      key: string;
      enctype: number;
      client: string;
      service: string;
      cache: string;
      ticketFrom: 'cache' | 'kdc';
      kdcExchanges: number;
      realms: string[];
      stored: string;
      kdcOffsetSeconds: number;
      skewCorrected: boolean;
      ms: number;
      trace: string[];
      exchanges: CapturedExchange[];
    }
  | { ok: false; host: string; kind: string; message: string; ms: number; trace: string[]; exchanges: CapturedExchange[] };

async function one(req: Krb5ChildRequest, entry: Krb5ChildRequest['hosts'][number]): Promise<Krb5ChildResult> {
  const trace = new MemoryTrace();
  const exchanges: CapturedExchange[] = [];
  const host = typeof entry === 'string' ? entry : entry.host;
  const krb5ConfigFile = typeof entry === 'string' ? req.krb5ConfigFile : entry.krb5ConfigFile;
  const options: Krb5SourceOptions = {
    ...(krb5ConfigFile !== undefined ? { krb5ConfigFile } : {}),
    ...(req.keytabName !== undefined ? { keytabName: req.keytabName } : {}),
    ...(req.kdcTimeoutMs !== undefined ? { kdcTimeoutMs: req.kdcTimeoutMs } : {}),
    ...(req.kdcExchangeTimeoutMs !== undefined ? { kdcExchangeTimeoutMs: req.kdcExchangeTimeoutMs } : {}),
    ...(req.skewRetry !== undefined ? { skewRetry: req.skewRetry } : {}),
    env: { ...(process.env.KRB5_CONFIG ? { KRB5_CONFIG: process.env.KRB5_CONFIG } : {}) },
    onKdcExchange: (r) =>
      exchanges.push({
        realm: r.realm,
        kind: r.kind,
        subject: r.subject,
        server: r.server,
        transport: r.transport,
        ms: Math.round(r.ms * 10) / 10,
        ...(r.errorCode !== undefined ? { errorCode: r.errorCode } : {}),
        ...(req.capture ? { request: r.request.toString('hex'), reply: r.reply.toString('hex') } : {}),
      }),
  };
  const source = req.source === 'keytab' ? new KeytabSource(options) : new CcacheSource(options);
  const lines = (): string[] => trace.records.map((r) => `${r.t.toFixed(1)} ${r.area}: ${r.message}`);
  const started = performance.now();
  try {
    const t = await source.acquire({
      host,
      isMountSession: req.isMountSession ?? false,
      identity: { uid: req.uid, gid: req.gid, username: req.username },
      ...(req.mountUser !== undefined ? { mountUser: req.mountUser } : {}),
      ...(req.probedCcacheName !== undefined ? { probedCcacheName: req.probedCcacheName } : {}),
      signal: AbortSignal.timeout(req.budgetMs ?? 20_000),
      trace,
    });
    return {
      ok: true,
      host,
      token: t.gssToken.toString('hex'),
      key: t.sessionKey.toString('hex'),
      enctype: t.enctype,
      client: t.clientPrincipal,
      service: t.servicePrincipal,
      cache: t.krb5.cache,
      ticketFrom: t.krb5.ticketFrom,
      kdcExchanges: t.krb5.kdcExchanges,
      realms: t.krb5.realms,
      stored: t.krb5.stored,
      kdcOffsetSeconds: t.krb5.kdcOffsetSeconds,
      skewCorrected: t.krb5.skewCorrected,
      ms: performance.now() - started,
      trace: lines(),
      exchanges,
    };
  } catch (e) {
    return e instanceof CredentialError
      ? { ok: false, host, kind: e.kind, message: e.message, ms: performance.now() - started, trace: lines(), exchanges }
      : {
          ok: false,
          host,
          kind: 'crash',
          message: String((e as Error)?.stack ?? e),
          ms: performance.now() - started,
          trace: lines(),
          exchanges,
        };
  }
}

async function main(): Promise<void> {
  const req = JSON.parse(process.argv[2] ?? '{}') as Krb5ChildRequest;
  const results: Krb5ChildResult[] = [];
  for (const host of req.hosts) results.push(await one(req, host));
  process.stdout.write(JSON.stringify({ euid: process.geteuid?.() ?? -1, results }) + '\n');
}

void main();
