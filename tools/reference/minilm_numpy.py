#!/usr/bin/env python3
"""Reference peer for the embedding benchmark: all-MiniLM-L6-v2 in plain numpy (float32), the
way a Python service would run it without a deep-learning framework: Hugging Face `tokenizers`
for WordPiece, batches of 32 texts sorted by length and padded to the longest, attention mask,
mean pooling, L2 normalisation.

    python tools/reference/minilm_numpy.py --model models/all-MiniLM-L6-v2 --texts texts.jsonl

Prints one JSON object: chunks, tokens, seconds, chunks_per_s, tokens_per_s, peak_memory_bytes,
load_s, blas, the first vectors (for the caller to compare against its own) and, with
--questions, question_p50_ms / question_p99_ms (tokenise + encode one question at a time).
"""
import argparse
import json
import math
import resource
import struct
import time

import numpy as np
from tokenizers import Tokenizer


def load_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
    data = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + n)
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__" or info["dtype"] != "F32":
            continue
        start, end = info["data_offsets"]
        tensors[name] = np.frombuffer(data[start:end], dtype=np.float32).reshape(info["shape"])
    return tensors


def layer_norm(x, g, b, eps=1e-12):
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * g + b


ERF = np.vectorize(math.erf, otypes=[np.float32])


def gelu(x):
    # Exact GELU; scipy's erf is vectorised when scipy is present.
    try:
        from scipy.special import erf
    except ImportError:  # pragma: no cover
        erf = ERF
    return 0.5 * x * (1.0 + erf(x / np.float32(math.sqrt(2.0))).astype(np.float32))


def encode(w, ids, mask):
    b, l = ids.shape
    x = w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:l][None]
    x = x + w["embeddings.token_type_embeddings.weight"][0]
    x = layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
    heads, hs = 12, 32
    neg = (1.0 - mask[:, None, None, :].astype(np.float32)) * np.float32(-1e9)
    for i in range(6):
        p = f"encoder.layer.{i}."
        def lin(t, name):
            return t @ w[p + name + ".weight"].T + w[p + name + ".bias"]
        q = lin(x, "attention.self.query").reshape(b, l, heads, hs).transpose(0, 2, 1, 3)
        k = lin(x, "attention.self.key").reshape(b, l, heads, hs).transpose(0, 2, 3, 1)
        v = lin(x, "attention.self.value").reshape(b, l, heads, hs).transpose(0, 2, 1, 3)
        s = (q @ k) / np.float32(math.sqrt(hs)) + neg
        s = np.exp(s - s.max(-1, keepdims=True))
        s /= s.sum(-1, keepdims=True)
        ctx = (s @ v).transpose(0, 2, 1, 3).reshape(b, l, heads * hs)
        x = layer_norm(x + lin(ctx, "attention.output.dense"), w[p + "attention.output.LayerNorm.weight"],
                       w[p + "attention.output.LayerNorm.bias"])
        h = gelu(lin(x, "intermediate.dense"))
        x = layer_norm(x + lin(h, "output.dense"), w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"])
    m = mask[..., None].astype(np.float32)
    pooled = (x * m).sum(1) / m.sum(1)
    return pooled / np.linalg.norm(pooled, axis=1, keepdims=True)


def padded(encodings):
    """Token id lists as one batch padded to the longest, with its attention mask."""
    l = max(len(e) for e in encodings)
    ids = np.zeros((len(encodings), l), dtype=np.int64)
    mask = np.zeros((len(encodings), l), dtype=np.int64)
    for r, e in enumerate(encodings):
        ids[r, :len(e)] = e
        mask[r, :len(e)] = 1
    return ids, mask


def question_latencies(one, questions):
    """p50 and p99 in ms of `one(question)` over the questions, after 20 warm-up calls."""
    for q in questions[:20]:
        one(q)
    times = []
    for q in questions:
        t = time.perf_counter()
        one(q)
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    return times[len(times) // 2], times[min(len(times) - 1, len(times) * 99 // 100)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--texts", required=True)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--questions", help="JSONL of questions: also time one question at a time (p50/p99)")
    args = ap.parse_args()
    texts = [json.loads(line)["text"] for line in open(args.texts, encoding="utf-8") if line.strip()]

    t0 = time.perf_counter()
    weights = load_safetensors(f"{args.model}/model.safetensors")
    tok = Tokenizer.from_file(f"{args.model}/tokenizer.json")
    tok.enable_truncation(256)
    tok.no_padding()
    load_s = time.perf_counter() - t0

    start = time.perf_counter()
    encodings = [e.ids for e in tok.encode_batch(texts)]
    order = sorted(range(len(texts)), key=lambda i: len(encodings[i]))
    vectors = [None] * len(texts)
    for s in range(0, len(order), args.batch):
        batch = order[s:s + args.batch]
        ids, mask = padded([encodings[i] for i in batch])
        out = encode(weights, ids, mask)
        for r, i in enumerate(batch):
            vectors[i] = out[r]
    seconds = time.perf_counter() - start
    tokens = sum(len(e) for e in encodings)
    blas = ""
    try:
        from threadpoolctl import threadpool_info
        blas = "; ".join(f"{p.get('internal_api')} {p.get('version')} {p.get('architecture')} threads={p.get('num_threads')}"
                         for p in threadpool_info() if p.get("user_api") == "blas")
    except ImportError:
        pass
    row = {
        "engine": "numpy-reference", "chunks": len(texts), "tokens": tokens, "seconds": seconds,
        "chunks_per_s": len(texts) / seconds, "tokens_per_s": tokens / seconds, "load_s": load_s,
        "blas": blas, "first_vectors": [v.tolist() for v in vectors[:20]],
    }
    if args.questions:
        questions = [json.loads(line)["text"] for line in open(args.questions, encoding="utf-8") if line.strip()]
        def one(q):
            ids = np.array([tok.encode(q).ids], dtype=np.int64)
            return encode(weights, ids, np.ones_like(ids))
        row["question_p50_ms"], row["question_p99_ms"] = question_latencies(one, questions)
    row["peak_memory_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps(row))


if __name__ == "__main__":
    main()
