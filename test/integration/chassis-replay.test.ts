// --replay end to end, refusals and exit statuses, output channels, and
// syslog as cifs.upcall writes it (ident cifs.upcall, facility daemon, levels;
// docs/cifs-upcall-behaviour.md#logging), captured by a private /dev/log inside a throw-away mount namespace.
import { existsSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { PAYLOAD_7_4, useChassis } from '../harness/standin/chassis.ts';
import { chassisUsers, hex, readJsonTrace, runBundle, startPlainCaller, uniqueTag } from '../harness/standin/harness.ts';
import type { TraceRecord } from '../../src/trace.ts';

const chassis = useChassis('replay', { workMode: 0o755, startCaller: () => startPlainCaller({ KRB5CCNAME: 'FILE:/nonexistent/krb5cc' }) });
const users = chassisUsers();

const good = (over: Record<string, string> = {}): string =>
  Object.entries({
    ver: '0x2',
    host: 'fs1.example.test',
    ip4: '127.0.0.2',
    sec: 'krb5',
    uid: hex(users.alice.uid),
    creduid: hex(users.alice.uid),
    pid: hex(chassis.caller.pid),
    upcall_target: 'app',
    ...over,
  })
    .map(([k, v]) => `${k}=${v}`)
    .join(';');

function replay(bundle: string, args: string[]): { status: number; stdout: string; stderr: string; trace: TraceRecord[] } {
  const traceFile = join(chassis.work, `trace-${uniqueTag()}.jsonl`);
  const r = runBundle(bundle, [...args, `--trace=${traceFile}`, '--trace-format=json']);
  return { ...r, trace: readJsonTrace(traceFile) };
}

describe('--replay with the stand-in source', () => {
  it('a bare description: hex payload on stdout, exit 0 (the example payload)', () => {
    const r = replay(chassis.bundles.standin, ['--replay', good()]);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(`${PAYLOAD_7_4}\n`);
  });

  it('the full describe form (keyctl rdescribe) and --payload-out FILE (raw bytes, mode 0600)', () => {
    const out = join(chassis.work, 'payload.bin');
    const r = replay(chassis.bundles.standin, ['--replay', `cifs.spnego;0;0;39010000;${good()}`, '--payload-out', out]);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('');
    expect(readFileSync(out).toString('hex')).toBe(PAYLOAD_7_4);
    expect(statSync(out).mode & 0o777).toBe(0o600);
  });

  it('sec=mskrb5 lists MS-krb5 in the NegTokenInit', () => {
    const r = replay(chassis.bundles.standin, ['--replay', good({ sec: 'mskrb5' })]);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(`${PAYLOAD_7_4.replace('a00d300b06092a864886f712010202', 'a00d300b06092a864882f712010202')}\n`);
  });

  it('text trace on stderr without a file', () => {
    const r = runBundle(chassis.bundles.standin, ['--replay', good(), '--trace']);
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/ms {2}key {7}key \(replay\) describes itself as: cifs\.spnego;0;0;39010000;ver=0x2/);
    expect(r.stderr).toMatch(/ms {2}result {4}exit status 0\n$/);
  });
});

describe('refused before anything else happens: a forged key (owner not 0:0, CVE-2026-46243)', () => {
  const onlyRefusal = (trace: TraceRecord[]): void => {
    const refusal = trace.findIndex((t) => t.area === 'key' && t.message.startsWith('refused: key owned by'));
    expect(refusal).toBeGreaterThan(0);
    // after the refusal: only the exit status; no parse, identity, namespace, source, negation
    expect(trace.slice(refusal + 1).map((t) => t.message)).toEqual(['exit status 3']);
    expect(trace.some((t) => ['parse', 'identity', 'ns', 'env', 'strategy', 'spnego', 'payload'].includes(t.area))).toBe(false);
  };

  it('--key-owner 2101:100', () => {
    const out = join(chassis.work, 'forged.bin');
    const r = replay(chassis.bundles.standin, [
      '--replay',
      good(),
      '--key-owner',
      `${users.bob.uid}:${users.bob.gid}`,
      '--payload-out',
      out,
      '--verbose',
    ]);
    expect(r.status).toBe(3);
    onlyRefusal(r.trace);
    expect(readFileSync(out).length).toBe(0);
    expect(r.stderr).toContain(`<err> [replay] key owned by ${users.bob.uid}:${users.bob.gid}, not 0:0`);
  });

  it('a describe form owned by 1000:1000 (docs/cifs-upcall-behaviour.md#edge-cases last row)', () => {
    const r = replay(chassis.bundles.standin, ['--replay', `cifs.spnego;1000;1000;39010000;${good()}`]);
    expect(r.status).toBe(3);
    onlyRefusal(r.trace);
  });

  it('even gid alone: 0:100', () => {
    expect(replay(chassis.bundles.standin, ['--replay', good(), '--key-owner', '0:100']).status).toBe(3);
  });
});

describe('exit statuses and negation', () => {
  it('a key type not served: 3, untouched (user key without --key-type user; dns_resolver)', () => {
    const r = replay(chassis.bundles.standin, ['--replay', `user;0;0;3f010000;${good()}`]);
    expect(r.status).toBe(3);
    expect(r.trace.some((t) => /would be negated/.test(t.message))).toBe(false);
    const dns = replay(chassis.bundles.standin, ['--replay', 'dns_resolver;0;0;3f010000;fs1.example.test', '--key-type', 'cifs.spnego']);
    expect(dns.status).toBe(3);
    expect(dns.trace.some((t) => /key\.dns_resolver/.test(t.message))).toBe(true);
    expect(replay(chassis.bundles.standin, ['--replay', `user;0;0;3f010000;${good()}`, '--key-type', 'user']).status).toBe(0);
  });

  it.each([
    ['uid=zz (C would make it root)', { uid: 'zz' }, /uid: "zz" is not a hexadecimal number/],
    ['sec=iakerb', { sec: 'iakerb' }, /IAKerb not supported/],
    ['ver=0x1 (the kernel rejects reply version 1)', { ver: '0x1' }, /upcall version 1 not supported/],
    ['ver=0x3', { ver: '0x3' }, /incompatible kernel upcall version: 0x3/],
    ['host with an injected ";ver=0x1"', { host: 'a;ver=0x1' }, /ver: appears twice/],
  ])('bad description — %s: 4, negated for the negative timeout', (_name, over, message) => {
    const r = replay(chassis.bundles.standin, ['--replay', good(over as Record<string, string>), '--verbose', '--negative-timeout', '2']);
    expect(r.status).toBe(4);
    expect(r.stderr).toMatch(message);
    expect(r.trace.some((t) => t.message === 'replay: the key would be negated for 2 s')).toBe(true);
    expect(r.trace.some((t) => t.area === 'identity' || t.area === 'ns')).toBe(false);
  });

  it('-l with only creduid=: 4', () => {
    const desc = `ver=0x2;host=fs1.example.test;ip4=127.0.0.2;sec=krb5;creduid=${hex(users.alice.uid)};pid=${hex(chassis.caller.pid)}`;
    expect(replay(chassis.bundles.standin, ['--replay', desc, '-l']).status).toBe(4);
    expect(replay(chassis.bundles.standin, ['--replay', desc]).status).toBe(0);
  });

  it('the source fails: 8, after it was asked as the user', () => {
    const r = replay(chassis.bundles.standin, ['--replay', good({ host: 'fail-fs1.example.test' })]);
    expect(r.status).toBe(8);
    expect(r.stdout).toBe('');
    expect(r.trace.some((t) => t.area === 'strategy' && /stand-in failed .*no-credentials/.test(t.message))).toBe(true);
    expect(r.trace.some((t) => t.message === 'replay: the key would be negated for 5 s')).toBe(true);
  });

  it("the production bundle, no ticket and no gssproxy: 8, each source's cause in the error", () => {
    const socket = join(chassis.work, 'no-gssproxy.sock');
    const r = replay(chassis.bundles.production, ['--replay', good(), '--verbose', '--gssproxy-socket', socket]);
    expect(r.status).toBe(8);
    expect(r.stderr).toContain(
      `<err> [replay] Unable to obtain service ticket for ${users.alice.name} (uid ${users.alice.uid}) to cifs/fs1.example.test: ccache: no credential cache (FILE:/nonexistent/krb5cc)`,
    );
    expect(r.stderr).toContain(`gssproxy: GSSX_INIT_SEC_CONTEXT: no gssproxy socket at ${socket} (ENOENT)`);
  });

  it('usage errors: 1 with a message; --help and -v: 0 on stdout', () => {
    const bad = runBundle(chassis.bundles.production, ['--no-such-option', '12']);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/unrecognized option '--no-such-option'/);
    expect(runBundle(chassis.bundles.production, []).status).toBe(1);
    expect(runBundle(chassis.bundles.production, ['12abc']).status).toBe(1);
    const v = runBundle(chassis.bundles.production, ['-v']);
    expect(v).toMatchObject({ status: 0, stdout: `version: ${JSON.parse(readFileSync('package.json', 'utf8')).version}\n` });
    const help = runBundle(chassis.bundles.production, ['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('Exit status:');
  });

  it('output files are never reached through a symlink (root writes them): 1, the link target untouched', () => {
    const victim = join(chassis.work, 'victim');
    writeFileSync(victim, 'precious');
    const link = join(chassis.work, 'trace-link');
    symlinkSync(victim, link);
    const r = runBundle(chassis.bundles.standin, ['--replay', good(), `--trace=${link}`]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/cannot open output file: .*ELOOP/);
    expect(readFileSync(victim, 'utf8')).toBe('precious');
    const p = runBundle(chassis.bundles.standin, ['--replay', good(), '--payload-out', link]);
    expect(p.status).toBe(1);
    expect(readFileSync(victim, 'utf8')).toBe('precious');
  });

  it('a key serial that does not exist: 2 (key access), nothing negated', () => {
    const r = replay(chassis.bundles.production, ['2147483600', '--verbose']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/<err> \[key 2147483600\] unable to describe key 2147483600: keyctl_describe: Required key not available/);
  });
});

describe('syslog (docs/cifs-upcall-behaviour.md#logging)', () => {
  it('ident "cifs.upcall", facility daemon, no pid, ERR/INFO/DEBUG levels, every line prefixed with the correlation id', () => {
    // A private /dev/log in a throw-away mount namespace (tmpfs over /dev); a python3 datagram
    // listener records what syslog(3) sends.
    const out = join(chassis.work, 'syslog.txt');
    const listener = join(chassis.work, 'listener.py');
    writeFileSync(
      listener,
      [
        'import socket, sys',
        's = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)',
        's.bind(sys.argv[1])',
        'open(sys.argv[2] + ".ready", "w").close()',
        's.settimeout(15)',
        'with open(sys.argv[2], "wb") as f:',
        '    while True:',
        '        try:',
        '            d = s.recv(65536)',
        '        except socket.timeout:',
        '            break',
        '        f.write(d + b"\\n"); f.flush()',
        '        if b"Exit status" in d: break',
      ].join('\n'),
    );
    const desc = good({ host: 'fail-fs1.example.test' });
    const script = [
      'mount -t tmpfs -o mode=0755 devtmp /dev',
      'mknod -m 666 /dev/null c 1 3',
      `(/usr/bin/python3 ${listener} /dev/log ${out} &)`,
      `while [ ! -e ${out}.ready ]; do sleep 0.05; done`,
      `/usr/bin/node ${chassis.bundles.standin} --replay '${desc}'`,
      'echo status=$?',
      `while ! grep -q "Exit status" ${out} 2>/dev/null; do sleep 0.05; done`,
    ].join('; ');
    const r = spawnSync('timeout', ['30', 'unshare', '--mount', '--propagation', 'private', '/bin/sh', '-c', script], { encoding: 'utf8' });
    expect(r.stdout).toContain('status=8');
    expect(existsSync(out)).toBe(true);
    const lines = readFileSync(out, 'utf8')
      .split('\n')
      .filter((l) => l !== '');
    // <PRI>Mmm dd hh:mm:ss cifs.upcall: message ; PRI = LOG_DAEMON (24) + level
    const parsed = lines.map((l) => /^<(\d+)>\w{3} [ \d]\d \d\d:\d\d:\d\d cifs\.upcall: (.*)$/.exec(l));
    expect(
      parsed.every((m) => m !== null),
      lines.join('\n'),
    ).toBe(true);
    const byLevel = (pri: number): string[] => parsed.filter((m) => Number(m![1]) === pri).map((m) => m![2] as string);
    // the first line names the helper and its version (the ident stays cifs.upcall for compatibility)
    expect(byLevel(31)[0]).toMatch(/^\[replay\] cifs-upcall(-standin)? \d+\.\d+\.\d+ \(node \d+\.\d+\.\d+\)$/);
    expect(byLevel(31)[1]).toBe(`[replay] key description: cifs.spnego;0;0;39010000;${desc}`);
    expect(byLevel(31)).toContain('[replay] sec=1');
    expect(byLevel(31)).toContain(`[replay] pid=${chassis.caller.pid}`);
    expect(byLevel(31)[byLevel(31).length - 1]).toBe('[replay] Exit status 8');
    expect(byLevel(30)).toEqual(['[replay] upcall_target=app, switching namespaces to application thread']);
    expect(byLevel(27)).toEqual([
      expect.stringMatching(
        /^\[replay\] Unable to obtain service ticket for \S+ \(uid \d+\) to cifs\/fail-fs1\.example\.test: stand-in told to fail/,
      ),
    ]);
    expect(parsed.every((m) => m![2]!.startsWith('[replay] '))).toBe(true);
  });
});
