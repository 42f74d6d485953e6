#!/usr/bin/python3
"""GSS acceptor oracle for AD tickets: like acceptor.py, plus the ticket's PAC.

MIT's krb5 mechanism verifies the PAC's server checksum with the acceptor's key and exposes it as
the RFC 6680 name attribute "urn:mspac:" (the whole PAC, authenticated=True when verified).
One JSON request per line on stdin, one JSON answer per line on stdout:
  {"keytab": "/path", "token": "<hex>", "mech": "spnego" | "krb5"}
  -> {"ok": true, "initiator", "target", "key" (hex GSS_C_INQ_SSPI_SESSION_KEY), "keyOid", "mech",
      "flags", "complete", "replyToken", "pac": "<hex>" | null, "pacVerified": bool}
  -> {"ok": false, "error", "major", "minor"}
Run with Debian's /usr/bin/python3 (python3-gssapi).
"""
import json
import sys

import gssapi
import gssapi.raw as gr

SPNEGO = gssapi.OID.from_int_seq('1.3.6.1.5.5.2')
KRB5 = gssapi.OID.from_int_seq('1.2.840.113554.1.2.2')
SSPI_SESSION_KEY = gssapi.OID.from_int_seq('1.2.840.113554.1.2.2.5.5')


def display(name):
    if name is None:
        return None
    return gr.display_name(name, name_type=False).name.decode('utf-8', 'replace')


def pac_of(name):
    try:
        attr = gr.get_name_attribute(name, b'urn:mspac:')
    except gr.GSSError:
        return None, False
    if not attr.values:
        return None, False
    return attr.values[0].hex(), bool(attr.authenticated)


def accept(req):
    mech = KRB5 if req.get('mech') == 'krb5' else SPNEGO
    creds = gr.acquire_cred_from({b'keytab': req['keytab'].encode()}, None, None, [mech], 'accept').creds
    res = gr.accept_sec_context(bytes.fromhex(req['token']), acceptor_creds=creds)
    info = gr.inquire_context(res.context, initiator_name=False, target_name=True, lifetime=False,
                              mech=False, flags=False, locally_init=False, complete=False)
    key = gr.inquire_sec_context_by_oid(res.context, SSPI_SESSION_KEY)
    pac, verified = pac_of(res.initiator_name)
    return {
        'ok': True,
        'initiator': display(res.initiator_name),
        'target': display(info.target_name),
        'key': key[0].hex(),
        'keyOid': key[1].hex() if len(key) > 1 else None,
        'mech': res.mech.dotted_form if res.mech is not None else None,
        'flags': int(res.flags),
        'complete': not res.more_steps,
        'replyToken': res.token.hex() if res.token else None,
        'pac': pac,
        'pacVerified': verified,
    }


def main():
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            out = accept(json.loads(line))
        except gr.GSSError as e:
            out = {'ok': False, 'error': str(e), 'major': e.maj_code, 'minor': e.min_code}
        except Exception as e:  # report, never die: the test reads the error
            out = {'ok': False, 'error': '%s: %s' % (type(e).__name__, e)}
        sys.stdout.write(json.dumps(out) + '\n')
        sys.stdout.flush()


if __name__ == '__main__':
    main()
