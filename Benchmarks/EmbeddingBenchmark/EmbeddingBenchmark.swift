import CBLAS
import Embeddings
import Foundation
import KnowledgeBase
import VectorSearch

#if canImport(Glibc)
    import Glibc
#endif

/// Embedding throughput benchmark: cascade's native MiniLM against a Python reference run of the
/// same model on the same chunks, in the same run, plus this machine's `sgemm` peak.
///
/// Usage: cascade-bench-embed [--chunks 2000] [--corpus corpora/sqlite-docs] [--peer PYTHON] [--json]
@main
enum EmbeddingBenchmark {
    struct Options {
        var chunks = 2_000
        var corpus = "corpora/sqlite-docs"
        var peerPython: String? = "tools/.venv/bin/python"
        var json = false
    }

    static func parse() -> Options {
        var options = Options()
        var args = CommandLine.arguments.dropFirst().makeIterator()
        while let arg = args.next() {
            switch arg {
            case "--chunks": options.chunks = Int(args.next() ?? "") ?? options.chunks
            case "--corpus": options.corpus = args.next() ?? options.corpus
            case "--peer": options.peerPython = args.next()
            case "--no-peer": options.peerPython = nil
            case "--json": options.json = true
            default:
                FileHandle.standardError.write(Data("unknown argument \(arg)\n".utf8))
                exit(64)
            }
        }
        return options
    }

    static func main() async throws {
        // The same OpenBLAS start-up settings as the cascade CLI.
        BLASCoreSelection.reexecIfNeeded(
            environment: ProcessInfo.processInfo.environment, arguments: CommandLine.arguments)
        let options = parse()
        let loadStart = ContinuousClock.now
        let model = try MiniLMEmbedder(directory: MiniLMEmbedder.defaultDirectory())
        let loadSeconds = seconds(ContinuousClock.now - loadStart)

        // The same chunk texts ingest would embed, from the demo corpus.
        let texts = try demoChunkTexts(corpus: options.corpus, model: model, limit: options.chunks)
        let sequences = texts.map { model.tokenizer.encode($0, maxLength: model.maxTokens) }
        let tokens = sequences.reduce(0) { $0 + $1.count }
        let flops = sequences.reduce(0.0) {
            $0 + flopsPerSequence(length: $1.count, config: model.encoder.configuration)
        }

        let peak = measureSGEMMPeak()
        _ = model.embedSynchronously(Array(texts.prefix(16)))  // warm-up
        let start = ContinuousClock.now
        let vectors = model.embedSynchronously(texts)
        let elapsed = seconds(ContinuousClock.now - start)
        precondition(vectors.count == texts.count)
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)

        let cascadeRow: [String: Any] = [
            "engine": "cascade-minilm", "chunks": texts.count, "tokens": tokens, "seconds": elapsed,
            "chunks_per_s": Double(texts.count) / elapsed, "tokens_per_s": Double(tokens) / elapsed,
            "gflops": flops / elapsed / 1e9, "peak_memory_bytes": Int(usage.ru_maxrss) * 1024, "load_s": loadSeconds,
        ]
        var rows = [cascadeRow]
        // The int8 encoder on the same texts: speed, and its cosine to the f32 vectors (min, mean).
        let int8 = try MiniLMEmbedder(directory: MiniLMEmbedder.defaultDirectory(), precision: .int8)
        _ = int8.embedSynchronously(Array(texts.prefix(16)))
        let int8Start = ContinuousClock.now
        let int8Vectors = int8.embedSynchronously(texts)
        let int8Elapsed = seconds(ContinuousClock.now - int8Start)
        let agreement = zip(int8Vectors, vectors).map { a, b in zip(a, b).reduce(0.0) { $0 + Double($1.0 * $1.1) } }
        rows.append([
            "engine": BertEncoder.int8UsesVNNI ? "cascade-int8-vnni" : "cascade-int8", "chunks": texts.count,
            "tokens": tokens, "seconds": int8Elapsed, "chunks_per_s": Double(texts.count) / int8Elapsed,
            "tokens_per_s": Double(tokens) / int8Elapsed, "gflops": flops / int8Elapsed / 1e9,
            "peak_memory_bytes": Int(usage.ru_maxrss) * 1024, "load_s": 0.0,
            "min_cosine_vs_f32": agreement.min() ?? 0,
            "mean_cosine_vs_f32": agreement.reduce(0, +) / Double(max(agreement.count, 1)),
        ])
        if let python = options.peerPython {
            if var peer = try runPeer(
                python: python, texts: texts, model: MiniLMEmbedder.defaultDirectory().path, flops: flops)
            {
                // Both engines must compute the same function: compare the first vectors.
                if let raw = peer.removeValue(forKey: "first_vectors") as? [Any] {
                    let theirs = raw.map { ($0 as? [Any] ?? []).map { ($0 as? NSNumber)?.doubleValue ?? 0 } }
                    let cosines = zip(vectors, theirs).map { mine, other in
                        zip(mine, other).reduce(0.0) { $0 + Double($1.0) * $1.1 }
                    }
                    peer["min_cosine_vs_cascade"] = cosines.min() ?? 0
                }
                rows.append(peer)
            }
        }
        // One question at a time (what a search pays): 500 questions of 5–25 words cut from the
        // chunks, p50 and p99 per engine.
        let questions = (0..<500).map { i -> String in
            let words = texts[(i * 7) % texts.count].split(separator: " ")
            let count = 5 + (i * 13) % 21
            return words.prefix(count).joined(separator: " ")
        }
        func latencies(_ engine: MiniLMEmbedder) -> (p50: Double, p99: Double) {
            for q in questions.prefix(20) { _ = engine.embedSynchronously([q]) }
            var times: [Double] = []
            for q in questions {
                let start = ContinuousClock.now
                _ = engine.embedSynchronously([q])
                times.append(seconds(ContinuousClock.now - start) * 1000)
            }
            times.sort()
            return (times[times.count / 2], times[min(times.count - 1, times.count * 99 / 100)])
        }
        let f32Latency = latencies(model)
        let int8Latency = latencies(int8)
        rows[0]["question_p50_ms"] = f32Latency.p50
        rows[0]["question_p99_ms"] = f32Latency.p99
        rows[1]["question_p50_ms"] = int8Latency.p50
        rows[1]["question_p99_ms"] = int8Latency.p99
        let report: [String: Any] = [
            "blas": BLASLibrary.summary, "sgemm_peak_gflops": peak,
            "cores": ProcessInfo.processInfo.activeProcessorCount,
            "rows": rows,
        ]
        if options.json {
            let data = try JSONSerialization.data(withJSONObject: report, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
            return
        }
        print("BLAS (cascade): \(BLASLibrary.summary)")
        if let peer = rows.first(where: { $0["blas"] != nil }) {
            print("BLAS (peer):    \(peer["blas"] as? String ?? "unknown")")
        }
        let environment = ProcessInfo.processInfo.environment
        print(
            "OPENBLAS_CORETYPE=\(environment["OPENBLAS_CORETYPE"] ?? "(unset)") "
                + "OPENBLAS_THREAD_TIMEOUT=\(environment["OPENBLAS_THREAD_TIMEOUT"] ?? "(unset)") (same for the peer)")
        print(String(format: "machine sgemm peak (2048×384 · 384×1536): %.1f GFLOP/s", peak))
        print("engine            chunks  tokens   chunks/s  tokens/s   GFLOP/s  %peak  peak MB  load s")
        for row in rows {
            let g = row["gflops"] as? Double ?? 0
            print(
                String(
                    format: "%-16@ %7d %7d %9.1f %9.0f %9.1f %5.0f%% %8.0f %7.2f", row["engine"] as? String ?? "",
                    row["chunks"] as? Int ?? 0, row["tokens"] as? Int ?? 0, row["chunks_per_s"] as? Double ?? 0,
                    row["tokens_per_s"] as? Double ?? 0, g, g / peak * 100,
                    Double(row["peak_memory_bytes"] as? Int ?? 0) / 1_048_576, row["load_s"] as? Double ?? 0))
        }
        let f32Speed = rows[0]["chunks_per_s"] as? Double ?? 0
        for row in rows.dropFirst() {
            guard let other = row["chunks_per_s"] as? Double, other > 0 else { continue }
            let name = row["engine"] as? String ?? "peer"
            print(String(format: "%@ / cascade-minilm (f32): %.2f× chunks/s", name, other / f32Speed))
            if let cosine = row["min_cosine_vs_cascade"] as? Double {
                print(String(format: "  same function: min cosine between the two engines' vectors %.6f", cosine))
            }
            if let low = row["min_cosine_vs_f32"] as? Double, let mean = row["mean_cosine_vs_f32"] as? Double {
                print(
                    String(
                        format: "  int8 quality on these %d chunks: cosine to f32 min %.4f, mean %.4f (gate ≥ 0.99) %@",
                        texts.count, low, mean, low >= 0.99 ? "✓" : "✗"))
            }
        }
        for row in rows {
            if let p50 = row["question_p50_ms"] as? Double, let p99 = row["question_p99_ms"] as? Double {
                print(
                    String(
                        format:
                            "one question (5–25 words, 500 runs), %@: p50 %.2f ms, p99 %.2f ms (goal p50 ≤ 3 ms) %@",
                        row["engine"] as? String ?? "", p50, p99, p50 <= 3 ? "✓" : "✗"))
            }
        }
        if let g = rows[0]["gflops"] as? Double {
            print(
                String(format: "cascade achieves %.0f%% of this machine's sgemm GFLOP/s (goal ≥ 70%%)", g / peak * 100))
        }
    }

    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }

    /// FLOPs of one forward pass over a sequence of `length` tokens (multiply-add = 2).
    static func flopsPerSequence(length: Int, config: BertConfiguration) -> Double {
        let l = Double(length)
        let h = Double(config.hiddenSize)
        let i = Double(config.intermediateSize)
        let dense = 2 * l * h * (3 * h) + 2 * l * h * h + 2 * 2 * l * h * i
        let attention = 2 * 2 * l * l * h
        return Double(config.numHiddenLayers) * (dense + attention)
    }

    static func demoChunkTexts(corpus: String, model: MiniLMEmbedder, limit: Int) throws -> [String] {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("bench-\(UUID().uuidString).sqlite")
            .path
        defer { for s in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + s) } }
        let ingestor = Ingestor(store: try KnowledgeBaseStore(path: path), embedder: model)
        var texts: [String] = []
        for file in Ingestor.enumerateFiles(root: URL(fileURLWithPath: corpus)).files {
            guard let (documents, _) = try? ingestor.load(file.url, relativePath: file.relative, collection: "bench")
            else {
                continue
            }
            for document in documents {
                let prepared = ingestor.prepare(document, collection: "bench", contentHash: "", byteSize: 0)
                texts.append(contentsOf: prepared.embeddingTexts)
            }
            if texts.count >= limit { break }
        }
        return Array(texts.prefix(limit))
    }

    static func measureSGEMMPeak() -> Double {
        let m = 2048
        let k = 384
        let n = 1536
        let a = [Float](repeating: 0.5, count: m * k)
        let b = [Float](repeating: 0.25, count: k * n)
        var c = [Float](repeating: 0, count: m * n)
        var best = 0.0
        for _ in 0..<5 {
            let start = ContinuousClock.now
            for _ in 0..<10 {
                cblas_sgemm(
                    CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), Int32(n), Int32(k), 1, a, Int32(k), b,
                    Int32(n),
                    0, &c, Int32(n))
            }
            best = max(best, 2.0 * Double(m * k * n) * 10 / seconds(ContinuousClock.now - start) / 1e9)
        }
        return best
    }

    static func runPeer(python: String, texts: [String], model: String, flops: Double) throws -> [String: Any]? {
        guard FileManager.default.isExecutableFile(atPath: python) else {
            FileHandle.standardError.write(
                Data("peer skipped: \(python) not found (run tools/bench/embedding to create the venv)\n".utf8))
            return nil
        }
        let input = FileManager.default.temporaryDirectory.appendingPathComponent(
            "bench-texts-\(UUID().uuidString).jsonl")
        defer { try? FileManager.default.removeItem(at: input) }
        let lines = try texts.map {
            String(decoding: try JSONSerialization.data(withJSONObject: ["text": $0]), as: UTF8.self)
        }
        try lines.joined(separator: "\n").write(to: input, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = ["tools/reference/minilm_numpy.py", "--model", model, "--texts", input.path]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0, var row = try JSONSerialization.jsonObject(with: data) as? [String: Any]
        else {
            FileHandle.standardError.write(Data("peer failed with status \(process.terminationStatus)\n".utf8))
            return nil
        }
        if let seconds = row["seconds"] as? Double { row["gflops"] = flops / seconds / 1e9 }
        return row
    }
}
