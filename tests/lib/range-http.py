# SPDX-License-Identifier: BSD-3-Clause
#
# A small HTTP server with byte-range requests (which Python's
# http.server lacks and nbdkit's curl plugin needs), for
# test-nbdkit-plugins-all.sh:
#
#   range-http.py DIR PORT
#
# serves the files in DIR on 127.0.0.1:PORT, read-only.
import http.server
import os
import re
import sys


class Handler(http.server.SimpleHTTPRequestHandler):
    def send_head(self):
        try:
            f = open(self.translate_path(self.path), "rb")
        except OSError:
            self.send_error(404)
            return None
        size = os.fstat(f.fileno()).st_size
        m = re.match(r"bytes=(\d+)-(\d*)$", self.headers.get("Range", ""))
        if m:
            first = int(m.group(1))
            last = size - 1
            if m.group(2):
                last = min(int(m.group(2)), size - 1)
            self.send_response(206)
            self.send_header("Content-Range",
                             "bytes %d-%d/%d" % (first, last, size))
            f.seek(first)
            self.left = last - first + 1
        else:
            self.send_response(200)
            self.left = size
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(self.left))
        self.end_headers()
        return f

    def copyfile(self, src, dst):
        while self.left > 0:
            b = src.read(min(self.left, 65536))
            if not b:
                break
            dst.write(b)
            self.left -= len(b)

    def log_message(self, *args):
        pass


os.chdir(sys.argv[1])
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[2])),
                                Handler).serve_forever()
