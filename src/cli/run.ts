// The command-line driver: options → logging and trace sinks → the key (kernel or replay) → the
// pipeline → exit status. Shared by the production entry (main.ts) and the test-only stand-in entry
// (test/harness/standin/main.ts); they differ only in the credential sources they pass.
//
// Every output channel (syslog socket, trace file, payload file) is opened HERE, before the
// pipeline runs, as root in the host's mount namespace; after the switch only writes to these
// descriptors happen. Output is written synchronously (fs.writeSync), so process.exit() right
// after loses nothing.
import { closeSync, constants, openSync, writeSync } from 'node:fs';
import type { CredentialSource } from '../credentials.ts';
import { NO_CONFIG, resolveSettings } from '../pipeline/config.ts';
import { KernelKey, ReplayKey, type UpcallKey } from '../kernel/key.ts';
import { correlationPrefix, SyslogLog, type UpcallLog } from '../os/syslog.ts';
import type { Trace } from '../trace.ts';
import { silentTrace } from '../trace.ts';
import { runUpcall, type UpcallOptions, type UpcallPreparer } from '../pipeline/upcall.ts';
import { runCheckConfig } from './check-config.ts';
import { ExitCode, exitCodeFor } from './exit-codes.ts';
import { helpText, usageLine } from './help.ts';
import { parseCommandLine, UsageError, type RunOptions } from './options.ts';
import { DeferredTrace, FileDescriptorTrace } from './trace-sink.ts';
import { programVersion } from './version.ts';

export interface CliEnvironment {
  /** a fixed credential source (the test stand-in) */
  source?: CredentialSource;
  /** the production preparation: configuration + strategy for one upcall (src/cli/sources.ts) */
  prepare?: (options: RunOptions) => UpcallPreparer;
  /** name used in messages (default "cifs-upcall") */
  program?: string;
}

function writeFd(fd: number, text: string): void {
  try {
    writeSync(fd, text);
  } catch {
    /* nowhere to report it */
  }
}

/** Run the command line; resolves to the process exit status. */
export async function runCli(argv: readonly string[], env: CliEnvironment): Promise<number> {
  const program = env.program ?? 'cifs-upcall';
  let command;
  try {
    command = parseCommandLine(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    writeFd(2, `${program}: ${e.message}\n${usageLine(program)}\nTry '${program} --help' for more information.\n`);
    try {
      const log = new SyslogLog('[usage] ');
      log.error(`bad command line: ${e.message}`);
      log.close();
    } catch {
      /* the addon is missing: stderr has it */
    }
    return ExitCode.USAGE;
  }
  if (command.mode === 'help') {
    writeFd(1, helpText(program));
    return ExitCode.OK;
  }
  if (command.mode === 'version') {
    writeFd(1, `version: ${programVersion()}\n`);
    return ExitCode.OK;
  }
  if (command.mode === 'check-config') {
    return runCheckConfig(
      command.configPath,
      (t) => writeFd(1, t),
      (t) => writeFd(2, t),
    );
  }
  if (command.mode === 'train-code-cache') {
    // evaluated only for this command: its synthetic realm is no part of an upcall
    const { trainCodeCache } = await import('./code-cache.ts');
    return trainCodeCache((t) => writeFd(1, `${t}\n`));
  }
  if (command.mode === 'doctor') {
    // evaluated only for --doctor (in the bundle its code is already in memory: nothing is read)
    const { runDoctor } = await import('./doctor.ts');
    return runDoctor({ configPath: command.configPath, json: command.json, program }, (t) => writeFd(1, t));
  }
  if (command.mode === 'replay' && process.geteuid?.() !== 0) {
    // the replay enters namespaces, reads /proc of other users and drops to the credential user
    // exactly as the kernel's upcall does: only root can, and a half-run replay would mislead
    writeFd(
      2,
      `${program}: --replay must run as root (it enters the caller's namespaces and becomes the credential user, as the kernel's upcall does); try: sudo ${program} --replay …\n`,
    );
    return ExitCode.USAGE;
  }
  return runUpcallCommand(command, env, program);
}

/**
 * --verbose copies syslog lines to stderr; when a JSON trace goes to stderr too, the copies are
 * JSON objects, so that stream stays one JSON object per line.
 */
class MirroredLog implements UpcallLog {
  constructor(
    private readonly inner: SyslogLog,
    private readonly prefix: string,
  ) {}
  private mirror(level: string, message: string): void {
    writeFd(2, `${JSON.stringify({ syslog: level, message: this.prefix + message.replace(/[\r\n]+/g, ' ') })}\n`);
  }
  error(message: string): void {
    this.inner.error(message);
    this.mirror('err', message);
  }
  warning(message: string): void {
    this.inner.warning(message);
    this.mirror('warning', message);
  }
  info(message: string): void {
    this.inner.info(message);
    this.mirror('info', message);
  }
  debug(message: string): void {
    this.inner.debug(message);
    this.mirror('debug', message);
  }
}

async function runUpcallCommand(commandLine: RunOptions, env: CliEnvironment, program: string): Promise<number> {
  // a JSON trace on stderr owns that stream: nothing else may write plain text to it
  const jsonOnStderr = commandLine.trace === null && commandLine.traceFormat === 'json';
  const syslog = new SyslogLog(correlationPrefix(commandLine.keySerial), commandLine.verbose && !jsonOnStderr);
  const log: UpcallLog & { close(): void } =
    commandLine.verbose && jsonOnStderr
      ? Object.assign(new MirroredLog(syslog, correlationPrefix(commandLine.keySerial)), { close: () => syslog.close() })
      : syslog;
  // the first debug line names the program, its version and the node running it
  log.debug(`${program} ${programVersion()} (node ${process.versions.node})`);
  const opened: number[] = [];
  const openOutput = (path: string, flags: number): number => {
    // libuv opens with O_CLOEXEC; 0600: a payload holds a session key
    // O_NOFOLLOW: root must not be steered into another file by a symlink planted at the path
    const fd = openSync(path, flags | constants.O_WRONLY | constants.O_CREAT | constants.O_NOFOLLOW, 0o600);
    opened.push(fd);
    return fd;
  };
  // without --trace, events wait for the configuration: its trace_file may want them
  let trace: Trace = env.prepare ? new DeferredTrace() : silentTrace;
  let payloadFd: number | undefined;
  try {
    if (commandLine.trace !== undefined) {
      const fd = commandLine.trace === null ? 2 : openOutput(commandLine.trace, constants.O_APPEND);
      trace = new FileDescriptorTrace(fd, commandLine.traceFormat);
    }
    if (commandLine.mode === 'replay' && commandLine.payloadOut !== undefined)
      payloadFd = openOutput(commandLine.payloadOut, constants.O_TRUNC);
  } catch (e) {
    const message = `cannot open output file: ${(e as Error).message}`;
    writeFd(2, jsonOnStderr ? `${JSON.stringify({ area: 'result', message })}\n` : `${program}: ${message}\n`);
    log.error(message);
    closeAll(opened);
    return ExitCode.USAGE;
  }

  let code: number;
  try {
    code = await runWithSinks(commandLine, env, program, log, trace, payloadFd);
  } catch (e) {
    // runUpcall never throws; this is the CLI's own bug
    log.error(`internal error: ${(e as Error).message}`);
    trace.event('result', `internal error: ${(e as Error).stack ?? String(e)}`);
    code = ExitCode.INTERNAL;
  }
  log.debug(`Exit status ${code}`);
  trace.event('result', `exit status ${code}`, { exitStatus: code });
  if (trace instanceof DeferredTrace) trace.finish(code);
  closeAll(opened);
  log.close();
  return code;
}

async function runWithSinks(
  commandLine: RunOptions,
  env: CliEnvironment,
  program: string,
  log: UpcallLog,
  trace: Trace,
  payloadFd: number | undefined,
): Promise<number> {
  trace.event(
    'cli',
    `${program} ${programVersion()}, pid ${process.pid}, ${commandLine.mode === 'replay' ? 'replay of a description' : `kernel key ${commandLine.keySerial}`}`,
    {
      pid: process.pid,
      mode: commandLine.mode,
      key: commandLine.keySerial ?? null,
    },
  );
  const given = commandLine.settings;
  trace.event(
    'cli',
    `options: key type ${commandLine.keyType}, ${commandLine.legacyUid ? 'uid= (-l)' : 'creduid='}, config ${commandLine.configPath}` +
      `${
        Object.keys(given).length > 0
          ? `; from the command line: ${Object.entries(given)
              .map(([k, v]) => `${k} ${String(v)}`)
              .join(', ')}`
          : ''
      }`,
    { ...given },
  );
  if (commandLine.ignoredOperands.length > 0)
    trace.event('cli', `extra arguments ignored (as cifs.upcall): ${commandLine.ignoredOperands.join(' ')}`);

  const key: UpcallKey = commandLine.mode === 'replay' ? new ReplayKey(commandLine.replayKey!) : new KernelKey(commandLine.keySerial!);
  const options: UpcallOptions = {
    keyType: commandLine.keyType,
    legacyUid: commandLine.legacyUid,
    replay: commandLine.mode === 'replay',
    replayPid: commandLine.replayPid,
    // until the configuration file is read: the defaults and the command line
    settings: resolveSettings(NO_CONFIG, { host: '' }, commandLine.settings),
  };
  const outcome = await runUpcall(options, {
    key,
    trace,
    log,
    ...(env.prepare ? { prepare: env.prepare(commandLine) } : {}),
    ...(env.source ? { source: env.source } : {}),
  });
  if (!outcome.ok) {
    // the one-line cause (also at LOG_ERR): for an admin replaying or running a serial by hand.
    // A JSON trace on stderr has it already as a record ("failed (kind): …"): no plain text there.
    if (!(commandLine.trace === null && commandLine.traceFormat === 'json')) writeFd(2, `${program}: ${outcome.error.message}\n`);
    return exitCodeFor(outcome.error.kind);
  }

  if (commandLine.mode === 'replay') {
    try {
      if (payloadFd !== undefined) {
        for (let off = 0; off < outcome.payload.length; ) {
          off += writeSync(payloadFd, outcome.payload, off, outcome.payload.length - off);
        }
      } else {
        writeSync(1, `${outcome.payload.toString('hex')}\n`);
      }
    } catch (e) {
      log.error(`cannot write the payload: ${(e as Error).message}`);
      return ExitCode.INTERNAL;
    }
    trace.event('result', `payload of ${outcome.payload.length} bytes written to ${commandLine.payloadOut ?? 'stdout (hex)'}`);
  }
  return ExitCode.OK;
}

function closeAll(fds: number[]): void {
  for (const fd of fds.splice(0)) {
    try {
      closeSync(fd);
    } catch {
      /* already closed */
    }
  }
}
