// One request/reply exchange with the KDCs of a realm (RFC 4120 §7.2): the reply classifier the
// transport needs (docs/kerberos.md#kdc-transport: KDC_ERR_SVC_UNAVAILABLE → try the next KDC, RESPONSE_TOO_BIG
// over UDP → TCP, undecodable → ignore that server), KRB-ERROR decoding, and a record of every
// exchange (for traces, round-trip counts and captured fixtures).
import type { Trace } from '../../trace.ts';
import type { DnsOptions } from '../../net/dns/index.ts';
import { Krb5ConfigError, type Krb5Config } from '../config/krb5-config.ts';
import { KdcLocateError } from '../kdc/locate.ts';
import { KdcUnreachableError, sendToKdc, type KdcReplyClass, type KdcWireTransport } from '../kdc/transport.ts';
import { DecodeError } from '../../der/errors.ts';
import { ErrorCode } from '../iana/error-code.ts';
import { KrbError, decodeKrbError } from '../messages/krb-error.ts';
import { Krb5ClientError } from './errors.ts';
import { monotonicMs } from '../../clock.ts';

const KRB_ERROR_TAG = 0x7e;
const AS_REP_TAG = 0x6b;
const TGS_REP_TAG = 0x6d;

/** The classifier handed to sendToKdc (never throws). */
export function classifyKdcReply(reply: Buffer, transport: KdcWireTransport): KdcReplyClass {
  const tag = reply[0];
  if (tag === AS_REP_TAG || tag === TGS_REP_TAG) return 'final';
  if (tag !== KRB_ERROR_TAG) return 'invalid';
  let code: number;
  try {
    code = decodeKrbError(reply).errorCode;
  } catch {
    return 'invalid';
  }
  if (code === ErrorCode.KDC_ERR_SVC_UNAVAILABLE) return 'svc-unavailable';
  if (code === ErrorCode.KRB_ERR_RESPONSE_TOO_BIG && transport === 'udp') return 'too-big';
  return 'final';
}

/** One completed exchange. */
export interface KdcExchangeRecord {
  realm: string;
  /** "AS-REQ", "TGS-REQ" */
  kind: string;
  /** what was asked, e.g. "cifs/fs1.example.test@EXAMPLE.TEST" */
  subject: string;
  request: Buffer;
  reply: Buffer;
  server: string;
  transport: KdcWireTransport;
  ms: number;
  /** sends made (UDP retries and other servers included) */
  sends: number;
  /** KRB-ERROR code, when the reply was one */
  errorCode?: number;
}

export interface KdcSessionOptions {
  config: Krb5Config;
  trace: Trace;
  signal?: AbortSignal;
  /** per-attempt wait (krb5.conf kdc_timeout wins over this) */
  perAttemptTimeoutMs?: number;
  /** cap of one exchange (request_timeout wins when smaller; default 30 s) */
  overallTimeoutMs?: number;
  dns?: DnsOptions;
  /** observer of every completed exchange (tests capture fixtures with it) */
  onExchange?: (record: KdcExchangeRecord) => void;
}

export type KdcAnswer =
  | { kind: 'reply'; der: Buffer; record: KdcExchangeRecord }
  | { kind: 'error'; error: KrbError; record: KdcExchangeRecord };

/** The KDC conversations of one acquisition: sends, decodes errors, counts round trips. */
export class KdcSession {
  readonly exchanges: KdcExchangeRecord[] = [];

  constructor(readonly options: KdcSessionOptions) {}

  get config(): Krb5Config {
    return this.options.config;
  }

  /** Send `request` to a KDC of `realm`; a KRB-ERROR comes back as `{ kind: 'error' }`. */
  async send(realm: string, request: Buffer, kind: string, subject: string): Promise<KdcAnswer> {
    const { config, trace, signal } = this.options;
    const started = monotonicMs();
    let answer;
    try {
      answer = await sendToKdc(realm, request, {
        config,
        classify: classifyKdcReply,
        trace,
        ...(signal ? { signal } : {}),
        ...(this.options.dns ? { dns: this.options.dns } : {}),
        ...(config.kdcTimeoutMs() === undefined && this.options.perAttemptTimeoutMs !== undefined
          ? { perAttemptTimeoutMs: this.options.perAttemptTimeoutMs }
          : {}),
        ...(this.options.overallTimeoutMs !== undefined ? { overallTimeoutMs: this.options.overallTimeoutMs } : {}),
      });
    } catch (e) {
      throw this.transportError(e, realm, kind, subject, monotonicMs() - started);
    }
    const ms = monotonicMs() - started;
    const record: KdcExchangeRecord = {
      realm,
      kind,
      subject,
      request,
      reply: answer.reply,
      server: answer.server.label,
      transport: answer.transport,
      ms,
      sends: answer.attempts.filter((a) => a.transport !== undefined).length,
    };
    const reply = answer.reply;
    if (reply[0] === KRB_ERROR_TAG) {
      // the classifier already decoded it once: it is a KRB-ERROR
      const error = new KrbError(decodeKrbError(reply));
      record.errorCode = error.code;
      this.finish(record, `${error.codeName} (${error.code})`);
      return { kind: 'error', error, record };
    }
    this.finish(record, `${reply.length}-byte ${reply[0] === AS_REP_TAG ? 'AS-REP' : 'TGS-REP'}`);
    return { kind: 'reply', der: reply, record };
  }

  private finish(record: KdcExchangeRecord, outcome: string): void {
    this.exchanges.push(record);
    this.options.trace.event(
      'kdc',
      `${record.kind} for ${record.subject} → ${record.realm} KDC ${record.server} over ${record.transport.toUpperCase()}: ${outcome} in ${record.ms.toFixed(1)} ms`,
      {
        realm: record.realm,
        server: record.server,
        transport: record.transport,
        ms: Math.round(record.ms * 10) / 10,
        requestBytes: record.request.length,
        replyBytes: record.reply.length,
        sends: record.sends,
      },
    );
    this.options.onExchange?.(record);
  }

  private transportError(e: unknown, realm: string, kind: string, subject: string, ms: number): Krb5ClientError {
    const signal = this.options.signal;
    if (signal?.aborted) {
      return new Krb5ClientError(
        'unreachable',
        `the upcall's time budget ran out after ${Math.round(ms)} ms while waiting for a KDC of ${realm} (${kind} for ${subject})`,
        { realm, cause: e },
      );
    }
    if (e instanceof KdcUnreachableError) {
      return new Krb5ClientError('unreachable', `${kind} for ${subject}: ${e.message}`, { realm, cause: e });
    }
    if (e instanceof KdcLocateError || e instanceof Krb5ConfigError) {
      return new Krb5ClientError('config', `${kind} for ${subject}: ${e.message}`, { realm, cause: e });
    }
    if (e instanceof DecodeError) {
      return new Krb5ClientError('bad-reply', `${kind} for ${subject}: undecodable KRB-ERROR from ${realm}: ${e.message}`, {
        realm,
        cause: e,
      });
    }
    return new Krb5ClientError('unreachable', `${kind} for ${subject}: ${(e as Error)?.message ?? String(e)}`, { realm, cause: e });
  }
}
