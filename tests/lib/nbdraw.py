# SPDX-License-Identifier: BSD-3-Clause
#
# A tiny raw NBD client for tests that must send what libnbd will not
# (options it has no call for, malformed or oversized data, STARTTLS at
# odd moments, requests nobody reads the replies to) and check the
# server's answers byte for byte.  Written from the NBD protocol
# specification; blocking sockets, with a timeout unless told otherwise.
#
# The one raw handshake of the tests:
#
#   c = connect(path)                        # NBD_OPT_GO, export ""
#   c = connect(path, opt=OPT_EXPORT_NAME)   # the old way in
#   c.request(CMD_READ, 0, 512); c.simple_reply(512)
#
# and for tests that stop half way, Raw(path).greet() and Raw.opt().
# c.s is the socket, for select() or non-blocking use.
import socket
import ssl
import struct

NBD_MAGIC = 0x4E42444D41474943
OPTS_MAGIC = 0x49484156454F5054
REP_MAGIC = 0x0003E889045565A9
REQUEST_MAGIC = 0x25609513
SIMPLE_MAGIC = 0x67446698
STRUCTURED_MAGIC = 0x668E33EF

OPT_EXPORT_NAME = 1
OPT_ABORT = 2
OPT_LIST = 3
OPT_STARTTLS = 5
OPT_INFO = 6
OPT_GO = 7
OPT_STRUCTURED_REPLY = 8
OPT_LIST_META_CONTEXT = 9
OPT_SET_META_CONTEXT = 10

REP_ACK = 1
REP_SERVER = 2
REP_INFO = 3
REP_META_CONTEXT = 4
REP_ERR_UNSUP = 2**31 + 1
REP_ERR_POLICY = 2**31 + 2
REP_ERR_INVALID = 2**31 + 3
REP_ERR_PLATFORM = 2**31 + 4
REP_ERR_TLS_REQD = 2**31 + 5
REP_ERR_UNKNOWN = 2**31 + 6

FLAG_FIXED_NEWSTYLE = 1 << 0       # handshake flags, both ways
FLAG_NO_ZEROES = 1 << 1

INFO_EXPORT = 0
INFO_NAME = 1
INFO_DESCRIPTION = 2
INFO_BLOCK_SIZE = 3

CMD_READ = 0
CMD_WRITE = 1
CMD_DISC = 2
CMD_FLUSH = 3
CMD_TRIM = 4
CMD_CACHE = 5
CMD_WRITE_ZEROES = 6
CMD_BLOCK_STATUS = 7

FLAG_FUA = 1 << 0
FLAG_NO_HOLE = 1 << 1
FLAG_DF = 1 << 2
FLAG_REQ_ONE = 1 << 3
FLAG_FAST_ZERO = 1 << 4

REPLY_TYPE_NONE = 0
REPLY_TYPE_OFFSET_DATA = 1
REPLY_TYPE_OFFSET_HOLE = 2
REPLY_TYPE_BLOCK_STATUS = 5
REPLY_TYPE_ERROR = 2**15 + 1

EPERM, EIO, EINVAL, ENOSPC, ENOTSUP, ESHUTDOWN = 1, 5, 22, 28, 95, 108


class Closed(Exception):
    """The server closed the connection."""


class Raw:
    """One connection, in the handshake or transmission phase."""

    def __init__(self, path=None, sock=None, timeout=20, rcvbuf=None):
        """Connect to the Unix socket path (or take sock).  timeout:
        seconds for each socket operation, None to block.  rcvbuf:
        SO_RCVBUF, small for a client that should stop reading early."""
        if sock is None:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            if rcvbuf is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
            sock.settimeout(timeout)
            sock.connect(path)
        self.s = sock
        self.gflags = None
        self.cflags = None
        self.size = None            # set on entering transmission
        self.eflags = None

    # Bytes.
    def recv(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.s.recv(n - len(buf))
            if not chunk:
                raise Closed("server closed after %d of %d bytes"
                             % (len(buf), n))
            buf += chunk
        return buf

    def send(self, data):
        self.s.sendall(data)

    def closed(self):
        """True if the server has closed (EOF, or a reset)."""
        try:
            return self.s.recv(1) == b""
        except (ConnectionResetError, BrokenPipeError):
            return True

    # Handshake.
    def greet(self, cflags=3):
        magic, opts, gflags = struct.unpack(">QQH", self.recv(18))
        assert magic == NBD_MAGIC and opts == OPTS_MAGIC, (magic, opts)
        self.gflags = gflags
        self.cflags = cflags
        self.send(struct.pack(">I", cflags))
        return gflags

    def send_opt(self, opt, data=b"", length=None):
        n = len(data) if length is None else length
        self.send(struct.pack(">QII", OPTS_MAGIC, opt, n) + data)

    def reply(self):
        """One option reply: (option, type, data)."""
        magic, opt, rtype, n = struct.unpack(">QIII", self.recv(20))
        assert magic == REP_MAGIC, hex(magic)
        return opt, rtype, self.recv(n)

    def opt(self, opt, data=b""):
        """Send an option; return all its replies up to the final one
        (ACK or an error) as (type, data) pairs."""
        self.send_opt(opt, data)
        out = []
        while True:
            o, rtype, d = self.reply()
            assert o == opt, (o, opt)
            out.append((rtype, d))
            if rtype == REP_ACK or rtype >= 2**31:
                return out

    def export_name(self, name=b""):
        """NBD_OPT_EXPORT_NAME: enter transmission (a server that
        refuses hangs up: Closed); return (size, eflags)."""
        self.send_opt(OPT_EXPORT_NAME, name)
        self.size, self.eflags = struct.unpack(">QH", self.recv(10))
        if not self.gflags & self.cflags & FLAG_NO_ZEROES:
            self.recv(124)
        return self.size, self.eflags

    def starttls(self, cafile, hostname="localhost"):
        r = self.opt(OPT_STARTTLS)
        assert r == [(REP_ACK, b"")], r
        ctx = ssl.create_default_context(cafile=cafile)
        ctx.check_hostname = True
        self.s = ctx.wrap_socket(self.s, server_hostname=hostname)

    def go(self, name=b"", infos=(), opt=OPT_GO):
        data = struct.pack(">I", len(name)) + name + \
            struct.pack(">H", len(infos)) + \
            b"".join(struct.pack(">H", i) for i in infos)
        return self.opt(opt, data)

    @staticmethod
    def meta_data(name=b"", queries=()):
        return struct.pack(">I", len(name)) + name + \
            struct.pack(">I", len(queries)) + \
            b"".join(struct.pack(">I", len(q)) + q for q in queries)

    @staticmethod
    def export_info(replies):
        """(size, eflags) from NBD_INFO_EXPORT among GO replies."""
        for rtype, d in replies:
            if rtype == REP_INFO and struct.unpack(">H", d[:2])[0] == 0:
                return struct.unpack(">QH", d[2:])
        raise AssertionError("no NBD_INFO_EXPORT in %r" % (replies,))

    # Transmission.
    def request(self, cmd, offset=0, count=0, flags=0, cookie=1,
                payload=b""):
        self.send(struct.pack(">IHHQQI", REQUEST_MAGIC, flags, cmd, cookie,
                              offset, count) + payload)

    def simple_reply(self, datalen=0):
        magic, err, cookie = struct.unpack(">IIQ", self.recv(16))
        assert magic == SIMPLE_MAGIC, hex(magic)
        data = self.recv(datalen) if err == 0 and datalen else b""
        return err, cookie, data

    def any_reply(self, datalen=0):
        """Whatever comes next: ("simple", err, cookie, data) or
        ("chunk", flags, type, cookie, payload)."""
        magic = struct.unpack(">I", self.recv(4))[0]
        if magic == SIMPLE_MAGIC:
            err, cookie = struct.unpack(">IQ", self.recv(12))
            data = self.recv(datalen) if err == 0 and datalen else b""
            return ("simple", err, cookie, data)
        assert magic == STRUCTURED_MAGIC, hex(magic)
        flags, rtype, cookie, n = struct.unpack(">HHQI", self.recv(16))
        return ("chunk", flags, rtype, cookie, self.recv(n))

    def chunks(self):
        """All chunks of one structured reply: [(flags, type, cookie,
        payload)], the last one with NBD_REPLY_FLAG_DONE."""
        out = []
        while True:
            r = self.any_reply()
            assert r[0] == "chunk", r
            out.append(r[1:])
            if r[1] & 1:
                return out


def connect(path, name=b"", opt=OPT_GO,
            cflags=FLAG_FIXED_NEWSTYLE | FLAG_NO_ZEROES, timeout=20,
            rcvbuf=None):
    """A raw client in the transmission phase on the Unix socket path:
    greeting, client flags cflags, then export name entered with opt,
    NBD_OPT_GO (which must succeed) or NBD_OPT_EXPORT_NAME.  No other
    option is sent, so replies are simple.  Returns the Raw, with size
    and eflags set; timeout and rcvbuf as for Raw."""
    c = Raw(path, timeout=timeout, rcvbuf=rcvbuf)
    c.greet(cflags)
    if opt == OPT_EXPORT_NAME:
        c.export_name(name)
    elif opt == OPT_GO:
        r = c.go(name)
        assert r[-1] == (REP_ACK, b""), r
        c.size, c.eflags = Raw.export_info(r)
    else:
        raise ValueError("connect: opt %d enters no export" % opt)
    return c
