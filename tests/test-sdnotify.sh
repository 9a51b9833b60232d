#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# systemd's readiness protocol (Type=notify): with NOTIFY_SOCKET set,
# the server sends STATUS while the plugin starts, READY=1 once (and
# only once) its socket accepts clients, and STOPPING=1 on SIGTERM; a
# plugin that cannot start gets a STATUS saying so and never READY=1.
# The variable is not passed on to --run commands.  A receiver owned
# by the test stands in for systemd, with a path and an abstract
# socket.
source "$(dirname "$0")/lib/functions.sh"
set -e
set -x

requires_nbd_python

d=$(tmpdir)
failconfig=$(test_plugin failconfig)
test -f "$failconfig"

/usr/bin/python3 - "$NBDBROKER" "$d" "$failconfig" "$slow" <<'PY'
import os
import signal
import socket
import subprocess
import sys
import time

import nbd

broker, d, failconfig, slow = sys.argv[1], sys.argv[2], sys.argv[3], \
    int(sys.argv[4])
limit = 30 * slow


def receiver(name):
    """A datagram socket like systemd's; name is a path or @abstract."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind("\0" + name[1:] if name.startswith("@") else name)
    s.settimeout(1)
    return s


def start(name, args, log):
    env = dict(os.environ, NOTIFY_SOCKET=name)
    return subprocess.Popen([broker, "-f"] + args, env=env,
                            stderr=open(log, "w"))


def messages(s, p, until):
    """Yield each message as a dict until until(msg) or p exits."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            data = s.recv(4096).decode()
        except socket.timeout:
            if p.poll() is not None:
                return
            continue
        print("notify:", repr(data))
        msg = dict(line.split("=", 1) for line in data.split("\n"))
        yield msg
        if until(msg):
            return
    sys.exit("no expected message within %d s" % limit)


# Serving: STATUS first, then READY=1 when the socket already listens.
sock = d + "/sock"
name = d + "/notify"
s = receiver(name)
p = start(name, ["-U", sock, "memory", "size=1M"], d + "/serve.log")
seen = list(messages(s, p, lambda m: "READY" in m))
assert seen and seen[-1].get("READY") == "1", seen
# Freeze the server where it said READY=1: the socket must already be
# listening (the kernel queues a connection to a stopped listener).
os.kill(p.pid, signal.SIGSTOP)
c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
c.connect(sock)
c.close()
os.kill(p.pid, signal.SIGCONT)
assert seen[-1]["STATUS"].startswith("serving memory on nbd+unix:///"), seen
assert any(m.get("STATUS") == "starting plugin memory" for m in seen), seen
h = nbd.NBD()
h.connect_unix(sock)
assert h.get_size() == 1 << 20
h.shutdown()

# SIGTERM: STOPPING=1 (and no second READY=1), then a clean exit.
p.send_signal(signal.SIGTERM)
rest = list(messages(s, p, lambda m: "STOPPING" in m))
assert rest and rest[-1].get("STOPPING") == "1", rest
assert rest[-1]["STATUS"].startswith("shutting down"), rest
assert not any("READY" in m for m in rest), rest
assert p.wait(limit) == 0
s.close()

# A plugin that cannot start: a STATUS that says so, never READY=1.
name = "@nbdbroker-test-%d" % os.getpid()
s = receiver(name)
p = start(name, ["-U", d + "/fail", failconfig, "fail-at=get_ready"],
          d + "/fail.log")
seen = list(messages(s, p, lambda m: False))
assert p.wait(limit) != 0
assert not any("READY" in m for m in seen), seen
assert any("did not start" in m.get("STATUS", "") and
           "failing in get_ready" in m.get("STATUS", "")
           for m in seen), seen
s.close()

# --run: the command does not inherit NOTIFY_SOCKET; READY=1 still comes.
name = d + "/notify-run"
s = receiver(name)
p = start(name, ["-U", d + "/run", "memory", "size=1M", "--run",
                 'printf %s "${NOTIFY_SOCKET-unset}" > ' + d + "/env"],
          d + "/run.log")
seen = list(messages(s, p, lambda m: "READY" in m))
assert seen and seen[-1].get("READY") == "1", seen
assert p.wait(limit) == 0
assert open(d + "/env").read() == "unset"
print("ok")
PY
