"""Fusion study: how hybrid fusion rules do on each evaluation set when their constants are
chosen WITHOUT that set's labels (leave-one-set-out across the sets given).

Input: candidate dumps written by `cascade eval retrieval --dataset SET --dump-candidates FILE`
(one JSON object per judged query: its vector and keyword candidate lists with scores, exact
cosines of keyword-only candidates, and the judged documents).

For every rule and every setting of its constants, nDCG@10 (document level, linear gains, as
cascade's RetrievalMetrics) is computed on every set. Then, for each held-out set, the setting
is chosen on the OTHER sets (the one maximising the worst margin over max(vector, keyword) there,
ties broken by the mean nDCG) and reported on the held-out set. A rule that adapts per query
or per knowledge base without labels needs no fitting and is reported as is.

  python fusion_study.py NAME=dump.jsonl [NAME=dump.jsonl ...]
"""

import itertools
import json
import math
import sys


def load(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def ndcg(ranking_docs, relevant):
    seen, top = set(), []
    for d in ranking_docs:
        if d not in seen:
            seen.add(d)
            top.append(d)
        if len(top) == 10:
            break
    dcg = sum(relevant.get(d, 0) / math.log2(i + 2) for i, d in enumerate(top))
    ideal = sorted(relevant.values(), reverse=True)[:10]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg > 0 else 0.0


def vector_only(q, **_):
    return [c[1] for c in q["vector"]]


def keyword_only(q, **_):
    return [c[1] for c in q["keyword"]]


def candidates(q):
    """chunk -> (doc, cosine, bm25 or None)."""
    out = {}
    floor = q["vector"][-1][2] if q["vector"] else -1.0
    for chunk, doc, cos in q["vector"]:
        out[chunk] = [doc, cos, None]
    for chunk, doc, bm25 in q["keyword"]:
        if chunk not in out:
            out[chunk] = [doc, q["exact"].get(str(chunk), floor), None]
        out[chunk][2] = bm25
    return out


def tm2c2(q, w=0.6, gate=3, peak=4.0):
    """The shipped ScoreFusion (theoretical-min normalisation, agreement gate, peakiness)."""
    cands = candidates(q)
    if not cands:
        return []
    best_cos = max(c[1] for c in cands.values())
    rng = max(best_cos + 1, 1e-9)
    kw = q["keyword"]
    best_kw = max(0.0, kw[0][2]) if kw else 0.0
    kw_weight = 1 - w
    overlap = len({c[0] for c in q["vector"][:10]} & {c[0] for c in kw[:10]})
    if overlap < gate or best_kw <= 0:
        kw_weight = 0
    if len(kw) > 1 and best_kw > 0:
        gap = (best_kw - max(0.0, kw[1][2])) / best_kw
        kw_weight *= min(1, peak * gap)
    scored = []
    for chunk, (doc, cos, bm) in cands.items():
        s = w * (cos + 1) / rng + kw_weight * ((max(0.0, bm) / best_kw) if (bm is not None and best_kw > 0) else 0)
        scored.append((s, -chunk, doc))
    scored.sort(reverse=True)
    return [d for _, _, d in scored]


def tiebreak(q, lam=0.02):
    """Cosine first; BM25 (normalised to the query's best) may only reorder chunks whose cosines
    are within `lam` of each other."""
    cands = candidates(q)
    kw = q["keyword"]
    best_kw = max(0.0, kw[0][2]) if kw else 0.0
    scored = []
    for chunk, (doc, cos, bm) in cands.items():
        b = (max(0.0, bm) / best_kw) if (bm is not None and best_kw > 0) else 0.0
        scored.append((cos + lam * b, -chunk, doc))
    scored.sort(reverse=True)
    return [d for _, _, d in scored]


def rrf(q, k=60):
    score = {}
    docs = {}
    for lst in (q["vector"], q["keyword"]):
        for rank, (chunk, doc, _) in enumerate(lst):
            score[chunk] = score.get(chunk, 0) + 1 / (k + rank + 1)
            docs[chunk] = doc
    return [docs[c] for c, _ in sorted(score.items(), key=lambda x: (-x[1], x[0]))]


def consensus(q, w=0.6, gate=3, peak=4.0, reach=5):
    """tm2c2, but keywords count only when BM25's best chunk is also among the vector list's
    first `reach`: the words point where the meaning does."""
    kw = q["keyword"]
    if not kw or kw[0][0] not in {c[0] for c in q["vector"][:reach]}:
        return vector_only(q)
    return tm2c2(q, w=w, gate=gate, peak=peak)


RULES = {
    "tm2c2": (tm2c2, {"w": [0.6, 0.7, 0.8, 0.9], "gate": [3, 5], "peak": [1.0, 4.0]}),
    "tiebreak": (tiebreak, {"lam": [0.005, 0.01, 0.02, 0.03, 0.05, 0.08]}),
    "consensus": (consensus, {"w": [0.6, 0.7], "gate": [3], "peak": [4.0], "reach": [1, 3, 5, 10]}),
}


def changed(rule, sets, **params):
    """Share of queries whose first document differs from vector search's (a risk proxy)."""
    out = {}
    for name, qs in sets.items():
        n = sum(1 for q in qs if (rule(q, **params)[:1] != vector_only(q)[:1]))
        out[name] = n / len(qs)
    return out


def score(rule, sets, **params):
    return {name: sum(ndcg(rule(q, **params), q["relevant"]) for q in qs) / len(qs) for name, qs in sets.items()}


def main():
    sets = {}
    for arg in sys.argv[1:]:
        name, path = arg.split("=", 1)
        sets[name] = load(path)
    base = {"vector": score(vector_only, sets), "keyword": score(keyword_only, sets), "rrf": score(rrf, sets)}
    print("| rule | " + " | ".join(sets) + " |")
    print("|---|" + "---|" * len(sets))
    for name, s in base.items():
        print(f"| {name} | " + " | ".join(f"{s[n]:.3f}" for n in sets) + " |")
    for rname, (rule, grid) in RULES.items():
        keys = list(grid)
        settings = [dict(zip(keys, values)) for values in itertools.product(*(grid[k] for k in keys))]
        table = [(p, score(rule, sets, **p)) for p in settings]
        for p, s in table:
            c = changed(rule, sets, **p)
            print(f"| {rname} {p} | " + " | ".join(f"{s[n]:.3f} ({c[n]:.0%})" for n in sets) + " |")
        # Leave one set out: choose on the others, report on the held-out one.
        print(f"\n{rname}, constants chosen without the held-out set's labels:")
        for held in sets:
            others = [n for n in sets if n != held]

            def fitness(entry):
                p, s = entry
                margins = [s[n] - max(base["vector"][n], base["keyword"][n]) for n in others]
                return (min(margins), sum(s[n] for n in others))

            p, s = max(table, key=fitness)
            margin = s[held] - max(base["vector"][held], base["keyword"][held])
            print(f"  {held}: chosen {p} on {others} -> nDCG@10 {s[held]:.3f}, margin over the better part {margin:+.3f}")
        print()


main()
