// MIT krb5's exported GSS security context (gss_export_sec_context of the krb5 mech, the default
// `exported_context_token` gssproxy returns) — docs/gssproxy-protocol.md#exported-context. Not a public format:
// the layout below held unchanged from MIT 1.14 to 1.22 except inside the krb5_context part.
//
//   mechglue wrapper   u32 oid_len · oid (krb5) · mech blob                (big-endian throughout)
//   mech blob          KG_CONTEXT · initiate · established · have_acceptor_subkey · seed_init ·
//                      gss_flags · seed[16] · signalg · cksum_size · sealalg · authtime ·
//                      starttime · endtime · renew_till · krb_flags · seq_send(64) · seq_recv(64) ·
//                      KV5M_GSS_OID len oid KV5M_GSS_OID ·
//                      [KV5M_PRINCIPAL len name KV5M_PRINCIPAL]×0..2   (here, there)
//                      [KV5M_KEYBLOCK enctype len key KV5M_KEYBLOCK]×0..3   (subkey, enc, seq)
//                      [KV5M_GSS_QUEUE seqstate KV5M_GSS_QUEUE] · krb5_context · auth_context ·
//                      proto · cksumtype · [acceptor_subkey keyblock] · acceptor_subkey_cksumtype ·
//                      cred_rcache · authdata<> · [authdata context] · KG_CONTEXT
//
// The fast path stops at the first keyblock (the initiator subkey, which is the session key of a
// context without an acceptor subkey); only a context with have_acceptor_subkey needs the full
// walk through the version-dependent krb5_context to reach the acceptor subkey.

export class ExportedContextError extends Error {
  override readonly name = 'ExportedContextError';
  constructor(
    readonly offset: number,
    detail: string,
  ) {
    super(`MIT exported context: at byte ${offset}: ${detail}`);
  }
}

const KV5M = 0x970e_a700;
export const Magic = {
  PRINCIPAL: KV5M + 0x01,
  KEYBLOCK: KV5M + 0x03,
  CHECKSUM: KV5M + 0x04,
  AUTHDATA: KV5M + 0x0a,
  AUTHENTICATOR: KV5M + 0x0e,
  ADDRESS: KV5M + 0x22,
  CONTEXT: KV5M + 0x24,
  OS_CONTEXT: KV5M + 0x25,
  AUTH_CONTEXT: KV5M + 0x29,
  GSS_OID: KV5M + 0x37,
  GSS_QUEUE: KV5M + 0x38,
  AUTHDATA_CONTEXT: KV5M + 0x3c,
  KG_CONTEXT: 0x025e_a108,
  PROF_PROFILE: 0xaaca_6012,
} as const;

/** auth_context tags (MIT ser_actx.c TOKEN_*). */
const Tag = {
  RADDR: 950916,
  RPORT: 950917,
  LADDR: 950918,
  LPORT: 950919,
  KEYBLOCK: 950920,
  LSKBLOCK: 950921,
  RSKBLOCK: 950922,
} as const;

export interface Keyblock {
  enctype: number;
  key: Buffer;
}

/** Which MIT krb5_context serialization was found: 1.19+ dropped in_tkt enctypes, ≤1.17 had sumtypes. */
export type Krb5ContextLayout = '1.19+' | '1.18' | '1.14-1.17';

export interface FullContextParts {
  krb5ContextLayout: Krb5ContextLayout;
  defaultRealm: string;
  tgsEnctypes: number[];
  clockskew: number;
  /** krb5.conf files the daemon's library read (reveals its KRB5_CONFIG) */
  profileFiles: string[];
  /** auth_context: ticket session key (not the SMB key when a subkey exists) */
  ticketSessionKey: Keyblock | null;
  sendSubkey: Keyblock | null;
  recvSubkey: Keyblock | null;
  authenticatorClient: string | null;
  /** 0 = RFC 1964 (rc4, des3), 1 = RFC 4121 CFX */
  proto: number;
  cksumtype: number;
  acceptorSubkey: Keyblock | null;
  acceptorSubkeyCksumtype: number;
  /** a plugin-defined authdata context follows; parsing stopped before it */
  authdataContextPresent: boolean;
  /** bytes after the closing KG_CONTEXT (0 for every blob seen) */
  trailingBytes: number;
}

export interface MitExportedContext {
  /** OID of the mechglue wrapper (krb5) */
  mechOid: Buffer;
  initiate: boolean;
  established: boolean;
  haveAcceptorSubkey: boolean;
  gssFlags: number;
  signalg: number;
  sealalg: number;
  authtime: number;
  starttime: number;
  endtime: number;
  renewTill: number;
  krbFlags: number;
  seqSend: bigint;
  seqRecv: bigint;
  mechUsed: Buffer;
  /** unparsed principal names as stored ("here" then "there" when both are present) */
  principals: string[];
  /** initiator subkey (AP-REQ authenticator subkey) */
  subkey: Keyblock | null;
  /** RFC 1964 enc and seq keys (copies of the subkey for rc4/des3), when present */
  rfc1964Keys: Keyblock[];
  full?: FullContextParts;
}

class BlobReader {
  constructor(
    readonly buf: Buffer,
    public pos = 0,
  ) {}

  fail(detail: string, at = this.pos): never {
    throw new ExportedContextError(at, detail);
  }

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  u32(what: string): number {
    if (this.remaining < 4) this.fail(`${what}: needs 4 bytes, ${this.remaining} left`);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  i32(what: string): number {
    return this.u32(what) | 0;
  }

  u64(what: string): bigint {
    if (this.remaining < 8) this.fail(`${what}: needs 8 bytes, ${this.remaining} left`);
    const v = this.buf.readBigUInt64BE(this.pos);
    this.pos += 8;
    return v;
  }

  peek(): number | null {
    return this.remaining >= 4 ? this.buf.readUInt32BE(this.pos) : null;
  }

  bytes(n: number, what: string): Buffer {
    if (n > this.remaining) this.fail(`${what}: length ${n} exceeds the ${this.remaining} bytes left`);
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }

  counted(what: string): Buffer {
    return this.bytes(this.u32(`${what} length`), what);
  }

  magic(expected: number, what: string): void {
    const at = this.pos;
    const got = this.u32(what);
    if (got !== expected) {
      this.fail(`expected ${what} magic 0x${expected.toString(16)}, found 0x${got.toString(16)}`, at);
    }
  }

  /** count, then that many int32; the count is capped by the bytes left */
  int32List(what: string): number[] {
    const n = this.u32(`${what} count`);
    if (n * 4 > this.remaining) this.fail(`${what}: count ${n} cannot fit in ${this.remaining} bytes`);
    const out: number[] = [];
    for (let i = 0; i < n; i++) out.push(this.i32(what));
    return out;
  }
}

function readKeyblock(r: BlobReader, what: string): Keyblock {
  r.magic(Magic.KEYBLOCK, `${what} keyblock`);
  const enctype = r.i32(`${what} enctype`);
  const key = Buffer.from(r.counted(`${what} key`));
  r.magic(Magic.KEYBLOCK, `${what} keyblock end`);
  return { enctype, key };
}

function readPrincipal(r: BlobReader, what: string): string {
  r.magic(Magic.PRINCIPAL, what);
  const name = r.counted(what).toString('utf8');
  r.magic(Magic.PRINCIPAL, `${what} end`);
  return name;
}

function readAuthdataList(r: BlobReader, what: string): number {
  const n = r.u32(`${what} count`);
  if (n * 16 > r.remaining) r.fail(`${what}: count ${n} cannot fit in ${r.remaining} bytes`);
  for (let i = 0; i < n; i++) {
    r.magic(Magic.AUTHDATA, what);
    r.i32(`${what} type`);
    r.counted(`${what} contents`);
    r.magic(Magic.AUTHDATA, `${what} end`);
  }
  return n;
}

/**
 * Parse an exported context. Without `full` only the part up to the keyblocks is read (enough
 * for the initiator subkey); with `full` the rest is walked too, which yields the acceptor subkey.
 */
export function parseExportedContext(token: Buffer, options: { full?: boolean } = {}): MitExportedContext {
  const r = new BlobReader(token);
  const mechOid = Buffer.from(r.counted('mechglue OID'));
  r.magic(Magic.KG_CONTEXT, 'KG_CONTEXT');
  const initiate = r.u32('initiate') !== 0;
  const established = r.u32('established') !== 0;
  const haveAcceptorSubkey = r.u32('have_acceptor_subkey') !== 0;
  r.u32('seed_init');
  const gssFlags = r.u32('gss_flags');
  r.bytes(16, 'seed');
  const signalg = r.i32('signalg');
  r.i32('cksum_size');
  const sealalg = r.i32('sealalg');
  const authtime = r.u32('authtime');
  const starttime = r.u32('starttime');
  const endtime = r.u32('endtime');
  const renewTill = r.u32('renew_till');
  const krbFlags = r.u32('krb_flags');
  const seqSend = r.u64('seq_send');
  const seqRecv = r.u64('seq_recv');
  r.magic(Magic.GSS_OID, 'mech_used OID');
  const mechUsed = Buffer.from(r.counted('mech_used'));
  r.magic(Magic.GSS_OID, 'mech_used OID end');

  const principals: string[] = [];
  while (r.peek() === Magic.PRINCIPAL && principals.length < 2) principals.push(readPrincipal(r, 'principal'));
  const keys: Keyblock[] = [];
  while (r.peek() === Magic.KEYBLOCK && keys.length < 3) keys.push(readKeyblock(r, keys.length === 0 ? 'subkey' : 'rfc1964'));

  const ctx: MitExportedContext = {
    mechOid,
    initiate,
    established,
    haveAcceptorSubkey,
    gssFlags,
    signalg,
    sealalg,
    authtime,
    starttime,
    endtime,
    renewTill,
    krbFlags,
    seqSend,
    seqRecv,
    mechUsed,
    principals,
    subkey: keys[0] ?? null,
    rfc1964Keys: keys.slice(1),
  };
  if (options.full) ctx.full = parseRest(r);
  return ctx;
}

function skipSeqstate(r: BlobReader): void {
  if (r.peek() !== Magic.GSS_QUEUE) return;
  const start = r.pos;
  r.pos += 4;
  // a native C struct: 40 bytes on every LP64 build seen; find the closing magic to be safe
  for (const size of [40, 32, 48, 24, 56, 64]) {
    if (r.remaining >= size + 4 && r.buf.readUInt32BE(r.pos + size) === Magic.GSS_QUEUE) {
      r.pos += size + 4;
      return;
    }
  }
  r.fail('seqstate: closing KV5M_GSS_QUEUE magic not found', start);
}

const LAYOUTS: Krb5ContextLayout[] = ['1.19+', '1.18', '1.14-1.17'];

function readKrb5Context(
  r: BlobReader,
): Omit<
  FullContextParts,
  | 'ticketSessionKey'
  | 'sendSubkey'
  | 'recvSubkey'
  | 'authenticatorClient'
  | 'proto'
  | 'cksumtype'
  | 'acceptorSubkey'
  | 'acceptorSubkeyCksumtype'
  | 'authdataContextPresent'
  | 'trailingBytes'
> {
  r.magic(Magic.CONTEXT, 'krb5_context');
  const defaultRealm = r.counted('default realm').toString('utf8');
  const afterRealm = r.pos;
  const failures: string[] = [];
  for (const layout of LAYOUTS) {
    r.pos = afterRealm;
    try {
      if (layout !== '1.19+') r.int32List('in_tkt enctypes');
      const tgsEnctypes = r.int32List('tgs enctypes');
      const clockskew = r.i32('clockskew');
      if (layout === '1.14-1.17') {
        r.i32('kdc_req_sumtype');
        r.i32('ap_req_sumtype');
        r.i32('safe_sumtype');
      }
      r.i32('kdc_default_options');
      r.i32('library_options');
      r.i32('profile_secure');
      r.i32('fcc_default_format');
      // the variant is right only if the OS context follows exactly here
      r.magic(Magic.OS_CONTEXT, 'os_context');
      r.i32('time_offset');
      r.i32('usec_offset');
      r.i32('os_flags');
      r.magic(Magic.OS_CONTEXT, 'os_context end');
      const profileFiles: string[] = [];
      if (r.peek() === Magic.PROF_PROFILE) {
        r.pos += 4;
        const n = r.u32('profile file count');
        if (n * 4 > r.remaining) r.fail(`profile file count ${n} cannot fit`);
        for (let i = 0; i < n; i++) profileFiles.push(r.counted('profile file').toString('utf8'));
        r.magic(Magic.PROF_PROFILE, 'profile end');
      }
      r.magic(Magic.CONTEXT, 'krb5_context end');
      return { krb5ContextLayout: layout, defaultRealm, tgsEnctypes, clockskew, profileFiles };
    } catch (e) {
      if (!(e instanceof ExportedContextError)) throw e;
      failures.push(`${layout}: ${e.message}`);
    }
  }
  return r.fail(`krb5_context matches no known MIT layout (${failures.join('; ')})`, afterRealm);
}

function parseRest(r: BlobReader): FullContextParts {
  skipSeqstate(r);
  const k5 = readKrb5Context(r);

  r.magic(Magic.AUTH_CONTEXT, 'auth_context');
  r.i32('auth_context flags');
  r.i32('remote_seq');
  r.i32('local_seq');
  r.i32('req_cksumtype');
  r.i32('safe_cksumtype');
  r.counted('cstate');
  let ticketSessionKey: Keyblock | null = null;
  let sendSubkey: Keyblock | null = null;
  let recvSubkey: Keyblock | null = null;
  for (;;) {
    const tag = r.peek();
    if (tag === Tag.KEYBLOCK || tag === Tag.LSKBLOCK || tag === Tag.RSKBLOCK) {
      r.pos += 4;
      const kb = readKeyblock(r, 'auth_context');
      if (tag === Tag.KEYBLOCK) ticketSessionKey = kb;
      else if (tag === Tag.LSKBLOCK) sendSubkey = kb;
      else recvSubkey = kb;
    } else if (tag === Tag.RADDR || tag === Tag.RPORT || tag === Tag.LADDR || tag === Tag.LPORT) {
      r.pos += 4;
      r.magic(Magic.ADDRESS, 'address');
      r.i32('address type');
      r.counted('address');
      r.magic(Magic.ADDRESS, 'address end');
    } else {
      break;
    }
  }
  let authenticatorClient: string | null = null;
  if (r.peek() === Magic.AUTHENTICATOR) {
    r.pos += 4;
    r.i32('ctime');
    r.i32('cusec');
    r.i32('seq_number');
    if (r.peek() === Magic.PRINCIPAL) authenticatorClient = readPrincipal(r, 'authenticator client');
    if (r.peek() === Magic.CHECKSUM) {
      r.pos += 4;
      r.i32('checksum type');
      r.counted('checksum');
      r.magic(Magic.CHECKSUM, 'checksum end');
    }
    if (r.peek() === Magic.KEYBLOCK) readKeyblock(r, 'authenticator subkey');
    readAuthdataList(r, 'authenticator authdata');
    r.magic(Magic.AUTHENTICATOR, 'authenticator end');
  }
  r.magic(Magic.AUTH_CONTEXT, 'auth_context end');

  const proto = r.i32('proto');
  const cksumtype = r.i32('cksumtype');
  const acceptorSubkey = r.peek() === Magic.KEYBLOCK ? readKeyblock(r, 'acceptor subkey') : null;
  const acceptorSubkeyCksumtype = r.i32('acceptor_subkey_cksumtype');
  r.i32('cred_rcache');
  readAuthdataList(r, 'context authdata');
  let authdataContextPresent = false;
  let trailingBytes = 0;
  if (r.peek() === Magic.KG_CONTEXT) {
    r.pos += 4;
    trailingBytes = r.remaining;
  } else {
    // a plugin-defined authdata context: nothing we need lies beyond it
    authdataContextPresent = true;
  }
  return {
    ...k5,
    ticketSessionKey,
    sendSubkey,
    recvSubkey,
    authenticatorClient,
    proto,
    cksumtype,
    acceptorSubkey,
    acceptorSubkeyCksumtype,
    authdataContextPresent,
    trailingBytes,
  };
}

export interface ContextSessionKey extends Keyblock {
  /** "subkey": the initiator's authenticator subkey; "acceptor-subkey": from a mutual AP-REP */
  from: 'subkey' | 'acceptor-subkey';
  context: MitExportedContext;
}

/**
 * The key GSS_C_INQ_SSPI_SESSION_KEY would return for this context: the acceptor subkey when the
 * context has one, else the initiator subkey (docs/gssproxy-protocol.md#exported-context).
 */
export function sessionKeyFromExportedContext(token: Buffer): ContextSessionKey {
  const fast = parseExportedContext(token);
  if (!fast.haveAcceptorSubkey) {
    if (!fast.subkey) throw new ExportedContextError(0, 'the context carries no subkey');
    return { ...fast.subkey, from: 'subkey', context: fast };
  }
  const full = parseExportedContext(token, { full: true });
  const acceptor = full.full?.acceptorSubkey;
  if (!acceptor) throw new ExportedContextError(0, 'have_acceptor_subkey is set but no acceptor subkey was found');
  return { ...acceptor, from: 'acceptor-subkey', context: full };
}
