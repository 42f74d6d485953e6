// The pure parts of cifs-upcall --doctor: request-key's choice of line (request-key.conf(5): the
// fewest characters skipped by wildcards, columns ranked left to right, the first read on a tie),
// the program a line runs, and gssproxy.conf(5) service sections.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseGssproxyConfig, pickRequestKeyLine, requestKeyFiles, requestKeyProgram, wildcardSkip } from '../../../src/cli/doctor.ts';

const dir = mkdtempSync(join(tmpdir(), 'cu-doctor-unit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const DESC = 'ver=0x2;host=fs1.example.com;ip4=192.0.2.1;sec=krb5;uid=0x3e8;creduid=0x3e8;pid=0x1';

describe('request-key line selection', () => {
  it('counts the characters a wildcard skips; one asterisk anywhere; no match is null', () => {
    expect(wildcardSkip('*', 'abc')).toBe(3);
    expect(wildcardSkip('ver=0x2;*', DESC)).toBe(DESC.length - 8);
    expect(wildcardSkip('ver=0x2;*pid=0x1', DESC)).toBe(DESC.length - 8 - 7);
    expect(wildcardSkip('cifs.spnego', 'cifs.spnego')).toBe(0);
    expect(wildcardSkip('ver=0x1;*', DESC)).toBeNull();
    expect(wildcardSkip('a*b*', 'ab')).toBeNull();
    expect(wildcardSkip('abc*', 'ab')).toBeNull();
  });

  it("ours beats cifs-utils' line by skipping fewer description characters, whatever the file order", () => {
    const files = [join(dir, 'rk1-cifs.spnego.conf'), join(dir, 'rk1-cifs-upcall.conf'), join(dir, 'rk1-main.conf')];
    writeFileSync(files[0]!, '# cifs-utils\ncreate cifs.spnego * * /usr/sbin/cifs.upcall %k\n');
    writeFileSync(files[1]!, 'create\tcifs.spnego\tver=0x2;*\t*\t/usr/sbin/cifs-upcall %k\n');
    writeFileSync(files[2]!, 'create user debug:* * /bin/true\nnegate * * * /bin/keyctl negate %k 30 %S\n');
    const r = pickRequestKeyLine(files, 'cifs.spnego', DESC);
    expect(r.candidates.map((c) => `${c.file}:${c.line}`)).toEqual([`${files[0]}:2`, `${files[1]}:1`]);
    expect(r.winner?.file).toBe(files[1]);
    expect(r.winner?.skips).toEqual([0, 0, DESC.length - 8, 0]);
    expect(pickRequestKeyLine([...files].reverse(), 'cifs.spnego', DESC).winner?.file).toBe(files[1]);
  });

  it('the type column ranks before the description; on a tie the first line read wins', () => {
    const a = join(dir, 'rk2-a.conf');
    const b = join(dir, 'rk2-b.conf');
    writeFileSync(a, 'create cifs.* ver=0x2;host=fs1* * /a\ncreate cifs.spnego * * /b\n');
    writeFileSync(b, 'create cifs.spnego * * /c\n');
    const r = pickRequestKeyLine([a, b], 'cifs.spnego', DESC);
    expect(r.winner?.fields[4]).toBe('/b');
    expect(pickRequestKeyLine([join(dir, 'absent.conf')], 'cifs.spnego', DESC).winner).toBeNull();
  });

  it('lists /etc/request-key.d/*.conf in order, then the main file', () => {
    const d = join(dir, 'rk.d');
    rmSync(d, { recursive: true, force: true });
    mkdirSync(d);
    for (const f of ['b.conf', 'a.conf', 'c.txt']) writeFileSync(join(d, f), '');
    expect(requestKeyFiles(d, '/main.conf')).toEqual([join(d, 'a.conf'), join(d, 'b.conf'), '/main.conf']);
  });

  it('finds the program behind env and node', () => {
    expect(requestKeyProgram(['create', 'cifs.spnego', '*', '*', '/usr/sbin/cifs-upcall', '%k']).program).toBe('/usr/sbin/cifs-upcall');
    expect(
      requestKeyProgram(['create', 'cifs.spnego', '*', '*', '/usr/bin/env', 'GSS_USE_PROXY=yes', '/usr/sbin/cifs.upcall', '%k']).program,
    ).toBe('/usr/sbin/cifs.upcall');
    expect(
      requestKeyProgram(['create', 'cifs.spnego', '*', '*', '/usr/bin/node', '/opt/x/dist/cifs-upcall.mjs', '--trace=/t', '%k']),
    ).toEqual({ program: '/opt/x/dist/cifs-upcall.mjs', args: ['--trace=/t', '%k'] });
    expect(requestKeyProgram(['create', 'user', 'debug:loop:*', '*', '|/bin/cat']).program).toBe('/bin/cat');
  });
});

describe('gssproxy.conf sections', () => {
  it('service sections with their socket (default -s), repeated cred_store kept in order', () => {
    const s = parseGssproxyConfig(
      `[gssproxy]
  debug_level = 1
[service/nfs-client]
  mechs = krb5
  cred_store = keytab:/etc/krb5.keytab
  cred_store = ccache:FILE:/var/lib/gssproxy/clients/krb5cc_%U
  euid = 0
# a comment
[service/cifs-upcall]
  mechs = krb5
  socket = /var/lib/gssproxy/cifs-upcall.sock
  impersonate = true
`,
      '/etc/gssproxy/x.conf',
      '/var/lib/gssproxy/default.sock',
    );
    expect(s.map((x) => [x.name, x.socket])).toEqual([
      ['service/nfs-client', '/var/lib/gssproxy/default.sock'],
      ['service/cifs-upcall', '/var/lib/gssproxy/cifs-upcall.sock'],
    ]);
    expect(s[0]!.values.get('cred_store')).toEqual(['keytab:/etc/krb5.keytab', 'ccache:FILE:/var/lib/gssproxy/clients/krb5cc_%U']);
    expect(s[1]!.values.get('impersonate')).toEqual(['true']);
  });
});
