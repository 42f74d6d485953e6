// The gssproxy procedures as typed calls over one transport (one connection, one call at a time).
// GSS failures come back inside the result's `status` (the RPC succeeded); transport, RPC and
// decoding failures throw GssproxyTransportError / GssproxyRpcError / GssproxyProtocolError.
import type { Trace } from '../trace.ts';
import { Proc, procName } from './constants.ts';
import { GssproxyProtocolError, type GssproxyTransportError } from './errors.ts';
import {
  decodeResAcquireCred,
  decodeResGetCallContext,
  decodeResImportAndCanonName,
  decodeResIndicateMechs,
  decodeResInitSecContext,
  decodeResReleaseHandle,
  encodeArgAcquireCred,
  encodeArgGetCallContext,
  encodeArgImportAndCanonName,
  encodeArgIndicateMechs,
  encodeArgInitSecContext,
  encodeArgReleaseHandle,
  type ArgAcquireCred,
  type ArgGetCallContext,
  type ArgImportAndCanonName,
  type ArgIndicateMechs,
  type ArgInitSecContext,
  type ArgReleaseHandle,
  type GssxStatus,
  type ResAcquireCred,
  type ResGetCallContext,
  type ResImportAndCanonName,
  type ResIndicateMechs,
  type ResInitSecContext,
  type ResReleaseHandle,
} from './protocol.ts';
import { renderStatus, statusCodes } from './status.ts';
import { GssproxyTransport, type CallOptions, type TransportOptions } from './transport.ts';
import { XdrDecodeError, XdrWriter, type XdrReader } from './xdr.ts';
import { monotonicMs } from '../clock.ts';

export type ClientOptions = TransportOptions;

export class GssproxyClient {
  readonly transport: GssproxyTransport;
  private readonly trace?: Trace;

  constructor(options: ClientOptions) {
    this.transport = new GssproxyTransport(options);
    this.trace = options.trace;
  }

  get socketPath(): string {
    return this.transport.socketPath;
  }

  indicateMechs(arg: ArgIndicateMechs = {}, call?: CallOptions): Promise<ResIndicateMechs> {
    return this.invoke(Proc.INDICATE_MECHS, (w) => encodeArgIndicateMechs(w, arg), decodeResIndicateMechs, call);
  }

  /** A stub on the server (all-zero result): SUCCESS proves a service matched this caller. */
  getCallContext(arg: ArgGetCallContext = {}, call?: CallOptions): Promise<ResGetCallContext> {
    return this.invoke(Proc.GET_CALL_CONTEXT, (w) => encodeArgGetCallContext(w, arg), decodeResGetCallContext, call);
  }

  importAndCanonName(arg: ArgImportAndCanonName, call?: CallOptions): Promise<ResImportAndCanonName> {
    return this.invoke(Proc.IMPORT_AND_CANON_NAME, (w) => encodeArgImportAndCanonName(w, arg), decodeResImportAndCanonName, call);
  }

  acquireCred(arg: ArgAcquireCred, call?: CallOptions): Promise<ResAcquireCred> {
    return this.invoke(Proc.ACQUIRE_CRED, (w) => encodeArgAcquireCred(w, arg), decodeResAcquireCred, call);
  }

  /** Refuses (before sending) an argument without a target name: that request crashes gssproxy. */
  initSecContext(arg: ArgInitSecContext, call?: CallOptions): Promise<ResInitSecContext> {
    return this.invoke(Proc.INIT_SEC_CONTEXT, (w) => encodeArgInitSecContext(w, arg), decodeResInitSecContext, call);
  }

  /** gssproxy is stateless: this always answers GSS_S_UNAVAILABLE. Kept for completeness. */
  releaseHandle(arg: ArgReleaseHandle, call?: CallOptions): Promise<ResReleaseHandle> {
    return this.invoke(Proc.RELEASE_HANDLE, (w) => encodeArgReleaseHandle(w, arg), decodeResReleaseHandle, call);
  }

  close(): void {
    this.transport.close();
  }

  private async invoke<T extends { status: GssxStatus }>(
    proc: number,
    encode: (w: XdrWriter) => void,
    decode: (r: XdrReader) => T,
    call?: CallOptions,
  ): Promise<T> {
    const w = new XdrWriter();
    encode(w);
    const { results } = await this.transport.call(proc, w.finish(), call);
    let value: T;
    try {
      value = decode(results);
      results.done();
    } catch (e) {
      if (e instanceof XdrDecodeError) {
        // undecodable results leave the stream in an unknown state: drop the connection
        this.transport.close();
        throw new GssproxyProtocolError(this.socketPath, `${procName(proc)} result: ${e.message}`, { cause: e });
      }
      throw e;
    }
    const s = value.status;
    if (s.majorStatus !== 0) {
      const rendered = renderStatus(s);
      this.trace?.event('gssproxy', `${procName(proc)} status: ${rendered.text}`, {
        codes: statusCodes(s),
        fromServer: rendered.fromServer,
      });
    }
    return value;
  }
}

export type ProbeResult =
  | { matched: true; ms: number }
  | { matched: false; error: GssproxyTransportError | GssproxyProtocolError | Error; ms: number };

/**
 * GET_CALL_CONTEXT on a fresh connection: SUCCESS means a service section matches this process
 * (its euid, executable, socket); EOF means none does — the daemon closes without a reply.
 */
export async function probeGssproxy(options: ClientOptions & { signal?: AbortSignal }): Promise<ProbeResult> {
  const client = new GssproxyClient(options);
  const t0 = monotonicMs();
  try {
    await client.getCallContext({}, { signal: options.signal });
    return { matched: true, ms: monotonicMs() - t0 };
  } catch (e) {
    return { matched: false, error: e as Error, ms: monotonicMs() - t0 };
  } finally {
    client.close();
  }
}
