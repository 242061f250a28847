"""Driver of tools/bench/serve: sets up the data, starts the servers, runs wrk, prints the table.

Everything runs on loopback, in one invocation, on the same knowledge base and the same query
vectors. Numbers are measured, never assumed: each row is one wrk run of --duration seconds.
"""

import argparse
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LUA = os.path.join(ROOT, "tools", "bench", "serve_wrk.lua")


def log(message):
    print(message, file=sys.stderr, flush=True)


def run(args, **kwargs):
    return subprocess.run(args, check=True, capture_output=True, text=True, **kwargs)


def wait_for_line(process, pattern, timeout=120):
    deadline = time.time() + timeout
    seen = ""
    while time.time() < deadline:
        line = process.stdout.readline()
        if not line:
            if process.poll() is not None:
                break
            continue
        seen += line
        match = re.search(pattern, line)
        if match:
            return match
    raise RuntimeError(f"server did not start: {seen[-2000:]}")


def wait_http(url, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except Exception:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer")


def wrk(url, path, bodies_file, token, connections, duration):
    threads = 1 if connections == 1 else 2
    env = dict(os.environ, WRK_BODIES=bodies_file, WRK_PATH=path, WRK_TOKEN=token or "")
    out = run(
        ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{duration}s", "--timeout", "10s",
         "-s", LUA, url], env=env).stdout
    result = json.loads(out.strip().splitlines()[-1])
    seconds = result["duration_us"] / 1e6
    return {
        "requests_per_s": result["requests"] / seconds,
        "p50_ms": result["p50_us"] / 1000,
        "p99_ms": result["p99_us"] / 1000,
        "errors": result["socket_errors"] + result["non_2xx"],
        "requests": result["requests"],
    }


def kb_vectors(path):
    """(chunk id, text, vector) of every chunk of a cascade knowledge base, read from its packs."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    model, = db.execute("SELECT value FROM kb_meta WHERE key = 'embedding_model'").fetchone()
    dimension = int(db.execute("SELECT value FROM kb_meta WHERE key = 'embedding_dimension'").fetchone()[0])
    packs = {pid: blob for pid, blob in db.execute(
        "SELECT id, vectors FROM vector_pack WHERE model = ?", (model,))}
    import numpy as np
    rows = []
    for chunk_id, text, pack, slot in db.execute(
            "SELECT c.id, c.text, e.pack_id, e.slot FROM chunk c "
            "JOIN embedding e ON e.model = ? AND e.text_hash = c.text_hash ORDER BY c.id", (model,)):
        blob = packs[pack]
        vector = np.frombuffer(blob, dtype="<f4", count=dimension, offset=slot * dimension * 4)
        rows.append((chunk_id, text, vector.tolist()))
    return model, dimension, rows


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cascade", required=True)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--concurrency", default="1,8,64")
    parser.add_argument("--process-questions", type=int, default=24)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    levels = [int(c) for c in args.concurrency.split(",")]
    cascade = args.cascade
    work = tempfile.mkdtemp(prefix="cascade-bench-serve-")
    data = os.path.join(work, "data")
    processes = []

    def stop_all():
        for p in processes:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    p.kill()

    try:
        # The demo knowledge base (MiniLM), copied consistently with SQLite's backup API; built
        # once with `cascade ingest` when the demo has not run yet.
        run([cascade, "tenants", "create", "bench", "--data", data])
        source = os.path.join(ROOT, ".cascade", "demo-service", "tenants", "acme", "kb.sqlite")
        target = os.path.join(data, "tenants", "bench", "kb.sqlite")
        os.makedirs(os.path.dirname(target), exist_ok=True)
        if os.path.exists(source):
            log(f"copying the demo knowledge base {source}")
            src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
            dst = sqlite3.connect(target)
            src.backup(dst)
            dst.close()
            src.close()
        else:
            log("ingesting corpora/sqlite-docs (the demo has not run yet)")
            run([cascade, "ingest", "corpora/sqlite-docs", "--tenant", "bench", "--data", data], cwd=ROOT)
        key = json.loads(run([cascade, "keys", "create", "--tenant", "bench", "--scope", "query", "--json",
                              "--data", data]).stdout)["key"]
        model, dimension, chunks = kb_vectors(target)
        questions = [json.loads(line)["text"] for line in open(os.path.join(
            ROOT, "corpora", "sqlite-docs", "eval", "queries.jsonl")) if line.strip()]
        log(f"{len(chunks)} chunks ({model}, {dimension} d); embedding {len(questions)} questions")
        vectors = [json.loads(run([cascade, "embed", q, "--json"]).stdout)["vector"] for q in questions]

        bodies = {}
        for name, lines in {
            "search_vector": [json.dumps({"vector": v, "k": 10, "mode": "vector"}) for v in vectors],
            "search_text": [json.dumps({"query": q, "k": 10}) for q in questions],
            "ask": [json.dumps({"question": q}) for q in questions],
            "chroma": [json.dumps({"query_embeddings": [v], "n_results": 10,
                                   "include": ["documents", "distances"]}) for v in vectors],
        }.items():
            path = os.path.join(work, f"{name}.jsonl")
            with open(path, "w") as f:
                f.write("\n".join(lines) + "\n")
            bodies[name] = path

        # cascade serve
        serve = subprocess.Popen(
            [cascade, "serve", "--data", data, "--port", "0", "--rate-limit", "1000000", "--burst", "1000000",
             "--max-in-flight", "10000"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT)
        processes.append(serve)
        url = wait_for_line(serve, r"(http://127\.0\.0\.1:\d+)").group(1)
        wait_http(url + "/readyz")
        rows = []
        for route, body, path in [("search (vector)", "search_vector", "/v1/search"),
                                  ("search (text)", "search_text", "/v1/search"),
                                  ("ask", "ask", "/v1/ask")]:
            for c in levels:
                log(f"wrk cascade {route} c={c}")
                rows.append(dict(engine="cascade serve", route=route, concurrency=c,
                                 **wrk(url, path, bodies[body], key, c, args.duration)))
        serve.send_signal(signal.SIGTERM)
        serve.wait(timeout=60)

        # The same text searches with each request embedding its own query (no batching).
        unbatched = subprocess.Popen(
            [cascade, "serve", "--data", data, "--port", "0", "--rate-limit", "1000000", "--burst", "1000000",
             "--max-in-flight", "10000", "--no-batch-embeddings"], stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, text=True, cwd=ROOT)
        processes.append(unbatched)
        url = wait_for_line(unbatched, r"(http://127\.0\.0\.1:\d+)").group(1)
        wait_http(url + "/readyz")
        for c in levels:
            log(f"wrk cascade search (text, unbatched) c={c}")
            rows.append(dict(engine="cascade serve, unbatched", route="search (text)", concurrency=c,
                             **wrk(url, "/v1/search", bodies["search_text"], key, c, args.duration)))
        unbatched.send_signal(signal.SIGTERM)
        unbatched.wait(timeout=60)

        # One `cascade ask` process per question (what integrations did before the service).
        n = min(args.process_questions, len(questions))
        for parallel in (1, 2):
            log(f"cascade ask, one process per question, {parallel} at a time")
            started = time.time()
            pending = []
            for i, q in enumerate(questions[:n]):
                pending.append(subprocess.Popen(
                    [cascade, "ask", q, "--tenant", "bench", "--data", data, "--query-id", f"proc-{parallel}-{i}"],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
                if len(pending) >= parallel:
                    pending.pop(0).wait()
            for p in pending:
                p.wait()
            elapsed = time.time() - started
            rows.append(dict(engine="cascade ask (process each)", route="ask", concurrency=parallel,
                             requests_per_s=n / elapsed, p50_ms=elapsed / n * parallel * 1000, p99_ms=None,
                             errors=0, requests=n))

        # Chroma's HTTP server with the same vectors (cosine HNSW, its default index), queried by vector.
        import chromadb
        chroma_dir = os.path.join(work, "chroma")
        port = 18000 + os.getpid() % 1000
        chroma = subprocess.Popen(
            [os.path.join(os.path.dirname(sys.executable), "chroma"), "run", "--path", chroma_dir,
             "--host", "127.0.0.1", "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        processes.append(chroma)
        chroma_url = f"http://127.0.0.1:{port}"
        wait_http(chroma_url + "/api/v2/heartbeat")
        client = chromadb.HttpClient(host="127.0.0.1", port=port)
        collection = client.create_collection("bench", metadata={"hnsw:space": "cosine"})
        for start in range(0, len(chunks), 1000):
            part = chunks[start:start + 1000]
            collection.add(ids=[str(c[0]) for c in part], documents=[c[1] for c in part],
                           embeddings=[c[2] for c in part])
        chroma_path = (f"/api/v2/tenants/default_tenant/databases/default_database/collections/"
                       f"{collection.id}/query")
        for c in levels:
            log(f"wrk chroma c={c}")
            rows.append(dict(engine="chroma server", route="query (vector)", concurrency=c,
                             **wrk(chroma_url, chroma_path, bodies["chroma"], None, c, args.duration)))
        stop_all()

        def row(engine, route, c):
            return next((r for r in rows if r["engine"] == engine and r["route"] == route
                         and r["concurrency"] == c), None)

        goals = []
        s8 = row("cascade serve", "search (vector)", 8)
        if s8:
            goals.append(("p99 of /v1/search at concurrency 8 under 50 ms", s8["p99_ms"] < 50,
                          f"{s8['p99_ms']:.2f} ms"))
        best_process = max(r["requests_per_s"] for r in rows if r["engine"].startswith("cascade ask"))
        ask8 = row("cascade serve", "ask", 8)
        if ask8:
            ratio = ask8["requests_per_s"] / best_process
            goals.append(("/v1/ask ≥ 5× the requests/s of one process per question", ratio >= 5,
                          f"{ratio:.1f}× ({ask8['requests_per_s']:.0f} vs {best_process:.1f} req/s)"))
        for c in levels:
            ours, theirs = row("cascade serve", "search (vector)", c), row("chroma server", "query (vector)", c)
            if ours and theirs:
                ratio = ours["requests_per_s"] / theirs["requests_per_s"]
                goals.append((f"search by vector ahead of Chroma's server at concurrency {c}", ratio > 1,
                              f"{ratio:.2f}× requests/s, p99 {ours['p99_ms']:.2f} vs {theirs['p99_ms']:.2f} ms"))
        for c in levels:
            batched, alone = row("cascade serve", "search (text)", c), row("cascade serve, unbatched", "search (text)", c)
            if batched and alone and c > 1:
                ratio = batched["requests_per_s"] / alone["requests_per_s"]
                goals.append((f"batching concurrent query embeddings pays at concurrency {c}", ratio >= 1,
                              f"{ratio:.2f}× requests/s, p99 {batched['p99_ms']:.1f} vs {alone['p99_ms']:.1f} ms"))
        if args.json:
            print(json.dumps({"chunks": len(chunks), "model": model, "duration_s": args.duration, "rows": rows,
                              "goals": [{"goal": g, "met": m, "value": v} for g, m, v in goals]}))
            return
        print(f"cascade serve benchmark: {len(chunks)} chunks ({model}), {len(questions)} questions, "
              f"wrk {args.duration} s per row, 2 cores shared by client and server")
        print(f"{'engine':28} {'route':16} {'conc':>4} {'req/s':>10} {'p50 ms':>9} {'p99 ms':>9} {'errors':>7}")
        for r in rows:
            p99 = f"{r['p99_ms']:9.2f}" if r["p99_ms"] is not None else f"{'-':>9}"
            print(f"{r['engine']:28} {r['route']:16} {r['concurrency']:>4} {r['requests_per_s']:>10.1f} "
                  f"{r['p50_ms']:>9.2f} {p99} {r['errors']:>7}")
        print()
        for goal, met, value in goals:
            print(f"{'✓' if met else '✗'} {goal}: {value}")
    finally:
        stop_all()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
