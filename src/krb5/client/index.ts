// The Kerberos client exchanges (RFC 4120): TGS with referrals and cross-realm TGTs, AS with a
// keytab key, and the GSS AP-REQ of cifs.upcall's native path — the public surface of
// src/krb5/client.
export { Krb5ClientError, type ClientFailure } from './errors.ts';
export { KdcClock, describeDuration, isoSeconds, type KdcTimestamp } from './clock.ts';
export { KdcSession, classifyKdcReply, type KdcAnswer, type KdcExchangeRecord, type KdcSessionOptions } from './kdc-exchange.ts';
export { credentialFromReply, copyPrincipal, isTgsName, principalText, tgtTargetRealm } from './credential.ts';
export {
  MAX_REFERRAL_HOPS,
  TGT_FLAGS_TO_KDC_OPTIONS,
  TgsClient,
  buildTgsRequest,
  cachedServiceTicket,
  readTgsReply,
  type ServiceTicketResult,
  type TgsClientOptions,
  type TgsReply,
  type TgsRequest,
  type TgsRequestInput,
} from './tgs.ts';
export {
  DEFAULT_TICKET_LIFETIME_SECONDS,
  buildAsRequest,
  encTimestampPadata,
  getInitialTgtWithKeytab,
  readAsReply,
  type AsRequest,
  type AsRequestInput,
  type KeytabAsInput,
  type KeytabAsResult,
} from './as.ts';
export { buildCifsApReq, type CifsApReq } from './ap-req.ts';
