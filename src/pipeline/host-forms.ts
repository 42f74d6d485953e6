// The host-name forms cifs.upcall tries for cifs/<host> (docs/cifs-upcall-behaviour.md#host-names-and-the-service-principal), produced only
// when the KDC said it does not know the previous form:
//   1. the kernel's host=, lower-cased (always; the strategy starts with it);
//   2. a short name (no dot): <short> + the domain of its canonical name (getaddrinfo's
//      AI_CANONNAME in C; here our resolver: hosts file, then DNS with the search list);
//   3. with -t and an address in the description: the reverse-DNS name of the server address,
//      and again its domain-guess form if that name is short.
// Deliberate difference (docs/cifs-upcall-behaviour.md#reverse-dns-retry-after-a-failed-domain-guess):
// C never reaches -t when the short name does not
// resolve; here -t is tried regardless. All lookups run in the caller's network and mount
// namespaces through src/net/dns (no getaddrinfo, no NSS).
import type { CredentialRequest } from '../credentials.ts';
import type { HostForms } from './strategy.ts';

/** The parts of src/net/dns the forms need (passed in: the module is loaded before setns). */
export interface HostResolver {
  lookupHost(name: string, options: { signal?: AbortSignal; timeoutMs?: number }): Promise<{ canonicalName: string }>;
  reverseLookup(ip: string, options: { signal?: AbortSignal; timeoutMs?: number }): Promise<string>;
}

function lower(name: string): string {
  return name.replace(/[A-Z]/g, (c) => c.toLowerCase()).replace(/\.$/, '');
}

function isAddressLiteral(host: string): boolean {
  return /^[0-9.]+$/.test(host) || host.includes(':');
}

export interface CifsHostFormsOptions {
  resolver: HostResolver | null;
  /** -t / trust_dns */
  trustDns: boolean;
  /** ip4= / ip6= of the description */
  ip?: string;
  /** per-try DNS timeout */
  timeoutMs: number;
}

export function cifsHostForms(options: CifsHostFormsOptions): HostForms {
  let stages: Array<(request: CredentialRequest, seen: readonly string[]) => Promise<string | null>> | null = null;

  const domainGuess = async (name: string, request: CredentialRequest): Promise<string | null> => {
    if (name.includes('.') || isAddressLiteral(name) || !options.resolver) return null;
    try {
      const r = await options.resolver.lookupHost(name, { signal: request.signal, timeoutMs: options.timeoutMs });
      const canonical = lower(r.canonicalName);
      const dot = canonical.indexOf('.');
      if (dot < 0) {
        request.trace.event('dns', `short name ${name}: canonical name ${canonical} has no domain, no other form`);
        return null;
      }
      const form = `${name}${canonical.slice(dot)}`;
      request.trace.event(
        'dns',
        `short name ${name}: canonical name ${canonical}, trying ${form} (the short name with the canonical domain, as cifs.upcall)`,
      );
      return form;
    } catch (e) {
      request.trace.event('dns', `short name ${name} does not resolve: ${(e as Error).message}`);
      return null;
    }
  };

  const build = () => [
    async (request: CredentialRequest, seen: readonly string[]) => domainGuess(seen[0] ?? request.host, request),
    async (request: CredentialRequest): Promise<string | null> => {
      if (!options.trustDns) return null;
      if (!options.ip) {
        request.trace.event('dns', '-t given but the description has no server address: no reverse-DNS form');
        return null;
      }
      if (!options.resolver) return null;
      try {
        const name = lower(await options.resolver.reverseLookup(options.ip, { signal: request.signal, timeoutMs: options.timeoutMs }));
        request.trace.event('dns', `-t: ${options.ip} reverse-resolves to ${name}`);
        return name;
      } catch (e) {
        request.trace.event('dns', `-t: no reverse-DNS name for ${options.ip}: ${(e as Error).message}`);
        return null;
      }
    },
    async (request: CredentialRequest, seen: readonly string[]) => {
      const last = seen[seen.length - 1];
      return last !== undefined && options.trustDns ? domainGuess(last, request) : null;
    },
  ];

  return {
    async next(previous, request) {
      stages ??= build();
      while (stages.length > 0) {
        const stage = stages.shift()!;
        const form = await stage(request, previous);
        if (form !== null && !previous.includes(form)) return form;
      }
      return null;
    },
  };
}
