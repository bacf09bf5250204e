#!/usr/bin/env python3
"""resume.py: how much of a 1 GiB upload a client re-sends after a cut.

    python3 testing/bench/resume.py SERVER_BIN ROUNDS [COMMIT_BYTES]

Run by testing/bench/resume.sh, which builds the server. Each round creates
a 1 GiB tus upload on a fresh server (--upload_dir in a scratch directory,
--upload_commit_bytes COMMIT_BYTES, default the server's 8 MiB) and sends it
in one PATCH, and at a random point (seeded, 5-95% of the body) either
- "kill": the server gets SIGKILL, is started again on the same directory,
  and HEAD says where to resume; or
- "cut": the client closes its connection, and HEAD says where to resume.
The client then sends the rest from that offset, and the file on disk must
hash as the body does. Re-sent bytes are those the client had handed to its
socket beyond the resumed offset. Two parts of them never reached the
server's code, and are reported apart: the client's own send queue
(TIOCOUTQ) and the server socket's receive queue (/proc/net/tcp), read just
before the cut; what is left is what the server had read and not made
durable, to be compared with one commit interval.
"""
import fcntl
import hashlib
import os
import random
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import termios
import time

LENGTH = 1 << 30
PIECE = 1 << 20


def block(i):
    """The body's 1 MiB piece i: deterministic, not compressible."""
    seed = hashlib.sha256(b"%d" % i).digest()
    return (seed * (PIECE // len(seed)))[:PIECE]


def body_sha256():
    h = hashlib.sha256()
    for i in range(LENGTH // PIECE):
        h.update(block(i))
    return h.hexdigest()


class Server:
    def __init__(self, binary, directory, commit_bytes):
        self.binary, self.directory, self.commit_bytes = binary, directory, commit_bytes
        self.proc, self.port = None, None

    def start(self):
        args = [self.binary, "--port", str(self.port or 0), "--upload_dir", self.directory]
        if self.commit_bytes:
            args += ["--upload_commit_bytes", str(self.commit_bytes)]
        self.proc = subprocess.Popen(args, stderr=subprocess.PIPE, text=True)
        line = self.proc.stderr.readline()
        if "listening on http://127.0.0.1:" not in line:
            sys.exit("resume: the server did not start: " + line)
        self.port = int(line.split("127.0.0.1:")[1].split()[0])

    def stop(self, sig=signal.SIGTERM):
        self.proc.send_signal(sig)
        self.proc.wait()


def request(port, text):
    """One bodiless request on a fresh connection: (status, headers)."""
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(text.encode())
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    head = data.split(b"\r\n\r\n")[0].decode()
    lines = head.split("\r\n")
    headers = dict(l.split(": ", 1) for l in lines[1:] if ": " in l)
    return int(lines[0].split()[1]), headers


def unread(server_port, client_port):
    """Bytes the server's socket holds that the server has not read."""
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            local, remote = fields[1].split(":"), fields[2].split(":")
            if int(local[1], 16) == server_port and int(remote[1], 16) == client_port:
                return int(fields[4].split(":")[1], 16)
    return 0


def patch(port, path, offset, stop_at=None):
    """PATCHes the body from `offset`; with `stop_at`, stops once that many
    body bytes (counted from 0) were handed to the socket and returns
    (sent, unacknowledged, socket) without closing it."""
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(("PATCH %s HTTP/1.1\r\nHost: b\r\nTus-Resumable: 1.0.0\r\nUpload-Offset: %d\r\n"
               "Content-Type: application/offset+octet-stream\r\nContent-Length: %d\r\n\r\n"
               % (path, offset, LENGTH - offset)).encode())
    at = offset
    while at < LENGTH:
        i = at // PIECE
        piece = block(i)[at - i * PIECE:]
        if stop_at is not None and at + len(piece) > stop_at:
            piece = piece[:stop_at - at]
        s.sendall(piece)
        at += len(piece)
        if stop_at is not None and at >= stop_at:
            queued = struct.unpack("i", fcntl.ioctl(s, termios.TIOCOUTQ, b"\0\0\0\0"))[0]
            return at, queued + unread(port, s.getsockname()[1]), s
    reply = s.recv(65536).decode()
    s.close()
    return reply


def main():
    if len(sys.argv) < 3:
        sys.exit("usage: resume.py SERVER_BIN ROUNDS [COMMIT_BYTES]")
    binary, rounds = sys.argv[1], int(sys.argv[2])
    commit_bytes = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    interval = commit_bytes or 8 << 20
    want = body_sha256()
    rng = random.Random(24)
    print("%-5s %12s %12s %12s %16s %14s" % ("how", "cut at", "resumed at", "re-sent",
                                               "in socket queues", "rest/interval"))
    worst = {"kill": 0, "cut": 0}
    for r in range(rounds):
        for how in ("kill", "cut"):
            directory = tempfile.mkdtemp(prefix="resume-", dir=os.environ.get("TMPDIR", "/tmp"))
            server = Server(binary, directory, commit_bytes)
            server.start()
            status, headers = request(server.port, "POST /files/ HTTP/1.1\r\nHost: b\r\n"
                                      "Tus-Resumable: 1.0.0\r\nUpload-Length: %d\r\n"
                                      "Content-Length: 0\r\n\r\n" % LENGTH)
            path = headers["Location"]
            stop_at = rng.randrange(LENGTH // 20, LENGTH * 19 // 20)
            sent, queued, sock = patch(server.port, path, 0, stop_at)
            if how == "kill":
                server.stop(signal.SIGKILL)
                sock.close()
                server.start()
            else:
                sock.close()
            # The offset settles once the server has read what reached it.
            deadline = time.time() + 30
            while True:
                status, headers = request(server.port, "HEAD %s HTTP/1.1\r\nHost: b\r\n"
                                          "Tus-Resumable: 1.0.0\r\n\r\n" % path)
                offset = int(headers["Upload-Offset"])
                if how == "kill" or offset >= sent - queued or time.time() > deadline:
                    break
                time.sleep(0.05)
            resent = sent - offset
            worst[how] = max(worst[how], resent - queued)
            print("%-5s %12d %12d %12d %16d %14.2f" % (how, sent, offset, resent, queued,
                                                       (resent - queued) / interval))
            reply = patch(server.port, path, offset)
            if "204" not in reply.split("\r\n")[0]:
                sys.exit("resume: the resumed PATCH failed: " + reply.split("\r\n")[0])
            h = hashlib.sha256()
            with open(os.path.join(directory, path.rsplit("/", 1)[1] + ".bin"), "rb") as f:
                for chunk in iter(lambda: f.read(PIECE), b""):
                    h.update(chunk)
            if h.hexdigest() != want:
                sys.exit("resume: the stored upload differs from the body")
            server.stop()
            shutil.rmtree(directory)
    print("worst re-sent beyond the socket queues: kill %.2f, cut %.2f commit intervals "
          "(%d bytes); every stored upload hashed as the body"
          % (worst["kill"] / interval, worst["cut"] / interval, interval))


if __name__ == "__main__":
    main()
