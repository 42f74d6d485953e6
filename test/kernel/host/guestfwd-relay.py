#!/usr/bin/python3
# One guest TCP connection relayed to a host loopback port: QEMU's user-mode network starts this
# per connection for a `guestfwd=tcp:<addr>:<port>-cmd:…` rule, with the guest's connection on
# stdin/stdout/stderr (libslirp spawns it with the socket as fds 0–2).
# Usage: guestfwd-relay.py <host-port>      (the target is always 127.0.0.1)
# Half-closes are passed on (EOF from one side → shutdown(SHUT_WR) towards the other); the relay
# ends when both directions are closed, or after IDLE_S without traffic.
import os
import select
import socket
import sys

IDLE_S = 300


def main() -> int:
    # fd 2 is the guest's connection too: nothing may ever be written to it
    devnull = os.open('/dev/null', os.O_WRONLY)
    os.dup2(devnull, 2)
    port = int(sys.argv[1])
    guest = socket.socket(fileno=0)
    try:
        host = socket.create_connection(('127.0.0.1', port), timeout=10)
    except OSError:
        guest.close()
        return 1
    host.settimeout(None)
    peer = {guest: host, host: guest}
    open_reads = {guest, host}
    while open_reads:
        ready, _, _ = select.select(list(open_reads), [], [], IDLE_S)
        if not ready:
            break
        for s in ready:
            try:
                data = s.recv(65536)
            except OSError:
                data = b''
            if data:
                try:
                    peer[s].sendall(data)
                except OSError:
                    open_reads.clear()
                    break
            else:
                open_reads.discard(s)
                try:
                    peer[s].shutdown(socket.SHUT_WR)
                except OSError:
                    pass
    host.close()
    guest.close()
    return 0


if __name__ == '__main__':
    sys.exit(main())
