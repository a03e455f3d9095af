"""A passive HTTP/1.1 observer for the replay recorders (recorder.py).

The recorders pipe bytes between two peers unchanged and hand a copy of each chunk to an
HttpObserver, which cuts the two byte streams into exchanges (request i <-> response i) and
reports each one when it is over. The observer never influences what is forwarded: if it cannot
make sense of a stream it says so (`error`) and stops looking, and the pipe carries on.

What it follows, because the gateway and the daemon do:
  - keep-alive and pipelining: several exchanges per connection, answered in order;
  - request and response bodies framed by Content-Length or chunked (de-chunked here), and
    responses that run until the connection closes;
  - 1xx interim responses; responses to HEAD and 204/304 carry no body;
  - upgrades (attach, exec, BuildKit's session): after a request that asks to upgrade, request
    bytes are held back until its response says what they are. A 101 (or a response that runs
    until close, the legacy raw-stream hijack) turns the connection into an opaque two-way
    stream and the observer stops parsing it; any other answer resumes parsing.

Bodies are not buffered whole: a BodySink counts and hashes every byte and keeps a copy only up
to a cap chosen per exchange (events and `logs -f` streams go through without being stored).
"""

import base64
import hashlib

HEAD_MAX = 1 << 20  # a head that has not ended within this many bytes is not HTTP we can follow


class ObserverError(Exception):
    """The stream is not HTTP/1.1 the observer can follow any further."""


class BodySink:
    """Length and SHA-256 of every byte of a body, and the bytes themselves up to `cap`."""

    def __init__(self, cap):
        self.cap = cap
        self.length = 0
        self.sha = hashlib.sha256()
        self.kept = bytearray()

    def add(self, data):
        self.length += len(data)
        self.sha.update(data)
        if len(self.kept) < self.cap:
            self.kept += data[: self.cap - len(self.kept)]

    @property
    def whole(self):
        """True when `kept` holds the entire body."""
        return len(self.kept) == self.length

    def record(self, complete):
        out = {"len": self.length, "sha256": self.sha.hexdigest(), "complete": complete}
        if self.whole:
            out["b64"] = base64.b64encode(bytes(self.kept)).decode("ascii")
        return out


class LengthDecoder:
    def __init__(self, length):
        self.left = length

    def feed(self, buf, sink):
        """Consumes what belongs to the body; returns (bytes consumed, body complete)."""
        take = min(self.left, len(buf))
        if take:
            sink.add(bytes(buf[:take]))
        self.left -= take
        return take, self.left == 0


class ChunkedDecoder:
    """Transfer-Encoding: chunked, de-chunked into the sink (trailers are skipped)."""

    def __init__(self):
        self.state = "size"
        self.left = 0

    def feed(self, buf, sink):
        pos = 0
        while True:
            if self.state == "size":
                nl = buf.find(b"\r\n", pos)
                if nl < 0:
                    if len(buf) - pos > 4096:
                        raise ObserverError("chunk-size line longer than 4096 bytes")
                    return pos, False
                text = bytes(buf[pos:nl]).split(b";", 1)[0].strip()
                try:
                    size = int(text, 16)
                except ValueError:
                    raise ObserverError("invalid chunk size %r" % text[:40]) from None
                if size < 0:
                    raise ObserverError("negative chunk size")
                pos = nl + 2
                if size == 0:
                    self.state = "trailer"
                else:
                    self.left = size
                    self.state = "data"
            elif self.state == "data":
                take = min(self.left, len(buf) - pos)
                if take:
                    sink.add(bytes(buf[pos:pos + take]))
                pos += take
                self.left -= take
                if self.left:
                    return pos, False
                self.state = "data-crlf"
            elif self.state == "data-crlf":
                if len(buf) - pos < 2:
                    return pos, False
                if buf[pos:pos + 2] != b"\r\n":
                    raise ObserverError("chunk data not followed by CRLF")
                pos += 2
                self.state = "size"
            else:  # trailer fields, up to the empty line
                nl = buf.find(b"\r\n", pos)
                if nl < 0:
                    return pos, False
                if nl == pos:
                    return pos + 2, True
                pos = nl + 2


class UntilCloseDecoder:
    """A response body that ends when the connection does."""

    def feed(self, buf, sink):
        if buf:
            sink.add(bytes(buf))
        return len(buf), False


def parse_head(head):
    """(first line fields, [(lower-case name, value)]) of a head without its final CRLFCRLF.
    Text is decoded as Latin-1 so that every byte survives a JSON round trip."""
    lines = head.split(b"\r\n")
    first = lines[0].decode("latin-1").split(" ", 2)
    headers = []
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        headers.append((name.strip().decode("latin-1").lower(), value.strip().decode("latin-1")))
    return first, headers


def header_values(headers, name):
    return [v for n, v in headers if n == name]


def tokens(headers, name):
    out = []
    for v in header_values(headers, name):
        out += [t.strip().lower() for t in v.split(",") if t.strip()]
    return out


def body_decoder(headers):
    """The framing of a message body from its headers: (name, decoder or None for no body)."""
    te = tokens(headers, "transfer-encoding")
    if te:
        if te[-1] != "chunked":
            raise ObserverError("Transfer-Encoding %r is not chunked" % ",".join(te))
        return "chunked", ChunkedDecoder()
    cl = header_values(headers, "content-length")
    if cl:
        try:
            length = int(cl[0])
        except ValueError:
            raise ObserverError("invalid Content-Length %r" % cl[0][:40]) from None
        if length < 0:
            raise ObserverError("negative Content-Length")
        return "length", (LengthDecoder(length) if length else None)
    return "none", None


class Exchange:
    """One request and its response, as seen on one connection."""

    def __init__(self, index):
        self.index = index
        self.t_first = self.t_head = self.t_req_end = None
        self.method = self.target = None
        self.headers = []
        self.framing = "none"
        self.req_body = None
        self.wants_upgrade = False
        self.req_complete = False
        self.t_resp_head = self.t_resp_end = None
        self.status = None
        self.interim = []
        self.resp_headers = []
        self.resp_body = None
        self.resp_framing = None
        self.upgraded = False
        self.resp_complete = False
        self.reported = False

    def header(self, name, headers=None):
        values = header_values(self.headers if headers is None else headers, name)
        return values[0] if values else None

    def record(self):
        out = {
            "index": self.index,
            "t_first": self.t_first,
            "t_head": self.t_head,
            "t_req_end": self.t_req_end,
            "method": self.method,
            "target": self.target,
            "user_agent": self.header("user-agent"),
            "content_type": self.header("content-type"),
            "framing": self.framing,
            "upgrade": self.wants_upgrade,
            "req_complete": self.req_complete,
            "status": self.status,
            "interim": self.interim,
            "t_resp_head": self.t_resp_head,
            "t_resp_end": self.t_resp_end,
            "resp_framing": self.resp_framing,
            "upgraded": self.upgraded,
            "resp_complete": self.resp_complete,
        }
        if self.req_body is not None:
            out["body"] = self.req_body.record(self.req_complete)
        if self.resp_body is not None:
            out["resp_body"] = self.resp_body.record(self.resp_complete)
        return out


class HttpObserver:
    """Feed it the bytes of both directions of one connection as they pass.

    report(record) is called once per exchange, when both its request and its response are over
    (or when the connection closes). body_cap(exchange) and response_cap(exchange) say how many
    bytes of each body to keep; bodies are always counted and hashed whole.
    """

    def __init__(self, report, body_cap, response_cap):
        self.report = report
        self.body_cap = body_cap
        self.response_cap = response_cap
        self.error = None
        self.stream = False  # upgraded or hijacked: no more HTTP on this connection
        self.next_index = 0
        self.awaiting = []  # exchanges whose response has not started or not ended, in order
        # request side
        self.rq_buf = bytearray()
        self.rq_state = "head"  # head | body | held | off
        self.rq_first = None
        self.rq_cur = None
        self.rq_dec = None
        # response side
        self.rs_buf = bytearray()
        self.rs_state = "head"  # head | body | off
        self.rs_cur = None
        self.rs_dec = None

    # -- input ---------------------------------------------------------------------------------
    def request_bytes(self, data, t):
        if self.rq_state == "off" or self.error:
            return
        if not self.rq_buf and self.rq_first is None and self.rq_state in ("head", "held"):
            self.rq_first = t
        self.rq_buf += data
        self._guard(self._requests, t)

    def response_bytes(self, data, t):
        if self.rs_state == "off" or self.error:
            return
        self.rs_buf += data
        self._guard(self._responses, t)

    def close(self, t):
        """The connection is over: report everything not reported yet. Returns what is left of
        the request stream that never became a whole request head (None when nothing)."""
        if self.rs_state == "body" and isinstance(self.rs_dec, UntilCloseDecoder):
            self._response_done(t)
        for ex in list(self.awaiting):
            self._report(ex)
        if self.rq_cur is not None:
            self._report(self.rq_cur)
        if self.rq_state in ("head", "held") and self.rq_buf and not self.error:
            return {"len": len(self.rq_buf),
                    "start": bytes(self.rq_buf[:200]).decode("latin-1"),
                    "t_first": self.rq_first}
        return None

    # -- requests ------------------------------------------------------------------------------
    def _guard(self, step, t):
        try:
            step(t)
        except ObserverError as e:
            self.error = str(e)
            self.rq_state = self.rs_state = "off"

    def _requests(self, t):
        while True:
            if self.rq_state == "head":
                if not self.rq_buf:
                    return
                if self.rq_first is None:
                    self.rq_first = t
                end = self.rq_buf.find(b"\r\n\r\n")
                if end < 0:
                    if len(self.rq_buf) > HEAD_MAX:
                        raise ObserverError("request head longer than %d bytes" % HEAD_MAX)
                    return
                head = bytes(self.rq_buf[:end])
                del self.rq_buf[:end + 4]
                ex = Exchange(self.next_index)
                self.next_index += 1
                first, ex.headers = parse_head(head)
                ex.method = first[0]
                ex.target = first[1] if len(first) > 1 else ""
                ex.t_first, ex.t_head = self.rq_first, t
                self.rq_first = None
                ex.wants_upgrade = ("upgrade" in tokens(ex.headers, "connection")
                                    or bool(header_values(ex.headers, "upgrade")))
                self.awaiting.append(ex)
                ex.framing, decoder = body_decoder(ex.headers)
                ex.req_body = BodySink(self.body_cap(ex))
                if decoder is None:
                    self._request_done(ex, t)
                    continue
                self.rq_cur, self.rq_dec, self.rq_state = ex, decoder, "body"
            elif self.rq_state == "body":
                used, done = self.rq_dec.feed(self.rq_buf, self.rq_cur.req_body)
                del self.rq_buf[:used]
                if not done:
                    return
                ex, self.rq_cur, self.rq_dec, self.rq_state = self.rq_cur, None, None, "head"
                self._request_done(ex, t)
            else:  # held (waiting for an upgrade's answer) or off
                return

    def _request_done(self, ex, t):
        ex.req_complete, ex.t_req_end = True, t
        if self.rq_buf and self.rq_first is None:
            self.rq_first = t  # the next request (pipelined) began in this chunk
        if ex.wants_upgrade and not self.stream:
            # What follows may be the raw stream, not a request: wait for the answer.
            self.rq_state = "held"
        self._maybe_report(ex)

    # -- responses -----------------------------------------------------------------------------
    def _responses(self, t):
        while True:
            if self.rs_state == "head":
                if not self.rs_buf:
                    return
                end = self.rs_buf.find(b"\r\n\r\n")
                if end < 0:
                    if len(self.rs_buf) > HEAD_MAX:
                        raise ObserverError("response head longer than %d bytes" % HEAD_MAX)
                    return
                head = bytes(self.rs_buf[:end])
                del self.rs_buf[:end + 4]
                first, headers = parse_head(head)
                try:
                    status = int(first[1])
                except (IndexError, ValueError):
                    raise ObserverError("not a status line: %r" % head[:60]) from None
                if self.awaiting:
                    ex = self.awaiting[0]
                else:  # an answer to bytes that never made a request head (a 400 for junk)
                    ex = Exchange(self.next_index)
                    self.next_index += 1
                    self.awaiting.append(ex)
                if 100 <= status < 200 and status != 101:
                    ex.interim.append(status)
                    continue
                ex.status, ex.resp_headers, ex.t_resp_head = status, headers, t
                ex.resp_body = BodySink(self.response_cap(ex))
                if status == 101:
                    ex.upgraded = True
                    ex.resp_framing = "upgraded"
                    self._enter_stream()
                    self._response_done(t)
                    return
                if ex.method == "HEAD" or status in (204, 304):
                    ex.resp_framing, decoder = "none", None
                else:
                    ex.resp_framing, decoder = body_decoder(headers)
                    if ex.resp_framing == "none":
                        # Runs until close: the legacy hijack of attach/exec, or a plain
                        # close-delimited body. Either way nothing after it is a request.
                        ex.resp_framing, decoder = "until-close", UntilCloseDecoder()
                        self._enter_stream()
                if self.rq_state == "held" and ex.wants_upgrade and not self.stream:
                    self.rq_state = "head"  # the upgrade was refused: requests carry on
                    self._guard(self._requests, t)
                if decoder is None:
                    self._response_done(t)
                    continue
                self.rs_cur, self.rs_dec, self.rs_state = ex, decoder, "body"
            elif self.rs_state == "body":
                used, done = self.rs_dec.feed(self.rs_buf, self.rs_cur.resp_body)
                del self.rs_buf[:used]
                if not done:
                    return
                self._response_done(t)
            else:
                return

    def _enter_stream(self):
        self.stream = True
        if self.rq_state in ("head", "held"):
            self.rq_state = "off"
            self.rq_buf.clear()

    def _response_done(self, t):
        ex = self.awaiting.pop(0)
        ex.resp_complete, ex.t_resp_end = True, t
        self.rs_cur = self.rs_dec = None
        self.rs_state = "off" if ex.upgraded else "head"
        self._maybe_report(ex)

    def _maybe_report(self, ex):
        if ex.req_complete and ex.resp_complete:
            self._report(ex)

    def _report(self, ex):
        if not ex.reported:
            ex.reported = True
            self.report(ex.record())
