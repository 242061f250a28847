"""Outbound webhooks of `cascade serve` checked end to end by an independent receiver.

A receiver on loopback verifies every delivery with the Standard Webhooks reference library
(PyPI `standardwebhooks`), then the script drives a real `cascade serve` over HTTP and the
`cascade webhooks` CLI:
  1. events of every kind arrive signed (resolution, escalation with its conversation, feedback,
     agent answer), each once per endpoint, with the documented body;
  2. a receiver failing for a while (503, then a Retry-After) gets the event once it recovers;
  3. kill -9 of the node while events are undelivered: all are delivered after a restart, none lost;
  4. a secret rotation: deliveries verify with the old and the new secret until the old expires;
  5. replay from the CLI sends the same webhook-id again; 410 Gone disables the endpoint;
  6. link-local / metadata addresses are refused (CLI and HTTP), unless allowed.
Usage: webhook_check.py CASCADE_BIN DATA_DIR
"""

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

BIN, DATA = sys.argv[1], sys.argv[2]
failures = 0


def check(ok, what):
    global failures
    print(("ok   " if ok else "FAIL ") + what, flush=True)
    if not ok:
        failures += 1


class Receiver:
    """Records verified deliveries; `mode` makes it fail on purpose."""

    def __init__(self):
        self.lock = threading.Lock()
        self.secrets = {}  # name -> whsec_
        self.received = []  # dicts: id, type, body, verified_by, headers
        self.refused = []
        self.mode = "ok"  # ok | fail | retry-after | gone
        self.script = []  # modes for the next requests, one each (then `mode`)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                headers = {k: v for k, v in self.headers.items()}
                with receiver.lock:
                    mode = receiver.mode
                    if mode == "ok" and receiver.script:
                        mode = receiver.script.pop(0)
                    secrets = dict(receiver.secrets)
                if mode == "fail":
                    self.send_response(503)
                    self.end_headers()
                    return
                if mode == "retry-after":
                    self.send_response(429)
                    self.send_header("Retry-After", "2")
                    self.end_headers()
                    return
                if mode == "gone":
                    self.send_response(410)
                    self.end_headers()
                    return
                verified = []
                for name, secret in secrets.items():
                    try:
                        Webhook(secret).verify(body, headers)
                        verified.append(name)
                    except WebhookVerificationError:
                        pass
                record = {"id": headers.get("webhook-id"), "body": json.loads(body), "verified_by": verified,
                          "signature": headers.get("webhook-signature", "")}
                with receiver.lock:
                    (receiver.received if verified else receiver.refused).append(record)
                self.send_response(204 if verified else 401)
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def events(self, type_=None):
        with self.lock:
            return [r for r in self.received if type_ is None or r["body"]["type"] == type_]

    def wait(self, predicate, seconds=60):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if predicate():
                return True
            time.sleep(0.1)
        return False


def cli(*args, check_ok=True):
    result = subprocess.run([BIN, *args, "--data", DATA], capture_output=True, text=True)
    if check_ok and result.returncode != 0:
        raise SystemExit(f"cascade {' '.join(args)} failed: {result.stderr}")
    return result


def start_node(extra=()):
    log = open(os.path.join(DATA, "serve.log"), "a")
    process = subprocess.Popen(
        [BIN, "serve", "--data", DATA, "--port", "0", "--embedder", "hashing",
         "--webhook-allow-network", "127.0.0.1/32", "--webhook-retry-schedule", "1s,1s,1s,1s,1s,1s,1s,1s,1s,1s",
         *extra], stdout=subprocess.PIPE, stderr=log, text=True)
    line = process.stdout.readline()
    if "listening on" not in line:
        raise SystemExit("cascade serve did not start: " + open(os.path.join(DATA, "serve.log")).read()[-2000:])
    return process, line.split("listening on ")[1].split(" ")[0]


def call(url, method, path, key, body=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url + path, data=data, method=method,
                                     headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            text = response.read()
            return response.status, json.loads(text) if text.strip() else None
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def main():
    receiver = Receiver()
    hook_url = f"http://127.0.0.1:{receiver.port}/hooks/cascade"
    admin = json.loads(cli("keys", "create", "--tenant", "acme", "--scope", "admin", "--json").stdout)["key"]
    query = json.loads(cli("keys", "create", "--tenant", "acme", "--scope", "query", "--json").stdout)["key"]

    # The address policy: link-local (cloud metadata) refused by the CLI, loopback too unless allowed.
    refused = cli("webhooks", "add", "--tenant", "acme", "--url", "http://169.254.169.254/latest/meta-data",
                  "--events", "*", check_ok=False)
    check(refused.returncode != 0 and "link-local" in refused.stderr, "the CLI refuses a link-local (metadata) URL")
    refused = cli("webhooks", "add", "--tenant", "acme", "--url", hook_url, "--events", "*", check_ok=False)
    check(refused.returncode != 0 and "loopback" in refused.stderr, "the CLI refuses loopback unless allowed")

    added = json.loads(cli("webhooks", "add", "--tenant", "acme", "--url", hook_url, "--events", "*",
                           "--allow-network", "127.0.0.1/32", "--json").stdout)
    check(added["secret"].startswith("whsec_") and added["event_types"][0] == "alert.resolved",
          "webhooks add prints the endpoint and its whsec_ secret")
    endpoint = added["id"]
    receiver.secrets["first"] = added["secret"]

    node, url = start_node()
    try:
        # A second endpoint over HTTP (help desk: escalations only); metadata refused there too.
        status, body = call(url, "POST", "/v1/webhooks", admin,
                            {"url": "http://169.254.169.254/", "events": ["escalation.created"]})
        check(status == 422 and "link-local" in body.get("detail", ""), "POST /v1/webhooks refuses a metadata address")
        status, body = call(url, "POST", "/v1/webhooks", query, {"url": hook_url, "events": ["escalation.created"]})
        check(status == 403, "a query key cannot add webhooks")
        status, desk = call(url, "POST", "/v1/webhooks", admin,
                            {"url": hook_url + "?desk=1", "events": ["escalation.created", "escalation.resolved"],
                             "description": "help desk"})
        check(status == 201 and desk["secret"].startswith("whsec_"), "POST /v1/webhooks creates an endpoint")
        receiver.secrets["desk"] = desk["secret"]

        # 1. Events of every kind.
        status, resolved = call(url, "POST", "/v1/ask", query,
                                {"question": "How long do refunds take?", "conversation_id": "conv-1",
                                 "user_id": "u-1", "query_id": "q-refund"})
        check(status == 200 and resolved["tier"] in ("rule", "rag", "llm"), "a question is resolved")
        status, escalated = call(url, "POST", "/v1/ask", query,
                                 {"question": "Can I pay for the order with a cheque drawn on a Swiss bank?",
                                  "conversation_id": "conv-1", "query_id": "q-cheque"})
        check(status == 200 and escalated["tier"] == "escalated", "a question is escalated")
        status, _ = call(url, "POST", "/v1/queries/q-refund/feedback", query, {"helpful": True, "comment": "thanks"})
        check(status == 201, "feedback is recorded")
        status, _ = call(url, "POST", "/v1/escalations/q-cheque/resolve", admin, {"answer": "No, only cards."})
        check(status == 201, "an escalation is answered")
        check(receiver.wait(lambda: len(receiver.events()) >= 6), "six deliveries arrive (4 to one endpoint, 2 to the other)")
        time.sleep(1.5)
        events = receiver.events()
        check(len(events) == 6, f"each event is delivered once per endpoint (got {len(events)})")
        types = sorted(e["body"]["type"] for e in events)
        check(types == ["escalation.created", "escalation.created", "escalation.resolved", "escalation.resolved",
                        "query.feedback", "resolution.created"], f"the event types are right: {types}")
        check(all(e["verified_by"] for e in events) and not receiver.refused,
              "every delivery verifies with standardwebhooks against its endpoint's secret")
        escalation = receiver.events("escalation.created")[0]["body"]
        data = escalation["data"]
        check(data["question"].startswith("Can I pay") and data["conversation_id"] == "conv-1"
              and [t["query_id"] for t in data["conversation"]] == ["q-refund"]
              and isinstance(data["tiers"], list) and "reason" in data and data["user_id"] is None,
              "escalation.created carries the question, the conversation's earlier turns and why each tier passed")
        check(escalation["timestamp"].endswith("Z") and set(escalation) == {"type", "timestamp", "data"},
              "the body is {type, timestamp, data} with an ISO-8601 UTC timestamp")
        resolution = receiver.events("resolution.created")[0]["body"]["data"]
        check(isinstance(resolution["cost"], str) and resolution["query_id"] == "q-refund",
              "resolution.created carries the query and its cost as a decimal string")

        # Alerts: a threshold on billable resolutions fires once (alert.triggered), not per question.
        alert = json.loads(cli("alerts", "add", "--tenant", "acme", "--metric", "billable_resolutions",
                               "--threshold", "2", "--name", "two resolutions", "--json").stdout)
        # Three different questions (repeats of one question would be flagged as near-duplicates, not billed).
        for question in ["How many days until I get my refund?", "How long is delivery within the EU?",
                         "When does the refund period start?"]:
            call(url, "POST", "/v1/ask", query, {"question": question})
        check(receiver.wait(lambda: len(receiver.events("alert.triggered")) >= 1, 90),
              "an alert on billable resolutions fires an alert.triggered webhook")
        time.sleep(1.5)
        fired = receiver.events("alert.triggered")
        check(len(fired) == 1 and fired[0]["body"]["data"]["alert_id"] == alert["id"]
              and fired[0]["body"]["data"]["value"] in ("2", "3", "4") and fired[0]["body"]["data"]["threshold"] == "2",
              f"alert.triggered is sent once, with the value and the threshold ({len(fired)} sent)")
        status, listed = call(url, "GET", "/v1/alerts", admin)
        check(status == 200 and listed["alerts"][0]["in_alarm"] is True, "GET /v1/alerts shows the alert in alarm")
        cli("alerts", "remove", "--tenant", "acme", alert["id"])

        # 2. A receiver failing for a while: 503s, then a Retry-After, then success.
        with receiver.lock:
            receiver.script = ["fail", "fail", "fail", "retry-after"]
        call(url, "POST", "/v1/ask", query, {"question": "How long does shipping take?", "query_id": "q-ship"})
        check(receiver.wait(lambda: any(e["body"]["data"].get("query_id") == "q-ship" for e in events_now(receiver))),
              "an event is delivered once a failing receiver recovers")
        log = json.loads(cli("webhooks", "deliveries", "--tenant", "acme", endpoint, "--json").stdout)["deliveries"]
        ship = [d for d in log if d["state"] == "delivered" and len(d["attempt_log"]) >= 3]
        check(len(ship) >= 1 and ship[0]["attempt_log"][0]["status"] == 503 and ship[0]["attempt_log"][-1]["status"] == 204,
              "the delivery log shows the failed attempts and the success")

        def stamp(text):
            from datetime import datetime
            return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()

        waited = [stamp(b["attempted_at"]) - stamp(a["attempted_at"])
                  for d in ship for a, b in zip(d["attempt_log"], d["attempt_log"][1:]) if a["status"] == 429]
        check(len(waited) >= 1 and min(waited) >= 1.9,
              f"after a 429 with Retry-After: 2 the next attempt waits at least 2 s (waited {waited})")

        # 3. kill -9 with undelivered events: the receiver is down, ten questions are asked.
        receiver.mode = "fail"
        ids = [f"q-kill-{i}" for i in range(10)]
        for i, qid in enumerate(ids):
            call(url, "POST", "/v1/ask", query, {"question": f"How long do refunds take? ({i})", "query_id": qid})
        node.send_signal(signal.SIGKILL)
        node.wait()
        receiver.mode = "ok"
        node, url = start_node()
        check(receiver.wait(lambda: set(ids) <= {e["body"]["data"].get("query_id") for e in events_now(receiver)}),
              "after kill -9 and a restart every undelivered event is delivered (none lost)")

        # 4. Rotation: two signatures until the old secret expires.
        rotated = json.loads(cli("webhooks", "rotate-secret", "--tenant", "acme", endpoint, "--json").stdout)
        receiver.secrets["rotated"] = rotated["secret"]
        before = len(receiver.events())
        call(url, "POST", "/v1/ask", query, {"question": "How long does shipping take in the EU?", "query_id": "q-rot"})
        check(receiver.wait(lambda: len(receiver.events()) > before), "a delivery after the rotation arrives")
        last = receiver.events()[-1]
        check(set(last["verified_by"]) == {"first", "rotated"} and len(last["signature"].split(" ")) == 2,
              "during a rotation the delivery verifies with the old and with the new secret")

        # 5. Replay from the CLI: the same webhook-id again.
        replay = cli("webhooks", "replay", "--tenant", "acme", endpoint, last["id"], "--allow-network", "127.0.0.1/32",
                     "--json")
        check(json.loads(replay.stdout)["delivered"] is True
              and [e["id"] for e in receiver.events()].count(last["id"]) == 2, "replay sends the same event again")
        # 410 Gone disables the endpoint.
        receiver.mode = "gone"
        call(url, "POST", "/v1/ask", query, {"question": "Do you ship to Norway?", "query_id": "q-gone"})

        def disabled():
            listed = json.loads(cli("webhooks", "list", "--tenant", "acme", "--json").stdout)["webhooks"]
            return any(w["id"] == endpoint and not w["enabled"] for w in listed)

        check(receiver.wait(disabled, 30), "a 410 Gone disables the endpoint")
        status, listed = call(url, "GET", "/v1/webhooks", admin)
        check(status == 200 and any(w["id"] == endpoint and w["disabled_reason"] for w in listed["webhooks"])
              and all("secret" not in w for w in listed["webhooks"]), "GET /v1/webhooks lists endpoints, never secrets")
    finally:
        node.send_signal(signal.SIGTERM)
        node.wait(timeout=60)
    print(f"{'all' if failures == 0 else failures} webhook checks {'passed' if failures == 0 else 'failed'}")
    sys.exit(1 if failures else 0)


def events_now(receiver):
    return receiver.events()


if __name__ == "__main__":
    main()
