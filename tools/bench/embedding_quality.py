#!/usr/bin/env python3
"""int8 quality gate on retrieval: nDCG@10 of `vector` search with the f32 model and with the
int8 model, on each evaluation set, through `cascade eval retrieval` (the same path users run).
Each set is ingested once per model (the eval cache keeps them). Gate: |Δ nDCG@10| ≤ 0.005.

    tools/bench/embedding_quality.py CASCADE_BINARY SET_DIR...
"""
import json
import subprocess
import sys

GATE = 0.005


def ndcg(binary, dataset, embedder):
    out = subprocess.run([binary, "eval", "retrieval", "--dataset", dataset, "--embedder", embedder,
                          "--mode", "vector", "--json"], check=True, capture_output=True, text=True).stdout
    report = json.loads(out[out.index("{"):])
    row = report["rows"][0]
    return row["metrics"]["ndcg_at_10"], row["queries"]


def main():
    binary, sets = sys.argv[1], sys.argv[2:]
    print("int8 retrieval quality (vector mode, nDCG@10; gate |Δ| ≤ %.3f)" % GATE)
    print("%-14s %8s %8s %8s %8s" % ("set", "queries", "f32", "int8", "Δ"))
    failures = 0
    for dataset in sets:
        f32, queries = ndcg(binary, dataset, "minilm")
        int8, _ = ndcg(binary, dataset, "minilm-int8")
        delta = int8 - f32
        ok = abs(delta) <= GATE
        failures += not ok
        name = dataset.rstrip("/").split("/")[-1]
        if name == "eval":
            name = dataset.rstrip("/").split("/")[-2]
        print("%-14s %8d %8.4f %8.4f %+8.4f %s" % (name, queries, f32, int8, delta, "✓" if ok else "✗"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
