#!/usr/bin/env python3
"""Recording proxies on both sides of a running dockgate, for the replay check (check.py).

    client --plain TCP--> [client recorder] --mTLS--> dockgate --unix--> [upstream recorder] --> dockerd

- The client recorder listens on one 127.0.0.1 port per client identity (a docker CLI cert dir:
  cert.pem, key.pem, ca.pem). Each plain connection it accepts becomes one TLS connection to the
  gateway with that identity's certificate (the server verified against its ca.pem, as the
  docker CLI would). Its local port is the "peer" the gateway's audit line names, which is how
  check.py pairs a request with its audit record.
- The upstream recorder listens on a unix socket that replaces the daemon's in the gateway's
  config, and connects each connection to the real daemon socket: the gateway's forwarded
  requests and its own look-ups (User-Agent: dockgate) pass through it.

Both pipe bytes unchanged and at once, in both directions, and pass half-closes on the way the
docker CLI makes them (a TCP FIN, not a TLS close_notify: the CLI's CloseWrite on a hijacked TLS
stream shuts the TCP socket's write side). A copy of every chunk goes to an HttpObserver
(http_observer.py), which logs each exchange as one JSON line when it is over:
  client.jsonl    every request a client sent and the gateway's answer (bodies kept up to a cap)
  upstream.jsonl  every request the daemon received and its answer; the whole answer for the
                  gateway's look-ups, which are small JSON documents
Connection records ("type": "conn") close each connection's story: when it opened and closed,
the TLS port, whatever bytes never became a request, and any observer error.

Timestamps are time.monotonic() of this one process, taken when a chunk is read and before it
is forwarded, so causality holds across the two logs: a look-up the gateway made for a request
is always logged after that request's head and before the answer to it.

On start it writes ports.env ("NAME PORT" lines) into --log-dir; on SIGTERM or SIGINT it closes
what is open, logs it, and exits 0.

Test use only: while it runs, any local process that reaches a client port speaks to the
gateway as that client (the ports are on loopback and live as long as one test).
"""

import argparse
import asyncio
import faulthandler
import json
import os
import signal
import ssl
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from http_observer import HttpObserver  # noqa: E402

READ_SIZE = 65536
REQUEST_BODY_CAP = 16 << 20  # the gateway judges bodies of at most limits.body_bytes (1 MiB)
CLIENT_RESPONSE_CAP = 1 << 20  # refusals and local replies are small JSON documents
LOOKUP_RESPONSE_CAP = 16 << 20


class JsonLog:
    """One JSON object per line, flushed per line so that a killed recorder leaves whole lines."""

    def __init__(self, path):
        self.file = open(path, "a", encoding="utf-8")

    def write(self, obj):
        self.file.write(json.dumps(obj, separators=(",", ":")) + "\n")
        self.file.flush()


class Connection:
    """One proxied connection: its observer, its log lines and how it ends."""

    def __init__(self, recorder, log, body_cap, response_cap, **fields):
        recorder.next_conn += 1
        self.recorder = recorder
        self.id = recorder.next_conn
        self.log = log
        self.fields = dict(fields)
        self.t_open = time.monotonic()
        self.notes = []
        self.writers = []
        self.observer = HttpObserver(self._report, body_cap, response_cap)
        self.closed = False
        recorder.open.add(self)

    def _report(self, record):
        record.update({"type": "exchange", "conn": self.id}, **self.fields)
        self.log.write(record)

    def finish(self, why=None):
        """Logs the connection's end once (on normal close, or when the recorder stops)."""
        if self.closed:
            return
        self.closed = True
        self.recorder.open.discard(self)
        t = time.monotonic()
        trailing = self.observer.close(t)
        rec = {"type": "conn", "conn": self.id, "t_open": self.t_open, "t_close": t}
        rec.update(self.fields)
        if trailing:
            rec["trailing"] = trailing
        if self.observer.error:
            rec["observer_error"] = self.observer.error
        if why:
            self.notes.append(why)
        if self.notes:
            rec["notes"] = self.notes
        self.log.write(rec)
        for w in self.writers:
            w.close()


async def pump(read, observe, write, write_eof, conn, name):
    """Copies one direction until EOF, observing each chunk before it is forwarded; then passes
    the half-close on. After a failed write (the receiver went away) the bytes still arriving
    are observed and dropped rather than refused: the sender can finish and read its answer, as
    it could had the receiver merely stopped reading."""
    forwarding = True
    while True:
        try:
            data = await read()
        except (ConnectionError, OSError, ssl.SSLError) as e:
            conn.notes.append("%s: read failed: %s" % (name, e))
            data = b""
        if not data:
            break
        observe(data, time.monotonic())
        if forwarding:
            try:
                await write(data)
            except (ConnectionError, OSError, ssl.SSLError, RuntimeError) as e:
                conn.notes.append("%s: write failed: %s" % (name, e))
                forwarding = False
    if forwarding:
        try:
            await write_eof()
        except (ConnectionError, OSError, RuntimeError):
            pass


def plain_ends(writer):
    async def write(data):
        writer.write(data)
        await writer.drain()

    async def write_eof():
        if writer.can_write_eof() and not writer.is_closing():
            writer.write_eof()

    return write, write_eof


class TlsClient:
    """A TLS client over an asyncio TCP stream through memory BIOs: unlike asyncio's own TLS
    transport it can shut down the TCP write side while still reading (the CLI's half-close)."""

    def __init__(self, reader, writer, context, server_hostname):
        self.reader, self.writer = reader, writer
        self.incoming, self.outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.tls = context.wrap_bio(self.incoming, self.outgoing, server_hostname=server_hostname)
        self.done = False
        self.eof_sent = False

    async def flush(self):
        out = self.outgoing.read()
        # After our FIN nothing more can go out; what TLS still wants to say (a key update's
        # answer) is moot then, as it is for the docker CLI.
        if out and not self.eof_sent and not self.writer.is_closing():
            self.writer.write(out)
            await self.writer.drain()

    async def handshake(self):
        while True:
            try:
                self.tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                await self.flush()
                data = await self.reader.read(READ_SIZE)
                if not data:
                    raise ConnectionError("the gateway closed the connection during the handshake")
                self.incoming.write(data)
        await self.flush()

    async def read(self):
        """Decrypted bytes; b"" on close_notify or TCP EOF."""
        while not self.done:
            chunks = []
            try:
                while True:
                    chunk = self.tls.read(READ_SIZE)
                    if not chunk:  # close_notify (the ssl module reports it as b"")
                        self.done = True
                        break
                    chunks.append(chunk)
            except ssl.SSLWantReadError:
                pass
            except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
                self.done = True
            await self.flush()  # post-handshake messages (key updates) may want an answer
            data = b"".join(chunks)
            if data:
                return data
            if self.done:
                break
            raw = await self.reader.read(READ_SIZE)
            if raw:
                self.incoming.write(raw)
            else:
                self.incoming.write_eof()
        return b""

    async def write(self, data):
        if self.eof_sent:
            raise ConnectionError("write after our half-close")
        self.tls.write(data)
        await self.flush()

    async def write_eof(self):
        # As the docker CLI does it (tlsClientCon.CloseWrite): a TCP FIN without close_notify.
        self.eof_sent = True
        if not self.writer.is_closing():
            self.writer.write_eof()


class Recorder:
    def __init__(self, args):
        self.args = args
        self.next_conn = 0
        self.open = set()
        self.client_log = JsonLog(os.path.join(args.log_dir, "client.jsonl"))
        self.upstream_log = JsonLog(os.path.join(args.log_dir, "upstream.jsonl"))
        self.servers = []

    # -- the daemon's side ---------------------------------------------------------------------
    async def upstream_connection(self, g_reader, g_writer):
        def response_cap(ex):
            return LOOKUP_RESPONSE_CAP if ex.header("user-agent") == "dockgate" else 0

        conn = Connection(self, self.upstream_log, lambda ex: REQUEST_BODY_CAP,
                          response_cap)
        conn.writers.append(g_writer)
        try:
            try:
                d_reader, d_writer = await asyncio.open_unix_connection(self.args.daemon)
            except OSError as e:
                conn.notes.append("cannot reach the daemon at %s: %s" % (self.args.daemon, e))
                return
            conn.writers.append(d_writer)
            obs = conn.observer
            await asyncio.gather(
                pump(lambda: g_reader.read(READ_SIZE), obs.request_bytes, *plain_ends(d_writer),
                     conn, "gateway->daemon"),
                pump(lambda: d_reader.read(READ_SIZE), obs.response_bytes, *plain_ends(g_writer),
                     conn, "daemon->gateway"))
        except Exception as e:  # logged for check.py, which fails on it
            conn.notes.append("recorder error: %r" % e)
            traceback.print_exc()
        finally:
            conn.finish()

    # -- the clients' side ---------------------------------------------------------------------
    def client_handler(self, name, context):
        async def handle(c_reader, c_writer):
            conn = Connection(self, self.client_log, lambda ex: REQUEST_BODY_CAP,
                              lambda ex: CLIENT_RESPONSE_CAP, client=name, port=None)
            conn.writers.append(c_writer)
            try:
                await self.client_session(conn, c_reader, c_writer, context)
            except Exception as e:  # logged for check.py, which fails on it
                conn.notes.append("recorder error: %r" % e)
                traceback.print_exc()
            finally:
                conn.finish()

        return handle

    async def client_session(self, conn, c_reader, c_writer, context):
        try:
            g_reader, g_writer = await asyncio.open_connection("127.0.0.1", self.args.gateway_port)
        except OSError as e:
            conn.notes.append("cannot reach the gateway: %s" % e)
            return
        conn.writers.append(g_writer)
        conn.fields["port"] = g_writer.get_extra_info("sockname")[1]
        tls = TlsClient(g_reader, g_writer, context, self.args.server_name)
        try:
            await tls.handshake()
        except (ConnectionError, OSError, ssl.SSLError) as e:
            conn.notes.append("TLS handshake failed: %s" % e)
            return
        obs = conn.observer
        await asyncio.gather(
            pump(lambda: c_reader.read(READ_SIZE), obs.request_bytes, tls.write, tls.write_eof,
                 conn, "client->gateway"),
            pump(tls.read, obs.response_bytes, *plain_ends(c_writer), conn, "gateway->client"))

    def client_context(self, cert_dir):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        if cert_dir is None:  # "none": a client without a certificate
            ctx.load_verify_locations(self.args.ca)
        else:
            ctx.load_verify_locations(os.path.join(cert_dir, "ca.pem"))
            ctx.load_cert_chain(os.path.join(cert_dir, "cert.pem"), os.path.join(cert_dir, "key.pem"))
        return ctx

    async def run(self):
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        if os.path.exists(self.args.upstream_listen):
            os.unlink(self.args.upstream_listen)
        self.servers.append(await asyncio.start_unix_server(self.upstream_connection,
                                                            self.args.upstream_listen))
        ports = []
        for spec in self.args.client:
            name, _, cert_dir = spec.partition("=")
            handler = self.client_handler(name, self.client_context(cert_dir if cert_dir != "-" else None))
            server = await asyncio.start_server(handler, "127.0.0.1", 0)
            self.servers.append(server)
            ports.append("%s %d\n" % (name, server.sockets[0].getsockname()[1]))
        tmp = os.path.join(self.args.log_dir, "ports.env.tmp")
        with open(tmp, "w") as f:
            f.writelines(ports)
        os.rename(tmp, os.path.join(self.args.log_dir, "ports.env"))
        await stop.wait()
        for server in self.servers:
            server.close()
        for conn in list(self.open):
            conn.finish("still open when the recorder stopped")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--log-dir", required=True)
    p.add_argument("--upstream-listen", required=True, help="unix socket the gateway's config points at")
    p.add_argument("--daemon", required=True, help="the real daemon socket")
    p.add_argument("--gateway-port", type=int, required=True, help="the gateway's TLS port on 127.0.0.1")
    p.add_argument("--server-name", default="localhost", help="the name the server certificate must carry")
    p.add_argument("--ca", required=True, help="CA bundle to verify the gateway with for the client 'none'")
    p.add_argument("--client", action="append", default=[],
                   help="NAME=CERT_DIR (a docker CLI cert dir), or NAME=- for no client certificate")
    args = p.parse_args()
    faulthandler.register(signal.SIGUSR1)  # a stack dump on demand, should it ever hang
    asyncio.run(Recorder(args).run())


if __name__ == "__main__":
    main()
