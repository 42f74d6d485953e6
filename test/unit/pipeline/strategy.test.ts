// Strategy semantics: which source is asked when, what falls through, host-form retries.
import { describe, expect, it } from 'vitest';
import {
  CredentialError,
  type CredentialFailureKind,
  type CredentialRequest,
  type CredentialSource,
  type InitiatorToken,
} from '../../../src/credentials.ts';
import { StrategySource, exactHostOnly, type HostForms, type SourceName } from '../../../src/pipeline/strategy.ts';
import { MemoryTrace } from '../../../src/trace.ts';
import type { StrategyName } from '../../../src/pipeline/config.ts';

type Behaviour = 'ok' | CredentialFailureKind | ((host: string) => 'ok' | CredentialFailureKind);

function token(source: string, host: string): InitiatorToken {
  return {
    gssToken: Buffer.from(source),
    sessionKey: Buffer.alloc(16),
    enctype: 17,
    clientPrincipal: `${source}@T`,
    servicePrincipal: `cifs/${host}@T`,
  };
}

function scripted(name: SourceName, behaviour: Behaviour, calls: string[]): () => Promise<CredentialSource> {
  return async () => ({
    name,
    async acquire(req: CredentialRequest): Promise<InitiatorToken> {
      calls.push(`${name}:${req.host}`);
      const outcome = typeof behaviour === 'function' ? behaviour(req.host) : behaviour;
      if (outcome === 'ok') return token(name, req.host);
      throw new CredentialError(name, outcome, `${name} says ${outcome}`);
    },
  });
}

function request(trace = new MemoryTrace(), keytabAllowed = true): CredentialRequest {
  return {
    host: 'fs1.example.test',
    identity: { uid: 2001, gid: 100, username: 'alice' },
    signal: new AbortController().signal,
    trace,
    ...(keytabAllowed ? { isMountSession: true, mountUser: 'CLIENT$' } : { isMountSession: false, mountUser: 'root' }),
  };
}

async function runStrategy(
  strategy: StrategyName,
  behaviours: Partial<Record<SourceName, Behaviour>>,
  options: { keytabAllowed?: boolean; hostForms?: HostForms } = {},
): Promise<{ calls: string[]; result: InitiatorToken | CredentialError; trace: MemoryTrace }> {
  const calls: string[] = [];
  const sources: Partial<Record<SourceName, () => Promise<CredentialSource>>> = {};
  for (const [name, b] of Object.entries(behaviours) as [SourceName, Behaviour][]) sources[name] = scripted(name, b, calls);
  const s = new StrategySource({
    strategy,
    sources,
    keytabFallback: 'mount-session',
    hostForms: options.hostForms ?? exactHostOnly,
  });
  const trace = new MemoryTrace();
  try {
    return { calls, result: await s.acquire(request(trace, options.keytabAllowed ?? true)), trace };
  } catch (e) {
    return { calls, result: e as CredentialError, trace };
  }
}

describe('strategy plans', () => {
  it('compat: a usable cache whose TGS fails is final (no gssproxy), like cifs.upcall', async () => {
    const r = await runStrategy('compat', { ccache: 'refused', keytab: 'ok', gssproxy: 'ok' });
    expect(r.calls).toEqual(['ccache:fs1.example.test']);
    expect(r.result).toBeInstanceOf(CredentialError);
    expect(r.trace.messages('strategy').join('\n')).toContain('local-first would fall back');
  });

  it('compat: no usable cache → keytab → gssproxy', async () => {
    const r = await runStrategy('compat', { ccache: 'no-credentials', keytab: 'no-credentials', gssproxy: 'ok' });
    expect(r.calls).toEqual(['ccache:fs1.example.test', 'keytab:fs1.example.test', 'gssproxy:fs1.example.test']);
    expect((r.result as InitiatorToken).clientPrincipal).toBe('gssproxy@T');
  });

  it('local-first: a TGS failure falls back to impersonation', async () => {
    const r = await runStrategy('local-first', { ccache: 'unreachable', gssproxy: 'ok' }, { keytabAllowed: false });
    expect(r.calls).toEqual(['ccache:fs1.example.test', 'gssproxy:fs1.example.test']);
    expect(r.trace.messages('strategy').join('\n')).toMatch(
      /keytab skipped: user=root is the mount's identity, and uid 2001 is not the mount's own session/,
    );
  });

  it('local-only never asks gssproxy', async () => {
    const r = await runStrategy('local-only', { ccache: 'no-credentials', keytab: 'no-credentials', gssproxy: 'ok' });
    expect(r.calls).toEqual(['ccache:fs1.example.test', 'keytab:fs1.example.test']);
    expect((r.result as CredentialError).kind).toBe('no-credentials');
  });

  it('proxy-first asks gssproxy before the cache; proxy-only only gssproxy', async () => {
    const a = await runStrategy('proxy-first', { ccache: 'ok', gssproxy: 'refused' });
    expect(a.calls).toEqual(['gssproxy:fs1.example.test', 'ccache:fs1.example.test']);
    const b = await runStrategy('proxy-only', { ccache: 'ok', gssproxy: 'refused' });
    expect(b.calls).toEqual(['gssproxy:fs1.example.test']);
    expect((b.result as CredentialError).kind).toBe('refused');
  });

  it('reports the most specific failure and every step in the message', async () => {
    const r = await runStrategy('local-first', { ccache: 'no-credentials', gssproxy: 'refused' }, { keytabAllowed: false });
    const e = r.result as CredentialError;
    expect(e.kind).toBe('refused');
    expect(e.message).toContain('ccache: ccache says no-credentials');
    expect(e.message).toContain('gssproxy: gssproxy says refused');
  });

  it('tries further host forms only after service-unknown, and lazily', async () => {
    let asked = 0;
    const forms: HostForms = {
      async next(previous) {
        asked++;
        return previous.length === 1 ? 'fs1.example.test.corp' : null;
      },
    };
    const r = await runStrategy(
      'local-first',
      { ccache: (h) => (h === 'fs1.example.test' ? 'service-unknown' : 'ok') },
      { hostForms: forms, keytabAllowed: false },
    );
    expect(r.calls).toEqual(['ccache:fs1.example.test', 'ccache:fs1.example.test.corp']);
    expect(asked).toBe(1);
    const none = await runStrategy('local-first', { ccache: 'refused' }, { hostForms: forms, keytabAllowed: false });
    expect(none.calls).toEqual(['ccache:fs1.example.test']);
  });

  it('does not create sources it never asks', async () => {
    let created = 0;
    const s = new StrategySource({
      strategy: 'local-first',
      keytabFallback: 'mount-session',
      hostForms: exactHostOnly,
      sources: {
        ccache: async () => ({ name: 'ccache', acquire: async (req) => token('ccache', req.host) }),
        gssproxy: async () => {
          created++;
          throw new Error('must not load');
        },
      },
    });
    await s.acquire(request(new MemoryTrace(), false));
    expect(created).toBe(0);
  });
});

describe('keytab decision (docs/cifs-upcall-behaviour.md#keytab-fallback)', () => {
  it('never for another uid of a multiuser mount, with the reason', async () => {
    const r = await runStrategy('compat', { ccache: 'no-credentials', keytab: 'ok', gssproxy: 'ok' }, { keytabAllowed: false });
    expect(r.calls).toEqual(['ccache:fs1.example.test', 'gssproxy:fs1.example.test']);
  });
  it('for the mount session with user=', async () => {
    const r = await runStrategy('compat', { ccache: 'no-credentials', keytab: 'ok', gssproxy: 'ok' });
    expect(r.calls).toEqual(['ccache:fs1.example.test', 'keytab:fs1.example.test']);
  });
});
