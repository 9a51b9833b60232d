#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
#
# A minimal systemd-style socket activation launcher for the tests:
#
#   socket-activate.py unix:PATH|tcp:HOST:PORT [...] -- COMMAND ARGS...
#
# opens each listening socket, puts them on fds 3, 4, ..., sets
# LISTEN_FDS and LISTEN_PID (our own pid, which exec keeps) and execs
# COMMAND.  A socket given as tcp:HOST:0 gets a free port; the ports
# chosen are written, one per line, to $SOCKET_ACTIVATE_PORTS if set.
import os
import socket
import sys

argv = sys.argv[1:]
if "--" not in argv:
    sys.exit("usage: socket-activate.py ADDR... -- COMMAND ARGS...")
sep = argv.index("--")
addrs, cmd = argv[:sep], argv[sep + 1:]
if not addrs or not cmd:
    sys.exit("usage: socket-activate.py ADDR... -- COMMAND ARGS...")

socks, ports = [], []
for a in addrs:
    if a.startswith("unix:"):
        path = a[5:]
        if os.path.exists(path):
            os.unlink(path)
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(path)
    elif a.startswith("tcp:"):
        host, port = a[4:].rsplit(":", 1)
        host = host.strip("[]")
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((host, int(port)))
        ports.append(str(s.getsockname()[1]))
    else:
        sys.exit("socket-activate.py: bad address " + a)
    s.listen(16)
    socks.append(s)

# Move the sockets to 3, 4, ... (dup first so none is overwritten).
tmp = [os.dup(s.fileno()) for s in socks]
for s in socks:
    s.close()
for i, fd in enumerate(tmp):
    os.dup2(fd, 3 + i, inheritable=True)
for fd in tmp:
    if fd >= 3 + len(tmp):
        os.close(fd)

if os.environ.get("SOCKET_ACTIVATE_PORTS"):
    with open(os.environ["SOCKET_ACTIVATE_PORTS"], "w") as f:
        f.write("".join(p + "\n" for p in ports))

env = dict(os.environ)
env["LISTEN_FDS"] = str(len(socks))
env["LISTEN_PID"] = str(os.getpid())
os.execvpe(cmd[0], cmd, env)
