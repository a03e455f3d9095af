#!/usr/bin/env python3
"""Connection-level probes of the gateway's limits, as a client would meet them.

    conn_probe.py MODE PORT CERT_DIR [ARGS...]

CERT_DIR holds the docker CLI's ca.pem, cert.pem and key.pem. Each mode prints one line of
JSON and exits 0; what it measured is for the calling test to judge.

  silent-tcp MAX              TCP connect, send nothing: seconds until the server closes
  head-trickle MAX            TLS, a request head sent one byte every 0.25 s, never ending
  idle-after-request MAX      TLS, one keep-alive GET /_ping, then silence
  body-pause MAX              TLS, a POST whose body stops after 10 of 100 bytes
  connections N               TLS, N connections each answering GET /_ping, then one more;
                              then one of the N closed and another opened
  user-connections N          TLS, N connections each answering GET /_ping, then one more: its
                              first response; then one of the N closed and another opened
  handshakes N                N TLS handshakes in a row, each on a new connection: how many
                              completed
  hold-idle SIGNAL_FILE MAX   TLS, one keep-alive GET /_ping, then touch SIGNAL_FILE and wait
                              for the close; prints the wall-clock time of the close
  ping-twice READY_FILE GO_FILE MAX
                              TLS, GET /_ping, touch READY_FILE, wait for GO_FILE, GET /_ping
                              again on the same connection; prints both statuses
  raw-attach CONTAINER        TLS, attach to CONTAINER's stdin/stdout without Upgrade (the legacy
                              raw-stream 200), write a line, read the container's echo of it
  slow-reader PATH STALL CHUNK PAUSE
                              TLS, GET PATH, read nothing for STALL seconds after the head, then
                              CHUNK bytes every PAUSE seconds to the end; prints the status, the
                              byte count and the sha256 of the body
  no-reader PATH RCVBUF MAX   TLS with a small receive buffer, GET PATH and never read:
                              seconds until the server gives up on the connection
"""
import hashlib
import json
import os
import socket
import ssl
import sys
import time


def tls_context(cert_dir):
    ctx = ssl.create_default_context(cafile=os.path.join(cert_dir, "ca.pem"))
    ctx.load_cert_chain(os.path.join(cert_dir, "cert.pem"), os.path.join(cert_dir, "key.pem"))
    return ctx


def tls_connect(port, cert_dir, rcvbuf=None):
    raw = socket.create_connection(("127.0.0.1", port), timeout=30)
    if rcvbuf:
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    return tls_context(cert_dir).wrap_socket(raw, server_hostname="localhost")


def read_head(sock):
    """Reads one response head; returns (status, bytes after the head)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise EOFError("closed before a response head: %r" % data[:200])
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), head, rest


def ping(sock):
    sock.sendall(b"GET /_ping HTTP/1.1\r\nHost: docker\r\n\r\n")
    status, _, rest = read_head(sock)
    while len(rest) < 2:  # "OK"
        rest += sock.recv(64)
    return status


def hold_connections(port, cert_dir, n):
    """N keep-alive connections, each having answered GET /_ping."""
    held = []
    for _ in range(n):
        c = tls_connect(port, cert_dir)
        if ping(c) != 200:
            sys.exit("a held connection's GET /_ping was not answered 200")
        held.append(c)
    return held


def seconds_until_closed(sock, start, limit):
    """Reads and discards until EOF or a reset; the seconds since start, or None."""
    sock.settimeout(0.2)
    got = b""
    while time.monotonic() - start < limit:
        try:
            chunk = sock.recv(65536)
        except (socket.timeout, TimeoutError):
            continue
        except (ConnectionResetError, ssl.SSLError, BrokenPipeError):
            return time.monotonic() - start, got
        if not chunk:
            return time.monotonic() - start, got
        got += chunk
    return None, got


def report(**kw):
    print(json.dumps(kw))


def first_status(data):
    if data.startswith(b"HTTP/1."):
        return int(data.split(b" ")[1])
    return None


def main():
    mode, port, cert_dir = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    args = sys.argv[4:]
    if mode == "silent-tcp":
        s = socket.create_connection(("127.0.0.1", port), timeout=30)
        start = time.monotonic()
        closed, _ = seconds_until_closed(s, start, float(args[0]))
        report(closed_after=closed)
    elif mode == "head-trickle":
        s = tls_connect(port, cert_dir)
        head = b"GET /_ping HTTP/1.1\r\nHost: docker\r\nX-Slow: " + b"a" * 4096
        start = time.monotonic()
        s.settimeout(0.25)
        closed, got, sent = None, b"", 0
        while time.monotonic() - start < float(args[0]):
            try:
                s.sendall(head[sent:sent + 1])
                sent += 1
                chunk = s.recv(65536)
                if not chunk:
                    closed = time.monotonic() - start
                    break
                got += chunk
            except (socket.timeout, TimeoutError):
                continue
            except (ConnectionResetError, BrokenPipeError, ssl.SSLError):
                closed = time.monotonic() - start
                break
        report(closed_after=closed, bytes_sent=sent, status=first_status(got))
    elif mode == "idle-after-request":
        s = tls_connect(port, cert_dir)
        status = ping(s)
        start = time.monotonic()
        closed, got = seconds_until_closed(s, start, float(args[0]))
        report(ping=status, closed_after=closed, extra_bytes=len(got))
    elif mode == "body-pause":
        s = tls_connect(port, cert_dir)
        s.sendall(b"POST /v1.41/containers/create HTTP/1.1\r\nHost: docker\r\n"
                  b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"Image\":")
        start = time.monotonic()
        closed, got = seconds_until_closed(s, start, float(args[0]))
        report(closed_after=closed, status=first_status(got))
    elif mode == "connections":
        n = int(args[0])
        held = hold_connections(port, cert_dir, n)
        over = "answered"
        try:
            extra = tls_connect(port, cert_dir)
            ping(extra)
        except (OSError, EOFError, ssl.SSLError) as e:
            over = "refused: %s" % type(e).__name__
        held.pop().close()
        time.sleep(0.5)
        after = "answered"
        try:
            again = tls_connect(port, cert_dir)
            ping(again)
        except (OSError, EOFError, ssl.SSLError) as e:
            after = "refused: %s" % type(e).__name__
        report(held=n, over_limit=over, after_one_closed=after)
    elif mode == "user-connections":
        held = hold_connections(port, cert_dir, int(args[0]))
        extra = tls_connect(port, cert_dir)
        extra.sendall(b"GET /_ping HTTP/1.1\r\nHost: docker\r\n\r\n")
        status, head, rest = read_head(extra)
        retry = [line.split(b":", 1)[1].strip().decode() for line in head.split(b"\r\n")[1:]
                 if line.lower().startswith(b"retry-after:")]
        closed, body = seconds_until_closed(extra, time.monotonic(), 10)
        held.pop().close()
        time.sleep(0.5)
        again = tls_connect(port, cert_dir)
        report(over_status=status, retry_after=retry[0] if retry else None,
               message=(rest + body).decode(errors="replace"), over_closed=closed is not None,
               after_one_closed=ping(again))
    elif mode == "handshakes":
        done = 0
        for _ in range(int(args[0])):
            try:
                c = tls_connect(port, cert_dir)
                c.close()
                done += 1
            except (OSError, ssl.SSLError):
                pass
        report(completed=done)
    elif mode == "hold-idle":
        s = tls_connect(port, cert_dir)
        status = ping(s)
        with open(args[0], "w") as f:
            f.write("ready\n")
        closed, _ = seconds_until_closed(s, time.monotonic(), float(args[1]))
        report(ping=status, closed_at=time.time() if closed is not None else None)
    elif mode == "ping-twice":
        s = tls_connect(port, cert_dir)
        first = ping(s)
        with open(args[0], "w") as f:
            f.write("ready\n")
        start = time.monotonic()
        while not os.path.exists(args[1]) and time.monotonic() - start < float(args[2]):
            time.sleep(0.05)
        try:
            second = ping(s)
        except (OSError, EOFError, ssl.SSLError) as e:
            second = type(e).__name__
        report(first=first, second=second)
    elif mode == "raw-attach":
        s = tls_connect(port, cert_dir)
        s.sendall(("POST /v1.41/containers/%s/attach?stream=1&stdin=1&stdout=1 HTTP/1.1\r\n"
                   "Host: docker\r\nContent-Type: text/plain\r\n\r\n" % args[0]).encode())
        status, head, rest = read_head(s)
        ctype = [line.split(b":", 1)[1].strip().decode() for line in head.split(b"\r\n")[1:]
                 if line.lower().startswith(b"content-type:")]
        line = b"through the raw stream\n"
        s.sendall(line)
        s.settimeout(10)
        got = bytearray(rest)
        while line not in got:
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
        # stdout frames: 8-byte header (stream 1, 3 zero bytes, big-endian length), payload.
        payload, pos = b"", 0
        while pos + 8 <= len(got):
            n = int.from_bytes(got[pos + 4:pos + 8], "big")
            payload += bytes(got[pos + 8:pos + 8 + n])
            pos += 8 + n
        report(status=status, content_type=ctype[0] if ctype else None,
               echoed=payload.decode(errors="replace"))
    elif mode == "slow-reader":
        path, stall, chunk, pause = args[0], float(args[1]), int(args[2]), float(args[3])
        s = tls_connect(port, cert_dir)
        s.sendall(("GET %s HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\r\n" % path).encode())
        status, head, rest = read_head(s)
        time.sleep(stall)
        digest, size = hashlib.sha256(), 0
        chunked = b"transfer-encoding: chunked" in head.lower()
        body = bytearray(rest)
        s.settimeout(60)
        while True:
            time.sleep(pause)
            data = s.recv(chunk)
            if not data:
                break
            body += data
            if not chunked:
                digest.update(body)
                size += len(body)
                body.clear()
        if chunked:
            pos, plain = 0, bytearray()
            while True:
                nl = body.index(b"\r\n", pos)
                n = int(body[pos:nl].split(b";")[0], 16)
                if n == 0:
                    break
                plain += body[nl + 2:nl + 2 + n]
                pos = nl + 2 + n + 2
            digest.update(plain)
            size = len(plain)
        report(status=status, bytes=size, sha256=digest.hexdigest())
    elif mode == "no-reader":
        path, rcvbuf, limit = args[0], int(args[1]), float(args[2])
        s = tls_connect(port, cert_dir, rcvbuf=rcvbuf)
        s.sendall(("GET %s HTTP/1.1\r\nHost: docker\r\n\r\n" % path).encode())
        start = time.monotonic()
        # Never read; watch the server's end of the connection: it leaves ESTABLISHED (01)
        # when the gateway closes it (FIN_WAIT1 behind the unsent data, or gone after a reset).
        me = ":%04X" % s.getsockname()[1]
        server = ":%04X" % port
        gone = None
        while time.monotonic() - start < limit:
            time.sleep(0.25)
            with open("/proc/net/tcp") as f:
                rows = [line.split() for line in f.read().splitlines()[1:]]
            theirs = [r for r in rows if r[1].endswith(server) and r[2].endswith(me)]
            if not theirs or theirs[0][3] != "01":
                gone = time.monotonic() - start
                break
        report(dropped_after=gone)
    else:
        sys.exit("unknown mode " + mode)


if __name__ == "__main__":
    main()
