#!/usr/bin/python3
"""Populate a freshly provisioned, offline Samba AD database in one process.

Runs inside the Samba 4.22 mount namespace (samba-ad.ts) with Samba's own Python bindings, against
sam.ldb directly (no DC running): one process instead of ~25 samba-tool calls of ~0.5 s each.
Reads one JSON document on stdin:

  {"smbConf": "/run/cu-ad/etc/smb.conf",
   "users": [{"name", "password", "uid": int, "gid": int (RFC 2307 uidNumber/gidNumber, so the DC's
              smbd maps the user to the same uid as the client), "aesKeys": bool (false: RC4 key
              only), "protected": bool, "notDelegated": bool, "disabled": bool,
              "mustChangePassword": bool}],
   "domainUsersGid": int,                        # gidNumber of Domain Users
   "computers": [{"name" (without $), "password", "dnsHostName", "spns": [..], "enctypes": int|null,
                  "trustedToAuthForDelegation": bool, "allowedToDelegateTo": [..],
                  "allowedToActFrom": [sAMAccountName, ..]}],
   "rbcdOnDc": [sAMAccountName, ..],             # RBCD to the DC's own cifs/ service
   "dcExtraSpns": [spn, ..],                     # more SPNs on the DC's account
   "keytabs": [{"path", "principals": [..]}]}   # entries in this order (gssproxy 0.9.1 takes the first)

and prints one line {"ok": true, "domainSid": ..., "sids": {sAMAccountName: sid}} last on stdout
(Net.export_keytab prints progress lines before it).
"""
import binascii
import json
import sys

import ldb
import samba
from samba import dsdb
from samba.auth import system_session
from samba.dcerpc import drsblobs, security
from samba.ndr import ndr_pack, ndr_unpack
from samba.param import LoadParm
from samba.samdb import SamDB

UF_ACCOUNTDISABLE = 0x00000002
UF_WORKSTATION_TRUST_ACCOUNT = 0x00001000
UF_DONT_EXPIRE_PASSWD = 0x00010000
UF_NOT_DELEGATED = 0x00100000
UF_TRUSTED_TO_AUTHENTICATE_FOR_DELEGATION = 0x01000000


def open_samdb(lp):
    return SamDB(url=lp.private_path('sam.ldb'), session_info=system_session(), lp=lp)


def modify(samdb, dn, attrs, controls=None):
    msg = ldb.Message()
    msg.dn = ldb.Dn(samdb, str(dn))
    for name, (flag, values) in attrs.items():
        msg[name] = ldb.MessageElement(values, flag, name)
    samdb.modify(msg, controls=controls or [])


def account(samdb, sam_account_name, attrs=('objectSid', 'userAccountControl')):
    res = samdb.search(base=samdb.domain_dn(), scope=ldb.SCOPE_SUBTREE,
                       expression='(sAMAccountName=%s)' % ldb.binary_encode(sam_account_name),
                       attrs=list(attrs))
    if len(res) != 1:
        raise Exception('account %s: %d matches' % (sam_account_name, len(res)))
    return res[0]


def sid_of(samdb, sam_account_name):
    return str(ndr_unpack(security.dom_sid, account(samdb, sam_account_name)['objectSid'][0]))


def rbcd_descriptor(sids):
    """msDS-AllowedToActOnBehalfOfOtherIdentity: owner BA, one allow ACE (generic all) per account,
    the same shape `samba-tool delegation add-principal` writes."""
    sddl = 'O:BAD:' + ''.join('(A;;0x%x;;;%s)' % (security.SEC_ADS_GENERIC_ALL, s) for s in sids)
    return ndr_pack(security.descriptor.from_sddl(sddl, security.dom_sid('S-1-5-32')))


def uac_set(samdb, name, bits):
    msg = account(samdb, name)
    uac = int(msg['userAccountControl'][0]) | bits
    modify(samdb, msg.dn, {'userAccountControl': (ldb.FLAG_MOD_REPLACE, [str(uac)])})


def drop_aes_keys(samdb, name):
    """Leave the account with its RC4 (NT hash) key only, like an account whose password was last
    set before the domain had AES: drop the Primary:Kerberos-Newer-Keys package (AES keys) from
    supplementalCredentials. Primary:Kerberos (DES keys only) must stay: password_hash insists."""
    msg = account(samdb, name, attrs=('supplementalCredentials',))
    blob = ndr_unpack(drsblobs.supplementalCredentialsBlob, msg['supplementalCredentials'][0])
    packages = []
    for p in blob.sub.packages:
        if p.name == 'Primary:Kerberos-Newer-Keys':
            continue
        if p.name == 'Packages':
            raw = p.data if isinstance(p.data, bytes) else p.data.encode()
            names = binascii.unhexlify(raw).decode('utf-16-le').split('\0')
            hexed = binascii.hexlify('\0'.join(n for n in names if n != 'Kerberos-Newer-Keys').encode('utf-16-le'))
            p.data = hexed if isinstance(p.data, bytes) else hexed.decode()
            p.data_len = len(p.data)
        packages.append(p)
    blob.sub.packages = packages
    blob.sub.num_packages = len(packages)
    modify(samdb, msg.dn,
           {'supplementalCredentials': (ldb.FLAG_MOD_REPLACE, [ndr_pack(blob)])},
           controls=['local_oid:%s:0' % dsdb.DSDB_CONTROL_BYPASS_PASSWORD_HASH_OID])


def main():
    spec = json.load(sys.stdin)
    lp = LoadParm()
    lp.load(spec['smbConf'])
    samdb = open_samdb(lp)
    domain_dn = samdb.domain_dn()
    realm = lp.get('realm').upper()

    # short test passwords, no complexity, no expiry by age (the expired user is expired by pwdLastSet=0)
    modify(samdb, domain_dn, {
        'pwdProperties': (ldb.FLAG_MOD_REPLACE, ['0']),
        'minPwdLength': (ldb.FLAG_MOD_REPLACE, ['0']),
        'minPwdAge': (ldb.FLAG_MOD_REPLACE, ['0']),
        'maxPwdAge': (ldb.FLAG_MOD_REPLACE, ['0']),
        'pwdHistoryLength': (ldb.FLAG_MOD_REPLACE, ['0']),
    })

    if spec.get('domainUsersGid') is not None:
        modify(samdb, account(samdb, 'Domain Users').dn,
               {'gidNumber': (ldb.FLAG_MOD_REPLACE, [str(spec['domainUsersGid'])])})

    for u in spec['users']:
        samdb.newuser(u['name'], u['password'], useusernameascn=True,
                      force_password_change_at_next_login_req=bool(u.get('mustChangePassword')),
                      uidnumber=u.get('uid'), gidnumber=u.get('gid'))
        dn = account(samdb, u['name']).dn
        modify(samdb, dn, {'userPrincipalName': (ldb.FLAG_MOD_REPLACE, ['%s@%s' % (u['name'], realm.lower())])})
        bits = (UF_NOT_DELEGATED if u.get('notDelegated') else 0) | (UF_ACCOUNTDISABLE if u.get('disabled') else 0)
        if bits:
            uac_set(samdb, u['name'], bits)
        if u.get('protected'):
            samdb.add_remove_group_members('Protected Users', [u['name']], add_members_operation=True)
        if u.get('aesKeys') is False:
            drop_aes_keys(samdb, u['name'])

    computers_dn = samdb.get_wellknown_dn(samdb.get_default_basedn(), dsdb.DS_GUID_COMPUTERS_CONTAINER)
    for c in spec['computers']:
        uac = UF_WORKSTATION_TRUST_ACCOUNT | UF_DONT_EXPIRE_PASSWD
        if c.get('trustedToAuthForDelegation'):
            uac |= UF_TRUSTED_TO_AUTHENTICATE_FOR_DELEGATION
        entry = {
            'dn': 'CN=%s,%s' % (c['name'], computers_dn),
            'objectClass': 'computer',
            'sAMAccountName': c['name'] + '$',
            'dNSHostName': c['dnsHostName'],
            'servicePrincipalName': c['spns'],
            'userAccountControl': str(uac),
        }
        if c.get('enctypes') is not None:
            entry['msDS-SupportedEncryptionTypes'] = str(c['enctypes'])
        if c.get('allowedToDelegateTo'):
            entry['msDS-AllowedToDelegateTo'] = c['allowedToDelegateTo']
        samdb.add(entry)
        # added without a password the account has no keys (exportkeytab would write nothing)
        samdb.setpassword('(sAMAccountName=%s$)' % ldb.binary_encode(c['name']), c['password'])

    # RBCD names the SIDs of the accounts allowed to act, so it comes after all computers exist
    for c in spec['computers']:
        if c.get('allowedToActFrom'):
            sids = [sid_of(samdb, n) for n in c['allowedToActFrom']]
            modify(samdb, account(samdb, c['name'] + '$').dn, {
                'msDS-AllowedToActOnBehalfOfOtherIdentity': (ldb.FLAG_MOD_REPLACE, [rbcd_descriptor(sids)]),
            })
    dc_account = lp.get('netbios name').upper() + '$'
    if spec.get('dcExtraSpns'):
        modify(samdb, account(samdb, dc_account).dn, {
            'servicePrincipalName': (ldb.FLAG_MOD_ADD, spec['dcExtraSpns']),
        })
    if spec.get('rbcdOnDc'):
        sids = [sid_of(samdb, n) for n in spec['rbcdOnDc']]
        modify(samdb, account(samdb, dc_account).dn, {
            'msDS-AllowedToActOnBehalfOfOtherIdentity': (ldb.FLAG_MOD_REPLACE, [rbcd_descriptor(sids)]),
        })

    samba.enable_net_export_keytab()
    from samba.net import Net
    for kt in spec['keytabs']:
        for principal in kt['principals']:
            # export_keytab takes over the SamDB it is given (reusing one aborts with "Bad talloc
            # magic value"), so every export opens its own connection
            Net(None, lp).export_keytab(samdb=open_samdb(lp), keytab=kt['path'], principal=principal,
                                        only_current_keys=True)

    names = [u['name'] for u in spec['users']] + [c['name'] + '$' for c in spec['computers']]
    names.append(lp.get('netbios name').upper() + '$')
    sys.stdout.write('\n' + json.dumps({'ok': True, 'domainSid': str(samdb.get_domain_sid()),
                                        'sids': {n: sid_of(samdb, n) for n in names}}) + '\n')


if __name__ == '__main__':
    main()
