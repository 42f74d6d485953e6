// SPNEGO (RFC 4178) negotiation tokens, and the NegTokenInit exactly as cifs.upcall sends it:
//
//   NegotiationToken ::= CHOICE { negTokenInit [0] NegTokenInit, negTokenResp [1] NegTokenResp }
//   NegTokenInit ::= SEQUENCE { mechTypes [0] SEQUENCE OF OID, reqFlags [1] ContextFlags OPTIONAL,
//                               mechToken [2] OCTET STRING OPTIONAL, mechListMIC [3] OCTET STRING OPTIONAL }
//   NegTokenInit2 (MS-SPNG) has negHints [3] SEQUENCE { hintName [0] GeneralString OPTIONAL,
//                               hintAddress [1] OCTET STRING OPTIONAL } and mechListMIC at [4]
//   NegTokenResp ::= SEQUENCE { negState [0] ENUMERATED OPTIONAL, supportedMech [1] OID OPTIONAL,
//                               responseToken [2] OCTET STRING OPTIONAL, mechListMIC [3] OCTET STRING OPTIONAL }
//
// The initiator's first token is framed as an RFC 2743 InitialContextToken with the SPNEGO OID
// (60 … 06 06 2b0601050502 a0 …); later tokens are the bare CHOICE (a1 …).
import * as enc from '../der/encode.ts';
import { UniversalTag, parseDer, type DerElement } from '../der/decode.ts';
import { DecodeError } from '../der/errors.ts';
import { frameInitialContextToken, parseInitialContextToken } from '../krb5/gss/gss-token.ts';
import { KRB5_MECH_OID, MS_KRB5_MECH_OID, SPNEGO_OID } from '../krb5/gss/oids.ts';

export const NegState = {
  ACCEPT_COMPLETED: 0,
  ACCEPT_INCOMPLETE: 1,
  REJECT: 2,
  REQUEST_MIC: 3,
} as const;

export interface NegTokenInit {
  kind: 'negTokenInit';
  /** dotted OIDs, the initiator's preference order */
  mechTypes: string[];
  /** ContextFlags as a 32-bit word, bit 0 (delegFlag) = 0x80000000 */
  reqFlags?: number;
  mechToken?: Buffer;
  mechListMIC?: Buffer;
  /** MS-SPNG NegTokenInit2 hints (servers' NEGOTIATE responses) */
  negHints?: { hintName?: string; hintAddress?: Buffer };
}

export interface NegTokenResp {
  kind: 'negTokenResp';
  /** NegState.* */
  negState?: number;
  supportedMech?: string;
  responseToken?: Buffer;
  mechListMIC?: Buffer;
}

export type NegotiationToken = NegTokenInit | NegTokenResp;

export interface NegTokenInitInput {
  mechTypes: string[];
  reqFlags?: number;
  mechToken?: Uint8Array;
  mechListMIC?: Uint8Array;
}

export interface NegTokenRespInput {
  negState?: number;
  supportedMech?: string;
  responseToken?: Uint8Array;
  mechListMIC?: Uint8Array;
}

/** The mechanism cifs.upcall lists: sec=krb5 → krb5 OID, sec=mskrb5 → Microsoft's OID. */
export type CifsMech = 'krb5' | 'mskrb5';

/**
 * SPNEGO NegTokenInit exactly as cifs.upcall builds it (docs/kerberos.md#spnego): GSS framing with
 * the SPNEGO OID, one mechType, mechToken = the krb5 GSS token; no reqFlags, no mechListMIC.
 * The inner token keeps the standard krb5 OID even for mskrb5.
 */
export function cifsSpnegoInitToken(gssToken: Uint8Array, mech: CifsMech): Buffer {
  return encodeNegTokenInit({ mechTypes: [mech === 'mskrb5' ? MS_KRB5_MECH_OID : KRB5_MECH_OID], mechToken: gssToken });
}

/** A NegTokenInit, framed as an InitialContextToken (the initiator's first SPNEGO token). */
export function encodeNegTokenInit(init: NegTokenInitInput): Buffer {
  const body = enc.taggedSequence([
    [0, enc.sequence(init.mechTypes.map(enc.objectIdentifier))],
    [1, init.reqFlags === undefined ? undefined : enc.kerberosFlags(init.reqFlags)],
    [2, init.mechToken && enc.octetString(init.mechToken)],
    [3, init.mechListMIC && enc.octetString(init.mechListMIC)],
  ]);
  return frameInitialContextToken(SPNEGO_OID, enc.toDer(enc.explicit(0, body)));
}

/** A bare NegTokenResp (a1 …), as acceptors send it. */
export function encodeNegTokenResp(resp: NegTokenRespInput): Buffer {
  return enc.toDer(
    enc.explicit(
      1,
      enc.taggedSequence([
        [0, resp.negState === undefined ? undefined : enc.enumerated(resp.negState)],
        [1, resp.supportedMech === undefined ? undefined : enc.objectIdentifier(resp.supportedMech)],
        [2, resp.responseToken && enc.octetString(resp.responseToken)],
        [3, resp.mechListMIC && enc.octetString(resp.mechListMIC)],
      ]),
    ),
  );
}

const INIT_FIELDS = { 0: 'mechTypes', 1: 'reqFlags', 2: 'mechToken', 3: 'mechListMIC-or-negHints', 4: 'mechListMIC' } as const;
const HINT_FIELDS = { 0: 'hintName', 1: 'hintAddress' } as const;
const RESP_FIELDS = { 0: 'negState', 1: 'supportedMech', 2: 'responseToken', 3: 'mechListMIC' } as const;

function negTokenInitFromDer(element: DerElement): NegTokenInit {
  const f = element.fields(INIT_FIELDS);
  const out: NegTokenInit = { kind: 'negTokenInit', mechTypes: f.required(0).sequenceOf((e) => e.objectIdentifier()) };
  const flags = f.optional(1);
  if (flags) out.reqFlags = flags.kerberosFlags();
  const token = f.optional(2);
  if (token) out.mechToken = token.octetString();
  const three = f.optional(3);
  if (three && three.isUniversal(UniversalTag.SEQUENCE)) {
    const hints = three.fields(HINT_FIELDS);
    out.negHints = {};
    const name = hints.optional(0);
    if (name) out.negHints.hintName = name.kerberosString();
    const address = hints.optional(1);
    if (address) out.negHints.hintAddress = address.octetString();
  } else if (three) {
    out.mechListMIC = three.octetString();
  }
  const four = f.optional(4);
  if (four) out.mechListMIC = four.octetString();
  return out;
}

function negTokenRespFromDer(element: DerElement): NegTokenResp {
  const f = element.fields(RESP_FIELDS);
  const out: NegTokenResp = { kind: 'negTokenResp' };
  const state = f.optional(0);
  if (state) out.negState = state.enumerated();
  const mech = f.optional(1);
  if (mech) out.supportedMech = mech.objectIdentifier();
  const token = f.optional(2);
  if (token) out.responseToken = token.octetString();
  const mic = f.optional(3);
  if (mic) out.mechListMIC = mic.octetString();
  return out;
}

/**
 * Decode a SPNEGO token: a framed initial token (60 … SPNEGO OID …) or a bare NegotiationToken
 * (a0 … / a1 …).
 */
export function decodeNegotiationToken(token: Uint8Array): NegotiationToken {
  let choice: Uint8Array = token;
  if (token[0] === 0x60) {
    const ict = parseInitialContextToken(token);
    if (ict.mechOid !== SPNEGO_OID) throw new DecodeError('InitialContextToken.thisMech', `mechanism ${ict.mechOid} is not SPNEGO`);
    choice = ict.innerToken;
  }
  const { tag, inner } = parseDer(choice, 'NegotiationToken').contextChoice({ 0: 'negTokenInit', 1: 'negTokenResp' });
  return tag === 0 ? negTokenInitFromDer(inner) : negTokenRespFromDer(inner);
}
