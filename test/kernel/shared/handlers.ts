// The two request-key handlers the scenarios run with, as production request-key lines would
// start them. request-key hands a handler only HOME and PATH, so variables go in through
// /usr/bin/env on the line itself.
import type { HandlerName, HandlerSpec } from './types.ts';

/** gssproxy's impersonating service inside the guest (the guest's /run is a fresh tmpfs). */
export const GUEST_GSSPROXY_SOCKET = '/run/vmtest/gssproxy/default.sock';
/** our handler's trace inside the guest (appended per upcall); copied to the run directory at the end */
export const GUEST_TRACE_FILE = '/var/log/vmtest/trace/cifs-upcall.trace';

export const HANDLER_NAMES: readonly HandlerName[] = ['stock', 'ours'];

/** Debian's cifs.upcall 7.0 with the gssproxy interposer switched on for its GSS-API path. */
export function stockHandler(): HandlerSpec {
  return {
    name: 'stock',
    argv: ['/usr/bin/env', 'GSS_USE_PROXY=yes', `GSSPROXY_SOCKET=${GUEST_GSSPROXY_SOCKET}`, '/usr/sbin/cifs.upcall', '%k'],
    configText: null,
    traceFile: null,
  };
}

/**
 * The project's upcall (dist/cifs-upcall.mjs, built by `npm run build`). It speaks to gssproxy on
 * the socket itself (no interposer variables) and appends a step-by-step trace per upcall to one
 * file (request-key does not expand `%k` inside `--trace=…`, so a per-key file name is impossible).
 */
export function oursHandler(bundle: string, configText: string | null): HandlerSpec {
  return {
    name: 'ours',
    argv: ['/usr/bin/node', bundle, `--trace=${GUEST_TRACE_FILE}`, `--gssproxy-socket=${GUEST_GSSPROXY_SOCKET}`, '%k'],
    configText,
    traceFile: GUEST_TRACE_FILE,
  };
}

/** The line an administrator would install in /etc/request-key.d/cifs.spnego.conf. */
export function productionRequestKeyLine(h: HandlerSpec): string {
  return `create\tcifs.spnego\t*\t*\t${h.argv.join(' ')}`;
}

/**
 * The same handler behind the logging wrapper. The wrapper gets the serial, the description, the
 * requester's fsuid and `key=%k` (which shows whether request-key expands a macro inside a word),
 * then `--` and the handler's own argv unchanged.
 */
export function loggedRequestKeyLine(h: HandlerSpec, wrapper: string): string {
  return `create\tcifs.spnego\t*\t*\t/bin/sh ${wrapper} %k %d %u key=%k -- ${h.argv.join(' ')}`;
}
