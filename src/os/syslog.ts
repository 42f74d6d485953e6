// Logging as cifs.upcall does (docs/cifs-upcall-behaviour.md#logging): syslog ident "cifs.upcall", facility
// LOG_DAEMON, no LOG_PID (journald adds the pid), LOG_ERR for the fatal cause, LOG_INFO for the
// upcall_target decision, LOG_DEBUG for everything else ("key description: …", parsed fields,
// "Exit status N"). Each line starts with the key serial as a correlation id, so the lines of
// hundreds of concurrent upcalls can be told apart.
//
// The addon's own /dev/log client sends glibc's bytes but connects once, when the log is opened,
// i.e. in the host's mount namespace before any setns, and never again: our lines go to the
// host's syslog and never to a socket the caller's mount namespace provides. (glibc's syslog(3)
// connects again by path for every message while it is not connected: on a host without
// /dev/log, once per message, and after setns inside the caller's mount namespace.) A message
// that cannot be sent is dropped, as glibc drops it.
import { writeSync } from 'node:fs';
import { native } from './native.ts';

export const SYSLOG_IDENT = 'cifs.upcall';
export const LOG_DAEMON = 3 << 3;
export const LOG_NDELAY = 0x08;

export const LogLevel = {
  ERR: 3,
  WARNING: 4,
  INFO: 6,
  DEBUG: 7,
} as const;
export type LogLevel = (typeof LogLevel)[keyof typeof LogLevel];

/** What the pipeline logs through; syslog in production, anything in tests. */
export interface UpcallLog {
  error(message: string): void;
  warning(message: string): void;
  info(message: string): void;
  debug(message: string): void;
}

const LEVEL_NAMES: Record<LogLevel, string> = { 3: 'err', 4: 'warning', 6: 'info', 7: 'debug' };

/** Correlation prefix, e.g. "[key 689819400] " or "[replay] ". */
export function correlationPrefix(keySerial: number | undefined): string {
  return keySerial === undefined ? '[replay] ' : `[key ${keySerial}] `;
}

export class SyslogLog implements UpcallLog {
  private readonly prefix: string;

  /**
   * Opens the syslog connection now (call before any namespace switch). `prefix` starts every
   * line (see correlationPrefix); `mirrorToStderr` (--verbose) copies every line, with its level,
   * to fd 2.
   */
  constructor(
    prefix: string,
    private readonly mirrorToStderr = false,
  ) {
    this.prefix = prefix;
    native().openlog(SYSLOG_IDENT, LOG_NDELAY, LOG_DAEMON);
  }

  private write(level: LogLevel, message: string): void {
    // one line per event: a newline inside a value must not forge a second log line
    const line = this.prefix + message.replace(/[\r\n]+/g, ' ');
    native().syslog(LOG_DAEMON | level, line);
    if (this.mirrorToStderr) {
      try {
        writeSync(2, `${SYSLOG_IDENT}: <${LEVEL_NAMES[level]}> ${line}\n`);
      } catch {
        /* stderr closed: syslog still has it */
      }
    }
  }

  error(message: string): void {
    this.write(LogLevel.ERR, message);
  }
  warning(message: string): void {
    this.write(LogLevel.WARNING, message);
  }
  info(message: string): void {
    this.write(LogLevel.INFO, message);
  }
  debug(message: string): void {
    this.write(LogLevel.DEBUG, message);
  }

  close(): void {
    native().closelog();
  }
}
