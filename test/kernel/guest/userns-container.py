#!/usr/bin/python3
"""A minimal container for the user-namespace tests (integration tests and the QEMU proof).

Run as root. Forks a child that unshares a user and a mount namespace; the parent (still root in
the init user namespace) writes the child's uid_map and gid_map (user_namespaces(7): a writer in
the parent namespace with CAP_SETUID/CAP_SETGID there may map any host ids), then the child makes
its mounts private, mounts a tmpfs on each --tmpfs directory (its own /tmp, its own ccache
directory), bind-mounts --passwd over /etc/passwd when given, becomes --uid/--gid *inside* the
namespace and execs the command. Prints "pid <child pid>" on stdout once the command runs, then
waits for it.

  userns-container.py --uid-map "0 100000 65536" --gid-map "0 100000 65536" \
      --uid 2002 --gid 100 [--tmpfs DIR]... [--passwd FILE] [--copy SRC=DEST]... -- CMD...

The tmpfs directories are sticky and world-writable, owned by the namespace's root. --copy
copies a host file (readable by the namespace's user) to DEST, mode 0600, as that user once it
has become it, so the copy is owned by its host ids. Without --uid-map the namespace gets no map
at all: the process is "nobody" inside, and every host id is unmapped there.
"""
import argparse
import ctypes
import os
import sys

CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
MS_REC = 0x4000
MS_PRIVATE = 1 << 18
MS_BIND = 4096

libc = ctypes.CDLL(None, use_errno=True)
libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]


def check(rc, what):
    if rc != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def mount(source, target, fstype, flags, data=None):
    check(libc.mount(source.encode() if source else None, target.encode(),
                     fstype.encode() if fstype else None, flags, data.encode() if data else None),
          f"mount {target}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--uid-map")
    ap.add_argument("--gid-map")
    ap.add_argument("--uid", type=int, required=True)
    ap.add_argument("--gid", type=int, required=True)
    ap.add_argument("--tmpfs", action="append", default=[])
    ap.add_argument("--passwd")
    ap.add_argument("--copy", action="append", default=[], metavar="SRC=DEST")
    ap.add_argument("command", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    command = a.command[1:] if a.command[:1] == ["--"] else a.command
    if not command:
        ap.error("no command")

    to_parent_r, to_parent_w = os.pipe()
    to_child_r, to_child_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(to_parent_r)
        os.close(to_child_w)
        try:
            check(libc.unshare(CLONE_NEWUSER | CLONE_NEWNS), "unshare")
            os.write(to_parent_w, b"u")
            if os.read(to_child_r, 1) != b"m":
                raise RuntimeError("parent could not write the maps")
            mount(None, "/", None, MS_REC | MS_PRIVATE)
            for directory in a.tmpfs:
                os.makedirs(directory, exist_ok=True)
                # root of the namespace owns it, sticky and world-writable like /tmp
                mount("ctmp", directory, "tmpfs", 0, "mode=1777,size=16m" + (",uid=0,gid=0" if a.uid_map is not None else ""))
            if a.passwd:
                mount(a.passwd, "/etc/passwd", None, MS_BIND)
            if a.uid_map is not None:
                os.setgroups([])
                os.setresgid(a.gid, a.gid, a.gid)
                os.setresuid(a.uid, a.uid, a.uid)
            for spec in a.copy:
                # as the namespace's user: its files are owned by its host ids
                source, dest = spec.split("=", 1)
                with open(source, "rb") as src:
                    data = src.read()
                fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
                os.write(fd, data)
                os.close(fd)
            os.write(to_parent_w, b"r")
            os.close(to_parent_w)
            os.execvp(command[0], command)
        except BaseException as e:  # report and die: the parent prints the failure
            os.write(to_parent_w, b"!" + str(e).encode()[:400])
            os._exit(127)
    os.close(to_parent_w)
    os.close(to_child_r)
    if os.read(to_parent_r, 1) != b"u":
        print("error: child failed before unshare", file=sys.stderr)
        sys.exit(1)
    if a.uid_map is not None:
        with open(f"/proc/{pid}/uid_map", "w") as f:
            f.write(a.uid_map.replace("|", "\n") + "\n")
        with open(f"/proc/{pid}/gid_map", "w") as f:
            f.write((a.gid_map or a.uid_map).replace("|", "\n") + "\n")
    os.write(to_child_w, b"m")
    status = os.read(to_parent_r, 512)
    if status[:1] != b"r":
        print(f"error: container setup failed: {status[1:].decode(errors='replace')}", file=sys.stderr)
        os.waitpid(pid, 0)
        sys.exit(1)
    print(f"pid {pid}", flush=True)
    _, st = os.waitpid(pid, 0)
    sys.exit(os.waitstatus_to_exitcode(st) if hasattr(os, "waitstatus_to_exitcode") else 0)


if __name__ == "__main__":
    main()
