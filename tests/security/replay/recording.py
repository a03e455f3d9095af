"""The replay check's inputs (check.py): the recorder's logs, the gateway runs and their audit
records, read and tied together.

A Recording holds what the two recorders saw (recorder.py): the client connections and their
exchanges, the requests the daemon received, split into the gateway's own look-ups
(User-Agent: dockgate) and forwarded requests. Its requests() pairs every audit record with the
recorded request it is about: the same TLS connection (its local port is the audit's "peer"),
the same position on that connection. What cannot be paired is either counted (`skipped`: no
request to explain) or a problem (a request answered without an audit line, an audit line
without a request, a request that went around the recorder).
"""

import base64
import collections
import json
import os
import subprocess

LOOKUP_AGENT = "dockgate"


# -- loading ----------------------------------------------------------------------------------
def read_jsonl(path):
    out = []
    if not os.path.exists(path):
        return out
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if line.strip():
                try:
                    out.append(json.loads(line))
                except ValueError as e:
                    raise SystemExit("%s:%d: not JSON (%s)" % (path, n, e))
    return out


def body_bytes(rec, key="body"):
    """The whole body of an exchange record, or None when the recorder did not keep it all."""
    b = rec.get(key)
    if b is None:
        return b""
    if "b64" not in b or not b.get("complete"):
        return None
    return base64.b64decode(b["b64"])


def identity(pki, client):
    """(CN, [O...]) of a client's certificate: what the gateway takes as user and groups."""
    cert = os.path.join(pki, "clients", client, "cert.pem")
    out = subprocess.run(["openssl", "x509", "-in", cert, "-noout", "-subject",
                          "-nameopt", "sname,sep_multiline,utf8"],
                         check=True, capture_output=True, text=True).stdout
    cn, orgs = None, []
    for line in out.splitlines()[1:]:
        key, _, value = line.strip().partition("=")
        if key == "CN":
            cn = value
        elif key == "O":
            orgs.append(value)
    return cn, orgs


class Gateways:
    """The gateway runs of the test (gateways.jsonl, written by lib.sh): per run, the config
    explain replays against and the audit records it wrote."""

    def __init__(self, path, problems):
        self.runs = {}
        for ev in read_jsonl(path):
            run = self.runs.setdefault(ev["gen"], {})
            run[ev["event"]] = ev
        self.audit = []  # records, each with _gen and _line
        by_file = collections.defaultdict(list)
        for gen, run in sorted(self.runs.items()):
            start = run.get("start")
            if start is None:
                problems.append("gateway run %d: no start recorded" % gen)
                continue
            stop = run.get("stop")
            if stop is None:
                problems.append("gateway run %d (%s) did not stop cleanly: its audit log may be "
                                "incomplete" % (gen, start["config"]))
            elif stop["config_sha256"] != start["config_sha256"]:
                problems.append("gateway run %d: %s changed while the gateway ran (a reload); "
                                "explain cannot know which config judged which request"
                                % (gen, start["config"]))
            by_file[start["audit"]].append((start["audit_from"], gen))
        for path, starts in by_file.items():
            starts.sort()
            lines = open(path, encoding="utf-8").read().splitlines() if os.path.exists(path) else []
            for i, (first, gen) in enumerate(starts):
                last = starts[i + 1][0] if i + 1 < len(starts) else len(lines)
                for n in range(first, last):
                    rec = json.loads(lines[n])
                    rec["_gen"], rec["_line"] = gen, n + 1
                    self.audit.append(rec)

    def snapshot(self, gen):
        return self.runs[gen]["start"]["snapshot"]


class Recording:
    def __init__(self, directory, problems, skipped):
        self.dir = directory
        self.problems = problems  # appended to: failures that are not one request's mismatch
        self.skipped = skipped  # a Counter of reasons
        self.load()

    def load(self):
        self.gateways = Gateways(os.path.join(self.dir, "gateways.jsonl"), self.problems)
        client = read_jsonl(os.path.join(self.dir, "client.jsonl"))
        upstream = read_jsonl(os.path.join(self.dir, "upstream.jsonl"))
        self.client_conns = {r["conn"]: r for r in client if r["type"] == "conn"}
        self.client_ex = collections.defaultdict(list)
        for r in client:
            if r["type"] == "exchange":
                self.client_ex[r["conn"]].append(r)
        for lst in self.client_ex.values():
            lst.sort(key=lambda r: r["index"])
        self.lookups, self.forwards = [], []
        for r in upstream:
            if r["type"] == "conn":
                if r.get("observer_error"):
                    self.problems.append("upstream connection %d: the recorder could not follow "
                                         "it (%s): requests to the daemon may be missing"
                                         % (r["conn"], r["observer_error"]))
                for note in r.get("notes", []):
                    if note.startswith("recorder error"):
                        self.problems.append("upstream connection %d: %s" % (r["conn"], note))
            elif r["method"] is None:
                self.problems.append("upstream connection %d: a daemon response to no request"
                                     % r["conn"])
            elif r.get("user_agent") == LOOKUP_AGENT and r["method"] == "GET":
                self.lookups.append(r)
            else:
                r["_claimed"] = None
                self.forwards.append(r)
        self.lookups.sort(key=lambda r: r["t_head"])
        self.forwards.sort(key=lambda r: r["t_head"])
        for r in client:
            if r["type"] == "conn":
                for note in r.get("notes", []):
                    if note.startswith("recorder error"):
                        self.problems.append("client connection %d: %s" % (r["conn"], note))
        log = os.path.join(self.dir, "recorder.log")
        if os.path.exists(log) and "Traceback" in open(log, errors="replace").read():
            self.problems.append("the recorder logged errors: see %s" % log)

    # Every audit record is paired with the recorded request it is about: same TLS connection
    # (its local port is the audit's peer port), same position on the connection.
    def pair(self):
        groups = collections.OrderedDict()  # (gen, conn) -> records
        for rec in self.gateways.audit:
            groups.setdefault((rec["_gen"], rec["conn"]), []).append(rec)
        by_port = collections.defaultdict(list)
        for key, recs in groups.items():
            host, _, port = recs[0].get("peer", "").rpartition(":")
            if host != "127.0.0.1" or not port.isdigit():
                self.problems.append("audit line %d: peer %r is not a recorded TLS connection"
                                     % (recs[0]["_line"], recs[0].get("peer")))
                continue
            by_port[int(port)].append(recs)
        conns_by_port = collections.defaultdict(list)
        for c in self.client_conns.values():
            if c.get("port") is not None:
                conns_by_port[c["port"]].append(c)
        pairs = []  # (client conn record, its exchanges, its audit records)
        for port, audit_groups in by_port.items():
            conns = sorted(conns_by_port.get(port, []), key=lambda c: c["t_open"])
            if not conns:
                for recs in audit_groups:
                    self.problems.append(
                        "audit line %d: %s %s from peer port %d, which no recorded client "
                        "connection had: a request reached the gateway around the recorder"
                        % (recs[0]["_line"], recs[0].get("method"), recs[0].get("path"), port))
                continue
            if len(conns) > 1:
                # The port was used again: only connections that sent something can have audit
                # records, and both lists are in time order.
                conns = [c for c in conns if self.client_ex.get(c["conn"]) or c.get("trailing")]
            if len(conns) != len(audit_groups):
                self.problems.append("peer port %d: %d recorded connections, %d audited ones: "
                                     "cannot pair them" % (port, len(conns), len(audit_groups)))
                continue
            for conn, recs in zip(conns, audit_groups):
                pairs.append((conn, self.client_ex.get(conn["conn"], []), recs))
                conn["_paired"] = True
        for c in self.client_conns.values():
            if not c.get("_paired"):
                pairs.append((c, self.client_ex.get(c["conn"], []), []))
        return pairs

    def requests(self, pairs):
        """(request, audit record, client conn) to replay; the rest is counted or reported."""
        out = []
        for conn, exchanges, audit in pairs:
            reqs = [e for e in exchanges if e["method"] is not None]
            for i in range(max(len(reqs), len(audit))):
                req = reqs[i] if i < len(reqs) else None
                rec = audit[i] if i < len(audit) else None
                where = "client %s connection %d (gateway peer port %s)" % (
                    conn.get("client"), conn["conn"], conn.get("port"))
                if rec is None:
                    if req["status"] is None:
                        self.skipped["never answered: the connection ended before the gateway "
                                     "read or answered it"] += 1
                    else:
                        self.problems.append("%s: %s %s was answered %s but has no audit record"
                                             % (where, req["method"], req["target"], req["status"]))
                    continue
                if req is None:
                    if rec.get("path") == "-":
                        self.skipped["refused at the HTTP head (audit path \"-\"), no request "
                                     "head recorded"] += 1
                    else:
                        self.problems.append("%s: audit line %d (%s %s) has no recorded request"
                                             % (where, rec["_line"], rec.get("method"), rec.get("path")))
                    continue
                if rec.get("path") == "-":
                    self.skipped["refused at the HTTP head before routing (audit path \"-\")"] += 1
                    continue
                if rec.get("method") != req["method"]:
                    self.problems.append("%s: request %d is %s %s but its audit line %d says %s %s"
                                         % (where, i, req["method"], req["target"], rec["_line"],
                                            rec.get("method"), rec.get("path")))
                    continue
                out.append((req, rec, conn))
        out.sort(key=lambda t: t[0]["t_head"])
        return out
