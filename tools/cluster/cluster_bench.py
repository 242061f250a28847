"""tools/bench/cluster: asks per second and latency for 1, 2 and 3 `cascade serve` nodes on one
PostgreSQL database behind nginx, on this machine, with the real MiniLM model, and where the CPU
time goes (nodes, PostgreSQL, nginx, the load generator).

Every row is measured in this run on the same documents and the same questions: each node count
gets a fresh database and fresh nodes, the documents are ingested through node 1 (the others
replay them from the shared log), then `--clients` clients ask new questions (a new
Idempotency-Key each) through nginx for `--seconds`.
"""

import argparse
import os
import statistics
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cluster import Cluster, ask, call, log, support_documents, support_questions, upload  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids):
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])
        except (OSError, IndexError, ValueError):
            pass
    return total / TICKS


def children(pid):
    """The worker processes of nginx's master."""
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def postgres_pids():
    out = subprocess.run(["pgrep", "-u", "postgres"], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def measure(cluster, key, clients, seconds, prefix):
    questions = support_questions()
    latencies = []
    failures = [0]
    lock = threading.Lock()
    counter = iter(range(10**9))
    stop = time.time() + seconds

    def worker():
        while time.time() < stop:
            n = next(counter)
            started = time.perf_counter()
            reply, _ = ask(cluster.front, key, questions[n % len(questions)], f"{prefix}-{n}", retry_for=5)
            elapsed = time.perf_counter() - started
            with lock:
                if reply.status == 200:
                    latencies.append(elapsed)
                else:
                    failures[0] += 1

    node_pids = [n["process"].pid for n in cluster.nodes]
    nginx_pids = [cluster.nginx.pid] + children(cluster.nginx.pid)
    before = (cpu_seconds(node_pids), cpu_seconds(postgres_pids()), cpu_seconds(set(nginx_pids)), time.process_time())
    wall = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - wall
    after = (cpu_seconds(node_pids), cpu_seconds(postgres_pids()), cpu_seconds(set(nginx_pids)), time.process_time())
    cpu = [a - b for a, b in zip(after, before)]
    latencies.sort()
    def pct(p):
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000 if latencies else float("nan")
    return {
        "asks": len(latencies), "failed": failures[0], "wall": wall, "per_second": len(latencies) / wall,
        "p50": pct(0.50), "p99": pct(0.99), "mean": statistics.mean(latencies) * 1000 if latencies else float("nan"),
        "cpu_nodes": cpu[0], "cpu_postgres": cpu[1], "cpu_nginx": cpu[2], "cpu_client": cpu[3],
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("binary")
    parser.add_argument("--nodes", default="1,2,3")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--pages", type=int, default=20)
    parser.add_argument("--embedder", default="minilm")
    args = parser.parse_args()
    pages = support_documents(limit=args.pages)
    rows = []
    for count in [int(n) for n in args.nodes.split(",")]:
        log(f"== {count} node(s): starting, ingesting {len(pages)} pages through node 1")
        cluster = Cluster(os.path.abspath(args.binary), nodes=count, embedder=args.embedder)
        try:
            admin, query = cluster.create_tenant("acme")
            for name, text in pages:
                upload(cluster.node_url(0), admin, name, text)
            # Every node has replayed every document before the clock starts.
            last = pages[-1][0]
            for index in range(1, count):
                deadline = time.time() + 120
                while time.time() < deadline:
                    reply = call(f"{cluster.node_url(index)}/v1/documents?limit=1000", key=admin)
                    if any(d.get("source") == f"uploads/{last}" for d in reply.json().get("documents", [])):
                        break
                    time.sleep(0.2)
            measure(cluster, query, args.clients, 3, f"warmup-{count}")
            row = measure(cluster, query, args.clients, args.seconds, f"run-{count}")
            row["nodes"] = count
            rows.append(row)
            log(f"   {row['per_second']:.1f} asks/s, p50 {row['p50']:.0f} ms, p99 {row['p99']:.0f} ms")
        finally:
            cluster.close()
    base = rows[0]["per_second"] if rows else 1
    print(f"\ncascade serve behind nginx, {args.clients} clients, {args.seconds:.0f} s per row, "
          f"embedder {args.embedder}, {os.cpu_count()} CPU(s); each ask a new question (nothing replayed)")
    print(f"{'nodes':>5} {'asks/s':>8} {'vs 1':>6} {'p50 ms':>8} {'p99 ms':>8} {'failed':>6}   "
          f"CPU s: {'nodes':>6} {'postgres':>8} {'nginx':>6} {'client':>6}")
    for r in rows:
        print(f"{r['nodes']:>5} {r['per_second']:>8.1f} {r['per_second'] / base:>5.2f}× {r['p50']:>8.0f} "
              f"{r['p99']:>8.0f} {r['failed']:>6}          {r['cpu_nodes']:>6.1f} {r['cpu_postgres']:>8.1f} "
              f"{r['cpu_nginx']:>6.1f} {r['cpu_client']:>6.1f}")
    for r in rows:
        total = r["cpu_nodes"] + r["cpu_postgres"] + r["cpu_nginx"] + r["cpu_client"]
        if total > 0:
            print(f"{r['nodes']} node(s): of {total:.1f} CPU-seconds in {r['wall']:.0f} s "
                  f"({total / r['wall']:.2f} of {os.cpu_count()} cores busy): nodes {r['cpu_nodes'] / total:.0%}, "
                  f"PostgreSQL {r['cpu_postgres'] / total:.0%}, nginx {r['cpu_nginx'] / total:.0%}, "
                  f"load generator {r['cpu_client'] / total:.0%}")


if __name__ == "__main__":
    main()
