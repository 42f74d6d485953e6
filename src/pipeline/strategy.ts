// The credential strategy: in which order the sources are asked, when a failure falls through to
// the next one, and which host-name forms are tried for cifs/<host>. Sources are created lazily,
// so a path that the user's own ticket satisfies never loads the gssproxy client, and vice versa.
//
//   compat       cifs.upcall 7.x: the user's cache if it holds a valid TGT or cifs ticket — a TGS
//                failure with a usable cache is final; else the keytab (mount's own session, user=
//                set); else gssproxy.
//   local-first  the same order, but every failure falls through: an expired cache, a TGS error,
//                an unreachable KDC all end in gssproxy impersonation.
//   local-only   cache, then keytab; never gssproxy.
//   proxy-first  gssproxy, then cache, then keytab.
//   proxy-only   gssproxy only.
import {
  CredentialError,
  keytabRefusal,
  type CredentialFailureKind,
  type CredentialRequest,
  type CredentialSource,
  type InitiatorToken,
} from '../credentials.ts';
import type { StrategyName } from './config.ts';

export type SourceName = 'ccache' | 'keytab' | 'gssproxy';

/** Lazily creates a source (dynamic import of its module on first use). */
export type SourceFactory = () => Promise<CredentialSource>;

export interface StrategyStep {
  source: SourceName;
  /** when true, a failure of this step other than "no-credentials" ends the upcall (compat) */
  finalUnlessNoCredentials: boolean;
}

export function planFor(strategy: StrategyName): StrategyStep[] {
  const step = (source: SourceName, finalUnlessNoCredentials = false): StrategyStep => ({
    source,
    finalUnlessNoCredentials,
  });
  switch (strategy) {
    case 'compat':
      return [step('ccache', true), step('keytab'), step('gssproxy')];
    case 'local-first':
      return [step('ccache'), step('keytab'), step('gssproxy')];
    case 'local-only':
      return [step('ccache'), step('keytab')];
    case 'proxy-first':
      return [step('gssproxy'), step('ccache'), step('keytab')];
    case 'proxy-only':
      return [step('gssproxy')];
  }
}

/**
 * Host-name forms for cifs/<host>, produced on demand: the lower-cased host first; later forms
 * (short-name domain guess, reverse DNS with -t) are resolved only when a source reported that
 * the KDC does not know the previous form.
 */
export interface HostForms {
  next(previous: readonly string[], request: CredentialRequest): Promise<string | null>;
}

/** Only the host as given (no DNS at all). */
export const exactHostOnly: HostForms = {
  async next() {
    return null;
  },
};

export interface StrategyOptions {
  strategy: StrategyName;
  sources: Partial<Record<SourceName, SourceFactory>>;
  /** keytab_fallback: "never" disables the keytab source altogether */
  keytabFallback: 'mount-session' | 'never';
  hostForms: HostForms;
}

/** How telling a failure is when every step failed: the reported cause is the most specific. */
const KIND_RANK: Record<CredentialFailureKind, number> = {
  refused: 6,
  'service-unknown': 5,
  protocol: 4,
  config: 3,
  unreachable: 2,
  'no-credentials': 1,
};

export class StrategySource implements CredentialSource {
  readonly name = 'strategy';
  private readonly created = new Map<SourceName, Promise<CredentialSource>>();

  constructor(private readonly options: StrategyOptions) {}

  private source(name: SourceName): Promise<CredentialSource> | null {
    const factory = this.options.sources[name];
    if (!factory) return null;
    let s = this.created.get(name);
    if (!s) {
      s = factory();
      this.created.set(name, s);
    }
    return s;
  }

  async acquire(request: CredentialRequest): Promise<InitiatorToken> {
    const { trace } = request;
    const plan = planFor(this.options.strategy);
    trace.event('strategy', `strategy ${this.options.strategy}: ${plan.map((s) => s.source).join(' → ')}`);
    const failures: CredentialError[] = [];
    const hosts: string[] = [request.host];

    for (const step of plan) {
      if (request.signal.aborted) break;
      if (step.source === 'keytab') {
        const refusal = keytabRefusal(request, this.options.keytabFallback);
        if (refusal !== null) {
          trace.event('strategy', `keytab skipped: ${refusal}`);
          continue;
        }
      }
      const pending = this.source(step.source);
      if (!pending) {
        trace.event('strategy', `${step.source} skipped: not available in this build or configuration`);
        continue;
      }
      const source = await pending;
      let failure: CredentialError | null = null;
      for (let i = 0; ; i++) {
        if (i >= hosts.length) {
          const form = failure?.kind === 'service-unknown' ? await this.options.hostForms.next(hosts, request) : null;
          if (form === null) break;
          trace.event('strategy', `KDC does not know cifs/${hosts[hosts.length - 1]}; trying host form ${form}`);
          hosts.push(form);
        }
        const host = hosts[i]!;
        trace.event('strategy', `asking ${source.name} for cifs/${host}`);
        try {
          const token = await source.acquire({ ...request, host });
          trace.event('strategy', `${source.name} succeeded: ${token.clientPrincipal} → ${token.servicePrincipal}`);
          return token;
        } catch (e) {
          failure =
            e instanceof CredentialError
              ? e
              : new CredentialError(source.name, 'protocol', `unexpected error: ${(e as Error).message ?? String(e)}`, { cause: e });
          // the source traced its reason; the cause says it once, in the result
          trace.event('strategy', `${source.name} failed (${failure.kind})`);
          if (failure.kind !== 'service-unknown') break;
        }
      }
      if (failure) {
        failures.push(failure);
        if (step.finalUnlessNoCredentials && failure.kind !== 'no-credentials') {
          trace.event(
            'strategy',
            `${step.source} had usable credentials but failed: final in strategy ${this.options.strategy} (local-first would fall back)`,
          );
          break;
        }
      }
    }

    if (failures.length === 0) {
      throw new CredentialError(
        'strategy',
        'no-credentials',
        request.signal.aborted ? 'upcall time budget exhausted' : 'no credential source was applicable',
      );
    }
    const worst = failures.reduce((a, b) => (KIND_RANK[b.kind] > KIND_RANK[a.kind] ? b : a));
    const summary = failures.map((f) => `${f.source}: ${f.message}`).join('; ');
    throw new CredentialError(worst.source, worst.kind, summary, { cause: worst });
  }
}
