#!/usr/bin/env python3
"""ONNX Runtime peer for the embedding benchmark: all-MiniLM-L6-v2 as an ONNX graph built here
from the same safetensors file cascade loads (no model hub is reachable), run by ONNX Runtime
the way a Python service would deploy it:

* the graph is written with the `onnx` package (BERT: embeddings + LayerNorm, six layers of
  attention and a GELU feed-forward block, mean pooling, L2 normalisation);
* it is then fused with ONNX Runtime's own transformer optimiser (`optimize_model`, model type
  "bert": fused Attention, SkipLayerNormalization, BiasGelu), the recommended set-up for BERT
  on CPU;
* `--precision int8` applies `onnxruntime.quantization.quantize_dynamic` (int8 weights,
  activations quantised at run time: ORT's dynamic int8, which uses VNNI where present) to the
  optimised graph;
* texts are tokenised by Hugging Face `tokenizers`, sorted by length and run in batches of 32
  padded to the longest, with an attention mask (the usual serving loop).

    python tools/reference/minilm_onnx.py --model models/all-MiniLM-L6-v2 --texts texts.jsonl \\
        --precision f32 [--questions questions.jsonl] [--cache DIR]

Prints one JSON object: engine, chunks, tokens, seconds, chunks_per_s, tokens_per_s,
peak_memory_bytes, load_s, the first vectors (for the caller to compare against its own) and,
with --questions, question_p50_ms / question_p99_ms (tokenise + run for one question at a time).
The graphs are cached in --cache (default: a temporary folder) keyed by the weights' size and
modification time.
"""
import argparse
import json
import os
import resource
import sys
import tempfile
import time

import numpy as np

from minilm_numpy import load_safetensors, padded, question_latencies  # shared with the numpy peer


def build_graph(weights, config, path):
    """Writes the BERT sentence encoder as an ONNX graph (opset 17) to `path`."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    prefix = "" if "embeddings.word_embeddings.weight" in weights else "bert."
    w = {k[len(prefix):]: v for k, v in weights.items() if k.startswith(prefix)}
    hidden = config["hidden_size"]
    heads = config["num_attention_heads"]
    head_size = hidden // heads
    eps = float(config.get("layer_norm_eps", 1e-12))
    nodes, inits = [], []
    counter = [0]

    def name(base):
        counter[0] += 1
        return f"{base}_{counter[0]}"

    def const(array, base="c"):
        n = name(base)
        inits.append(numpy_helper.from_array(np.asarray(array), n))
        return n

    def op(kind, inputs, **attrs):
        out = name(kind.lower())
        nodes.append(helper.make_node(kind, inputs, [out], name=out, **attrs))
        return out

    def layer_norm(x, gamma, beta):
        return op("LayerNormalization", [x, const(gamma, "gamma"), const(beta, "beta")], axis=-1, epsilon=eps)

    def linear(x, weight, bias):
        # PyTorch keeps [out, in]; MatMul wants [in, out].
        return op("Add", [op("MatMul", [x, const(np.ascontiguousarray(weight.T), "w")]), const(bias, "b")])

    ids, mask = "input_ids", "attention_mask"
    # Embeddings: word + position (the first L rows) + token type 0, then LayerNorm.
    word = op("Gather", [const(w["embeddings.word_embeddings.weight"], "word"), ids], axis=0)
    length = op("Gather", [op("Shape", [ids]), const(np.array([1], dtype=np.int64))], axis=0)
    positions = op("Slice", [const(w["embeddings.position_embeddings.weight"], "pos"),
                             const(np.array([0], dtype=np.int64)), length, const(np.array([0], dtype=np.int64))])
    x = op("Add", [op("Add", [word, positions]), const(w["embeddings.token_type_embeddings.weight"][0], "type")])
    x = layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
    # Additive attention mask [B, 1, 1, L]: 0 for tokens, -10000 for padding (the BERT export's form).
    # Built in the order PyTorch's BERT export uses (Unsqueeze, Cast, Sub, Mul), the pattern ORT's
    # attention fusion looks for.
    bias = op("Cast", [op("Unsqueeze", [mask, const(np.array([1, 2], dtype=np.int64))])], to=TensorProto.FLOAT)
    bias = op("Mul", [op("Sub", [const(np.array(1.0, dtype=np.float32)), bias]),
                      const(np.array(-10000.0, dtype=np.float32))])
    split_heads = const(np.array([0, 0, heads, head_size], dtype=np.int64))
    merge_heads = const(np.array([0, 0, hidden], dtype=np.int64))
    for i in range(config["num_hidden_layers"]):
        p = f"encoder.layer.{i}."
        def proj(part):
            return linear(x, w[p + f"attention.self.{part}.weight"], w[p + f"attention.self.{part}.bias"])
        q = op("Transpose", [op("Reshape", [proj("query"), split_heads])], perm=[0, 2, 1, 3])
        k = op("Transpose", [op("Reshape", [proj("key"), split_heads])], perm=[0, 2, 3, 1])
        v = op("Transpose", [op("Reshape", [proj("value"), split_heads])], perm=[0, 2, 1, 3])
        # Scaled by Div, the form ORT's attention fusion recognises.
        scores = op("Add", [op("Div", [op("MatMul", [q, k]), const(np.array(np.sqrt(head_size), dtype=np.float32))]),
                            bias])
        probs = op("Softmax", [scores], axis=-1)
        context = op("Reshape", [op("Transpose", [op("MatMul", [probs, v])], perm=[0, 2, 1, 3]), merge_heads])
        attended = linear(context, w[p + "attention.output.dense.weight"], w[p + "attention.output.dense.bias"])
        x = layer_norm(op("Add", [attended, x]), w[p + "attention.output.LayerNorm.weight"],
                       w[p + "attention.output.LayerNorm.bias"])
        h = linear(x, w[p + "intermediate.dense.weight"], w[p + "intermediate.dense.bias"])
        # Exact GELU: 0.5 · h · (1 + erf(h / √2)).
        erf = op("Erf", [op("Div", [h, const(np.array(np.sqrt(2.0), dtype=np.float32))])])
        h = op("Mul", [op("Mul", [h, op("Add", [erf, const(np.array(1.0, dtype=np.float32))])]),
                       const(np.array(0.5, dtype=np.float32))])
        out = linear(h, w[p + "output.dense.weight"], w[p + "output.dense.bias"])
        x = layer_norm(op("Add", [out, x]), w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"])
    # Mean pooling over real tokens, then L2 normalisation.
    m = op("Unsqueeze", [op("Cast", [mask], to=TensorProto.FLOAT), const(np.array([2], dtype=np.int64))])
    summed = op("ReduceSum", [op("Mul", [x, m]), const(np.array([1], dtype=np.int64))], keepdims=0)
    count = op("Max", [op("ReduceSum", [m, const(np.array([1], dtype=np.int64))], keepdims=0),
                       const(np.array(1e-9, dtype=np.float32))])
    pooled = op("Div", [summed, count])
    norm = op("Max", [op("ReduceL2", [pooled], axes=[1], keepdims=1),
                      const(np.array(1e-12, dtype=np.float32))])
    nodes.append(helper.make_node("Div", [pooled, norm], ["sentence_embedding"], name="normalise"))
    graph = helper.make_graph(
        nodes, "all-MiniLM-L6-v2",
        [helper.make_tensor_value_info(ids, TensorProto.INT64, ["batch", "sequence"]),
         helper.make_tensor_value_info(mask, TensorProto.INT64, ["batch", "sequence"])],
        [helper.make_tensor_value_info("sentence_embedding", TensorProto.FLOAT, ["batch", hidden])],
        inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="pytorch")
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, path)


def prepare(model_dir, precision, cache):
    """Builds (or reuses) the fused f32 graph and its dynamic int8 quantisation; returns the path."""
    weights_path = os.path.join(model_dir, "model.safetensors")
    stat = os.stat(weights_path)
    key = f"{stat.st_size}-{int(stat.st_mtime)}"
    os.makedirs(cache, exist_ok=True)
    raw = os.path.join(cache, f"minilm-{key}-raw.onnx")
    fused = os.path.join(cache, f"minilm-{key}-f32.onnx")
    quantized = os.path.join(cache, f"minilm-{key}-int8.onnx")
    if not os.path.exists(fused):
        config = json.load(open(os.path.join(model_dir, "config.json")))
        build_graph(load_safetensors(weights_path), config, raw)
        from onnxruntime.transformers.optimizer import optimize_model
        optimized = optimize_model(raw, model_type="bert", num_heads=config["num_attention_heads"],
                                   hidden_size=config["hidden_size"], opt_level=0)
        optimized.save_model_to_file(fused + ".tmp")
        os.replace(fused + ".tmp", fused)
        os.remove(raw)
    if precision == "int8" and not os.path.exists(quantized):
        from onnxruntime.quantization import QuantType, quantize_dynamic
        import onnx
        quantize_dynamic(fused, quantized + ".tmp", weight_type=QuantType.QInt8,
                         extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
        os.replace(quantized + ".tmp", quantized)
    return quantized if precision == "int8" else fused


def fused_operators(path):
    import onnx
    kinds = {}
    for node in onnx.load(path, load_external_data=False).graph.node:
        kinds[node.op_type] = kinds.get(node.op_type, 0) + 1
    return kinds


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--texts", required=True)
    ap.add_argument("--precision", choices=["f32", "int8"], default="f32")
    ap.add_argument("--questions")
    ap.add_argument("--cache", default=os.path.join(tempfile.gettempdir(), "cascade-onnx"))
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--build-only", action="store_true", help="only build (and cache) the graph")
    args = ap.parse_args()
    if args.build_only:
        print(prepare(args.model, args.precision, args.cache))
        return
    texts = [json.loads(line)["text"] for line in open(args.texts, encoding="utf-8") if line.strip()]
    questions = []
    if args.questions:
        questions = [json.loads(line)["text"] for line in open(args.questions, encoding="utf-8") if line.strip()]

    # The graph is built (once, then cached) in a separate process, so building it counts
    # neither in this process's peak memory nor in its load time.
    import subprocess
    path = subprocess.run([sys.executable, __file__, "--build-only", "--model", args.model, "--texts", args.texts,
                           "--precision", args.precision, "--cache", args.cache],
                          check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
    import onnxruntime as ort
    from tokenizers import Tokenizer

    t0 = time.perf_counter()
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    tok = Tokenizer.from_file(os.path.join(args.model, "tokenizer.json"))
    tok.enable_truncation(256)
    tok.no_padding()
    load_s = time.perf_counter() - t0

    def run(encodings):
        ids, mask = padded(encodings)
        return session.run(None, {"input_ids": ids, "attention_mask": mask})[0]

    run([tok.encode(t).ids for t in texts[:16]])  # warm-up
    start = time.perf_counter()
    encodings = [e.ids for e in tok.encode_batch(texts)]
    order = sorted(range(len(texts)), key=lambda i: len(encodings[i]))
    vectors = [None] * len(texts)
    for s in range(0, len(order), args.batch):
        batch = order[s:s + args.batch]
        out = run([encodings[i] for i in batch])
        for r, i in enumerate(batch):
            vectors[i] = out[r]
    seconds = time.perf_counter() - start
    tokens = sum(len(e) for e in encodings)
    row = {
        "engine": f"onnxruntime-{args.precision}", "chunks": len(texts), "tokens": tokens, "seconds": seconds,
        "chunks_per_s": len(texts) / seconds, "tokens_per_s": tokens / seconds,
        "load_s": load_s, "blas": f"onnxruntime {ort.__version__} (MLAS), intra-op threads default",
        "operators": fused_operators(path), "first_vectors": [v.tolist() for v in vectors[:20]],
    }
    if questions:
        row["question_p50_ms"], row["question_p99_ms"] = question_latencies(
            lambda q: run([tok.encode(q).ids]), questions)
    row["peak_memory_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    json.dump(row, sys.stdout)
    print()


if __name__ == "__main__":
    main()
