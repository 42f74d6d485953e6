// Helpers of the client unit tests: open a TGS-REQ the way a KDC does (PA-TGS-REQ → AP-REQ →
// authenticator with the TGT session key), open a cifs token the way an acceptor does (ticket
// with the service key → session key → authenticator), and make cache credentials.
import { encryptionType } from '../../../../src/krb5/crypto/index.ts';
import { KeyUsage, PaType } from '../../../../src/krb5/iana/index.ts';
import {
  decodeApReq,
  decodeAuthenticator,
  decodeEncTicketPart,
  decodeKdcReq,
  encodeEncTicketPart,
  encodeTicket,
  type ApReq,
  type Authenticator,
  type EncTicketPart,
  type KdcReq,
} from '../../../../src/krb5/messages/index.ts';
import { unframeKrb5ApReq } from '../../../../src/krb5/gss/gss-token.ts';
import type { Credential, Principal } from '../../../../src/krb5/ccache/model.ts';
import type { TgsRequest } from '../../../../src/krb5/client/tgs.ts';

export const hex = (s: string): Buffer => Buffer.from(s, 'hex');

export interface OpenedTgsReq {
  req: KdcReq;
  apReq: ApReq;
  authenticator: Authenticator;
  /** what readTgsReply needs to check the reply against this request */
  request: TgsRequest;
}

/** Decrypt a TGS-REQ's PA-TGS-REQ authenticator with the TGT session key (usage 7). */
export function openTgsReq(der: Buffer, tgtKey: { etype: number; key: Buffer }): OpenedTgsReq {
  const req = decodeKdcReq(der);
  const pa = req.padata.find((p) => p.padataType === PaType.TGS_REQ);
  if (!pa) throw new Error('no PA-TGS-REQ');
  const apReq = decodeApReq(pa.padataValue);
  const plain = encryptionType(tgtKey.etype).decrypt(tgtKey.key, KeyUsage.TGS_REQ_PA_AUTHENTICATOR, apReq.authenticator.cipher);
  const authenticator = decodeAuthenticator(plain);
  if (!authenticator.subkey) throw new Error('no subkey');
  return {
    req,
    apReq,
    authenticator,
    request: {
      der,
      reqBodyDer: req.reqBodyDer,
      body: req.reqBody as TgsRequest['body'],
      subkey: { enctype: authenticator.subkey.keytype, value: authenticator.subkey.keyvalue },
      requestTime: Math.floor(authenticator.ctime.getTime() / 1000),
    },
  };
}

export interface OpenedToken {
  apReq: ApReq;
  ticket: EncTicketPart;
  authenticator: Authenticator;
}

/** Open a krb5 GSS token as the acceptor: ticket (service key, usage 2), authenticator (usage 11). */
export function openToken(token: Buffer, serviceKey: { etype: number; key: Buffer }): OpenedToken {
  const apReq = decodeApReq(unframeKrb5ApReq(token));
  const ticket = decodeEncTicketPart(
    encryptionType(serviceKey.etype).decrypt(serviceKey.key, KeyUsage.KDC_REP_TICKET, apReq.ticket.encPart.cipher),
  );
  const authenticator = decodeAuthenticator(
    encryptionType(ticket.key.keytype).decrypt(ticket.key.keyvalue, KeyUsage.AP_REQ_AUTHENTICATOR, apReq.authenticator.cipher),
  );
  return { apReq, ticket, authenticator };
}

/** A credential whose ticket is minted with `serviceKey` (tests of the AP-REQ builder). */
export function mintedCredential(opts: {
  client: Principal;
  server: Principal;
  sessionEnctype: number;
  serviceKey: { etype: number; key: Buffer };
  now?: number;
  lifetime?: number;
  flags?: number;
}): Credential {
  const now = opts.now ?? Math.floor(Date.now() / 1000);
  const end = now + (opts.lifetime ?? 3600);
  const sessionKey = encryptionType(opts.sessionEnctype).randomKey();
  const part = encodeEncTicketPart({
    flags: opts.flags ?? 0,
    key: { keytype: opts.sessionEnctype, keyvalue: sessionKey },
    client: opts.client,
    transited: { trType: 1, contents: Buffer.alloc(0) },
    authtime: new Date(now * 1000),
    endtime: new Date(end * 1000),
  });
  const ticket = encodeTicket({
    server: opts.server,
    encPart: {
      etype: opts.serviceKey.etype,
      kvno: 1,
      cipher: encryptionType(opts.serviceKey.etype).encrypt(opts.serviceKey.key, KeyUsage.KDC_REP_TICKET, part),
    },
  });
  return {
    client: opts.client,
    server: opts.server,
    key: { enctype: opts.sessionEnctype, value: sessionKey },
    authTime: now,
    startTime: now,
    endTime: end,
    renewTill: 0,
    isSkey: false,
    flags: opts.flags ?? 0,
    addresses: [],
    authData: [],
    ticket,
    secondTicket: Buffer.alloc(0),
  };
}
