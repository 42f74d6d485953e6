// cifs-upcall --doctor [--config FILE] [--json]: checks the host's set-up the way the kernel and
// an upcall will meet it, one line per check with the fix; changes nothing (it reads files, /proc
// and /sys, loads the native addon, and opens one TCP connection to a KDC).
//
//   configuration  the file as --check-config reads it; the strategy and the impersonation steps
//   request-key    which line request-key(8) picks for a cifs.spnego key: the best match is the
//                  one whose wildcards skip the fewest characters, columns ranked left to right,
//                  the first read on a tie (request-key.conf(5)); files /etc/request-key.d/*.conf
//                  then /etc/request-key.conf
//   helper         the program of that line: present, its #! interpreter present, the bundle's
//                  loader, bundle and addon beside it; whether this process is it
//   addon          the native addon loads into this node (N-API), the installed one too; the V8
//                  code cache is accepted by this node (else a slower start)
//   krb5.conf      the default realm; one TCP probe of its first KDC, with a timeout
//   keytab         readable; host/ or machine (NAME$) principals and their enctypes (cifs-upcall's
//                  own, for user= mounts, and the keytab of every impersonating gssproxy service)
//   gssproxy       its processes' configuration (-c/-C/-s from /proc/<pid>/cmdline, gssproxy(8));
//                  the socket cifs-upcall uses and the [service/…] sections bound to it
//                  (gssproxy.conf(5): impersonate, trusted, allow_any_uid, euid, cred_store
//                  keytab); per-user services (euid = N with client_keytab or krb5_principal) on
//                  another socket, which cifs-upcall never reaches
//   forwardable    S4U2Proxy needs a forwardable evidence ticket: `forwardable = true` in the
//                  krb5.conf gssproxy runs with, when a service impersonates
//   cifs.ko        loaded (/sys/module/cifs) and the cifs.spnego key type registered
//                  (/proc/kallsyms: cifs_spnego_key_type)
import { accessSync, constants, existsSync, lstatSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { basename, dirname, join } from 'node:path';
import { Script } from 'node:vm';
import { createHash } from 'node:crypto';
import { loadKrb5Config, type Krb5Config } from '../krb5/config/krb5-config.ts';
import { enctypeName } from '../krb5/iana/etype.ts';
import { locateKdcs } from '../krb5/kdc/locate.ts';
import { readKeytab } from '../krb5/keytab/keytab.ts';
import { lookupHost } from '../net/dns/index.ts';
import { native } from '../os/native.ts';
import { loadConfig, resolveSettings, type UpcallConfig, type UpcallSettings } from '../pipeline/config.ts';
import { LAUNCHER_PATH } from '../install/request-key-line.ts';
import { checkConfigFile } from './check-config.ts';
import { readCodeCacheFile } from './code-cache-file.ts';
import { DEFAULT_CONFIG_PATH } from './options.ts';
import { programVersion } from './version.ts';
import { DEFAULT_GSSPROXY_SOCKET } from '../gssproxy/socket-path.ts';
import { describeService, first, gssproxyInstances, parseGssproxyConfig, yes } from './doctor-gssproxy.ts';
import { describeLine, pickRequestKeyLine, requestKeyFiles, requestKeyProgram, whoseLine, wildcardSkip } from './doctor-request-key.ts';

export { parseGssproxyConfig, pickRequestKeyLine, requestKeyFiles, requestKeyProgram, wildcardSkip };

export type DoctorStatus = 'ok' | 'warn' | 'fail' | 'info';

export interface DoctorCheck {
  check: string;
  status: DoctorStatus;
  message: string;
  /** what to do about it (warn/fail) */
  fix?: string;
}

export interface DoctorOptions {
  configPath: string;
  json: boolean;
  program: string;
  /** request-key configuration (default: /etc/request-key.d/*.conf then /etc/request-key.conf) */
  requestKeyFiles?: string[];
  /** timeout of the KDC probe */
  kdcProbeMs?: number;
}

/** a kernel cifs.spnego description, for matching request-key lines (every one starts with ver=0x2;) */
const SAMPLE_DESCRIPTION =
  'ver=0x2;host=fs1.example.com;ip4=192.0.2.1;sec=krb5;uid=0x3e8;creduid=0x3e8;user=root;pid=0x1;upcall_target=app';

// ---- the checks ------------------------------------------------------------------------------------

function tcpProbe(host: string, port: number, timeoutMs: number): Promise<{ ok: boolean; detail: string }> {
  return new Promise((resolve) => {
    const started = Date.now();
    const socket = connect({ host, port });
    const done = (ok: boolean, detail: string): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ ok, detail });
    };
    const timer = setTimeout(() => done(false, `no answer within ${timeoutMs} ms`), timeoutMs);
    socket.once('connect', () => done(true, `TCP connect in ${Date.now() - started} ms`));
    socket.once('error', (e: NodeJS.ErrnoException) => done(false, e.code ?? e.message));
  });
}

function shebangInterpreter(firstLine: string): string | undefined {
  if (!firstLine.startsWith('#!')) return undefined;
  const words = firstLine.slice(2).trim().split(/\s+/);
  if (basename(words[0] ?? '') !== 'env') return words[0];
  for (let i = 1; i < words.length; i++) {
    const w = words[i]!;
    if (w === '-u') {
      i++;
      continue;
    }
    if (w.startsWith('-') || w.includes('=')) continue;
    return w;
  }
  return undefined;
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** host/… and machine-account (NAME$) principals of a keytab, with their enctypes. */
function machinePrincipals(name: string): { principals: string[]; entries: number } | { error: string } {
  try {
    const kt = readKeytab(name);
    const machine = new Map<string, Set<number>>();
    for (const e of kt.entries) {
      const principal = `${e.principal.components.join('/')}@${e.principal.realm}`;
      if (e.principal.components[0] === 'host' || /\$$/.test(e.principal.components[0] ?? '')) {
        machine.set(principal, (machine.get(principal) ?? new Set()).add(e.key.enctype));
      }
    }
    return { principals: [...machine].map(([p, e]) => `${p} (${[...e].map(enctypeName).join(', ')})`), entries: kt.entries.length };
  } catch (e) {
    return { error: (e as Error).message };
  }
}

export async function doctorChecks(o: DoctorOptions): Promise<DoctorCheck[]> {
  const checks: DoctorCheck[] = [];
  const add = (check: string, status: DoctorStatus, message: string, fix?: string): void => {
    checks.push(fix !== undefined ? { check, status, message, fix } : { check, status, message });
  };
  if (process.geteuid?.() !== 0) {
    add(
      'privileges',
      'warn',
      `running as uid ${process.geteuid?.() ?? '?'}: root-only files (the configuration's ownership, keytabs, gssproxy's environment) may be misjudged`,
      `run "sudo ${o.program} --doctor"`,
    );
  }

  // configuration
  let config: UpcallConfig = { path: null, sections: [] };
  if (o.configPath === DEFAULT_CONFIG_PATH && !existsSync(o.configPath)) {
    add(
      'configuration',
      'warn',
      `no ${o.configPath}: built-in defaults (strategy compat, gssproxy socket from GSSPROXY_SOCKET or ${DEFAULT_GSSPROXY_SOCKET})`,
      'install cifs-upcall (it writes the file), or write it: see cifs-upcall(8) CONFIGURATION',
    );
  } else {
    const r = checkConfigFile(o.configPath);
    if (r.ok) {
      config = loadConfig(o.configPath, true);
      add('configuration', 'ok', `${o.configPath}: valid, ${r.sections.length} section${r.sections.length === 1 ? '' : 's'}`);
    } else {
      add(
        'configuration',
        'fail',
        `${r.problems.join('; ')}`,
        `fix the lines named (cifs-upcall --check-config ${o.configPath}); every upcall fails with exit status 11 until then`,
      );
    }
  }
  const settings: UpcallSettings = resolveSettings(config, { host: '' }, {});
  const ourSocket = settings.gssproxySocket ?? process.env['GSSPROXY_SOCKET'] ?? DEFAULT_GSSPROXY_SOCKET;
  const usesProxyBeyondCompat = settings.strategy !== 'compat' && settings.strategy !== 'local-only';

  // request-key
  const rk = pickRequestKeyLine(o.requestKeyFiles ?? requestKeyFiles(), 'cifs.spnego', SAMPLE_DESCRIPTION);
  let launcher = LAUNCHER_PATH;
  if (!rk.winner) {
    add(
      'request-key',
      'fail',
      'no request-key line matches cifs.spnego keys: the kernel negates every Kerberos mount',
      'install cifs-upcall (cifs-upcall-install or the package), which writes /etc/request-key.d/cifs-upcall.conf',
    );
  } else {
    const { program } = requestKeyProgram(rk.winner.fields);
    const who = whoseLine(program);
    const others = rk.candidates.filter((c) => c !== rk.winner);
    const why = others.length === 0 ? 'the only matching line' : `it skips fewer characters than ${others.map(describeLine).join(', ')}`;
    if (who === 'ours') {
      launcher = program;
      add('request-key', 'ok', `the kernel runs ${program} for cifs.spnego: ${describeLine(rk.winner)} wins, ${why}`);
    } else if (who === 'cifs.upcall') {
      add(
        'request-key',
        'fail',
        `the kernel runs cifs.upcall, not cifs-upcall: ${describeLine(rk.winner)} wins, ${why}`,
        'install cifs-upcall\'s line (cifs-upcall-install, or reinstall the package): "ver=0x2;*" is more specific than cifs-utils\' "*"',
      );
    } else {
      add(
        'request-key',
        'warn',
        `the kernel runs ${program || '(nothing)'} for cifs.spnego: ${describeLine(rk.winner)} wins, ${why}`,
        `remove or narrow ${rk.winner.file}:${rk.winner.line} if cifs-upcall should serve the kernel`,
      );
    }
  }

  // helper
  let installedDir: string | undefined;
  if (!existsSync(launcher)) {
    add('helper', 'fail', `${launcher} does not exist`, 'install cifs-upcall (cifs-upcall-install or the package)');
  } else {
    const entry = realpathSync(launcher);
    installedDir = dirname(entry);
    const firstLine = readFileSync(entry, 'latin1').split('\n', 1)[0] ?? '';
    const interpreter = shebangInterpreter(firstLine);
    const missing = ['cifs-upcall.cjs', 'cifs-upcall-bundle.cjs', 'cifs_upcall_native.node'].filter(
      (f) => !existsSync(join(installedDir!, f)),
    );
    const self = process.argv[1] !== undefined && existsSync(process.argv[1]) && realpathSync(process.argv[1]) === entry;
    if (!executable(entry)) {
      add('helper', 'fail', `${entry} is not executable`, `chmod 755 ${entry}`);
    } else if (interpreter === undefined || !executable(interpreter)) {
      add(
        'helper',
        'fail',
        `${entry} starts with "${firstLine}": interpreter ${interpreter ?? '(none)'} is missing`,
        "reinstall with --node set to this system's node (cifs-upcall-install --node PATH), or install nodejs",
      );
    } else if (missing.length > 0) {
      add('helper', 'fail', `${installedDir} lacks ${missing.join(', ')}`, 'reinstall cifs-upcall');
    } else {
      add(
        'helper',
        self ? 'ok' : 'info',
        `${launcher} → ${entry}, run by ${interpreter}${
          self
            ? `: this doctor is that program, so it starts (version ${programVersion()}, node ${process.versions.node})`
            : `; this doctor runs from ${process.argv[1] ?? '?'}: run "${launcher} --doctor" to prove the installed helper starts`
        }`,
      );
    }
  }

  // addon and code cache
  try {
    native();
    const napi = Number(process.versions.napi ?? '0');
    let loadedInstalled = '';
    if (installedDir !== undefined) {
      const addon = join(installedDir, 'cifs_upcall_native.node');
      if (existsSync(addon)) {
        const m = { exports: {} as Record<string, unknown> };
        process.dlopen(m, addon);
        if (Object.keys(m.exports).length === 0) throw new Error(`${addon} exports nothing`);
        loadedInstalled = `; ${addon} loads too`;
      }
    }
    add(
      'addon',
      napi >= 8 ? 'ok' : 'fail',
      `the native addon (N-API 8) loads in node ${process.versions.node} (N-API ${napi})${loadedInstalled}`,
      napi >= 8 ? undefined : 'install nodejs 20 or later',
    );
  } catch (e) {
    add(
      'addon',
      'fail',
      `the native addon does not load in node ${process.versions.node}: ${(e as Error).message.split('\n')[0]}`,
      'rebuild it for this node (npm rebuild, or reinstall the package built for it)',
    );
  }
  if (installedDir !== undefined && existsSync(join(installedDir, 'cifs-upcall-bundle.cjs'))) {
    const bundle = join(installedDir, 'cifs-upcall-bundle.cjs');
    const blob = join(installedDir, 'cifs-upcall-bundle.blob');
    const file = existsSync(blob) ? readCodeCacheFile(blob, process.geteuid?.() ?? 0) : undefined;
    const retrain = 'cifs-upcall --train-code-cache (as root; the package runs it when installed)';
    if (!file) {
      add('code cache', 'info', `no ${blob}: the helper compiles its bundle at every start`, retrain);
    } else if (!file.ok) {
      add('code cache', 'warn', `${blob} is not used: ${file.problem}; every upcall compiles from source, a slower start`, retrain);
    } else {
      const source = readFileSync(bundle);
      const hash = createHash('sha256').update(source).digest('hex');
      const script = new Script(source.toString('latin1'), { filename: bundle, cachedData: file.data });
      const problem =
        file.header.bundle !== hash
          ? `was made for another bundle (${file.header.bundle.slice(0, 12)}…, this one is ${hash.slice(0, 12)}…)`
          : script.cachedDataRejected
            ? `node ${process.versions.node} rejects it (made by node ${file.header.node})`
            : undefined;
      add(
        'code cache',
        problem ? 'warn' : 'ok',
        problem
          ? `${blob} ${problem}: every upcall compiles from source, a slower start`
          : `node ${process.versions.node} accepts ${blob} (${(file.data.length / 1024).toFixed(0)} KiB, trained on ${file.header.trainedOn.length} paths)`,
        problem ? retrain : undefined,
      );
    }
  }

  // krb5.conf and the KDC
  let krb5: Krb5Config | undefined;
  let realm: string | undefined;
  try {
    krb5 = loadKrb5Config(settings.krb5Conf !== undefined ? { configFile: settings.krb5Conf } : {});
    const read = krb5.profile.report.filter((r) => r.status === 'read').map((r) => r.path);
    realm = krb5.defaultRealm();
    if (read.length === 0) {
      add(
        'krb5.conf',
        'fail',
        `no krb5.conf could be read (${krb5.profile.report.map((r) => `${r.path}: ${r.status}`).join(', ')})`,
        'install krb5-config / write /etc/krb5.conf, or set krb5_conf',
      );
    } else if (realm === undefined) {
      add('krb5.conf', 'fail', `${read.join(', ')}: no default_realm in [libdefaults]`, 'set default_realm = YOUR.REALM in [libdefaults]');
    } else {
      add('krb5.conf', 'ok', `${read.join(', ')}: default realm ${realm}`);
    }
  } catch (e) {
    add('krb5.conf', 'fail', (e as Error).message, 'fix the krb5.conf line named');
  }
  if (krb5 && realm !== undefined) {
    try {
      const kdcs = await locateKdcs(realm, krb5);
      const kdc = kdcs[0]!;
      const address = (await lookupHost(kdc.host, { timeoutMs: 2000, attempts: 1 })).addresses[0]!.address;
      const probe = await tcpProbe(address, kdc.port, o.kdcProbeMs ?? 3000);
      add(
        'kdc',
        probe.ok ? 'ok' : 'fail',
        `${realm}: KDC ${kdc.label}${address !== kdc.host ? ` (${address})` : ''} ${probe.ok ? 'answers' : 'does not answer'}: ${probe.detail}${kdcs.length > 1 ? ` (${kdcs.length - 1} more not probed)` : ''}`,
        probe.ok ? undefined : `check that the KDC runs and that port ${kdc.port} is reachable from this host (firewall, routing)`,
      );
    } catch (e) {
      add(
        'kdc',
        'fail',
        `${realm}: ${(e as Error).message}`,
        `name the KDCs in [realms] ${realm} kdc = …, or publish _kerberos SRV records`,
      );
    }
  }

  // keytab (the mount's own session: user= fallback)
  const keytabName = settings.keytab ?? krb5?.defaultKeytabName() ?? 'FILE:/etc/krb5.keytab';
  const machine = machinePrincipals(keytabName);
  if ('error' in machine) {
    add(
      'keytab',
      settings.keytabFallback === 'never' ? 'info' : 'warn',
      `${keytabName}: ${machine.error}`,
      "only mounts with user= need it (the mount's own session): create it, or set keytab_fallback = never",
    );
  } else if (machine.principals.length === 0) {
    add(
      'keytab',
      'warn',
      `${keytabName}: ${machine.entries} entries, none for host/… or a machine account (NAME$)`,
      'join the host to the realm (e.g. realm join / adcli / kadmin ktadd host/FQDN), or set keytab in the configuration',
    );
  } else {
    add('keytab', 'ok', `${keytabName}: ${machine.principals.join('; ')}`);
  }

  // gssproxy
  const instances = gssproxyInstances();
  const bound = instances.flatMap((i) => i.services.filter((s) => s.socket === ourSocket).map((s) => ({ i, s })));
  const socketThere = (() => {
    try {
      return lstatSync(ourSocket).isSocket();
    } catch {
      return false;
    }
  })();
  const impersonating = bound.filter(({ s }) => yes(first(s, 'impersonate')));
  const usedBy = `cifs-upcall uses ${ourSocket} (strategy ${settings.strategy})`;
  if (instances.length === 0) {
    add(
      'gssproxy',
      usesProxyBeyondCompat ? 'fail' : 'info',
      `no gssproxy process runs; ${usedBy}`,
      usesProxyBeyondCompat
        ? 'start gssproxy (systemctl enable --now gssproxy) with a service on that socket (cifs-upcall(8), ENABLING IMPERSONATION)'
        : undefined,
    );
  } else if (!socketThere || bound.length === 0) {
    const detail = `${usedBy}: ${socketThere ? 'a socket is there but no running gssproxy has a service on it' : 'it does not exist'}; gssproxy ${instances.map((i) => `pid ${i.pid} (${i.configFile})`).join(', ')}`;
    if (usesProxyBeyondCompat) {
      add(
        'gssproxy',
        'fail',
        detail,
        'step 1 of ENABLING IMPERSONATION: cifs-upcall-install --gssproxy yes (or copy /usr/share/cifs-upcall/gssproxy-impersonation.conf to /etc/gssproxy/80-cifs-upcall.conf), then systemctl reload gssproxy',
      );
    } else {
      add('gssproxy', 'ok', `${detail} — impersonation is off (the installed default)`);
    }
  } else {
    add(
      'gssproxy',
      'ok',
      `${usedBy}: ${bound.map(({ s }) => describeService(s)).join('; ')}${impersonating.length > 0 ? ' — impersonation is on' : ''}`,
    );
    // the impersonator's keytab: S4U2Self needs a host or machine principal in it
    for (const { s } of impersonating) {
      for (const store of (s.values.get('cred_store') ?? []).filter((c) => c.startsWith('keytab:'))) {
        const name = store.slice('keytab:'.length);
        const k = machinePrincipals(name);
        if ('error' in k || k.principals.length === 0) {
          add(
            'gssproxy keytab',
            'fail',
            `[${s.name}] impersonates with ${name}: ${'error' in k ? k.error : 'no host/… or machine (NAME$) principal in it'}`,
            "put the host's keytab there (the principal the KDC allows to delegate to the SMB servers)",
          );
        } else {
          add('gssproxy keytab', 'ok', `[${s.name}] impersonates with ${name}: ${k.principals.join('; ')}`);
        }
      }
    }
    if (impersonating.length > 0 && settings.strategy === 'compat') {
      add(
        'strategy',
        'info',
        'strategy compat: gssproxy serves only users without a usable cache; step 2 of ENABLING IMPERSONATION (strategy = local-first) also covers expired tickets and TGS failures',
      );
    }
  }
  for (const inst of instances) {
    for (const s of inst.services) {
      const euid = first(s, 'euid');
      const perUser =
        euid !== undefined &&
        euid !== '0' &&
        euid !== 'root' &&
        ((s.values.get('cred_store') ?? []).some((c) => c.startsWith('client_keytab:')) || s.values.has('krb5_principal'));
      if (perUser && s.socket !== ourSocket) {
        add(
          'gssproxy',
          'warn',
          `per-user service [${s.name}] (${s.file}, euid ${euid}) listens on ${s.socket}, but cifs-upcall connects to ${ourSocket}: cifs-upcall never reaches it`,
          `add "socket = ${ourSocket}" to [${s.name}], or set gssproxy_socket = ${s.socket} for the servers it is meant for`,
        );
      }
    }
  }

  // forwardable, where impersonation needs it
  for (const { i, s } of impersonating) {
    try {
      const k = loadKrb5Config({ configFile: i.krb5Config });
      const r = k.defaultRealm();
      if (k.forwardable(r)) {
        add('forwardable', 'ok', `[${s.name}] impersonates and gssproxy's ${i.krb5Config} says forwardable = true`);
      } else {
        add(
          'forwardable',
          'fail',
          `[${s.name}] impersonates but gssproxy's ${i.krb5Config} lacks forwardable = true: S4U2Proxy needs a forwardable evidence ticket`,
          `add forwardable = true to [libdefaults] in ${i.krb5Config} and reload gssproxy`,
        );
      }
    } catch (e) {
      add('forwardable', 'fail', `gssproxy's ${i.krb5Config}: ${(e as Error).message}`, `fix ${i.krb5Config}`);
    }
  }

  // cifs.ko
  if (!existsSync('/sys/module/cifs')) {
    add('cifs.ko', 'warn', 'cifs.ko is not loaded (the first SMB mount loads it)', 'modprobe cifs, or mount a share');
  } else {
    let registered: boolean | undefined;
    try {
      registered = readFileSync('/proc/kallsyms', 'latin1').includes(' cifs_spnego_key_type');
    } catch {
      registered = undefined;
    }
    if (registered === false) {
      add(
        'cifs.ko',
        'fail',
        'cifs.ko is loaded but has no cifs.spnego key type (built without CONFIG_CIFS_UPCALL): Kerberos mounts cannot work',
        'use a kernel built with CONFIG_CIFS_UPCALL=y',
      );
    } else {
      add(
        'cifs.ko',
        'ok',
        `cifs.ko loaded${registered ? ', cifs.spnego key type registered' : ' (key types not listable: /proc/kallsyms unreadable)'}`,
      );
    }
  }
  return checks;
}

const LABEL: Record<DoctorStatus, string> = { ok: 'ok  ', warn: 'WARN', fail: 'FAIL', info: 'info' };

export async function runDoctor(o: DoctorOptions, out: (text: string) => void): Promise<number> {
  const checks = await doctorChecks(o);
  for (const c of checks) {
    if (o.json) out(`${JSON.stringify(c)}\n`);
    else out(`${LABEL[c.status]}  ${c.check.padEnd(13)} ${c.message}${c.fix !== undefined ? `; fix: ${c.fix}` : ''}\n`);
  }
  const failed = checks.filter((c) => c.status === 'fail').length;
  if (!o.json)
    out(
      `${o.program} --doctor: ${failed === 0 ? 'no check failed' : `${failed} check${failed === 1 ? '' : 's'} failed`}; nothing was changed\n`,
    );
  return failed === 0 ? 0 : 1;
}
