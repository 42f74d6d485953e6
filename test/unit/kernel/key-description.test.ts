// Vectors: docs/kernel-key-protocol.md#description-vectors (V1–V8),
// docs/cifs-upcall-behaviour.md#edge-cases (C 7.5 expected; [live] = observed on 7.0),
// docs/kernel-key-protocol.md#the-describe-header (keyctl rdescribe of a kernel key) and
// docs/kernel-key-protocol.md#captured-descriptions (Debian kernels 6.1.192 and 6.12.117).
import { describe, expect, it } from 'vitest';
import {
  credentialUid,
  formatDescribeString,
  KeyDescriptionError,
  parseSpnegoDescription,
  splitDescribeString,
  type SpnegoKeyDescription,
} from '../../../src/kernel/key-description.ts';
import {
  credentialUidLikeC,
  parseSpnegoDescriptionLikeC,
  strtolLikeC,
  type CDecodedDescription,
} from '../../reference/key-description-like-c.ts';

const PREFIX = 'cifs.spnego;0;0;39010000;';

function strict(description: string): SpnegoKeyDescription {
  return parseSpnegoDescription(splitDescribeString(PREFIX + description).description);
}

function likeC(description: string): CDecodedDescription {
  const r = parseSpnegoDescriptionLikeC(PREFIX + description);
  if (!r.accepted) throw new Error(`C would refuse: ${r.message}`);
  return r.decoded;
}

function refusal(description: string): KeyDescriptionError {
  try {
    parseSpnegoDescription(description);
  } catch (e) {
    if (e instanceof KeyDescriptionError) return e;
    throw e;
  }
  throw new Error(`accepted: ${description}`);
}

describe('KEYCTL_DESCRIBE header', () => {
  it('splits the rdescribe line captured from a kernel-made key after exactly four ";"', () => {
    const line = 'cifs.spnego;0;0;39010000;ver=0x2;host=fs1.example.test;ip4=127.0.0.2;sec=krb5;uid=0x0;creduid=0x0;user=root;pid=0x1e3';
    const k = splitDescribeString(line);
    expect(k).toEqual({
      type: 'cifs.spnego',
      uid: 0,
      gid: 0,
      perm: 0x39010000,
      description: 'ver=0x2;host=fs1.example.test;ip4=127.0.0.2;sec=krb5;uid=0x0;creduid=0x0;user=root;pid=0x1e3',
    });
    expect(formatDescribeString(k)).toBe(line);
  });

  it('reads the owner of a forged key (cifs.spnego;1000;1000;…)', () => {
    const k = splitDescribeString('cifs.spnego;1000;1000;39010000;ver=0x2;host=a;sec=krb5;uid=0x0');
    expect([k.uid, k.gid]).toEqual([1000, 1000]);
  });

  it('refuses headers that are not type;uid;gid;perm', () => {
    for (const bad of [
      'ver=0x2;host=a',
      'x;1;2;3',
      'cifs.spnego;-1;0;39010000;x',
      'cifs.spnego;0;0;3901;x',
      ';0;0;39010000;x',
      'cifs.spnego;01;0;39010000;x',
      'cifs.spnego;4294967296;0;39010000;x',
    ]) {
      expect(() => splitDescribeString(bad), bad).toThrow(KeyDescriptionError);
    }
  });
});

describe('realistic kernel descriptions (V1–V8)', () => {
  it('V1 — static krb5 mount by root, IPv4 (expected decisions)', () => {
    const desc = 'ver=0x2;host=FS1.Example.COM;ip4=10.0.0.5;sec=krb5;uid=0x0;creduid=0x0;pid=0x1092;upcall_target=app';
    const c = likeC(desc);
    expect(c).toMatchObject({
      ver: 2,
      host: 'FS1.Example.COM',
      ip: '10.0.0.5',
      sec: 'krb5',
      uid: 0,
      creduid: 0,
      pid: 4242,
      upcallTarget: 'app',
    });
    expect(c.user).toBeUndefined();
    expect(c.have).toBe(0x17f);
    expect(credentialUidLikeC(c, false)).toBe(0);
    expect(strict(desc)).toEqual({
      version: 2,
      host: 'FS1.Example.COM',
      ip: '10.0.0.5',
      ipFamily: 4,
      sec: 'krb5',
      uid: 0,
      creduid: 0,
      pid: 4242,
      upcallTarget: 'app',
      unknownFields: [],
    });
  });

  it('V2 — multiuser first access by uid 1000', () => {
    const d = strict('ver=0x2;host=fs1.example.com;ip4=10.0.0.5;sec=krb5;uid=0x3e8;creduid=0x3e8;pid=0x2f1a;upcall_target=app');
    expect(d).toMatchObject({ uid: 1000, creduid: 1000, pid: 12058, upcallTarget: 'app' });
    expect(d.user).toBeUndefined();
    expect(credentialUid(d, false)).toEqual({ uid: 1000, from: 'creduid' });
  });

  it('V3 — root mount with a keytab principal in user= (have 0x1ff)', () => {
    const desc =
      'ver=0x2;host=nas.example.com;ip4=192.0.2.20;sec=krb5;uid=0x0;creduid=0x0;user=svc-backup@EXAMPLE.COM;pid=0x309;upcall_target=app';
    expect(likeC(desc).have).toBe(0x1ff);
    expect(strict(desc)).toMatchObject({ user: 'svc-backup@EXAMPLE.COM', pid: 777, host: 'nas.example.com' });
  });

  it('V4 — IPv6, uid 1000 files, credentials of 1001, mount target', () => {
    const desc =
      'ver=0x2;host=fs6.example.com;ip6=2001:0db8:0000:0000:0000:0000:0000:0010;sec=krb5;uid=0x3e8;creduid=0x3e9;pid=0x7a69;upcall_target=mount';
    const d = strict(desc);
    expect(d).toMatchObject({
      ip: '2001:0db8:0000:0000:0000:0000:0000:0010',
      ipFamily: 6,
      uid: 1000,
      creduid: 1001,
      pid: 31337,
      upcallTarget: 'mount',
    });
    expect(credentialUid(d, false).uid).toBe(1001);
    expect(credentialUid(d, true).uid).toBe(1000);
    expect(likeC(desc).ip).toBe('2001:0db8:0000:0000:0000:0000:0000:0010');
  });

  it('V5 — kernel before 6.13: no upcall_target → unspecified', () => {
    const desc = 'ver=0x2;host=fs1.example.com;ip4=10.0.0.5;sec=krb5;uid=0x3e8;creduid=0x3e8;pid=0x2f1a';
    expect(strict(desc).upcallTarget).toBe('unspecified');
    expect(likeC(desc).upcallTarget).toBe('unspecified');
  });

  it('V6 — old kernel: empty user= means no user; sec=mskrb5; unqualified host', () => {
    const desc = 'ver=0x2;host=srv;ip4=10.1.2.3;sec=mskrb5;uid=0x0;creduid=0x0;user=;pid=0x1a2b';
    const d = strict(desc);
    expect(d.sec).toBe('mskrb5');
    expect(d.user).toBeUndefined();
    expect(d.host).toBe('srv');
    expect(likeC(desc).user).toBeUndefined();
  });

  it('V7 — IAKerb-only server: C fails the required set (have 0x17b); strict names IAKerb', () => {
    const desc = 'ver=0x2;host=fs1.example.com;ip4=10.0.0.5;sec=iakerb;uid=0x0;creduid=0x0;pid=0x1092;upcall_target=app';
    const c = parseSpnegoDescriptionLikeC(PREFIX + desc);
    expect(c).toMatchObject({ accepted: false, stage: 'required', have: 0x17b });
    const e = refusal(desc);
    expect(e.field).toBe('sec');
    expect(e.message).toMatch(/IAKerb not supported/);
  });

  it('V8 — legacy colon-less ip6 gets its colons back', () => {
    const d = strict('ver=0x2;host=fs6.example.com;ip6=20010db8000000000000000000000010;sec=krb5;uid=0x0;pid=0x1');
    expect(d.ip).toBe('2001:0db8:0000:0000:0000:0000:0000:0010');
  });
});

describe('edge and negative cases', () => {
  const base = (over: Record<string, string | null>): string => {
    const fields: Record<string, string | null> = {
      ver: '0x2',
      host: 'fs1.example.com',
      ip4: '10.0.0.5',
      sec: 'krb5',
      uid: '0x3e8',
      creduid: '0x3e8',
      pid: '0x2f1a',
      upcall_target: 'app',
      ...over,
    };
    return Object.entries(fields)
      .filter(([, v]) => v !== null)
      .map(([k, v]) => `${k}=${v}`)
      .join(';');
  };

  it('ver=0x3: C "incompatible kernel upcall version: 0x3" [live]; strict refuses ver', () => {
    const c = parseSpnegoDescriptionLikeC(PREFIX + base({ ver: '0x3' }));
    expect(c).toMatchObject({ accepted: false, stage: 'version', message: 'incompatible kernel upcall version: 0x3' });
    expect(refusal(base({ ver: '0x3' })).field).toBe('ver');
  });

  it('ver=10 is hexadecimal 0x10 → refused by both [live]', () => {
    expect(parseSpnegoDescriptionLikeC(PREFIX + base({ ver: '10' }))).toMatchObject({ accepted: false, stage: 'version' });
    expect(refusal(base({ ver: '10' })).message).toMatch(/0x10/);
  });

  it('ver=0x1 is accepted by the parsers (the pipeline refuses a reply version the kernel rejects)', () => {
    expect(likeC(base({ ver: '0x1' })).ver).toBe(1);
    expect(parseSpnegoDescription(base({ ver: '0x1' })).version).toBe(1);
  });

  it('no sec= (and no upcall_target): C have 0x7b [live]; strict names sec', () => {
    expect(parseSpnegoDescriptionLikeC(PREFIX + base({ sec: null, upcall_target: null }))).toMatchObject({
      accepted: false,
      stage: 'required',
      have: 0x7b,
    });
    expect(refusal(base({ sec: null })).field).toBe('sec');
  });

  it('sec=krb5foo: C takes it as krb5 by prefix [live]; strict refuses', () => {
    expect(likeC(base({ sec: 'krb5foo' })).sec).toBe('krb5');
    expect(refusal(base({ sec: 'krb5foo' })).field).toBe('sec');
  });

  it('no uid=/creduid=: no credential uid [live]', () => {
    const desc = base({ uid: null, creduid: null });
    expect(credentialUidLikeC(likeC(desc), false)).toBeUndefined();
    expect(() => credentialUid(parseSpnegoDescription(desc), false)).toThrow(KeyDescriptionError);
  });

  it('-l with only creduid=: failure', () => {
    const desc = base({ uid: null });
    expect(credentialUidLikeC(likeC(desc), true)).toBeUndefined();
    expect(() => credentialUid(parseSpnegoDescription(desc), true)).toThrow(/uid: missing/);
  });

  it('uid=zz: C makes it root (0) [live]; strict refuses the garbage', () => {
    expect(likeC(base({ uid: 'zz' })).uid).toBe(0);
    const e = refusal(base({ uid: 'zz' }));
    expect(e.field).toBe('uid');
    expect(e.message).toMatch(/not a hexadecimal number/);
  });

  it('creduid=0xfffffffff: C truncates to 4294967295 [live]; strict refuses > 32 bits', () => {
    expect(likeC(base({ creduid: '0xfffffffff' })).creduid).toBe(4294967295);
    expect(refusal(base({ creduid: '0xfffffffff' })).message).toMatch(/32 bits/);
    expect(parseSpnegoDescription(base({ creduid: '0xffffffff' })).creduid).toBe(4294967295);
  });

  it('creduid=0xfffe;creduid=0x0: C takes the last (0) [live]; strict refuses the duplicate', () => {
    const desc = `${base({ creduid: null })};creduid=0xfffe;creduid=0x0`;
    expect(likeC(desc).creduid).toBe(0);
    const e = refusal(desc);
    expect(e.field).toBe('creduid');
    expect(e.message).toMatch(/twice/);
  });

  it('pid=1234, pid=0x4d2 and pid=02322 are all 1234 (strtol base 0)', () => {
    for (const pid of ['1234', '0x4d2', '02322']) {
      expect(likeC(base({ pid })).pid, pid).toBe(1234);
      expect(parseSpnegoDescription(base({ pid })).pid, pid).toBe(1234);
    }
  });

  it('pid absent or 0: pid 0 [live]', () => {
    expect(likeC(base({ pid: null })).pid).toBe(0);
    expect(parseSpnegoDescription(base({ pid: null })).pid).toBe(0);
    expect(parseSpnegoDescription(base({ pid: '0x0' })).pid).toBe(0);
  });

  it('pid=12x: C reads 12 (no end check); strict refuses', () => {
    expect(likeC(base({ pid: '12x' })).pid).toBe(12);
    expect(refusal(base({ pid: '12x' })).field).toBe('pid');
  });

  it('host of 1024 bytes accepted; 1025 refused by the parent check; 1026 by the child parse [live]', () => {
    const label = (n: number): string => `${`${'a'.repeat(62)}.`.repeat(20).slice(0, n - 1)}b`;
    const h1024 = label(1024);
    expect(h1024.length).toBe(1024);
    expect(likeC(base({ host: h1024 })).host).toBe(h1024);
    expect(parseSpnegoDescription(base({ host: h1024 })).host).toBe(h1024);
    expect(parseSpnegoDescriptionLikeC(PREFIX + base({ host: label(1025) }))).toMatchObject({ accepted: false, stage: 'host-length' });
    expect(parseSpnegoDescriptionLikeC(PREFIX + base({ host: label(1026) }))).toMatchObject({ accepted: false, stage: 'parse' });
    expect(refusal(base({ host: label(1025) })).field).toBe('host');
  });

  it('user= of 257 bytes: parse failure [live with 300]', () => {
    const u = 'u'.repeat(257);
    expect(parseSpnegoDescriptionLikeC(PREFIX + base({ user: u }))).toMatchObject({ accepted: false, stage: 'parse' });
    expect(refusal(base({ user: u })).field).toBe('user');
    expect(parseSpnegoDescription(base({ user: 'u'.repeat(256) })).user).toHaveLength(256);
  });

  it('upcall_target=application (> 6 bytes): parse failure (7.2+)', () => {
    expect(parseSpnegoDescriptionLikeC(PREFIX + base({ upcall_target: 'application' }))).toMatchObject({ accepted: false, stage: 'parse' });
    expect(refusal(base({ upcall_target: 'application' })).field).toBe('upcall_target');
  });

  it('upcall_target=appx → APP by prefix; =foo → LOG_ERR + APP; strict refuses both', () => {
    expect(likeC(base({ upcall_target: 'appx' }))).toMatchObject({ upcallTarget: 'app', complaints: [] });
    const foo = likeC(base({ upcall_target: 'foo' }));
    expect(foo.upcallTarget).toBe('app');
    expect(foo.complaints).toHaveLength(1);
    expect(refusal(base({ upcall_target: 'appx' })).field).toBe('upcall_target');
    expect(refusal(base({ upcall_target: 'foo' })).field).toBe('upcall_target');
  });

  it('"host=a;ver=0x1" injected in host: C takes ver 1 (last wins); strict refuses the duplicate ver', () => {
    const desc = 'ver=0x2;host=a;ver=0x1;ip4=10.0.0.5;sec=krb5;uid=0x0;creduid=0x0;pid=0x1';
    expect(likeC(desc).ver).toBe(1);
    expect(refusal(desc).field).toBe('ver');
  });

  it('unknown token foo=bar: ignored (strict keeps it for the trace)', () => {
    const desc = `${base({})};foo=bar`;
    expect(likeC(desc).have).toBe(likeC(base({})).have);
    expect(parseSpnegoDescription(desc).unknownFields).toEqual([{ name: 'foo', value: 'bar' }]);
  });
});

describe('strict refusals name the field (injection, duplicates)', () => {
  it('accepts NetBIOS-style names with underscores', () => {
    expect(strict('ver=0x2;host=file_srv;ip4=127.0.0.2;sec=krb5;uid=0x0;creduid=0x0;pid=0x1').host).toBe('file_srv');
  });
  const ok = 'ver=0x2;host=fs1.example.test;ip4=127.0.0.2;sec=krb5;uid=0x0;creduid=0x0;pid=0x1';
  it.each([
    ['host=fs;1.example', 'field 2'],
    [`${ok};`, 'field 8'],
    [`${ok};;x=1`, 'field 8'],
    [ok.replace('host=fs1.example.test', 'host=fs1 example.test'), 'host'],
    [ok.replace('host=fs1.example.test', 'host=fs1..example.test'), 'host'],
    [ok.replace('host=fs1.example.test', 'host=-fs1.example.test'), 'host'],
    [ok.replace('host=fs1.example.test', 'host='), 'host'],
    [ok.replace('ip4=127.0.0.2', 'ip4=127.0.0.256'), 'ip4'],
    [ok.replace('ip4=127.0.0.2', 'ip4=127.0.0'), 'ip4'],
    [ok.replace('ip4=127.0.0.2', 'ip6=::1::2'), 'ip6'],
    [`${ok};ip6=::1`, 'ip6'],
    [ok.replace('uid=0x0', 'uid=-1'), 'uid'],
    [ok.replace('uid=0x0', 'uid='), 'uid'],
    [ok.replace('pid=0x1', 'pid=0x80000000'), 'pid'],
    [ok.replace('pid=0x1', 'pid=08'), 'pid'],
    [`${ok};user=a\u0001b`, 'user'],
    [ok.replace('sec=krb5', 'sec=ntlmssp'), 'sec'],
    [ok.replace('ver=0x2', 'ver=two'), 'ver'],
    [ok.replace('ver=0x2;', ''), 'ver'],
    [ok.replace('host=fs1.example.test;', ''), 'host'],
  ])('%s → %s', (desc, field) => {
    expect(refusal(desc).field).toBe(field);
  });

  it('accepts IP literals and upper case as the host, and user names with spaces or UTF-8', () => {
    expect(parseSpnegoDescription(ok.replace('host=fs1.example.test', 'host=10.0.0.5')).host).toBe('10.0.0.5');
    expect(parseSpnegoDescription(ok.replace('host=fs1.example.test', 'host=2001:db8::10')).host).toBe('2001:db8::10');
    expect(parseSpnegoDescription(ok.replace('host=fs1.example.test', 'host=FS1.Example.COM')).host).toBe('FS1.Example.COM');
    expect(parseSpnegoDescription(`${ok};user=John Smith@EXAMPLE.COM`).user).toBe('John Smith@EXAMPLE.COM');
    expect(parseSpnegoDescription(`${ok};user=jürgen`).user).toBe('jürgen');
  });
});

describe('descriptions captured from real kernels', () => {
  type Expect = [uid: number, creduid: number, user: string, pid: number, ip: string, target: 'app' | 'mount' | 'unspecified'];
  const v4 = '127.0.0.2';
  const v6 = '0000:0000:0000:0000:0000:0000:0000:0001';
  const captured: Array<[string, Expect]> = [
    // Debian 6.1.192, "stock" and "hook" phases
    [
      'ver=0x2;host=fs1.example.test;ip4=127.0.0.2;sec=krb5;uid=0x0;creduid=0x0;user=root;pid=0x116',
      [0, 0, 'root', 0x116, v4, 'unspecified'],
    ],
    [
      'ver=0x2;host=fs1.example.test;ip4=127.0.0.2;sec=krb5;uid=0x3e8;creduid=0x3e8;user=root;pid=0x155',
      [1000, 1000, 'root', 0x155, v4, 'unspecified'],
    ],
    [
      'ver=0x2;host=fs1.example.test;ip4=127.0.0.2;sec=krb5;uid=0x3e9;creduid=0x3e9;user=root;pid=0x186',
      [1001, 1001, 'root', 0x186, v4, 'unspecified'],
    ],
    [
      'ver=0x2;host=fs1.example.test;ip4=127.0.0.2;sec=krb5;uid=0x3ea;creduid=0x3ea;user=root;pid=0x1b3',
      [1002, 1002, 'root', 0x1b3, v4, 'unspecified'],
    ],
    [
      'ver=0x2;host=fs1.example.test;ip4=127.0.0.2;sec=krb5;uid=0x0;creduid=0x0;user=root;pid=0x1e3',
      [0, 0, 'root', 0x1e3, v4, 'unspecified'],
    ],
    [
      'ver=0x2;host=fs1.example.test;ip4=127.0.0.2;sec=krb5;uid=0x3e8;creduid=0x3e8;user=root;pid=0x20f',
      [1000, 1000, 'root', 0x20f, v4, 'unspecified'],
    ],
    [
      'ver=0x2;host=fs1.example.test;ip4=127.0.0.2;sec=krb5;uid=0x3e9;creduid=0x3e9;user=root;pid=0x252',
      [1001, 1001, 'root', 0x252, v4, 'unspecified'],
    ],
    [
      'ver=0x2;host=fs1.example.test;ip4=127.0.0.2;sec=krb5;uid=0x3ea;creduid=0x3ea;user=root;pid=0x291',
      [1002, 1002, 'root', 0x291, v4, 'unspecified'],
    ],
    [
      'ver=0x2;host=fs1.example.test;ip6=0000:0000:0000:0000:0000:0000:0000:0001;sec=krb5;uid=0x0;creduid=0x0;user=root;pid=0x2b9',
      [0, 0, 'root', 0x2b9, v6, 'unspecified'],
    ],
    [
      'ver=0x2;host=fs1.example.test;ip6=0000:0000:0000:0000:0000:0000:0000:0001;sec=krb5;uid=0x3e8;creduid=0x3e8;user=root;pid=0x2e0',
      [1000, 1000, 'root', 0x2e0, v6, 'unspecified'],
    ],
    [
      'ver=0x2;host=fs1.example.test;ip4=127.0.0.2;sec=krb5;uid=0x3e9;creduid=0x3e8;user=user1;pid=0x307',
      [1001, 1000, 'user1', 0x307, v4, 'unspecified'],
    ],
    // Debian 6.12.117 (backport)
    [
      'ver=0x2;host=fs1.example.test;ip4=127.0.0.2;sec=krb5;uid=0x0;creduid=0x0;user=root;pid=0x145;upcall_target=app',
      [0, 0, 'root', 0x145, v4, 'app'],
    ],
    [
      'ver=0x2;host=fs1.example.test;ip4=127.0.0.2;sec=krb5;uid=0x3e8;creduid=0x3e8;user=root;pid=0x177;upcall_target=app',
      [1000, 1000, 'root', 0x177, v4, 'app'],
    ],
    [
      'ver=0x2;host=fs1.example.test;ip4=127.0.0.2;sec=krb5;uid=0x3e9;creduid=0x3e9;user=root;pid=0x1a8;upcall_target=app',
      [1001, 1001, 'root', 0x1a8, v4, 'app'],
    ],
    [
      'ver=0x2;host=fs1.example.test;ip4=127.0.0.2;sec=krb5;uid=0x3ea;creduid=0x3ea;user=root;pid=0x1d5;upcall_target=app',
      [1002, 1002, 'root', 0x1d5, v4, 'app'],
    ],
    [
      'ver=0x2;host=fs1.example.test;ip4=127.0.0.2;sec=krb5;uid=0x0;creduid=0x0;user=root;pid=0x205;upcall_target=app',
      [0, 0, 'root', 0x205, v4, 'app'],
    ],
    [
      'ver=0x2;host=fs1.example.test;ip4=127.0.0.2;sec=krb5;uid=0x3e8;creduid=0x3e8;user=root;pid=0x231;upcall_target=app',
      [1000, 1000, 'root', 0x231, v4, 'app'],
    ],
    [
      'ver=0x2;host=fs1.example.test;ip4=127.0.0.2;sec=krb5;uid=0x3e9;creduid=0x3e9;user=root;pid=0x274;upcall_target=app',
      [1001, 1001, 'root', 0x274, v4, 'app'],
    ],
    [
      'ver=0x2;host=fs1.example.test;ip4=127.0.0.2;sec=krb5;uid=0x3ea;creduid=0x3ea;user=root;pid=0x2b3;upcall_target=app',
      [1002, 1002, 'root', 0x2b3, v4, 'app'],
    ],
    [
      'ver=0x2;host=fs1.example.test;ip6=0000:0000:0000:0000:0000:0000:0000:0001;sec=krb5;uid=0x0;creduid=0x0;user=root;pid=0x2db;upcall_target=app',
      [0, 0, 'root', 0x2db, v6, 'app'],
    ],
    [
      'ver=0x2;host=fs1.example.test;ip6=0000:0000:0000:0000:0000:0000:0000:0001;sec=krb5;uid=0x3e8;creduid=0x3e8;user=root;pid=0x302;upcall_target=app',
      [1000, 1000, 'root', 0x302, v6, 'app'],
    ],
    [
      'ver=0x2;host=fs1.example.test;ip4=127.0.0.2;sec=krb5;uid=0x3e9;creduid=0x3e8;user=user1;pid=0x329;upcall_target=app',
      [1001, 1000, 'user1', 0x329, v4, 'app'],
    ],
    [
      'ver=0x2;host=fs1.example.test;ip4=127.0.0.2;sec=krb5;uid=0x0;creduid=0x0;user=root;pid=0x360;upcall_target=mount',
      [0, 0, 'root', 0x360, v4, 'mount'],
    ],
    // earlier 6.1 run: multiuser,cruid=1000,uid=1001,username=user1
    [
      'ver=0x2;host=fs1.example.test;ip4=127.0.0.2;sec=krb5;uid=0x3e9;creduid=0x3e8;user=user1;pid=0x308',
      [1001, 1000, 'user1', 0x308, v4, 'unspecified'],
    ],
    [
      'ver=0x2;host=fs1.example.test;ip4=127.0.0.2;sec=krb5;uid=0x0;creduid=0x0;user=user1;pid=0x308',
      [0, 0, 'user1', 0x308, v4, 'unspecified'],
    ],
  ];

  it.each(captured)('%s', (desc, [uid, creduid, user, pid, ip, target]) => {
    const d = strict(desc);
    expect(d).toEqual({
      version: 2,
      host: 'fs1.example.test',
      ip,
      ipFamily: ip === v4 ? 4 : 6,
      sec: 'krb5',
      uid,
      creduid,
      user,
      pid,
      upcallTarget: target,
      unknownFields: [],
    });
    const c = likeC(desc);
    expect({
      ver: c.ver,
      host: c.host,
      ip: c.ip,
      sec: c.sec,
      uid: c.uid,
      creduid: c.creduid,
      user: c.user,
      pid: c.pid,
      t: c.upcallTarget,
    }).toEqual({ ver: 2, host: 'fs1.example.test', ip, sec: 'krb5', uid, creduid, user, pid, t: target });
  });
});

describe('strtol and address helpers', () => {
  it('strtol like glibc: prefixes, signs, whitespace, stop at garbage, ERANGE', () => {
    expect(strtolLikeC('0x1f', 16)).toEqual({ value: 31n, erange: false });
    expect(strtolLikeC('1f', 16).value).toBe(31n);
    expect(strtolLikeC('0xzz', 16).value).toBe(0n);
    expect(strtolLikeC(' -12', 0).value).toBe(-12n);
    expect(strtolLikeC('017', 0).value).toBe(15n);
    expect(strtolLikeC('0x', 0).value).toBe(0n);
    expect(strtolLikeC('9223372036854775807', 0)).toEqual({ value: 9223372036854775807n, erange: false });
    expect(strtolLikeC('9223372036854775808', 0).erange).toBe(true);
    expect(strtolLikeC('-9223372036854775808', 0)).toEqual({ value: -9223372036854775808n, erange: false });
  });
});
