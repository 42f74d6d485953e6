#!/usr/bin/python3
"""Reference GSS initiator (MIT libgssapi through python3-gssapi) for the AD tests.

usage: samba-ad-initiator.py <service@host> <spnego|krb5>
Asks for integrity only, so the token is one step without mutual authentication (python-gssapi
turns empty flags into MUTUAL+SEQUENCE). With GSS_USE_PROXY=yes, GSSPROXY_SOCKET and
GSSPROXY_BEHAVIOR=REMOTE_ONLY in the environment the call goes through gssproxy's interposer.
Prints one JSON line: {"ok": true, "token": hex, "key": hex|null, "keyOid": hex|null}
or {"ok": false, "error", "major", "minor"}; the initiator-side GSS_C_INQ_SSPI_SESSION_KEY is what
the acceptor must agree on.
"""
import json
import sys

import gssapi
import gssapi.raw as gr

MECHS = {'spnego': '1.3.6.1.5.5.2', 'krb5': '1.2.840.113554.1.2.2'}
SSPI_SESSION_KEY = gssapi.OID.from_int_seq('1.2.840.113554.1.2.2.5.5')


def main():
    target, mech = sys.argv[1], sys.argv[2]
    try:
        name = gssapi.Name(target, gssapi.NameType.hostbased_service)
        ctx = gssapi.SecurityContext(name=name, mech=gssapi.OID.from_int_seq(MECHS[mech]),
                                     flags=[gssapi.RequirementFlag.integrity], usage='initiate')
        token = ctx.step()
        try:
            key = gr.inquire_sec_context_by_oid(ctx, SSPI_SESSION_KEY)
            key_hex, oid_hex = key[0].hex(), (key[1].hex() if len(key) > 1 else None)
        except gr.GSSError:
            key_hex, oid_hex = None, None
        out = {'ok': True, 'token': token.hex(), 'key': key_hex, 'keyOid': oid_hex}
    except gr.GSSError as e:
        out = {'ok': False, 'error': str(e), 'major': e.maj_code, 'minor': e.min_code}
    sys.stdout.write(json.dumps(out) + '\n')


if __name__ == '__main__':
    main()
