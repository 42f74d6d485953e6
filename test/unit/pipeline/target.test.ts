// The upcall_target decision table (7.4+ semantics: docs/cifs-upcall-behaviour.md#namespaces; probe
// conditions: #environment-probing) and the expected decisions of the description vectors
// (docs/kernel-key-protocol.md#description-vectors; (V1's JSON: effectiveUid, switchNamespacesOf,
// envProbe, servicePrincipalHost).
import { describe, expect, it } from 'vitest';
import { credentialUid, parseSpnegoDescription } from '../../../src/kernel/key-description.ts';
import { planTarget, servicePrincipalHost } from '../../../src/pipeline/target.ts';

function decide(description: string, options: { legacyUid?: boolean; envProbe?: boolean } = {}) {
  const d = parseSpnegoDescription(description);
  const uid = credentialUid(d, options.legacyUid ?? false).uid;
  return { uid, plan: planTarget(d, { uid, envProbe: options.envProbe ?? true }), host: servicePrincipalHost(d.host) };
}

describe('where the upcall runs', () => {
  it('V1: root mount, app → switch into 4242, no env probe (uid 0), SPN host lower-cased', () => {
    const r = decide('ver=0x2;host=FS1.Example.COM;ip4=10.0.0.5;sec=krb5;uid=0x0;creduid=0x0;pid=0x1092;upcall_target=app');
    expect(r.uid).toBe(0);
    expect(r.plan).toMatchObject({ namespaces: 'caller', pid: 4242, envProbe: false });
    expect(r.plan.logLine).toBe('upcall_target=app, switching namespaces to application thread');
    expect(r.host).toBe('fs1.example.com');
  });

  it('V2: multiuser uid 1000 → switch into 12058 and probe its environ', () => {
    const r = decide('ver=0x2;host=fs1.example.com;ip4=10.0.0.5;sec=krb5;uid=0x3e8;creduid=0x3e8;pid=0x2f1a;upcall_target=app');
    expect(r.plan).toMatchObject({ namespaces: 'caller', pid: 12058, envProbe: true });
  });

  it('V2 with -E: switch, no probe', () => {
    const r = decide('ver=0x2;host=fs1.example.com;ip4=10.0.0.5;sec=krb5;uid=0x3e8;creduid=0x3e8;pid=0x2f1a;upcall_target=app', {
      envProbe: false,
    });
    expect(r.plan).toMatchObject({ namespaces: 'caller', envProbe: false, envProbeReason: '-E/--no-env-probe given' });
  });

  it('V4: upcall_target=mount → own namespaces, no probe; uid 1001 (1000 with -l)', () => {
    const desc =
      'ver=0x2;host=fs6.example.com;ip6=2001:0db8:0000:0000:0000:0000:0000:0010;sec=krb5;uid=0x3e8;creduid=0x3e9;pid=0x7a69;upcall_target=mount';
    const r = decide(desc);
    expect(r.uid).toBe(1001);
    expect(r.plan).toMatchObject({ namespaces: 'own', envProbe: false });
    expect(r.plan.logLine).toBe('upcall_target=mount, not switching namespaces to application thread');
    expect(decide(desc, { legacyUid: true }).uid).toBe(1000);
  });

  it('V5: no upcall_target (kernel < 6.13) is app (7.4+): switch and probe', () => {
    const r = decide('ver=0x2;host=fs1.example.com;ip4=10.0.0.5;sec=krb5;uid=0x3e8;creduid=0x3e8;pid=0x2f1a');
    expect(r.plan).toMatchObject({ namespaces: 'caller', envProbe: true, pid: 12058 });
  });

  it('servicePrincipalHost lower-cases ASCII only', () => {
    expect(servicePrincipalHost('FS1.Example.COM')).toBe('fs1.example.com');
    expect(servicePrincipalHost('10.0.0.5')).toBe('10.0.0.5');
  });
});
