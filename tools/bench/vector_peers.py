#!/usr/bin/env python3
"""The peers of the vector-search benchmark on the data written by vector_data.py: numpy
(matrix-vector + argpartition), FAISS IndexFlatIP (and IVF at large n), USearch exact search and
sqlite-vec (vec0 brute force). Prints a JSON list of rows with the same fields as cascade's."""
import argparse
import json
import os
import sys
import time

import numpy as np

ap = argparse.ArgumentParser()
ap.add_argument("--data", required=True)
ap.add_argument("--k", type=int, default=10)
ap.add_argument("--batch", type=int, default=64)
ap.add_argument("--engines", default="numpy,faiss-flat,faiss-ivf,usearch,sqlite-vec")
a = ap.parse_args()
k = a.k


def rss():
    # Anonymous resident memory (heap), as cascade's side measures it.
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) * 1024
    return 0


def recall(results, truth):
    hits = sum(len(set(map(int, r[:k])) & set(map(int, t[:k]))) for r, t in zip(results, truth))
    return hits / (len(truth) * k)


def timed_queries(fn, queries):
    fn(queries[0])  # warm-up
    start = time.perf_counter()
    out = [fn(q) for q in queries]
    return (time.perf_counter() - start) / len(queries) * 1000, out


def timed_batches(fn, queries):
    fn(queries[: a.batch])
    start = time.perf_counter()
    out = []
    for s in range(0, len(queries), a.batch):
        out.extend(fn(queries[s : s + a.batch]))
    return (time.perf_counter() - start) / len(queries) * 1000, out


def row(engine, mode, n, dim, single, batch, rec, load, mem, **extra):
    r = {"engine": engine, "mode": mode, "n": n, "dim": dim, "single_ms": single, "batch_ms": batch,
         "recall_at_10": rec, "load_s": load, "memory_bytes": mem}
    r.update(extra)
    return r


queries = np.load(os.path.join(a.data, "queries.npy"))
truth = np.load(os.path.join(a.data, "truth.npy"))
path = os.path.join(a.data, "vectors.npy")
rows = []
engines = a.engines.split(",")

before = rss()
start = time.perf_counter()
x = np.load(path)  # read the same bytes from a flat file
load = time.perf_counter() - start
n, dim = x.shape
mem = rss() - before

if "numpy" in engines:
    def np_single(q):
        s = x @ q
        top = np.argpartition(-s, k)[:k]
        return top[np.argsort(-s[top])]

    def np_batch(qs):
        s = qs @ x.T
        top = np.argpartition(-s, k, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(s, top, axis=1), axis=1)
        return list(np.take_along_axis(top, order, axis=1))

    single, out1 = timed_queries(np_single, queries)
    batch, _ = timed_batches(np_batch, queries)
    rows.append(row("numpy", "exact-f32", n, dim, single, batch, recall(out1, truth), load, mem))

try:
    import threadpoolctl  # noqa: F401
except ImportError:
    pass

if "faiss-flat" in engines or "faiss-ivf" in engines:
    import faiss

    if "faiss-flat" in engines:
        before = rss()
        start = time.perf_counter()
        index = faiss.IndexFlatIP(dim)
        index.add(x)
        build = time.perf_counter() - start
        fmem = rss() - before
        single, out1 = timed_queries(lambda q: index.search(q[None, :], k)[1][0], queries)
        batch, _ = timed_batches(lambda qs: list(index.search(qs, k)[1]), queries)
        rows.append(row("faiss-flat", "exact-f32", n, dim, single, batch, recall(out1, truth), build, fmem))
        del index
    if "faiss-ivf" in engines and n >= 100_000:
        before = rss()
        start = time.perf_counter()
        nlist = int(4 * np.sqrt(n))
        quantizer = faiss.IndexFlatIP(dim)
        ivf = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
        sample = x[np.random.default_rng(0).choice(n, min(n, nlist * 40), replace=False)]
        ivf.train(sample)
        ivf.add(x)
        ivf.nprobe = 16
        build = time.perf_counter() - start
        fmem = rss() - before
        single, out1 = timed_queries(lambda q: ivf.search(q[None, :], k)[1][0], queries)
        batch, _ = timed_batches(lambda qs: list(ivf.search(qs, k)[1]), queries)
        rows.append(row("faiss-ivf", f"approx nlist={nlist} nprobe=16", n, dim, single, batch,
                        recall(out1, truth), build, fmem))
        del ivf

if "usearch" in engines:
    from usearch.index import MetricKind, search

    single, out1 = timed_queries(lambda q: search(x, q, k, MetricKind.IP, exact=True).keys, queries)
    batch, _ = timed_batches(lambda qs: list(search(x, qs, k, MetricKind.IP, exact=True).keys), queries)
    rows.append(row("usearch", "exact-f32", n, dim, single, batch, recall(out1, truth), 0.0, 0))

if "sqlite-vec" in engines:
    # Debian's python3 sqlite3 module cannot load extensions: apsw (PyPI) bundles an SQLite that can.
    import apsw
    import sqlite_vec

    db = apsw.Connection(":memory:")
    db.enable_load_extension(True)
    db.load_extension(sqlite_vec.loadable_path())
    before = rss()
    start = time.perf_counter()
    db.execute(f"CREATE VIRTUAL TABLE v USING vec0(embedding float[{dim}])")
    with db:
        db.executemany("INSERT INTO v(rowid, embedding) VALUES (?, ?)", ((i, x[i].tobytes()) for i in range(n)))
    build = time.perf_counter() - start
    smem = rss() - before
    # vec0 is slow at large n: fewer timed queries there (the per-query time is what is compared).
    subset = queries if n <= 100_000 else queries[:20]

    def vec_query(q):
        cur = db.execute("SELECT rowid FROM v WHERE embedding MATCH ? ORDER BY distance LIMIT ?", (q.tobytes(), k))
        return [r[0] for r in cur]

    single, out1 = timed_queries(vec_query, subset)
    rows.append(row("sqlite-vec", "exact-f32 (L2)", n, dim, single, None, recall(out1, truth[: len(subset)]),
                    build, smem, queries_timed=len(subset)))

json.dump(rows, sys.stdout)
