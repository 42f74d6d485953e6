// The test bed itself: the real MIT tools and python3-gssapi agree with each other before any of
// our code is involved (a failure here is an environment problem, not a product bug).
import { afterAll, describe, expect, inject, it } from 'vitest';
import { Acceptor } from '../harness/common/acceptor.ts';
import { kinit, klist, logMark, logSince, runAs, userEnv } from '../harness/realm/realm.ts';

const env = inject('realm');
const acceptor = new Acceptor(env);
afterAll(() => acceptor.close());

describe('loopback realm', () => {
  it('kinit + kvno as a user through the real KDC', () => {
    const bob = env.users.bob!;
    const cc = `FILE:${env.ccacheDir}/harness_bob`;
    kinit(env, bob, cc);
    const mark = logMark(env.kdc.log);
    runAs(bob, '/usr/bin/kvno', ['cifs/fs1.example.test'], { env: userEnv(env, { KRB5CCNAME: cc }) });
    expect(klist(env, bob, cc)).toContain('cifs/fs1.example.test@EXAMPLE.TEST');
    expect(logSince(env.kdc.log, mark)).toMatch(/TGS_REQ.*bob@EXAMPLE.TEST for cifs\/fs1.example.test@EXAMPLE.TEST/);
  });

  it('S4U2Self + S4U2Proxy with the impersonator keytab (kvno -U -P)', () => {
    const mark = logMark(env.kdc.log);
    const cc = `FILE:${env.ccacheDir}/harness_s4u`;
    const r = runAs(
      { name: 'root', uid: 0, gid: 0, principal: null, password: null },
      '/bin/sh',
      ['-c', `kinit -k -t ${env.keytabs.client} host/client.example.test && kvno -U alice -P cifs/fs1.example.test`],
      { env: userEnv(env, { KRB5CCNAME: cc }) },
    );
    expect(r.status).toBe(0);
    const log = logSince(env.kdc.log, mark);
    expect(log).toContain('PROTOCOL-TRANSITION s4u-client=alice@EXAMPLE.TEST');
    expect(log).toContain('CONSTRAINED-DELEGATION s4u-client=alice@EXAMPLE.TEST');
  });

  it('the acceptor rejects garbage with a GSS error', async () => {
    const a = await acceptor.accept(env.keytabs.fs1, Buffer.from('600a06062b0601050502a000', 'hex'));
    expect(a.ok).toBe(false);
    expect(a.error).toMatch(/./);
  });
});

describe('acceptor oracle', () => {
  it('accepts an MIT initiator SPNEGO token and agrees on the session key', async () => {
    const bob = env.users.bob!;
    const cc = `FILE:${env.ccacheDir}/harness_bob_oracle`;
    kinit(env, bob, cc);
    const py = [
      'import gssapi, gssapi.raw as gr',
      "n = gssapi.Name('cifs@fs1.example.test', gssapi.NameType.hostbased_service)",
      "c = gssapi.SecurityContext(name=n, mech=gssapi.OID.from_int_seq('1.3.6.1.5.5.2'), flags=[gssapi.RequirementFlag.integrity], usage='initiate')",
      't = c.step()',
      'print(t.hex())',
    ].join('\n');
    const r = runAs(bob, '/usr/bin/python3', ['-c', py], { env: userEnv(env, { KRB5CCNAME: cc }) });
    const a = await acceptor.accept(env.keytabs.fs1, Buffer.from(r.stdout.trim(), 'hex'));
    expect(a.ok, a.error).toBe(true);
    expect(a.initiator).toBe('bob@EXAMPLE.TEST');
    expect(a.target).toBe('cifs/fs1.example.test@EXAMPLE.TEST');
    expect(a.key).toMatch(/^[0-9a-f]{64}$/);
  });
});
