#!/usr/bin/env python3
"""Writes the shared data of the vector-search benchmark, once per (n, dim, queries, seed):
vectors.npy (n x dim float32, unit norm), queries.npy (q x dim), truth.npy (q x 10 int64 row
indices of the exact top 10, computed in float64) and corpus.jsonl (one line per vector, for
`cascade import-vectors`). Every engine reads these same files."""
import argparse
import json
import os
import sys

import numpy as np

ap = argparse.ArgumentParser()
ap.add_argument("--n", type=int, required=True)
ap.add_argument("--dim", type=int, default=384)
ap.add_argument("--queries", type=int, default=200)
ap.add_argument("--seed", type=int, default=42)
ap.add_argument("--out", required=True)
a = ap.parse_args()

done = os.path.join(a.out, "complete")
if os.path.exists(done):
    sys.exit(0)
os.makedirs(a.out, exist_ok=True)
rng = np.random.default_rng(a.seed)
# Random unit vectors: no cluster structure, so no engine gets an easy ride.
vectors = np.empty((a.n, a.dim), dtype=np.float32)
for start in range(0, a.n, 100_000):
    block = rng.standard_normal((min(100_000, a.n - start), a.dim), dtype=np.float32)
    block /= np.linalg.norm(block, axis=1, keepdims=True)
    vectors[start : start + len(block)] = block
queries = rng.standard_normal((a.queries, a.dim), dtype=np.float32)
queries /= np.linalg.norm(queries, axis=1, keepdims=True)
truth = np.empty((a.queries, 10), dtype=np.int64)
q64 = queries.astype(np.float64)
x64 = vectors.astype(np.float64)
for start in range(0, a.queries, 16):
    scores = q64[start : start + 16] @ x64.T
    top = np.argpartition(-scores, 10, axis=1)[:, :10]
    order = np.argsort(-np.take_along_axis(scores, top, axis=1), axis=1, kind="stable")
    truth[start : start + 16] = np.take_along_axis(top, order, axis=1)
np.save(os.path.join(a.out, "vectors.npy"), vectors)
np.save(os.path.join(a.out, "queries.npy"), queries)
np.save(os.path.join(a.out, "truth.npy"), truth)
with open(os.path.join(a.out, "corpus.jsonl"), "w") as f:
    for i in range(a.n):
        f.write(json.dumps({"_id": f"p{i}", "title": "", "text": f"synthetic passage {i}"}) + "\n")
open(done, "w").close()
