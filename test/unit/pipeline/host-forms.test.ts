// The host-name forms of docs/cifs-upcall-behaviour.md#host-names-and-the-service-principal: short-name domain guess, -t reverse DNS.
import { describe, expect, it } from 'vitest';
import type { CredentialRequest } from '../../../src/credentials.ts';
import { cifsHostForms, type HostResolver } from '../../../src/pipeline/host-forms.ts';
import { MemoryTrace } from '../../../src/trace.ts';

function request(host: string): CredentialRequest {
  return {
    host,
    isMountSession: false,
    identity: { uid: 2001, gid: 100, username: 'alice' },
    signal: new AbortController().signal,
    trace: new MemoryTrace(),
  };
}

const resolver = (names: Record<string, string>, ptr: Record<string, string>): HostResolver & { asked: string[] } => {
  const asked: string[] = [];
  return {
    asked,
    async lookupHost(name) {
      asked.push(`A ${name}`);
      const c = names[name];
      if (!c) throw new Error(`${name}: not found`);
      return { canonicalName: c };
    },
    async reverseLookup(ip) {
      asked.push(`PTR ${ip}`);
      const n = ptr[ip];
      if (!n) throw new Error(`${ip}: no PTR`);
      return n;
    },
  };
};

async function allForms(host: string, r: HostResolver | null, trustDns: boolean, ip?: string): Promise<string[]> {
  const forms = cifsHostForms({ resolver: r, trustDns, timeoutMs: 100, ...(ip ? { ip } : {}) });
  const seen = [host];
  const req = request(host);
  for (;;) {
    const f = await forms.next(seen, req);
    if (f === null) return seen;
    seen.push(f);
  }
}

describe('host forms', () => {
  it('a short name gets the domain of its canonical name (not the canonical host)', async () => {
    const r = resolver({ fs1: 'nas07.corp.example.com' }, {});
    expect(await allForms('fs1', r, false)).toEqual(['fs1', 'fs1.corp.example.com']);
  });

  it('a qualified name needs no DNS at all without -t', async () => {
    const r = resolver({}, {});
    expect(await allForms('fs1.example.com', r, false, '10.0.0.5')).toEqual(['fs1.example.com']);
    expect(r.asked).toEqual([]);
  });

  it('-t adds the reverse-DNS name, and its domain guess when it is short', async () => {
    const r = resolver({ nas: 'nas.Example.COM.' }, { '10.0.0.5': 'NAS' });
    expect(await allForms('fs1.example.com', r, true, '10.0.0.5')).toEqual(['fs1.example.com', 'nas', 'nas.example.com']);
  });

  it('-t is tried even when the short name does not resolve (differs from C)', async () => {
    const r = resolver({}, { '2001:0db8:0000:0000:0000:0000:0000:0010': 'fs6.example.com' });
    expect(await allForms('fs6', r, true, '2001:0db8:0000:0000:0000:0000:0000:0010')).toEqual(['fs6', 'fs6.example.com']);
  });

  it('a canonical name without a domain ends the forms; address literals are never guessed', async () => {
    expect(await allForms('fs1', resolver({ fs1: 'fs1' }, {}), false)).toEqual(['fs1']);
    const r = resolver({}, {});
    expect(await allForms('10.0.0.5', r, false)).toEqual(['10.0.0.5']);
    expect(r.asked).toEqual([]);
  });
});
