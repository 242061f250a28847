#!/usr/bin/env python3
"""Reference retrieval baselines on a BEIR set, computed outside cascade's retrieval code:
BM25 (bm25s, Lucene k1=1.5 b=0.75, English stopwords + Snowball stemming), exact cosine over
all-MiniLM-L6-v2 vectors, and reciprocal-rank fusion (k=60) of the two. Scored with the same
rules as ../shared/tools/score-run.py (graded nDCG, documents once at their best rank).

The vectors are read from the knowledge base `cascade eval` cached for the set (cascade's
native MiniLM, checked against the reference implementation to cosine >= 0.9999); queries are
embedded the same way with `cascade embed`. Usage:
  tools/eval/beir_baselines.py DATASET_DIR --kb .cascade/eval-cache/<set>-<key>/kb.sqlite [--cascade BIN] [--json]
"""
import argparse
import json
import math
import sqlite3
import subprocess
import sys

import bm25s
import numpy as np
import Stemmer

ap = argparse.ArgumentParser()
ap.add_argument("dataset")
ap.add_argument("--kb", required=True)
ap.add_argument("--cascade", default=".build/release/cascade")
ap.add_argument("--json", action="store_true")
a = ap.parse_args()


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


corpus = read_jsonl(f"{a.dataset}/corpus.jsonl")
queries = read_jsonl(f"{a.dataset}/queries.jsonl")
qrels = {}
with open(f"{a.dataset}/qrels/test.tsv") as f:
    for i, line in enumerate(f):
        parts = line.rstrip("\n").split("\t")
        if i == 0 and parts[0] == "query-id":
            continue
        if len(parts) >= 3 and int(parts[2]) > 0:
            qrels.setdefault(parts[0], {})[parts[1]] = int(parts[2])
queries = [q for q in queries if q["_id"] in qrels]
ids = [d["_id"] for d in corpus]


def metrics(ranking, relevant):
    top = ranking[:10]
    first = next((i for i, d in enumerate(top) if relevant.get(d, 0) > 0), None)
    dcg = sum(relevant.get(d, 0) / math.log2(i + 2) for i, d in enumerate(top))
    ideal = sorted(relevant.values(), reverse=True)[:10]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return {
        "hit@1": float(first is not None and first < 1),
        "hit@10": float(first is not None),
        "mrr@10": 0.0 if first is None else 1 / (first + 1),
        "ndcg@10": dcg / idcg if idcg else 0.0,
    }


def score(runs):
    per = [metrics(runs[q["_id"]], qrels[q["_id"]]) for q in queries]
    return {k: sum(p[k] for p in per) / len(per) for k in per[0]}


# BM25 over title + " " + text.
stemmer = Stemmer.Stemmer("english")
texts = [(d.get("title") or "") + " " + (d.get("text") or "") for d in corpus]
retriever = bm25s.BM25(k1=1.5, b=0.75, method="lucene")
retriever.index(bm25s.tokenize(texts, stopwords="en", stemmer=stemmer, show_progress=False), show_progress=False)
bm25_runs = {}
for q in queries:
    docs, _ = retriever.retrieve(
        bm25s.tokenize([q["text"]], stopwords="en", stemmer=stemmer, show_progress=False), k=100, show_progress=False)
    bm25_runs[q["_id"]] = [ids[i] for i in docs[0]]

# Dense: each document's best chunk vector from the cached knowledge base.
db = sqlite3.connect(f"file:{a.kb}?mode=ro", uri=True)
model, dim = [r[0] for r in db.execute("SELECT value FROM kb_meta WHERE key IN ('embedding_model','embedding_dimension') ORDER BY key DESC")]
dim = int(dim)
packs = {pid: np.frombuffer(blob, dtype="<f4").reshape(-1, dim) for pid, blob in db.execute(
    "SELECT id, vectors FROM vector_pack WHERE model = ?", (model,))}
rows = db.execute("""SELECT d.doc_id, e.pack_id, e.slot FROM chunk c JOIN document d ON d.id = c.document_id
                     JOIN embedding e ON e.model = ? AND e.text_hash = c.text_hash""", (model,)).fetchall()
doc_index = {d: i for i, d in enumerate(ids)}
chunk_docs = np.array([doc_index[r[0]] for r in rows])
matrix = np.stack([packs[r[1]][r[2]] for r in rows])
query_vectors = []
for q in queries:
    out = subprocess.run([a.cascade, "embed", q["text"], "--json", "--embedder", "minilm"], capture_output=True, check=True, text=True)
    query_vectors.append(np.array(json.loads(out.stdout)["vector"], dtype=np.float32))
dense_runs = {}
for q, v in zip(queries, query_vectors):
    s = matrix @ v
    best = np.full(len(ids), -np.inf)
    np.maximum.at(best, chunk_docs, s)
    order = np.argsort(-best, kind="stable")[:100]
    dense_runs[q["_id"]] = [ids[i] for i in order]


def rrf(*lists, k=60):
    scores = {}
    for lst in lists:
        for r, d in enumerate(lst):
            scores[d] = scores.get(d, 0) + 1 / (k + r + 1)
    return [d for d, _ in sorted(scores.items(), key=lambda x: (-x[1], x[0]))]


rrf_runs = {q["_id"]: rrf(bm25_runs[q["_id"]], dense_runs[q["_id"]]) for q in queries}
rows_out = [("BM25 (bm25s)", score(bm25_runs)), ("MiniLM exact cosine", score(dense_runs)), ("RRF k=60", score(rrf_runs))]
if a.json:
    json.dump({name: m for name, m in rows_out}, sys.stdout)
else:
    print(f"Python baselines on {a.dataset} ({len(queries)} judged queries)")
    print("| method | hit@1 | hit@10 | MRR@10 | nDCG@10 |\n|---|---|---|---|---|")
    for name, m in rows_out:
        print(f"| {name} | {m['hit@1']:.3f} | {m['hit@10']:.3f} | {m['mrr@10']:.3f} | {m['ndcg@10']:.3f} |")
