// The GSS krb5 AP-REQ exactly as cifs.upcall's native path builds it (RFC 4121 §4.1.1;
// docs/kerberos.md#ap-req-and-the-gss-checksum "native cifs.upcall" profile, docs/cifs-upcall-behaviour.md#native-krb5-path):
//
//   AP-REQ        { pvno 5, msg-type 14, ap-options 0 (no mutual-required), ticket verbatim,
//                   authenticator = encrypt(ticket session key, usage 11, Authenticator) }
//   Authenticator { vno 5, crealm/cname = the credential's client,
//                   cksum { 0x8003, 10000000 ‖ 16 zero bytes ‖ 00000000 } (no bindings, flags 0),
//                   cusec/ctime = KDC time (local clock + the cache's KDC offset),
//                   subkey = a fresh random key of the session key's enctype,
//                   no seq-number, no authorization-data }
//   token         = 60 len 06 09 <krb5 OID> 01 00 <AP-REQ>  (RFC 2743 §3.1; SPNEGO is the pipeline's)
// The session key the kernel gets is that subkey (no mutual authentication, so no acceptor
// subkey ever replaces it: docs/kerberos.md#session-key).
import type { Credential, Keyblock } from '../ccache/model.ts';
import { encryptionType } from '../crypto/index.ts';
import { enctypeName } from '../iana/etype.ts';
import { KeyUsage } from '../iana/key-usage.ts';
import { encodeApReq } from '../messages/ap-req.ts';
import { encodeAuthenticator } from '../messages/authenticator.ts';
import { frameKrb5ApReq } from '../gss/gss-token.ts';
import { gssAuthenticatorChecksum } from '../gss/gss-checksum.ts';
import type { KdcTimestamp } from './clock.ts';
import { copyPrincipal, principalText } from './credential.ts';
import { Krb5ClientError } from './errors.ts';

export interface CifsApReq {
  /** DER of the AP-REQ */
  apReq: Buffer;
  /** the RFC 2743 initial context token around it */
  gssToken: Buffer;
  /** the authenticator subkey = the SMB session key */
  subkey: Keyblock;
  ctime: Date;
  cusec: number;
}

/** Build cifs.upcall's native AP-REQ for a service credential at KDC time `now`. */
export function buildCifsApReq(credential: Credential, now: KdcTimestamp): CifsApReq {
  let profile;
  try {
    profile = encryptionType(credential.key.enctype);
  } catch (e) {
    throw new Krb5ClientError(
      'config',
      `the ticket for ${principalText(credential.server)} has a ${enctypeName(credential.key.enctype)} session key, which this client does not implement`,
      { cause: e },
    );
  }
  if (credential.ticket.length === 0 || credential.ticket[0] !== 0x61) {
    throw new Krb5ClientError('bad-cache', `the credential for ${principalText(credential.server)} does not hold a DER Ticket`);
  }
  const subkey: Keyblock = { enctype: profile.etype, value: profile.randomKey() };
  const authenticator = encodeAuthenticator({
    client: copyPrincipal(credential.client),
    cksum: gssAuthenticatorChecksum(),
    cusec: now.usec,
    ctime: now.time,
    subkey: { keytype: subkey.enctype, keyvalue: subkey.value },
  });
  const cipher = profile.encrypt(credential.key.value, KeyUsage.AP_REQ_AUTHENTICATOR, authenticator);
  authenticator.fill(0);
  const apReq = encodeApReq({ apOptions: 0, ticket: credential.ticket, authenticator: { etype: profile.etype, cipher } });
  return { apReq, gssToken: frameKrb5ApReq(apReq), subkey, ctime: now.time, cusec: now.usec };
}
