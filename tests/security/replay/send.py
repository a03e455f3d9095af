#!/usr/bin/env python3
"""send.py PORT: write stdin's bytes to 127.0.0.1:PORT (a client recorder port), then copy
whatever comes back to stdout until the peer closes.

It stands in for `openssl s_client -quiet` in lib.sh's raw_request_file when the replay
recorder is in the path (the recorder makes the TLS connection). Like s_client -quiet, it does
not half-close after its input ends: the gateway sees exactly what it would see from s_client.
The caller's `timeout` bounds it (exit 124: the server did not close). Exit 0 once the peer
closed, 1 when it could not connect.
"""

import socket
import sys


def main():
    port = int(sys.argv[1])
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
    except OSError as e:
        print("send.py: cannot connect to 127.0.0.1:%d: %s" % (port, e), file=sys.stderr)
        return 1
    s.settimeout(None)
    data = sys.stdin.buffer.read()
    try:
        s.sendall(data)
    except OSError as e:
        # The gateway may answer and close before it read everything (a 413): read the answer.
        print("send.py: send stopped: %s" % e, file=sys.stderr)
    out = sys.stdout.buffer
    while True:
        try:
            chunk = s.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        out.write(chunk)
        out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
