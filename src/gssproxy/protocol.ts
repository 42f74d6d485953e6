// The gssproxy protocol's XDR types (vendor/gssproxy/gss_proxy.x as the 0.9.x daemon speaks it,
// docs/gssproxy-protocol.md#xdr-types) and the argument/result codecs of the procedures this client uses:
// INDICATE_MECHS (1), GET_CALL_CONTEXT (2), IMPORT_AND_CANON_NAME (3), ACQUIRE_CRED (6),
// INIT_SEC_CONTEXT (8), RELEASE_HANDLE (10). Field order below is wire order.
//
//   gssx_name   { display_name, name_type, exported_name, exported_composite_name,
//                 name_attributes<>, extensions<> }
//   gssx_cred   { desired_name, elements<>, cred_handle_reference, needs_release }
//   gssx_ctx    { exported_context_token, state, needs_release, mech, src_name, targ_name,
//                 lifetime, ctx_flags, locally_initiated, open, options<> }   (no '*' on the first two)
//   gssx_status { major, mech, minor, major_string, minor_string, server_ctx, options<> }
//
// Byte strings stay Buffers: names and status texts are whatever the daemon sent (status texts
// carry a trailing NUL). Credentials and contexts keep their raw XDR so they can be sent back
// exactly as received.
import { type HandleType, Oid } from './constants.ts';
import { XdrEncodeError, type XdrReader, type XdrWriter } from './xdr.ts';

export interface GssxOption {
  option: Buffer;
  value: Buffer;
}

export interface GssxNameAttr {
  attr: Buffer;
  value: Buffer;
  extensions: GssxOption[];
}

export interface GssxName {
  displayName: Buffer;
  /** OID content bytes; empty = GSS_C_NO_OID */
  nameType: Buffer;
  exportedName: Buffer;
  exportedCompositeName: Buffer;
  nameAttributes: GssxNameAttr[];
  extensions: GssxOption[];
}

export interface GssxStatus {
  /** RFC 2744 major status (carried in an unsigned hyper; always fits 32 bits) */
  majorStatus: number;
  mech: Buffer;
  /** mech-specific minor status: low 32 bits of the hyper (com_err code, k5g code or errno) */
  minorStatus: number;
  majorStatusString: Buffer;
  minorStatusString: Buffer;
  serverCtx: Buffer;
  options: GssxOption[];
}

export interface GssxCallCtx {
  locale: Buffer;
  serverCtx: Buffer;
  options: GssxOption[];
}

export interface GssxCredElement {
  mn: GssxName;
  mech: Buffer;
  credUsage: number;
  initiatorTimeRec: bigint;
  acceptorTimeRec: bigint;
  options: GssxOption[];
}

export interface GssxCred {
  desiredName: GssxName;
  elements: GssxCredElement[];
  /** opaque to clients (an encrypted gss_export_cred blob in gssproxy) */
  credHandleReference: Buffer;
  needsRelease: boolean;
  /** the exact XDR bytes as received; when set, encoding re-emits them unchanged */
  raw?: Buffer;
}

export interface GssxCtx {
  exportedContextToken: Buffer;
  state: Buffer;
  needsRelease: boolean;
  mech: Buffer;
  srcName: GssxName;
  targName: GssxName;
  /** gssproxy fills remaining seconds, not an epoch time */
  lifetime: bigint;
  ctxFlags: bigint;
  locallyInitiated: boolean;
  open: boolean;
  options: GssxOption[];
  raw?: Buffer;
}

export type GssxHandle =
  | { type: typeof HandleType.CRED; cred: GssxCred }
  | { type: typeof HandleType.SEC_CTX; ctx: GssxCtx }
  | { type: number; extensions: Buffer };

export interface GssxCb {
  initiatorAddrtype: bigint;
  initiatorAddress: Buffer;
  acceptorAddrtype: bigint;
  acceptorAddress: Buffer;
  applicationData: Buffer;
}

export interface GssxMechAttr {
  attr: Buffer;
  name: Buffer;
  shortDesc: Buffer;
  longDesc: Buffer;
  extensions: GssxOption[];
}

export interface GssxMechInfo {
  mech: Buffer;
  nameTypes: Buffer[];
  mechAttrs: Buffer[];
  knownMechAttrs: Buffer[];
  credOptions: Buffer[];
  secCtxOptions: Buffer[];
  saslnameSaslMechName: Buffer;
  saslnameMechName: Buffer;
  saslnameMechDesc: Buffer;
  extensions: GssxOption[];
}

// ---- procedure arguments and results ------------------------------------------------------------

export interface ArgIndicateMechs {
  callCtx?: Partial<GssxCallCtx>;
}
export interface ResIndicateMechs {
  status: GssxStatus;
  mechs: GssxMechInfo[];
  mechAttrDescs: GssxMechAttr[];
  supportedExtensions: Buffer[];
  extensions: GssxOption[];
}

export interface ArgGetCallContext {
  callCtx?: Partial<GssxCallCtx>;
  options?: GssxOption[];
}
export interface ResGetCallContext {
  status: GssxStatus;
  serverCallCtx: Buffer;
  options: GssxOption[];
}

export interface ArgImportAndCanonName {
  callCtx?: Partial<GssxCallCtx>;
  inputName: Partial<GssxName>;
  /** empty: import only; krb5: canonicalize to a mechanism name */
  mech?: Buffer;
  nameAttributes?: GssxNameAttr[];
  options?: GssxOption[];
}
export interface ResImportAndCanonName {
  status: GssxStatus;
  outputName: GssxName | null;
  options: GssxOption[];
}

export interface ArgAcquireCred {
  callCtx?: Partial<GssxCallCtx>;
  inputCredHandle?: GssxCred | null;
  addCredToInputHandle?: boolean;
  desiredName?: Partial<GssxName> | null;
  timeReq?: bigint;
  desiredMechs?: Buffer[];
  credUsage: number;
  initiatorTimeReq?: bigint;
  acceptorTimeReq?: bigint;
  options?: GssxOption[];
}
export interface ResAcquireCred {
  status: GssxStatus;
  outputCredHandle: GssxCred | null;
  options: GssxOption[];
}

export interface ArgInitSecContext {
  callCtx?: Partial<GssxCallCtx>;
  contextHandle?: GssxCtx | null;
  credHandle?: GssxCred | null;
  /** mandatory in practice: gssproxy 0.9.x dereferences a NULL target and crashes */
  targetName: Partial<GssxName>;
  mechType: Buffer;
  reqFlags?: bigint;
  timeReq?: bigint;
  inputCb?: GssxCb | null;
  inputToken?: Buffer | null;
  options?: GssxOption[];
}
export interface ResInitSecContext {
  status: GssxStatus;
  contextHandle: GssxCtx | null;
  outputToken: Buffer | null;
  options: GssxOption[];
}

export interface ArgReleaseHandle {
  callCtx?: Partial<GssxCallCtx>;
  handle: GssxHandle;
}
export interface ResReleaseHandle {
  status: GssxStatus;
}

// ---- encoders ---------------------------------------------------------------------------------

const EMPTY = Buffer.alloc(0);

export function encodeOption(w: XdrWriter, o: GssxOption): void {
  w.opaque(o.option).opaque(o.value);
}

function encodeOptions(w: XdrWriter, options: readonly GssxOption[] | undefined): void {
  w.array(options ?? [], encodeOption);
}

export function encodeCallCtx(w: XdrWriter, c: Partial<GssxCallCtx> = {}): void {
  w.opaque(c.locale ?? EMPTY).opaque(c.serverCtx ?? EMPTY);
  encodeOptions(w, c.options);
}

function encodeNameAttr(w: XdrWriter, a: GssxNameAttr): void {
  w.opaque(a.attr).opaque(a.value);
  encodeOptions(w, a.extensions);
}

export function encodeName(w: XdrWriter, n: Partial<GssxName>): void {
  w.opaque(n.displayName ?? EMPTY)
    .opaque(n.nameType ?? EMPTY)
    .opaque(n.exportedName ?? EMPTY)
    .opaque(n.exportedCompositeName ?? EMPTY)
    .array(n.nameAttributes ?? [], encodeNameAttr);
  encodeOptions(w, n.extensions);
}

function encodeCredElement(w: XdrWriter, e: GssxCredElement): void {
  encodeName(w, e.mn);
  w.opaque(e.mech).u32(e.credUsage).u64(e.initiatorTimeRec).u64(e.acceptorTimeRec);
  encodeOptions(w, e.options);
}

export function encodeCred(w: XdrWriter, c: GssxCred): void {
  if (c.raw) {
    w.raw(c.raw);
    return;
  }
  encodeName(w, c.desiredName);
  w.array(c.elements, encodeCredElement).opaque(c.credHandleReference).bool(c.needsRelease);
}

export function encodeCtx(w: XdrWriter, c: GssxCtx): void {
  if (c.raw) {
    w.raw(c.raw);
    return;
  }
  w.opaque(c.exportedContextToken).opaque(c.state).bool(c.needsRelease).opaque(c.mech);
  encodeName(w, c.srcName);
  encodeName(w, c.targName);
  w.u64(c.lifetime).u64(c.ctxFlags).bool(c.locallyInitiated).bool(c.open);
  encodeOptions(w, c.options);
}

function encodeCb(w: XdrWriter, cb: GssxCb): void {
  w.u64(cb.initiatorAddrtype).opaque(cb.initiatorAddress).u64(cb.acceptorAddrtype).opaque(cb.acceptorAddress).opaque(cb.applicationData);
}

export function encodeHandle(w: XdrWriter, h: GssxHandle): void {
  w.u32(h.type);
  if ('cred' in h) encodeCred(w, h.cred);
  else if ('ctx' in h) encodeCtx(w, h.ctx);
  else w.opaque(h.extensions);
}

export function encodeArgIndicateMechs(w: XdrWriter, a: ArgIndicateMechs): void {
  encodeCallCtx(w, a.callCtx);
}

export function encodeArgGetCallContext(w: XdrWriter, a: ArgGetCallContext): void {
  encodeCallCtx(w, a.callCtx);
  encodeOptions(w, a.options);
}

export function encodeArgImportAndCanonName(w: XdrWriter, a: ArgImportAndCanonName): void {
  encodeCallCtx(w, a.callCtx);
  encodeName(w, a.inputName);
  w.opaque(a.mech ?? EMPTY).array(a.nameAttributes ?? [], encodeNameAttr);
  encodeOptions(w, a.options);
}

export function encodeArgAcquireCred(w: XdrWriter, a: ArgAcquireCred): void {
  encodeCallCtx(w, a.callCtx);
  w.optional(a.inputCredHandle, encodeCred)
    .bool(a.addCredToInputHandle ?? false)
    .optional(a.desiredName, encodeName)
    .u64(a.timeReq ?? 0n)
    .array(a.desiredMechs ?? [], (ww, oid) => ww.opaque(oid))
    .u32(a.credUsage)
    .u64(a.initiatorTimeReq ?? 0n)
    .u64(a.acceptorTimeReq ?? 0n);
  encodeOptions(w, a.options);
}

export function encodeArgInitSecContext(w: XdrWriter, a: ArgInitSecContext): void {
  // docs/gssproxy-protocol.md#server-reactions: an absent target_name crashes the daemon for every client.
  if (!a.targetName || ((a.targetName.displayName?.length ?? 0) === 0 && (a.targetName.exportedName?.length ?? 0) === 0)) {
    throw new XdrEncodeError('INIT_SEC_CONTEXT needs a target name (gssproxy crashes without one)');
  }
  encodeCallCtx(w, a.callCtx);
  w.optional(a.contextHandle, encodeCtx)
    .optional(a.credHandle, encodeCred)
    .optional(a.targetName, encodeName)
    .opaque(a.mechType)
    .u64(a.reqFlags ?? 0n)
    .u64(a.timeReq ?? 0n)
    .optional(a.inputCb, encodeCb)
    .optional(a.inputToken, (ww, t) => ww.opaque(t));
  encodeOptions(w, a.options);
}

export function encodeArgReleaseHandle(w: XdrWriter, a: ArgReleaseHandle): void {
  encodeCallCtx(w, a.callCtx);
  encodeHandle(w, a.handle);
}

// ---- decoders ---------------------------------------------------------------------------------

// Smallest wire size of one array element, which caps a claimed count by the bytes left.
const MIN_OPTION = 8;
const MIN_NAME_ATTR = 12;
const MIN_CRED_ELEMENT = 52;
const MIN_MECH_ATTR = 20;
const MIN_MECH_INFO = 40;
const MIN_OPAQUE = 4;

export function decodeOption(r: XdrReader): GssxOption {
  return { option: r.opaque('option'), value: r.opaque('value') };
}

function decodeOptions(r: XdrReader, name = 'options'): GssxOption[] {
  return r.array(name, MIN_OPTION, decodeOption);
}

function decodeOidSet(r: XdrReader, name: string): Buffer[] {
  return r.array(name, MIN_OPAQUE, (rr) => rr.opaque());
}

function decodeNameAttr(r: XdrReader): GssxNameAttr {
  return { attr: r.opaque('attr'), value: r.opaque('value'), extensions: decodeOptions(r, 'extensions') };
}

export function decodeName(r: XdrReader): GssxName {
  return {
    displayName: r.opaque('display_name'),
    nameType: r.opaque('name_type'),
    exportedName: r.opaque('exported_name'),
    exportedCompositeName: r.opaque('exported_composite_name'),
    nameAttributes: r.array('name_attributes', MIN_NAME_ATTR, decodeNameAttr),
    extensions: decodeOptions(r, 'extensions'),
  };
}

function low32(v: bigint): number {
  return Number(v & 0xffff_ffffn);
}

export function decodeStatus(r: XdrReader): GssxStatus {
  const major = r.u64('major_status');
  if (major > 0xffff_ffffn) r.fail(`major status 0x${major.toString(16)} does not fit 32 bits`);
  return {
    majorStatus: Number(major),
    mech: r.opaque('mech'),
    minorStatus: low32(r.u64('minor_status')),
    majorStatusString: r.opaque('major_status_string'),
    minorStatusString: r.opaque('minor_status_string'),
    serverCtx: r.opaque('server_ctx'),
    options: decodeOptions(r),
  };
}

function decodeCredElement(r: XdrReader): GssxCredElement {
  return {
    mn: r.field('MN', decodeName),
    mech: r.opaque('mech'),
    credUsage: r.u32('cred_usage'),
    initiatorTimeRec: r.u64('initiator_time_rec'),
    acceptorTimeRec: r.u64('acceptor_time_rec'),
    options: decodeOptions(r),
  };
}

export function decodeCred(r: XdrReader): GssxCred {
  const { value, raw } = r.withRaw(
    (rr): Omit<GssxCred, 'raw'> => ({
      desiredName: rr.field('desired_name', decodeName),
      elements: rr.array('elements', MIN_CRED_ELEMENT, decodeCredElement),
      credHandleReference: rr.opaque('cred_handle_reference'),
      needsRelease: rr.bool('needs_release'),
    }),
  );
  return { ...value, raw };
}

export function decodeCtx(r: XdrReader): GssxCtx {
  const { value, raw } = r.withRaw(
    (rr): Omit<GssxCtx, 'raw'> => ({
      exportedContextToken: rr.opaque('exported_context_token'),
      state: rr.opaque('state'),
      needsRelease: rr.bool('needs_release'),
      mech: rr.opaque('mech'),
      srcName: rr.field('src_name', decodeName),
      targName: rr.field('targ_name', decodeName),
      lifetime: rr.u64('lifetime'),
      ctxFlags: rr.u64('ctx_flags'),
      locallyInitiated: rr.bool('locally_initiated'),
      open: rr.bool('open'),
      options: decodeOptions(rr),
    }),
  );
  return { ...value, raw };
}

function decodeMechAttr(r: XdrReader): GssxMechAttr {
  return {
    attr: r.opaque('attr'),
    name: r.opaque('name'),
    shortDesc: r.opaque('short_desc'),
    longDesc: r.opaque('long_desc'),
    extensions: decodeOptions(r, 'extensions'),
  };
}

function decodeMechInfo(r: XdrReader): GssxMechInfo {
  return {
    mech: r.opaque('mech'),
    nameTypes: decodeOidSet(r, 'name_types'),
    mechAttrs: decodeOidSet(r, 'mech_attrs'),
    knownMechAttrs: decodeOidSet(r, 'known_mech_attrs'),
    credOptions: decodeOidSet(r, 'cred_options'),
    secCtxOptions: decodeOidSet(r, 'sec_ctx_options'),
    saslnameSaslMechName: r.opaque('saslname_sasl_mech_name'),
    saslnameMechName: r.opaque('saslname_mech_name'),
    saslnameMechDesc: r.opaque('saslname_mech_desc'),
    extensions: decodeOptions(r, 'extensions'),
  };
}

export function decodeResIndicateMechs(r: XdrReader): ResIndicateMechs {
  return r.field('gssx_res_indicate_mechs', (rr) => ({
    status: rr.field('status', decodeStatus),
    mechs: rr.array('mechs', MIN_MECH_INFO, decodeMechInfo),
    mechAttrDescs: rr.array('mech_attr_descs', MIN_MECH_ATTR, decodeMechAttr),
    supportedExtensions: rr.array('supported_extensions', MIN_OPAQUE, (x) => x.opaque()),
    extensions: decodeOptions(rr, 'extensions'),
  }));
}

export function decodeResGetCallContext(r: XdrReader): ResGetCallContext {
  return r.field('gssx_res_get_call_context', (rr) => ({
    status: rr.field('status', decodeStatus),
    serverCallCtx: rr.opaque('server_call_ctx'),
    options: decodeOptions(rr),
  }));
}

export function decodeResImportAndCanonName(r: XdrReader): ResImportAndCanonName {
  return r.field('gssx_res_import_and_canon_name', (rr) => ({
    status: rr.field('status', decodeStatus),
    outputName: rr.optional('output_name', decodeName),
    options: decodeOptions(rr),
  }));
}

export function decodeResAcquireCred(r: XdrReader): ResAcquireCred {
  return r.field('gssx_res_acquire_cred', (rr) => ({
    status: rr.field('status', decodeStatus),
    outputCredHandle: rr.optional('output_cred_handle', decodeCred),
    options: decodeOptions(rr),
  }));
}

export function decodeResInitSecContext(r: XdrReader): ResInitSecContext {
  return r.field('gssx_res_init_sec_context', (rr) => ({
    status: rr.field('status', decodeStatus),
    contextHandle: rr.optional('context_handle', decodeCtx),
    outputToken: rr.optional('output_token', (x) => x.opaque()),
    options: decodeOptions(rr),
  }));
}

export function decodeResReleaseHandle(r: XdrReader): ResReleaseHandle {
  return r.field('gssx_res_release_handle', (rr) => ({ status: rr.field('status', decodeStatus) }));
}

// Decoders of the argument side, used by tests and by the fault-injection servers to check what
// the client sent (the daemon's view of the same bytes).

export function decodeCallCtx(r: XdrReader): GssxCallCtx {
  return { locale: r.opaque('locale'), serverCtx: r.opaque('server_ctx'), options: decodeOptions(r) };
}

export function decodeArgInitSecContext(r: XdrReader): ArgInitSecContext & { targetName: GssxName } {
  return r.field('gssx_arg_init_sec_context', (rr) => {
    const callCtx = rr.field('call_ctx', decodeCallCtx);
    const contextHandle = rr.optional('context_handle', decodeCtx);
    const credHandle = rr.optional('cred_handle', decodeCred);
    const targetName = rr.optional('target_name', decodeName);
    if (!targetName) return rr.fail('target_name is absent');
    return {
      callCtx,
      contextHandle,
      credHandle,
      targetName,
      mechType: rr.opaque('mech_type'),
      reqFlags: rr.u64('req_flags'),
      timeReq: rr.u64('time_req'),
      inputCb: rr.optional(
        'input_cb',
        (x): GssxCb => ({
          initiatorAddrtype: x.u64('initiator_addrtype'),
          initiatorAddress: x.opaque('initiator_address'),
          acceptorAddrtype: x.u64('acceptor_addrtype'),
          acceptorAddress: x.opaque('acceptor_address'),
          applicationData: x.opaque('application_data'),
        }),
      ),
      inputToken: rr.optional('input_token', (x) => x.opaque()),
      options: decodeOptions(rr),
    };
  });
}

export function decodeArgAcquireCred(r: XdrReader): ArgAcquireCred {
  return r.field('gssx_arg_acquire_cred', (rr) => ({
    callCtx: rr.field('call_ctx', decodeCallCtx),
    inputCredHandle: rr.optional('input_cred_handle', decodeCred),
    addCredToInputHandle: rr.bool('add_cred_to_input_handle'),
    desiredName: rr.optional('desired_name', decodeName),
    timeReq: rr.u64('time_req'),
    desiredMechs: decodeOidSet(rr, 'desired_mechs'),
    credUsage: rr.u32('cred_usage'),
    initiatorTimeReq: rr.u64('initiator_time_req'),
    acceptorTimeReq: rr.u64('acceptor_time_req'),
    options: decodeOptions(rr),
  }));
}

// ---- encoders of results (fault-injection servers and round-trip tests) ------------------------

export function encodeStatus(w: XdrWriter, s: Partial<GssxStatus>): void {
  w.u64(s.majorStatus ?? 0)
    .opaque(s.mech ?? EMPTY)
    .u64(s.minorStatus ?? 0)
    .opaque(s.majorStatusString ?? EMPTY)
    .opaque(s.minorStatusString ?? EMPTY)
    .opaque(s.serverCtx ?? EMPTY);
  encodeOptions(w, s.options);
}

export function encodeResInitSecContext(
  w: XdrWriter,
  res: {
    status: Partial<GssxStatus>;
    contextHandle: GssxCtx | null;
    outputToken: Buffer | null;
    options?: GssxOption[];
  },
): void {
  encodeStatus(w, res.status);
  w.optional(res.contextHandle, encodeCtx).optional(res.outputToken, (ww, t) => ww.opaque(t));
  encodeOptions(w, res.options);
}

export function encodeResAcquireCred(
  w: XdrWriter,
  res: {
    status: Partial<GssxStatus>;
    outputCredHandle: GssxCred | null;
    options?: GssxOption[];
  },
): void {
  encodeStatus(w, res.status);
  w.optional(res.outputCredHandle, encodeCred);
  encodeOptions(w, res.options);
}

export function encodeResGetCallContext(w: XdrWriter, res: { status: Partial<GssxStatus> }): void {
  encodeStatus(w, res.status);
  w.opaque(EMPTY).u32(0);
}

// ---- name builders ----------------------------------------------------------------------------

/** `service@host` as GSS_C_NT_HOSTBASED_SERVICE (display string without a NUL). */
export function hostbasedServiceName(service: string, host: string): Partial<GssxName> {
  return { displayName: Buffer.from(`${service}@${host}`, 'utf8'), nameType: Oid.NT_HOSTBASED_SERVICE };
}

/**
 * A uid as GSS_C_NT_STRING_UID_NAME: decimal digits plus one NUL, because the daemon runs atol()
 * on the unterminated XDR buffer (docs/gssproxy-protocol.md#naming-the-user).
 */
export function stringUidName(uid: number): Partial<GssxName> {
  if (!Number.isInteger(uid) || uid < 0 || uid > 0xffff_ffff) throw new XdrEncodeError(`not a uid: ${uid}`);
  return { displayName: Buffer.from(`${uid}\0`, 'latin1'), nameType: Oid.NT_STRING_UID_NAME };
}
