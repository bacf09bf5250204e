"""h11_verdict.py: h11's verdict on each case, in the format of verdict.h.

Reads cases from the file named on the command line (each a 4-byte big-endian
length, then the bytes a client sends) and prints one line per case:
  <complete|incomplete|rejected> <requests completed> <first framing> [(reason)]
where the framing is "-" (no head), "none", "cl:<length>" or "chunked".

h11 is a server here: after each request it answers with an empty 200, as the
epollhttp codec does, so pipelined requests are counted; nothing after a
request that closes the connection is read. Run with Debian's python3
(python3-h11 0.14).
"""
import struct
import sys

import h11


def framing_of(request):
    te = cl = None
    for name, value in request.headers:
        if name == b"transfer-encoding":
            te = value
        elif name == b"content-length":
            cl = value
    if te is not None:
        return "chunked"
    if cl is not None:
        return "cl:%d" % int(cl)
    return "none"


def verdict(data):
    conn = h11.Connection(h11.SERVER)
    messages = 0
    framing = "-"
    try:
        if data:  # h11 takes b"" as the end of the stream, which no case sends.
            conn.receive_data(data)
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                buffered, _ = conn.trailing_data
                idle = conn.their_state is h11.IDLE and not buffered
                return ("complete" if idle else "incomplete"), messages, framing, ""
            if isinstance(event, h11.ConnectionClosed):
                return "complete", messages, framing, ""
            if event is h11.PAUSED:
                # A protocol switch (CONNECT, Upgrade): h11 hands the rest of
                # the bytes to the application.
                return "complete", messages, framing, "switched protocols"
            if isinstance(event, h11.Request) and framing == "-":
                framing = framing_of(event)
            elif isinstance(event, h11.EndOfMessage):
                messages += 1
                conn.send(h11.Response(status_code=200, headers=[("Content-Length", "0")]))
                conn.send(h11.EndOfMessage())
                if conn.our_state is h11.MUST_CLOSE:
                    return "complete", messages, framing, ""
                conn.start_next_cycle()
    except h11.RemoteProtocolError as error:
        return "rejected", messages, framing, str(error).replace("\n", " ")


def main():
    with open(sys.argv[1], "rb") as cases:
        blob = cases.read()
    out = []
    at = 0
    while at < len(blob):
        (size,) = struct.unpack(">I", blob[at:at + 4])
        data = blob[at + 4:at + 4 + size]
        at += 4 + size
        outcome, messages, framing, reason = verdict(data)
        line = "%s %d %s" % (outcome, messages, framing)
        if reason:
            line += " (%s)" % reason
        out.append(line)
    sys.stdout.write("\n".join(out) + ("\n" if out else ""))


if __name__ == "__main__":
    main()
