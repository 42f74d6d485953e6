// The cifs-upcall command line: cifs.upcall's options (docs/cifs-upcall-behaviour.md#command-line) and ours.
import { describe, expect, it } from 'vitest';
import { ExitCode, EXIT_CODE_TABLE, exitCodeFor } from '../../../src/cli/exit-codes.ts';
import { helpText } from '../../../src/cli/help.ts';
import { keySerial, parseCommandLine, UsageError, type RunOptions } from '../../../src/cli/options.ts';
import { requestKeyLine } from '../../../src/install/installer.ts';

const run = (...argv: string[]): RunOptions => {
  const c = parseCommandLine(argv);
  if (c.mode !== 'kernel' && c.mode !== 'replay') throw new Error(c.mode);
  return c;
};
const usage = (...argv: string[]): string => {
  try {
    parseCommandLine(argv);
  } catch (e) {
    if (e instanceof UsageError) return e.message;
    throw e;
  }
  throw new Error('accepted');
};

describe('command line', () => {
  it('request-key\'s plain "%k" gives the defaults of cifs.upcall', () => {
    expect(run('689819400')).toMatchObject({
      mode: 'kernel',
      keySerial: 689819400,
      keyType: 'cifs.spnego',
      legacyUid: false,
      configPath: '/etc/cifs-upcall.conf',
      dnsExpireSeconds: 600,
      verbose: false,
      traceFormat: 'text',
    });
    // nothing given: the configuration file (or the built-in defaults) decides every setting
    expect(run('689819400').settings).toEqual({});
  });

  it('every cifs.upcall option keeps its meaning; -c is ignored; extra operands are ignored', () => {
    const o = run('-c', '-E', '-k', '/etc/k.conf', '-K', 'FILE:/etc/krb5.keytab', '-l', '-t', '-e', '30', '42', 'extra');
    expect(o).toMatchObject({ legacyUid: true, dnsExpireSeconds: 30, keySerial: 42, ignoredOperands: ['extra'] });
    expect(o.settings).toEqual({ envProbe: false, krb5Conf: '/etc/k.conf', keytab: 'FILE:/etc/krb5.keytab', trustDns: true });
  });

  it("-v/--version and -h/--help act where they appear, as cifs.upcall's -v", () => {
    expect(parseCommandLine(['-v'])).toEqual({ mode: 'version' });
    expect(parseCommandLine(['--version', '--bogus'])).toEqual({ mode: 'version' });
    expect(parseCommandLine(['-h'])).toEqual({ mode: 'help' });
    expect(parseCommandLine(['--help'])).toEqual({ mode: 'help' });
    expect(usage('--bogus', '-v')).toMatch(/unrecognized option/);
  });

  it('the key serial is strict decimal 1..2^31-1 (deliberately unlike strtol)', () => {
    expect(keySerial('2147483647')).toBe(2147483647);
    for (const bad of ['0', '-1', '12abc', '0x10', '2147483648', '', ' 1', '01']) {
      expect(() => keySerial(bad), bad).toThrow(UsageError);
    }
    expect(usage()).toBe('no key serial given');
    expect(usage('-l')).toBe('no key serial given');
  });

  it('--replay with a bare description: type from --key-type, owner from --key-owner (default 0:0)', () => {
    const o = run('--replay', 'ver=0x2;host=a;sec=krb5;uid=0x0', '--payload-out', '/tmp/p');
    expect(o.mode).toBe('replay');
    expect(o.replayKey).toEqual({ type: 'cifs.spnego', uid: 0, gid: 0, perm: 0x39010000, description: 'ver=0x2;host=a;sec=krb5;uid=0x0' });
    expect(o.payloadOut).toBe('/tmp/p');
    expect(run('--replay=ver=0x2;host=a', '--key-owner=2101:100', '--key-type=user').replayKey).toMatchObject({
      type: 'user',
      uid: 2101,
      gid: 100,
    });
  });

  it('--replay with the full describe form keeps its header; --key-owner then conflicts', () => {
    expect(run('--replay', 'cifs.spnego;1000;1000;39010000;ver=0x2;host=a').replayKey).toEqual({
      type: 'cifs.spnego',
      uid: 1000,
      gid: 1000,
      perm: 0x39010000,
      description: 'ver=0x2;host=a',
    });
    expect(usage('--replay', 'cifs.spnego;0;0;39010000;ver=0x2', '--key-owner', '1:1')).toMatch(/conflicts/);
  });

  it('replay-only options and replay with a serial are refused', () => {
    expect(usage('--key-owner', '0:0', '12')).toMatch(/only meaningful with --replay/);
    expect(usage('--payload-out', '/x', '12')).toMatch(/only meaningful with --replay/);
    expect(usage('--replay', 'ver=0x2', '12')).toMatch(/instead of a key serial/);
    expect(usage('--replay', 'ver=0x2', '--key-owner', 'root:root')).toMatch(/UID:GID/);
    expect(usage('--pid', '4242', '12')).toMatch(/--pid is only meaningful with --replay/);
    expect(usage('--replay', 'ver=0x2', '--pid', '0')).toMatch(/--pid/);
    expect(usage('--replay', 'ver=0x2', '--pid', '12x')).toMatch(/--pid/);
    expect(run('--replay', 'ver=0x2', '--pid', '4242').replayPid).toBe(4242);
  });

  it('trace, formats, timeouts and pass-through options', () => {
    expect(run('--trace', '7').trace).toBeNull();
    expect(run('--trace=/tmp/t', '--trace-format=json', '7')).toMatchObject({ trace: '/tmp/t', traceFormat: 'json' });
    expect(usage('--trace-format=xml', '7')).toMatch(/text or json/);
    expect(run('--negative-timeout=1', '7').settings.negativeTimeout).toBe(1);
    // the same range as negative_timeout in the file: 0 (expire at once) to a day, whole seconds
    expect(run('--negative-timeout=0', '7').settings.negativeTimeout).toBe(0);
    expect(usage('--negative-timeout=86401', '7')).toMatch(
      /^--negative-timeout: expected a whole number of seconds from 0 to 86400, got "86401"$/,
    );
    expect(usage('--negative-timeout=1.5', '7')).toMatch(/whole number/);
    expect(usage('-e', 'soon', '7')).toMatch(/whole number/);
    expect(run('--config=/c', '--strategy=local-first', '--gssproxy-socket=/s', '--verbose', '7')).toMatchObject({
      configPath: '/c',
      settings: { strategy: 'local-first', gssproxySocket: '/s' },
      verbose: true,
    });
    expect(usage('--key-type=a;b', '7')).toMatch(/not a key type/);
  });

  it('option values are validated while parsing, before any key or replay is touched', () => {
    expect(usage('--strategy=foo', '7')).toBe(
      '--strategy: expected one of compat, local-first, local-only, proxy-first, proxy-only, got "foo"',
    );
    expect(usage('--replay', 'ver=0x2;host=a', '--strategy=foo')).toMatch(/^--strategy: expected one of/);
    expect(usage('--gssproxy-socket=relative.sock', '7')).toMatch(/^--gssproxy-socket: expected an absolute path/);
    expect(usage('--json', '7')).toMatch(/only meaningful with --doctor/);
  });

  it('--check-config takes its file as an operand, =FILE or --config; --doctor takes --config and --json', () => {
    expect(parseCommandLine(['--check-config'])).toEqual({ mode: 'check-config', configPath: '/etc/cifs-upcall.conf' });
    expect(parseCommandLine(['--check-config', '/tmp/a.conf'])).toEqual({ mode: 'check-config', configPath: '/tmp/a.conf' });
    expect(parseCommandLine(['--check-config=/tmp/b.conf'])).toEqual({ mode: 'check-config', configPath: '/tmp/b.conf' });
    expect(parseCommandLine(['--config', '/tmp/c.conf', '--check-config'])).toEqual({ mode: 'check-config', configPath: '/tmp/c.conf' });
    expect(usage('--check-config', '/a', '/b')).toMatch(/takes one file/);
    expect(usage('--config', '/a', '--check-config', '/b')).toMatch(/give one file/);
    expect(parseCommandLine(['--doctor', '--config=/tmp/c.conf', '--json'])).toEqual({
      mode: 'doctor',
      configPath: '/tmp/c.conf',
      json: true,
    });
    expect(usage('--doctor', '12')).toMatch(/takes no operand/);
  });
});

describe('--help', () => {
  it('shows the request-key line the installer writes', () => {
    const text = helpText('cifs-upcall');
    expect(requestKeyLine('cifs.spnego')).toBe('create\tcifs.spnego\tver=0x2;*\t*\t/usr/sbin/cifs-upcall %k\n');
    expect(text).toContain('  create cifs.spnego ver=0x2;* * /usr/sbin/cifs-upcall %k\n');
    expect(text).toContain('/etc/request-key.d/cifs-upcall.conf');
    expect(text).toContain('--check-config');
    expect(text).toContain('--doctor');
  });
});

describe('exit statuses', () => {
  it('are distinct, 0 only for success, and all in the --help text', () => {
    const codes = EXIT_CODE_TABLE.map((e) => e.code);
    expect(new Set(codes).size).toBe(codes.length);
    const text = helpText('cifs-upcall');
    for (const e of EXIT_CODE_TABLE) expect(text).toContain(`${String(e.code).padStart(2)}  ${e.meaning}`);
    for (const kind of [
      'key-access',
      'key-refused',
      'bad-description',
      'identity',
      'namespace',
      'privileges',
      'no-credentials',
      'reply',
      'internal',
    ] as const) {
      expect(exitCodeFor(kind)).not.toBe(ExitCode.OK);
    }
    expect(exitCodeFor('key-refused')).toBe(3);
  });
});
