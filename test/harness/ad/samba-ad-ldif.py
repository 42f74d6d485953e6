#!/usr/bin/python3
"""Apply LDIF to the AD test domain's sam.ldb directly (the DC may be running: ldb locks).

usage (inside the DC's mount namespace): samba-ad-ldif.py <smb.conf>  < changes.ldif
Entries with `changetype: add` are added, all others modified, as the system session (no ACLs),
which is what `samba-tool … -H sam.ldb` does. The KDC reads the directory per request, so changes
to delegation attributes or userAccountControl take effect at once. Prints {"ok": true, "applied": n}.
"""
import json
import sys

import ldb
from samba.auth import system_session
from samba.param import LoadParm
from samba.samdb import SamDB


def main():
    lp = LoadParm()
    lp.load(sys.argv[1])
    samdb = SamDB(url=lp.private_path('sam.ldb'), session_info=system_session(), lp=lp)
    applied = 0
    samdb.transaction_start()
    try:
        for changetype, msg in samdb.parse_ldif(sys.stdin.read()):
            if changetype == ldb.CHANGETYPE_ADD:
                samdb.add(msg)
            elif changetype == ldb.CHANGETYPE_DELETE:
                samdb.delete(msg.dn)
            else:
                samdb.modify(msg)
            applied += 1
    except Exception:
        samdb.transaction_cancel()
        raise
    samdb.transaction_commit()
    print(json.dumps({'ok': True, 'applied': applied}))


if __name__ == '__main__':
    main()
