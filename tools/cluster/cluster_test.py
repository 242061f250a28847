"""What several nodes must guarantee, checked on a real cluster: three `cascade serve` nodes on
one PostgreSQL database behind nginx (round-robin), on loopback.

1. An upload through node 1 is searchable through nodes 2 and 3 (time to visibility printed).
2. Many clients with overlapping Idempotency-Keys through nginx: each key recorded once, every
   retry gets the stored answer, the chains verify, and the invoice equals the one a single
   SQLite node gives for the same questions.
3. kill -9 of a node under load: every answered question is in the ledger exactly once, the
   survivors keep answering; the killed node restarts and catches up.
4. A PostgreSQL restart under load: requests fail with 503 while it is down, the nodes reconnect
   on their own, and again every answered question is recorded exactly once.
5. Webhooks from the three nodes: every recorded question's event reaches a receiver, signed; in
   normal operation each event is delivered by exactly one node (a kill -9 mid-send may repeat one:
   at-least-once).

Usage: python3 tools/cluster/cluster_test.py .build/debug/cascade
"""

import base64
import collections
import concurrent.futures
import hashlib
import hmac
import json
import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cluster import Cluster, ask, call, free_port, log, support_documents, support_questions, upload  # noqa: E402

failures = []


def check(condition, message):
    print(("ok   " if condition else "FAIL ") + message, flush=True)
    if not condition:
        failures.append(message)


def ledger_queries(cluster, tenant="acme"):
    out = cluster.cli("ledger", "show", "--database", cluster.url, "--tenant", tenant, "--json")
    rows = [json.loads(line) for line in out.splitlines() if line.strip()]
    return collections.Counter(r["query_id"] for r in rows if r["kind"] == "query")


def evented_queries(cluster, tenant="acme"):
    """Query ids whose outcome sends an event (resolved or escalated; junk rejected by the screen sends none)."""
    out = cluster.cli("ledger", "show", "--database", cluster.url, "--tenant", tenant, "--json")
    rows = [json.loads(line) for line in out.splitlines() if line.strip()]
    return {r["query_id"] for r in rows if r["kind"] == "query" and r["tier"] != "rejected"}


def verify(cluster, *anchor):
    """`ledger verify` on the shared database; with `anchor` ("--checkpoint", FILE, "--public-key", KEY)
    also against a signed checkpoint taken earlier."""
    result = subprocess.run([cluster.binary, "ledger", "verify", "--database", cluster.url, "--json", *anchor],
                            capture_output=True, text=True)
    return result.returncode == 0 and json.loads(result.stdout).get("ok") is True


def searchable(base, key, query, source):
    reply = call(f"{base}/v1/search", "POST", {"query": query, "k": 3}, key)
    return any(r.get("source") == source for r in reply.json().get("results", []))


def comparable(invoice):
    return {
        "total": invoice["total"],
        "lines": [(l["kind"], l["quantity"], l["unit_price"], l["amount"], sorted(l["query_ids"]))
                  for l in invoice["lines"]],
    }


PIGEONS = "# Carrier pigeons\n\nOur carrier pigeon plan delivers parcels by pigeon within two days.\n"


def single_node_invoice(binary, pages, questions, workdir):
    """The same documents and questions through one node on SQLite: the reference invoice."""
    data = os.path.join(workdir, "single")
    run = lambda *a: subprocess.run([binary, *a, "--data", data], check=True, capture_output=True, text=True).stdout
    run("tenants", "create", "acme", "--plan", "pro")
    admin = json.loads(run("keys", "create", "--tenant", "acme", "--scope", "admin", "--json"))["key"]
    port = free_port()
    server = subprocess.Popen([binary, "serve", "--data", data, "--port", str(port), "--embedder", "hashing"],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        server.stdout.readline()
        base = f"http://127.0.0.1:{port}"
        for name, text in pages + [("pigeons.md", PIGEONS)]:
            upload(base, admin, name, text)
        for index, question in enumerate(questions):
            reply, _ = ask(base, admin, question, f"q-{index}")
            assert reply.status == 200, reply.body
    finally:
        server.terminate()
        server.wait()
    return json.loads(run("invoice", "--tenant", "acme", "--json"))


def load(base, key, prefix, seconds, workers=12):
    """Clients asking new questions as fast as answers come, retrying with the same key on
    failure. Returns {query_id: (answer, time answered)} of the answered ones."""
    questions = support_questions()
    answered = {}
    lock = threading.Lock()
    stop = time.time() + seconds
    counter = iter(range(10**9))

    def worker():
        while time.time() < stop:
            n = next(counter)
            query_id = f"{prefix}-{n}"
            reply, _ = ask(base, key, questions[n % len(questions)] + f" (case {n})", query_id, retry_for=90)
            if reply.status == 200:
                with lock:
                    answered[query_id] = (reply.json().get("answer"), time.time())

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for t in threads:
        t.start()
    return threads, answered


def survive(cluster, key, what, event, seconds):
    """Load through nginx, `event` 2.5 s in; then: every answered question recorded exactly once,
    none twice, and answers kept coming after the event."""
    threads, answered = load(cluster.front, key, what.split()[-1], seconds=seconds)
    time.sleep(2.5)
    started = time.time()
    event()
    ended = time.time()
    log(f"{what} took {ended - started:.1f} s")
    for t in threads:
        t.join()
    counts = ledger_queries(cluster)
    check(answered and all(counts[q] == 1 for q in answered),
          f"{what} under load: all {len(answered)} answered questions recorded exactly once")
    check(max(counts.values()) == 1, "no question recorded twice")
    after = sum(1 for _, at in answered.values() if at > ended + 0.5)
    check(after > 0, f"after {what}, {after} questions were answered (the nodes carry on by themselves)")


class Receiver:
    """Counts webhook deliveries by webhook-id, checking each signature (HMAC-SHA256, the
    Standard Webhooks scheme, computed here independently of cascade)."""

    def __init__(self):
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        self.secret = b""
        self.lock = threading.Lock()
        self.deliveries = collections.Counter()
        self.query_ids = set()
        self.forged = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                msg_id, stamp = self.headers.get("webhook-id", ""), self.headers.get("webhook-timestamp", "")
                expected = base64.b64encode(hmac.new(receiver.secret, f"{msg_id}.{stamp}.".encode() + body,
                                                     hashlib.sha256).digest()).decode()
                signatures = [s.split(",", 1)[1] for s in self.headers.get("webhook-signature", "").split(" ") if "," in s]
                with receiver.lock:
                    if not any(hmac.compare_digest(expected, s) for s in signatures):
                        receiver.forged += 1
                    else:
                        receiver.deliveries[msg_id] += 1
                        receiver.query_ids.add(json.loads(body)["data"].get("query_id"))
                self.send_response(204)
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, ids, seconds=90):
        deadline = time.time() + seconds
        while time.time() < deadline:
            with self.lock:
                if set(ids) <= self.query_ids:
                    return True
            time.sleep(0.2)
        return False


def main():
    binary = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else ".build/debug/cascade")
    cluster = Cluster(binary, nodes=3)
    try:
        admin, query = cluster.create_tenant("acme")
        receiver = Receiver()
        endpoint = json.loads(cluster.cli(
            "webhooks", "add", "--tenant", "acme", "--database", cluster.url, "--url", receiver.url,
            "--events", "resolution.created,escalation.created", "--allow-network", "127.0.0.1/32", "--json",
            data=os.path.join(cluster.workdir, "admin")))
        receiver.secret = base64.b64decode(endpoint["secret"][len("whsec_"):])
        pages = support_documents(limit=12)
        started = time.time()
        for name, text in pages:
            upload(cluster.node_url(0), admin, name, text)
        log(f"ingested {len(pages)} pages through node 1 in {time.time() - started:.1f} s")

        # 1. Visibility of an upload on the other nodes.
        upload(cluster.node_url(0), admin, "pigeons.md", PIGEONS)
        uploaded = time.time()
        for index in (1, 2):
            while not searchable(cluster.node_url(index), query, "carrier pigeon parcels", "uploads/pigeons.md"):
                if time.time() - uploaded > 30:
                    break
                time.sleep(0.02)
            seen = time.time() - uploaded
            check(seen < 10, f"an upload through node 1 is searchable through node {index + 1} after {seen:.2f} s")

        # 2. Overlapping idempotency keys through nginx, and the single-node invoice.
        questions = support_questions()[:24]
        jobs = [(i, q) for i, q in enumerate(questions) for _ in range(4)]
        with concurrent.futures.ThreadPoolExecutor(48) as pool:
            replies = list(pool.map(lambda job: (job[0], ask(cluster.front, query, job[1], f"q-{job[0]}")[0]), jobs))
        check(all(r.status == 200 for _, r in replies), f"{len(replies)} asks through nginx answered 200")
        answers = collections.defaultdict(set)
        for index, reply in replies:
            answers[index].add(reply.json().get("answer"))
        check(all(len(a) == 1 for a in answers.values()), "every retry of a key got the same answer")
        counts = ledger_queries(cluster)
        check(len(counts) == len(questions) and set(counts.values()) == {1},
              f"{len(questions)} keys × 4 requests on 3 nodes: each key recorded once ({len(counts)} query rows)")
        check(verify(cluster), "the ledger's chains verify")
        evented = evented_queries(cluster)
        check(receiver.wait_for(evented),
              f"every one of the {len(evented)} recorded questions' webhook events reached the receiver, signed")
        with receiver.lock:
            repeated = [m for m, n in receiver.deliveries.items() if n > 1]
            check(not repeated and receiver.forged == 0,
                  f"three nodes sending: each of {len(receiver.deliveries)} events delivered by exactly one node "
                  f"({len(repeated)} repeated, {receiver.forged} unsigned)")
        key, checkpoint = os.path.join(cluster.workdir, "signing.key"), os.path.join(cluster.workdir, "cp.json")
        cluster.cli("ledger", "keygen", "--out", key)
        cluster.cli("ledger", "checkpoint", "--database", cluster.url, "--signing-key", key, "--out", checkpoint)
        clustered = json.loads(cluster.cli("invoice", "--tenant", "acme", "--database", cluster.url, "--json"))
        single = single_node_invoice(binary, pages, questions, cluster.workdir)
        check(comparable(clustered) == comparable(single),
              f"the cluster's invoice equals one SQLite node's for the same questions (total {clustered['total']})")

        # 3. kill -9 of node 3 under load.
        survive(cluster, query, "kill -9 of a node", lambda: cluster.kill_node(2), seconds=8)
        cluster.start_node(2, port=cluster.nodes[2]["port"])
        check(searchable(cluster.node_url(2), query, "carrier pigeon parcels", "uploads/pigeons.md"),
              "the killed node restarts and serves the shared knowledge base")

        # 4. A PostgreSQL restart under load.
        survive(cluster, query, "a PostgreSQL restart", cluster.restart_postgres, seconds=10)
        check(verify(cluster), "the ledger's chains verify after the kill and the restart")
        check(verify(cluster, "--checkpoint", checkpoint, "--public-key", key + ".pub"),
              "every row the signed checkpoint vouched for before the kill and the restart is still there, unchanged")
        recorded = evented_queries(cluster)
        check(receiver.wait_for(recorded, seconds=120),
              f"after the kill -9 and the PostgreSQL restart, every one of the {len(recorded)} recorded questions' "
              "events was delivered (none lost)")
        with receiver.lock:
            log(f"webhook events delivered more than once (at-least-once, after the kill): "
                f"{sum(1 for n in receiver.deliveries.values() if n > 1)} of {len(receiver.deliveries)}")
    finally:
        cluster.close()
    if failures:
        print(f"{len(failures)} failure(s)")
        sys.exit(1)
    print("cluster checks passed")


if __name__ == "__main__":
    main()
