#!/usr/bin/env python3
"""check.py --dir REPLAY_DIR --dockgate BIN --pki PKI_DIR

The replay check: every request a test sent through the gateway (recorded by recorder.py) is
judged again by `dockgate explain --json`, with the same identity, request line, body and
Content-Type, and with the daemon's answers to the look-ups the gateway made for it, and the two
must agree:
  - always: the decision, the operation, the role and rule that decided, the audit's reason;
  - refusals: the status, and the status and message the client received;
  - answered by the gateway itself (reply_body): the body the client received;
  - forwarded: the target (the audit's path and the request the daemon received), and the body
    the daemon received: explain's forward_body when the gateway read and rewrote the body,
    otherwise the very bytes the client sent;
  - look-ups: when no other request was in flight, the gateway's look-ups in order are the ones
    explain made.
The three logs are also checked against each other: each audit record belongs to one recorded
request, each request answered has its audit record, and each request the daemon received
belongs to one client request the gateway forwarded.

Not compared, and counted apart: requests refused at the HTTP head before routing (audit path
"-": there is no target to explain), bytes that never formed a request head, requests the
gateway never read (the connection ended before).

What the replay cannot reproduce, and so must stay constant during a test: explain resolves
bind sources on the host as they are when the check runs (lib.sh runs it before the test's own
cleanups), and it is given a look-up's answer whole even where the gateway would have found it
larger than its limit (4 MiB) and failed the look-up.

Exit 0 when everything compared was equal and something was compared; 1 otherwise, after
printing each difference (the request, both sides, a diff) and keeping what it needs to be
re-run in REPLAY_DIR/mismatches/N/ (explain.sh, body, lookups.json).
"""

import argparse
import collections
import difflib
import json
import os
import shlex
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from recording import Recording, body_bytes, identity  # noqa: E402

FORWARDED = ("allow", "would-deny")


# -- the check --------------------------------------------------------------------------------
class Check:
    """Replays the recording through explain and compares; run() returns the exit code."""

    def __init__(self, args):
        self.args = args
        self.dir = args.dir
        self.problems = []  # failures that are not one request's mismatch
        self.mismatches = []
        self.compared = 0
        self.equal = 0
        self.upgraded_compared = 0
        self.local_replies = 0
        self.forwarded_bodies = 0
        self.lookups_replayed = 0
        self.sequences_checked = 0
        self.skipped = collections.Counter()
        self.identities = {}

    # The request the daemon received for each forwarded request: the same method, arriving
    # while the client waited for the answer, and the target the gateway's audit line says it
    # forwarded. Exact matches are claimed first, for every request, so that a request with
    # none (the gateway answered it itself, or forwarded something else) cannot take another
    # one's; only then does a leftover take any unclaimed request of its method in its window,
    # so that a wrong target shows up as a difference rather than as a missing request.
    def claim_forwards(self, todo):
        upstream = {}
        for exact in (True, False):
            for req, rec, conn in todo:
                if rec.get("decision") not in FORWARDED or id(req) in upstream:
                    continue
                hi = req["t_resp_head"] if req["t_resp_head"] is not None else conn["t_close"]
                for u in self.forwards:
                    if (u["_claimed"] is None and u["method"] == req["method"]
                            and req["t_head"] <= u["t_head"] <= hi
                            and (u["target"] == rec["path"] or not exact)):
                        u["_claimed"] = req
                        upstream[id(req)] = u
                        break
        return upstream

    def lookups_for(self, req, conn, upstream):
        lo = req["t_head"]
        if upstream is not None:
            hi = upstream["t_head"]
        elif req["t_resp_head"] is not None:
            hi = req["t_resp_head"]
        else:
            hi = conn["t_close"]
        found = [u for u in self.lookups if lo <= u["t_head"] <= hi]
        for u in found:
            u["_in_window"] = True
        return lo, hi, found

    def exclusive(self, req, lo, hi):
        """No other request could have made look-ups between lo and hi."""
        for other in self.all_client_requests:
            if other is req:
                continue
            o_lo = other["t_head"]
            o_hi = other["t_resp_head"] if other["t_resp_head"] is not None else float("inf")
            if o_lo <= hi and lo <= o_hi:
                return False
        return True

    def explain(self, req, rec, conn, lookups, workdir, user=None, groups=None):
        """Runs explain for one request; returns (result dict or None, command, error text)."""
        os.makedirs(workdir, exist_ok=True)
        answers, ambiguous = {}, []
        for u in lookups:
            if not u.get("resp_complete"):
                continue
            body = body_bytes(u, "resp_body")
            if body is None:
                continue
            entry = {"status": u["status"], "body": body.decode("utf-8", "replace")}
            if u["target"] in answers and answers[u["target"]] != entry:
                ambiguous.append(u["target"])
                continue  # the first answer in the window is the request's own, in order
            answers[u["target"]] = entry
        lk = os.path.join(workdir, "lookups.json")
        with open(lk, "w", encoding="utf-8") as f:
            json.dump(answers, f, indent=1)
        cn, orgs = self.identities[conn["client"]]
        # Arguments taken from the wire were logged as Latin-1 text: they go back as those bytes.
        cmd = [self.args.dockgate, "explain", "--config", self.gateways.snapshot(rec["_gen"]),
               "--user", cn if user is None else user]
        for g in (orgs if groups is None else groups):
            cmd += ["--group", g]
        wire = [len(cmd) + 1]
        cmd += ["--request", req["method"] + " " + req["target"]]
        body = body_bytes(req)
        if body:
            path = os.path.join(workdir, "body")
            with open(path, "wb") as f:
                f.write(body)
            cmd += ["--body", path]
        if req.get("content_type") is not None:
            wire.append(len(cmd) + 1)
            cmd += ["--content-type", req["content_type"]]
        elif body:
            cmd += ["--content-type", ""]
        if req.get("framing") == "chunked":
            cmd += ["--chunked"]
        cmd += ["--lookups", lk, "--json"]
        argv = [a.encode("latin-1") if i in wire else os.fsencode(a) for i, a in enumerate(cmd)]
        p = subprocess.run(argv, capture_output=True)
        text = p.stdout.decode("utf-8", "surrogateescape")
        if p.returncode not in (0, 3):
            return None, cmd, "explain exited %d: %s" % (p.returncode, p.stderr.decode(errors="replace"))
        try:
            result = json.loads(text)
        except ValueError as e:
            return None, cmd, "explain printed no JSON (%s): %s" % (e, text[:500])
        result["_exit"] = p.returncode
        result["_ambiguous"] = ambiguous
        self.lookups_replayed += len(answers)
        return result, cmd, None

    def compare(self, req, rec, conn, x, upstream, seq_check):
        """The differences between the gateway's handling and explain's, as (what, gateway,
        explain[, diff]) tuples."""
        diffs = []

        def same(what, gw, ex):
            if gw != ex:
                diffs.append((what, gw, ex))

        cn, _ = self.identities[conn["client"]]
        same("user (audit vs certificate)", rec.get("user"), cn)
        same("decision", rec.get("decision"), x["decision"])
        same("operation", rec.get("operation", ""), x["operation"])
        same("role", rec.get("role", ""), x["role"])
        same("rule", rec.get("rule", ""), x["rule"])
        # The audit line carries the reason of everything but an allow.
        same("reason", rec.get("reason", ""), x["reason"] if x["decision"] != "allow" else "")
        forwards = x["decision"] in FORWARDED
        same("explain exit code (0 forwarded, 3 refused)", 0 if forwards else 3, x["_exit"])
        client_body = body_bytes(req, "resp_body")
        if not forwards:
            same("status (audit)", rec.get("status"), x["status"])
            same("status (client)", req["status"], x["status"])
            if req["method"] != "HEAD" and client_body:
                try:
                    message = json.loads(client_body).get("message")
                except (ValueError, AttributeError):
                    message = client_body.decode("latin-1")
                same("message (client)", message, x["message"])
            if upstream is not None:
                diffs.append(("request the daemon received", "%s %s" % (upstream["method"],
                              upstream["target"]), "(refused: nothing forwarded)"))
        elif x.get("reply_body") is not None:
            self.local_replies += 1
            same("status (client, answered by the gateway)", req["status"], 200)
            if client_body is not None:
                same("reply body (client)", client_body.decode("utf-8", "replace"), x["reply_body"])
            if upstream is not None:
                diffs.append(("request the daemon received", "%s %s" % (upstream["method"],
                              upstream["target"]), "(answered by the gateway, not forwarded)"))
        else:
            same("target (audit path)", rec.get("path"), x["target"])
            if upstream is None:
                diffs.append(("request the daemon received", "(none)", "%s %s"
                              % (req["method"], x["target"])))
            else:
                same("target (received by the daemon)", upstream["target"], x["target"])
                got = body_bytes(upstream)
                if x.get("forward_body") is not None:
                    self.forwarded_bodies += 1
                    want = x["forward_body"].encode("utf-8", "surrogateescape")
                    if got != want:
                        diffs.append(("body (received by the daemon vs forward_body)",
                                      None if got is None else got.decode("utf-8", "replace"),
                                      want.decode("utf-8", "replace"), True))
                else:
                    # Compared only when both sides saw the whole body (a stream cut short by
                    # the end of the test proves nothing either way).
                    sent, gotb = req.get("body") or {}, upstream.get("body") or {}
                    whole = sent.get("complete", True) and gotb.get("complete", True)
                    if whole and (sent.get("len", 0), sent.get("sha256")) != \
                            (gotb.get("len", 0), gotb.get("sha256")) \
                            and (sent.get("len", 0) or gotb.get("len", 0)):
                        diffs.append(("body (streamed as received: client vs daemon)",
                                      "%d bytes sha256 %s" % (sent.get("len", 0), sent.get("sha256")),
                                      "%d bytes sha256 %s" % (gotb.get("len", 0), gotb.get("sha256"))))
        if seq_check is not None:
            made = [(l["path"], l["status"]) for l in x["lookups"] if l["status"] != 0]
            same("look-ups (daemon, in order)", seq_check, made)
        return diffs

    def report(self, req, rec, conn, x, cmd, diffs, lookups, workdir):
        n = len(self.mismatches) + 1
        # Keep explain's inputs where the re-run command below finds them.
        dest = os.path.join(self.dir, "mismatches", str(n))
        shutil.rmtree(dest, ignore_errors=True)
        shutil.copytree(workdir, dest)
        cmd = [c.replace(workdir, dest) for c in cmd]
        workdir = dest
        lines = ["MISMATCH %d: client %s, connection %d (gateway peer 127.0.0.1:%s, audit line %d,"
                 " gateway run %d), request %d" % (n, conn.get("client"), conn["conn"],
                                                   conn.get("port"), rec["_line"], rec["_gen"],
                                                   req["index"]),
                 "  %s %s" % (req["method"], req["target"])]
        body = body_bytes(req)
        if body:
            lines.append("  body (%d bytes, %s): %s" % (len(body), req.get("content_type"),
                                                       body[:400].decode("utf-8", "replace")))
        for u in lookups:
            lines.append("  look-up in its window: GET %s -> %s" % (u["target"], u["status"]))
        if x and x.get("_ambiguous"):
            lines.append("  (look-ups answered differently within the window: %s; explain got "
                         "the first)" % ", ".join(x["_ambiguous"]))
        lines.append("  gateway (audit): %s %s, rule %r, reason %r" % (
            rec.get("decision"), rec.get("status"), rec.get("rule"), rec.get("reason", "")))
        if x:
            lines.append("  explain:         %s %s, rule %r, reason %r, message %r" % (
                x["decision"], x["status"], x["rule"], x["reason"], x["message"]))
        lines.append("  %-46s %-40s %s" % ("", "gateway", "explain"))
        for d in diffs:
            what, gw, ex = d[0], d[1], d[2]
            if len(d) > 3 or (isinstance(gw, str) and isinstance(ex, str) and len(gw) + len(ex) > 160):
                lines.append("  %s differs:" % what)
                lines += ["    " + l for l in difflib.unified_diff(
                    pretty(gw).splitlines(), pretty(ex).splitlines(), "gateway", "explain", lineterm="")]
            else:
                lines.append("  %-46s %-40s %s" % (what, json.dumps(gw), json.dumps(ex)))
        lines.append("  re-run: %s" % " ".join(shlex.quote(c) for c in cmd))
        with open(os.path.join(workdir, "explain.sh"), "w") as f:
            f.write(" ".join(shlex.quote(c) for c in cmd) + "\n")
        if x:
            with open(os.path.join(workdir, "explain.json"), "w") as f:
                json.dump({k: v for k, v in x.items() if not k.startswith("_")}, f, indent=1)
        self.mismatches.append("\n".join(lines))

    def run(self):
        rec = Recording(self.dir, self.problems, self.skipped)
        self.gateways, self.client_conns, self.client_ex = rec.gateways, rec.client_conns, rec.client_ex
        self.lookups, self.forwards = rec.lookups, rec.forwards
        todo = rec.requests(rec.pair())
        self.all_client_requests = [e for lst in self.client_ex.values() for e in lst
                                    if e["method"] is not None]
        for conn in self.client_conns.values():
            if conn.get("client") and conn["client"] not in self.identities and conn["client"] != "none":
                self.identities[conn["client"]] = identity(self.args.pki, conn["client"])
        canary_done = False
        work = os.path.join(self.dir, "explain")
        for stale in (work, os.path.join(self.dir, "mismatches")):
            shutil.rmtree(stale, ignore_errors=True)
        forwarded = self.claim_forwards(todo)
        for k, (req, rec, conn) in enumerate(todo):
            upstream = forwarded.get(id(req))
            if body_bytes(req) is None:
                if req.get("req_complete"):
                    self.skipped["request body larger than the recorder keeps"] += 1
                else:
                    self.skipped["request body incomplete: the client stopped sending"] += 1
                continue
            lo, hi, lookups = self.lookups_for(req, conn, upstream)
            workdir = os.path.join(work, str(k))
            x, cmd, err = self.explain(req, rec, conn, lookups, workdir)
            self.compared += 1
            if req.get("upgraded"):
                self.upgraded_compared += 1
            if x is None:
                self.report(req, rec, conn, None, cmd, [("explain", "-", err)], lookups, workdir)
                continue
            seq = None
            if self.exclusive(req, lo, hi):
                seq = [(u["target"], u["status"]) for u in lookups if u.get("resp_complete")]
                self.sequences_checked += 1
            diffs = self.compare(req, rec, conn, x, upstream, seq)
            if diffs:
                self.report(req, rec, conn, x, cmd, diffs, lookups, workdir)
            else:
                self.equal += 1
                if not canary_done and x["decision"] == "allow" and x["rule"]:
                    canary_done = self.canary(req, rec, conn, lookups, workdir)
        for c in self.client_conns.values():
            if c.get("trailing"):
                self.skipped["bytes after the last request that never formed a request head "
                             "(connections)"] += 1
        self.lookups_elsewhere = sum(1 for u in self.lookups if not u.get("_in_window"))
        for u in self.forwards:
            if u["_claimed"] is None:
                self.problems.append(
                    "the daemon received %s %s (upstream connection %d) that no client request "
                    "the gateway forwarded accounts for" % (u["method"], u["target"], u["conn"]))
        if self.compared and not canary_done:
            self.problems.append("no allowed request to run the canary on: cannot show that the "
                                 "comparison tells a different decision apart")
        return self.summary()

    def canary(self, req, rec, conn, lookups, workdir):
        """The comparison must be able to fail: the same request replayed for a user with no
        role has to come out different. Returns True when it did."""
        replayed = self.lookups_replayed
        x, cmd, err = self.explain(req, rec, conn, lookups, workdir + "-canary",
                                   user="replay-canary-no-role", groups=[])
        self.lookups_replayed = replayed
        if x is None or not self.compare(req, rec, conn, x, None, None):
            self.problems.append("canary: replaying %s %s for a user without a role was not told "
                                 "apart from the gateway's decision (%s)"
                                 % (req["method"], req["target"], err or x["decision"]))
        return True

    def summary(self):
        out = []
        for m in self.mismatches:
            out.append(m + "\n")
        for p in self.problems:
            out.append("PROBLEM: " + p)
        out.append("replay check (%s):" % self.dir)
        out.append("  compared %d requests with dockgate explain: %d equal, %d different"
                   % (self.compared, self.equal, len(self.mismatches)))
        out.append("    of which: %d upgraded streams (attach/exec), %d answered by the gateway "
                   "itself, %d forwarded with a body the gateway rewrote"
                   % (self.upgraded_compared, self.local_replies, self.forwarded_bodies))
        out.append("    %d daemon look-up answers replayed; look-up sequence compared for %d "
                   "requests with no other request in flight" % (self.lookups_replayed,
                                                                  self.sequences_checked))
        claimed = sum(1 for u in self.forwards if u["_claimed"] is not None)
        out.append("  the daemon received %d requests, %d of them accounted for by forwarded "
                   "client requests; %d look-ups, %d of them outside every request's window "
                   "(such as the test's own live `dockgate explain`)"
                   % (len(self.forwards), claimed, len(self.lookups), self.lookups_elsewhere))
        total_skipped = sum(self.skipped.values())
        out.append("  skipped %d:" % total_skipped)
        for reason, n in sorted(self.skipped.items()):
            out.append("    %4d  %s" % (n, reason))
        ok = self.compared > 0 and not self.mismatches and not self.problems
        if self.compared == 0:
            out.append("FAILED: nothing was compared (is the replay hook in place?)")
        elif not ok:
            out.append("FAILED: %d mismatches, %d problems" % (len(self.mismatches), len(self.problems)))
        else:
            out.append("OK: the gateway and dockgate explain decided every compared request alike")
        text = "\n".join(out)
        print(text)
        with open(os.path.join(self.dir, "summary.txt"), "w") as f:
            f.write(text + "\n")
        return 0 if ok else 1


def pretty(v):
    if v is None:
        return "(nothing)"
    if isinstance(v, (bytes, bytearray)):
        v = v.decode("utf-8", "replace")
    if isinstance(v, str):
        try:
            return json.dumps(json.loads(v), indent=1, sort_keys=True)
        except ValueError:
            return v
    return json.dumps(v, indent=1)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dir", required=True, help="the recorder's log folder (lib.sh: $WORK/replay)")
    p.add_argument("--dockgate", required=True, help="the dockgate binary")
    p.add_argument("--pki", required=True, help="the test PKI (clients/NAME/cert.pem)")
    return Check(p.parse_args()).run()


if __name__ == "__main__":
    sys.exit(main())
