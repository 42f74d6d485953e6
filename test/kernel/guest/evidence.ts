// What a scenario leaves behind, collected between begin() and end(): the kernel's `key
// description` lines, the wrapper's upcall records, and the appended parts of syslog, the KDC log
// and gssproxy's log. Kernel lines and wrapper records are joined into UpcallRecords: a kernel
// line without a wrapper record is a request the kernel answered itself (a negative key).
import type { HandlerName, UpcallRecord } from '../shared/types.ts';
import { AppendedText, type KernelLog, keyDescriptions, parseWrapperLog, type WrapperUpcall } from './logs.ts';
import { GSSPROXY_LOG, KDC_LOG, LOG_DIR, SYSLOG } from './realm.ts';

export const WRAPPER_LOG = `${LOG_DIR}/upcalls.log`;

export interface CaseEvidence {
  descriptions: Array<{ time: number; description: string }>;
  wrapper: WrapperUpcall[];
  upcalls: UpcallRecord[];
  syslog: string;
  kdc: string;
  gssproxy: string;
  /** what the handler appended to its trace file (ours) */
  trace: string;
}

export class EvidenceCollector {
  private readonly wrapperLog = new AppendedText(WRAPPER_LOG);
  private readonly syslog = new AppendedText(SYSLOG);
  private readonly kdcLog = new AppendedText(KDC_LOG);
  private readonly gssproxyLog = new AppendedText(GSSPROXY_LOG);
  private trace: AppendedText | null = null;

  constructor(readonly kmsg: KernelLog) {}

  /** The handler's trace file for the cases that follow (null: none). */
  useTrace(path: string | null): void {
    this.trace = path === null ? null : new AppendedText(path);
  }

  begin(): void {
    this.kmsg.drain();
    for (const t of [this.wrapperLog, this.syslog, this.kdcLog, this.gssproxyLog, this.trace]) t?.mark();
  }

  end(handler: HandlerName, scenario: string): CaseEvidence {
    const descriptions = keyDescriptions(this.kmsg.drain());
    const wrapper = parseWrapperLog(this.wrapperLog.take());
    return {
      descriptions,
      wrapper,
      upcalls: joinUpcalls(descriptions, wrapper, handler, scenario),
      syslog: this.syslog.take(),
      kdc: this.kdcLog.take(),
      gssproxy: this.gssproxyLog.take(),
      trace: this.trace?.take() ?? '',
    };
  }
}

export function joinUpcalls(
  descriptions: Array<{ time: number; description: string }>,
  wrapper: WrapperUpcall[],
  handler: HandlerName,
  scenario: string,
): UpcallRecord[] {
  // Each upcall belongs to the latest earlier kernel line with the same description (identical
  // descriptions repeat when the kernel asks again; kmsg time and /proc/uptime share the boot clock).
  const owner = new Map<number, WrapperUpcall>();
  const unmatched: WrapperUpcall[] = [];
  for (const w of wrapper) {
    let best = -1;
    descriptions.forEach((d, i) => {
      if (d.description === w.description && d.time <= w.startUptime + 0.05 && !owner.has(i)) best = i;
    });
    if (best >= 0) owner.set(best, w);
    else unmatched.push(w);
  }
  const records: UpcallRecord[] = [];
  const fromWrapper = (w: WrapperUpcall | undefined): Partial<UpcallRecord> =>
    w
      ? {
          serial: w.serial,
          wrapperDescription: w.description,
          exitStatus: w.exitStatus,
          handlerMs: w.endUptime === null ? null : Math.round((w.endUptime - w.startUptime) * 1000),
          keyStateAfterHandler: w.keyState,
          wrapperArgv: w.argv,
        }
      : {};
  descriptions.forEach((d, i) => {
    records.push({ ...emptyRecord(handler, scenario), kernelDescription: d.description, kernelTime: d.time, ...fromWrapper(owner.get(i)) });
  });
  for (const w of unmatched) records.push({ ...emptyRecord(handler, scenario), ...fromWrapper(w) });
  return records;
}

function emptyRecord(handler: HandlerName, scenario: string): UpcallRecord {
  return {
    handler,
    scenario,
    kernelDescription: null,
    kernelTime: null,
    serial: null,
    wrapperDescription: null,
    exitStatus: null,
    handlerMs: null,
    keyStateAfterHandler: null,
    wrapperArgv: null,
  };
}

export type KeyOutcome = 'instantiated' | 'negative' | 'uninstantiated' | 'gone' | 'no upcall';

/** Outcome from /proc/keys flags: I = instantiated (positive or negative), N = negative, U = under construction. */
export function keyOutcome(u: UpcallRecord): KeyOutcome {
  if (u.serial === null) return 'no upcall';
  const state = u.keyStateAfterHandler;
  if (state === null || state === 'gone') return 'gone';
  const flags = state.split(' ')[0];
  if (flags[5] === 'N') return 'negative';
  if (flags[0] === 'I') return 'instantiated';
  return 'uninstantiated';
}

/** One log line per upcall: description, handler status and time, key state. */
export function describeUpcall(u: UpcallRecord): string {
  const desc = u.kernelDescription ?? u.wrapperDescription ?? '?';
  const when = u.kernelTime === null ? '' : `[${u.kernelTime.toFixed(6)}] `;
  if (u.serial === null) return `${when}key description = ${desc}\n      → no upcall (request_key answered from the .cifs_spnego keyring)`;
  const outcome = keyOutcome(u);
  const state = u.keyStateAfterHandler ?? '?';
  const note =
    outcome === 'uninstantiated'
      ? ' (handler left it: the kernel negates it for 60 s)'
      : outcome === 'negative'
        ? ' (negated by the handler)'
        : '';
  return (
    `${when}key description = ${desc}\n` +
    `      → upcall key ${u.serial}: handler exit ${u.exitStatus ?? '?'} after ${u.handlerMs ?? '?'} ms; key ${outcome} [${state}]${note}` +
    (u.kernelDescription === null ? '\n      (no kernel debug line matched this upcall)' : '')
  );
}
