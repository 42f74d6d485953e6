// RFC 4120 §3.1 / §5.4 AS exchange with a key from a keytab (MIT krb5_get_init_creds_keytab, as
// cifs.upcall's keytab fallback uses it, docs/cifs-upcall-behaviour.md#keytab-fallback):
//
//   1. AS-REQ { padata [PA-PAC-REQUEST include-pac TRUE (MS-KILE, ignored by MIT)],
//               body { kdc-options forwardable per krb5.conf, cname, realm, sname krbtgt/R,
//                      till now + 24 h, nonce, etype = permitted enctypes we hold keys of } }
//   2. KRB-ERROR KDC_ERR_PREAUTH_REQUIRED (25) with METHOD-DATA { PA-ETYPE-INFO2 … } →
//      the first ETYPE-INFO2 entry we have a key for; PA-ENC-TIMESTAMP = EncryptedData {
//      encrypt(key, usage 1, PA-ENC-TS-ENC { patimestamp, pausec }) }; PA-FX-COOKIE echoed
//   3. AS-REP: enc-part decrypted with the keytab key of its etype (and kvno), usage 3 →
//      EncASRepPart (tag 25; 26 accepted); nonce echoed, server krbtgt/R@R, client as asked
// KRB_AP_ERR_SKEW: with kdc_timesync, adopt the KDC's time and retry once. After success the KDC
// time offset is taken from the reply's authtime (MIT krb5_set_real_time), for the memory cache.
import type { Trace } from '../../trace.ts';
import type { Krb5Config } from '../config/krb5-config.ts';
import type { Credential, KdcTimeOffset, Principal } from '../ccache/model.ts';
import { principalsEqual } from '../ccache/model.ts';
import { tgsPrincipal } from '../ccache/select.ts';
import { encryptionType } from '../crypto/index.ts';
import { randomInt } from '../crypto/primitives.ts';
import { enctypeName } from '../iana/etype.ts';
import { ErrorCode } from '../iana/error-code.ts';
import { KdcOptions } from '../iana/flags.ts';
import { KeyUsage } from '../iana/key-usage.ts';
import { NameType } from '../iana/name-type.ts';
import { PaType } from '../iana/pa-type.ts';
import { decodeEncKdcRepPart, type EncKdcRepPart } from '../messages/enc-kdc-rep-part.ts';
import { encodeEncryptedData } from '../messages/encrypted-data.ts';
import { decodeEtypeInfo2, type EtypeInfo2Entry } from '../messages/etype-info2.ts';
import { decodeAsRep, type KdcRep } from '../messages/kdc-rep.ts';
import { encodeAsReq, encodeKdcReqBody, type KdcReqBody } from '../messages/kdc-req.ts';
import { krbErrorPaData, type KrbError } from '../messages/krb-error.ts';
import { encodePaEncTsEnc } from '../messages/pa-enc-timestamp.ts';
import { encodePaPacRequest } from '../messages/pa-pac-request.ts';
import type { PaData } from '../messages/pa-data.ts';
import { findKeytabEntry, keytabEnctypes, type Keytab, type KeytabEntry } from '../keytab/keytab.ts';
import { describeDuration, isoSeconds, type KdcClock, type KdcTimestamp } from './clock.ts';
import { credentialFromReply, principalText } from './credential.ts';
import { Krb5ClientError } from './errors.ts';
import type { KdcSession } from './kdc-exchange.ts';

/** MIT's default ticket_lifetime (1 day). */
export const DEFAULT_TICKET_LIFETIME_SECONDS = 24 * 3600;
const AS_REP_TAG = 0x6b;

export interface AsRequestInput {
  client: Principal;
  enctypes: readonly number[];
  kdcOptions: number;
  now: KdcTimestamp;
  lifetimeSeconds: number;
  padata: readonly PaData[];
  nonce?: number;
}

export interface AsRequest {
  der: Buffer;
  body: KdcReqBody;
}

/** Build an AS-REQ for krbtgt/<client realm>. */
export function buildAsRequest(input: AsRequestInput): AsRequest {
  const realm = input.client.realm;
  const tgs = tgsPrincipal(realm);
  const body: KdcReqBody = {
    kdcOptions: input.kdcOptions >>> 0,
    cname: { nameType: input.client.nameType, components: [...input.client.components] },
    realm,
    sname: { nameType: tgs.nameType, components: tgs.components },
    till: new Date((input.now.seconds + input.lifetimeSeconds) * 1000),
    nonce: input.nonce ?? randomInt(0, 0x7fffffff),
    etype: [...input.enctypes],
  };
  return { der: encodeAsReq({ padata: input.padata, reqBody: encodeKdcReqBody(body) }), body };
}

/** PA-ENC-TIMESTAMP (RFC 4120 §5.2.7.2) with the client's long-term key. */
export function encTimestampPadata(entry: KeytabEntry, now: KdcTimestamp): PaData {
  const profile = encryptionType(entry.key.enctype);
  const ts = encodePaEncTsEnc({ patimestamp: now.time, pausec: now.usec });
  return {
    padataType: PaType.ENC_TIMESTAMP,
    padataValue: encodeEncryptedData({
      etype: profile.etype,
      cipher: profile.encrypt(entry.key.value, KeyUsage.AS_REQ_PA_ENC_TIMESTAMP, ts),
    }),
  };
}

export interface KeytabAsInput {
  /** the client; its realm is the realm asked */
  client: Principal;
  keytab: Keytab;
  session: KdcSession;
  clock: KdcClock;
  config: Krb5Config;
  trace: Trace;
  lifetimeSeconds?: number;
  /** adopt the KDC's time on KRB_AP_ERR_SKEW and retry once (default: kdc_timesync ≠ 0) */
  skewRetry?: boolean;
}

export interface KeytabAsResult {
  /** the TGT krbtgt/R@R */
  credential: Credential;
  /** KDC time offset learnt from the reply (authtime − local time), for the memory cache */
  kdcTimeOffset: KdcTimeOffset;
  /** enctype of the keytab key the KDC used for the reply */
  replyEnctype: number;
  preauthenticated: boolean;
  requests: number;
}

function kdcRefusal(e: KrbError, client: Principal, keytabName: string, key?: KeytabEntry): Krb5ClientError {
  const who = principalText(client);
  let hint = '';
  switch (e.code) {
    case ErrorCode.KDC_ERR_C_PRINCIPAL_UNKNOWN:
      hint = ` — ${who} is not in the KDC's database`;
      break;
    case ErrorCode.KDC_ERR_PREAUTH_FAILED:
    case ErrorCode.KRB_AP_ERR_BAD_INTEGRITY:
      hint = ` — the ${key ? `${enctypeName(key.key.enctype)} key (kvno ${key.kvno})` : 'key'} in ${keytabName} is not ${who}'s current key`;
      break;
    case ErrorCode.KDC_ERR_ETYPE_NOSUPP:
      hint = ` — the KDC has no key of the enctypes the keytab holds`;
      break;
    // an AD KDC names the exact account state in e-data (KrbError's message already says it)
    case ErrorCode.KDC_ERR_CLIENT_REVOKED:
      hint = e.ntStatus === undefined ? ` — ${who} is disabled or locked out` : '';
      break;
    case ErrorCode.KDC_ERR_KEY_EXPIRED:
      hint = e.ntStatus === undefined ? ` — ${who}'s password has expired: no ticket until it is changed` : '';
      break;
    default:
      break;
  }
  return new Krb5ClientError('kdc-error', `${client.realm} KDC refused AS-REQ for ${who}: ${e.message}${hint}`, {
    krbError: e,
    realm: client.realm,
  });
}

/** The ETYPE-INFO2 entries of a PREAUTH_REQUIRED error (docs/kerberos.md#messages: padata type 19). */
function etypeInfo2(e: KrbError): { entries: EtypeInfo2Entry[]; cookie?: PaData } {
  const pa = krbErrorPaData(e.krbError) ?? [];
  const cookie = pa.find((p) => p.padataType === PaType.FX_COOKIE);
  const info = pa.find((p) => p.padataType === PaType.ETYPE_INFO2);
  let entries: EtypeInfo2Entry[] = [];
  if (info) {
    try {
      entries = decodeEtypeInfo2(info.padataValue);
    } catch {
      entries = [];
    }
  }
  return { entries, ...(cookie ? { cookie } : {}) };
}

/** krb5_get_init_creds_keytab for `client`: a TGT for its realm. */
export async function getInitialTgtWithKeytab(input: KeytabAsInput): Promise<KeytabAsResult> {
  const { client, keytab, session, clock, config, trace } = input;
  const who = principalText(client);
  const held = keytabEnctypes(keytab, client);
  if (held.length === 0) {
    throw new Krb5ClientError('no-credentials', `keytab ${keytab.name} holds no key for ${who}`);
  }
  const permitted = config.permittedEnctypes();
  const enctypes = permitted.filter((e) => held.includes(e));
  if (enctypes.length === 0) {
    throw new Krb5ClientError(
      'config',
      `keytab ${keytab.name} holds ${held.map(enctypeName).join(', ')} keys for ${who}, none of them in permitted_enctypes`,
    );
  }
  trace.event('as', `AS-REQ for ${who} with keys from ${keytab.name}: offering ${enctypes.map(enctypeName).join(', ')}`, { enctypes });
  const skewRetry = input.skewRetry ?? config.kdcTimesync() !== 0;
  const kdcOptions = config.forwardable(client.realm) ? KdcOptions.FORWARDABLE : 0;
  const pacRequest: PaData = { padataType: PaType.PAC_REQUEST, padataValue: encodePaPacRequest(true) };
  const lifetime = input.lifetimeSeconds ?? DEFAULT_TICKET_LIFETIME_SECONDS;
  const subject = `${principalText(tgsPrincipal(client.realm))} as ${who}`;

  let preauthKey: KeytabEntry | undefined;
  let cookie: PaData | undefined;
  let skewRetried = false;
  let requests = 0;
  for (;;) {
    const now = clock.now();
    const padata = preauthKey ? [encTimestampPadata(preauthKey, now), pacRequest, ...(cookie ? [cookie] : [])] : [pacRequest];
    const request = buildAsRequest({ client, enctypes, kdcOptions, now, lifetimeSeconds: lifetime, padata });
    requests++;
    const answer = await session.send(client.realm, request.der, 'AS-REQ', subject);
    if (answer.kind === 'error') {
      const e = answer.error;
      if (e.code === ErrorCode.KDC_ERR_PREAUTH_REQUIRED && !preauthKey) {
        const info = etypeInfo2(e);
        cookie = info.cookie;
        const entry = info.entries.find((x) => enctypes.includes(x.etype));
        const etype = entry?.etype ?? enctypes[0]!;
        preauthKey = findKeytabEntry(keytab, client, { enctype: etype }) ?? undefined;
        if (!preauthKey)
          throw new Krb5ClientError(
            'no-credentials',
            `the KDC wants pre-authentication with ${enctypeName(etype)}, and ${keytab.name} has no such key for ${who}`,
          );
        trace.event(
          'as',
          `${client.realm} requires pre-authentication: PA-ENC-TIMESTAMP with the ${enctypeName(etype)} key (kvno ${preauthKey.kvno})${entry?.salt !== undefined ? `, KDC salt "${entry.salt}"` : ''}`,
          {
            etypeInfo2: info.entries.map((x) => x.etype),
          },
        );
        continue;
      }
      if (e.code === ErrorCode.KRB_AP_ERR_SKEW && skewRetry && !skewRetried) {
        skewRetried = true;
        const off = clock.correct(e.krbError.stime, e.krbError.susec);
        trace.event(
          'as',
          `${client.realm} says our clock is ${describeDuration(off)} ${off > 0 ? 'behind' : 'ahead'} (KRB_AP_ERR_SKEW): retrying once with the KDC's time`,
          { skewSeconds: off },
        );
        continue;
      }
      throw kdcRefusal(e, client, keytab.name, preauthKey);
    }
    const { rep, part, key } = readAsReply(answer.der, request, client, keytab);
    const credential = credentialFromReply(rep, part);
    const authtime = credential.authTime;
    if (config.kdcTimesync() !== 0) clock.syncTo(authtime);
    trace.event(
      'as',
      `got ${principalText(part.server)} for ${principalText(rep.client)}: reply encrypted with the ${enctypeName(key.key.enctype)} key (kvno ${key.kvno}), ${enctypeName(credential.key.enctype)} session key, valid until ${isoSeconds(credential.endTime)}`,
      {
        enctype: credential.key.enctype,
        replyEnctype: key.key.enctype,
        kdcOffset: clock.offsetSeconds,
      },
    );
    return {
      credential,
      kdcTimeOffset: clock.offset,
      replyEnctype: key.key.enctype,
      preauthenticated: preauthKey !== undefined,
      requests,
    };
  }
}

/** Decode, decrypt (client key, usage 3) and check an AS-REP. */
export function readAsReply(
  der: Buffer,
  request: AsRequest,
  client: Principal,
  keytab: Keytab,
): { rep: KdcRep; part: EncKdcRepPart; key: KeytabEntry } {
  const realm = client.realm;
  const bad = (what: string, cause?: unknown) =>
    new Krb5ClientError('bad-reply', `AS-REP from ${realm}: ${what}`, { realm, ...(cause !== undefined ? { cause } : {}) });
  if (der[0] !== AS_REP_TAG) throw bad(`expected an AS-REP ([APPLICATION 11]), got tag 0x${(der[0] ?? 0).toString(16)}`);
  let rep: KdcRep;
  try {
    rep = decodeAsRep(der);
  } catch (e) {
    throw bad(`undecodable: ${(e as Error).message}`, e);
  }
  const key = findKeytabEntry(keytab, client, {
    enctype: rep.encPart.etype,
    ...(rep.encPart.kvno !== undefined ? { kvno: rep.encPart.kvno } : {}),
  });
  if (!key) {
    throw bad(
      `encrypted with ${enctypeName(rep.encPart.etype)}${rep.encPart.kvno !== undefined ? ` kvno ${rep.encPart.kvno}` : ''}, and ${keytab.name} has no such key for ${principalText(client)}`,
    );
  }
  let plain: Buffer;
  try {
    plain = encryptionType(key.key.enctype).decrypt(key.key.value, KeyUsage.AS_REP_ENC_PART, rep.encPart.cipher);
  } catch (e) {
    throw bad(
      `enc-part does not decrypt with the keytab's ${enctypeName(key.key.enctype)} key (kvno ${key.kvno}): ${(e as Error).message}`,
      e,
    );
  }
  let part: EncKdcRepPart;
  try {
    part = decodeEncKdcRepPart(plain);
  } catch (e) {
    throw bad(`undecodable EncASRepPart: ${(e as Error).message}`, e);
  } finally {
    plain.fill(0);
  }
  if (part.nonce !== request.body.nonce) throw bad(`nonce ${part.nonce} is not ours (${request.body.nonce})`);
  const tgs = tgsPrincipal(realm);
  if (!principalsEqual(part.server, tgs) || !principalsEqual(rep.ticket.server, tgs)) {
    throw bad(`asked for ${principalText(tgs)}, got ${principalText(part.server)}`);
  }
  if (!principalsEqual(rep.client, client)) throw bad(`names client ${principalText(rep.client)}, not ${principalText(client)}`);
  if (rep.client.nameType === NameType.UNKNOWN) rep.client.nameType = client.nameType;
  return { rep, part, key };
}
