// The JSON contract between the host runner and the guest orchestrator. The host writes a
// GuestConfig into the run directory (9p share, /vmtest/out in the guest); the guest writes a
// GuestReport back next to it. Both sides are bundled from this one file.

/** Which request-key handler serves the cifs.spnego upcalls of a run. */
export type HandlerName = 'stock' | 'ours';

export interface HandlerSpec {
  name: HandlerName;
  /**
   * The handler's program and arguments exactly as a production request-key line has them
   * (request-key macros such as `%k` stay unexpanded); variables go in through `/usr/bin/env`.
   */
  argv: string[];
  /** Text written to the guest's /etc/cifs-upcall.conf before this handler's scenarios (ours only). */
  configText: string | null;
  /**
   * The file the handler appends its step-by-step trace to, or null. One file for all upcalls:
   * request-key expands a macro only when it is a whole argument, so `--trace=…/%k` stays literal.
   */
  traceFile: string | null;
}

export interface GuestConfig {
  /** '6.1', '6.12' or the release itself: only used for labels */
  kernelLabel: string;
  /** `uname -r` of the guest kernel, e.g. 6.1.0-56-amd64 */
  kernelRelease: string;
  /** true for kernels that append `;upcall_target=` to the description (6.13+ and 6.12 backports) */
  expectUpcallTarget: boolean;
  handlers: HandlerSpec[];
  /** scenario ids to run (empty = all) */
  scenarios: string[];
  /** absolute path of test/kernel/guest in the checkout (seen at the same path in the guest) */
  guestScriptsDir: string;
  /** the run directory as the guest sees it */
  outDir: string;
  /** bound on one access by a user process (the kernel waits for the handler without limit) */
  accessTimeoutMs: number;
  /** the Samba AD DC on the host, reached through the guest's restricted user-mode NIC; null: not run */
  ad: AdGuestConfig | null;
}

/**
 * What the guest needs for scenario 7 (the DC's own smbd as the file server). The DC runs on the
 * host on 127.0.0.1; QEMU's user-mode network (restrict=on) forwards the guest's TCP connections
 * to `dcAddress` port 88 and 445 to the DC's KDC and smbd ports on the host's loopback.
 */
export interface AdGuestConfig {
  realm: string;
  /** dc1.ad.test */
  dcHost: string;
  /** the guest-visible address of the DC (a guestfwd address in the user-mode network) */
  dcAddress: string;
  /** the guest's own address on that network and its prefix length */
  guestAddress: string;
  prefixLength: number;
  share: string;
  /** the machine keytab (CLIENT$ first, then host/client.ad.test) as the guest sees it */
  machineKeytab: string;
  machineAccount: string;
  /** the ticketless user who goes through gssproxy S4U2Self + S4U2Proxy (RBCD to the DC) */
  user: { name: string; uid: number; gid: number; principal: string; sid: string };
  /** text of hello.txt in the DC's share */
  helloText: string;
  /**
   * A port that listens on the host's 127.0.0.1 (the DC's smbd): without restrict=on the guest
   * would reach it as 10.0.2.2:<port>; the guest proves it cannot
   */
  hostLoopbackPort: number;
  /** server-side file names include this, so two kernels' files never collide in one domain */
  fileTag: string;
}

/** One cifs.spnego upcall, joined from the kernel's debug line and the request-key wrapper log. */
export interface UpcallRecord {
  handler: HandlerName;
  scenario: string;
  /** the description the kernel logged (`key description = …`), null if the line was missed */
  kernelDescription: string | null;
  /** kernel timestamp of that line, seconds since boot */
  kernelTime: number | null;
  serial: number | null;
  /** the description request-key handed to the wrapper (%d) */
  wrapperDescription: string | null;
  /** handler exit status as the wrapper saw it */
  exitStatus: number | null;
  /** handler run time measured by the wrapper (/proc/uptime, 10 ms resolution) */
  handlerMs: number | null;
  /** /proc/keys flags and timeout of the key right after the handler exited, e.g. "I------ perm" */
  keyStateAfterHandler: string | null;
  /** the whole argv request-key gave the wrapper (shows macro expansion) */
  wrapperArgv: string | null;
}

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

export interface ScenarioResult {
  kernelLabel: string;
  kernelRelease: string;
  handler: HandlerName;
  /** e.g. '1-machine-keytab' */
  id: string;
  title: string;
  ok: boolean;
  /** what was timed as the "first access" (the access that made the upcall) */
  firstAccessWhat: string;
  /** milliseconds, or null when it did not happen */
  firstAccessMs: number | null;
  /** the credential uid whose upcall that access made */
  firstAccessUid: number | null;
  /** that upcall's handler run time as the request-key wrapper measured it */
  firstAccessHandlerMs: number | null;
  checks: Check[];
  upcalls: UpcallRecord[];
}

export interface PhaseTiming {
  name: string;
  ms: number;
}

export interface GuestReport {
  kernelLabel: string;
  kernelRelease: string;
  /** /proc/uptime when the orchestrator started (boot + stage 2 + Node start-up) */
  orchestratorStartUptime: number;
  phases: PhaseTiming[];
  results: ScenarioResult[];
  /** the exact request-key lines installed in the guest, per handler (with and without wrapper) */
  requestKeyLines: Record<string, { production: string; logged: string }>;
  /** set when the orchestrator stopped early */
  fatal: string | null;
}
