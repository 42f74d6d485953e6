// From a decrypted KDC reply to a cache credential (MIT krb5_creds), and the small principal
// helpers the exchanges share. Cache principals (src/krb5/ccache/model.ts) and message
// principals (src/krb5/messages/principal-name.ts) have the same shape; these helpers keep the
// conversions in one place.
import type { Credential, Principal } from '../ccache/model.ts';
import { unparsePrincipal } from '../ccache/model.ts';
import type { EncKdcRepPart } from '../messages/enc-kdc-rep-part.ts';
import type { HostAddress } from '../messages/host-address.ts';
import type { KdcRep } from '../messages/kdc-rep.ts';
import type { PrincipalName } from '../messages/principal-name.ts';

/** Text form with the realm always shown ("cifs/fs1.example.test@" for the referral realm). */
export function principalText(p: Pick<Principal, 'components' | 'realm'>): string {
  return unparsePrincipal({ nameType: 0, components: p.components, realm: p.realm });
}

export function copyPrincipal(p: PrincipalName | Principal): Principal {
  return { nameType: p.nameType, components: [...p.components], realm: p.realm };
}

/** krbtgt/<realm>@<issuing realm> */
export function isTgsName(p: Pick<Principal, 'components'>): boolean {
  return p.components.length === 2 && p.components[0] === 'krbtgt';
}

/** The realm a TGT is for: krbtgt/<this>@issuer. */
export function tgtTargetRealm(p: Pick<Principal, 'components'>): string {
  return p.components[1] ?? '';
}

const seconds = (d: Date | undefined): number => (d ? Math.floor(d.getTime() / 1000) : 0);

function cacheAddresses(list: HostAddress[] | undefined): Credential['addresses'] {
  return (list ?? []).map((a) => ({ type: a.addrType, data: Buffer.from(a.address) }));
}

/**
 * The credential a KDC reply grants (gc_via_tkt.c / get_in_tkt.c): client as the reply names it,
 * server as the enc-part names it unless `storeAs` says otherwise, the raw ticket bytes.
 */
export function credentialFromReply(rep: KdcRep, part: EncKdcRepPart, storeAs?: Principal): Credential {
  return {
    client: copyPrincipal(rep.client),
    server: storeAs ? copyPrincipal(storeAs) : copyPrincipal(part.server),
    key: { enctype: part.key.keytype, value: Buffer.from(part.key.keyvalue) },
    authTime: seconds(part.authtime),
    startTime: seconds(part.starttime),
    endTime: seconds(part.endtime),
    renewTill: seconds(part.renewTill),
    isSkey: false,
    flags: part.flags >>> 0,
    addresses: cacheAddresses(part.caddr),
    authData: [],
    ticket: Buffer.from(rep.ticket.der),
    secondTicket: Buffer.alloc(0),
  };
}
