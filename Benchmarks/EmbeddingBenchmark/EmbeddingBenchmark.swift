import CBLAS
import Embeddings
import Foundation
import KnowledgeBase
import VectorSearch

#if canImport(Glibc)
    import Glibc
#endif

/// Embedding benchmark: cascade's native MiniLM (f32 and int8) against peers running the same
/// weights on the same chunks and questions in the same run: a numpy reference, and ONNX
/// Runtime f32 and dynamic int8 on a graph built from the same safetensors file.
///
/// Every engine runs in its own process, one after the other (so none competes for the cores
/// and each reports its own peak memory): this program re-runs itself with `--engine` for
/// cascade's two precisions, and runs the Python peers from tools/reference.
///
/// A shared 2-core VM's speed drifts by ±10–20% from minute to minute, more than some of the
/// margins measured, so the engines the goals compare run in `--rounds` interleaved rounds
/// (cascade f32, cascade int8, ONNX Runtime f32, ONNX Runtime int8; again; …): each figure is
/// the median over the rounds, and each goal also says in how many rounds it held on its own.
/// The numpy reference, far behind and in no goal, runs in the first round only.
///
/// Usage: cascade-bench-embed [--chunks 2000] [--rounds 3] [--corpus corpora/sqlite-docs]
///                            [--peer PYTHON] [--no-peer] [--json]
@main
enum EmbeddingBenchmark {
    struct Options {
        var chunks = 2_000
        var rounds = 3
        var corpus = "corpora/sqlite-docs"
        var peerPython: String? = "tools/.venv/bin/python"
        var json = false
        /// Child mode: run one cascade engine on `texts`/`questions` and print its row.
        var engine: BertEncoder.Precision?
        var texts: String?
        var questions: String?
        var vectorsOut: String?
        /// Child mode: tokens per encoder pass instead of the model's default (for tuning).
        var tokensPerPass: Int?
    }

    static func parse() -> Options {
        var options = Options()
        var args = CommandLine.arguments.dropFirst().makeIterator()
        while let arg = args.next() {
            switch arg {
            case "--chunks": options.chunks = Int(args.next() ?? "") ?? options.chunks
            case "--rounds":
                guard let rounds = Int(args.next() ?? ""), rounds >= 1 else {
                    fail("--rounds takes a whole number ≥ 1")
                }
                options.rounds = rounds
            case "--corpus": options.corpus = args.next() ?? options.corpus
            case "--peer": options.peerPython = args.next()
            case "--no-peer": options.peerPython = nil
            case "--json": options.json = true
            case "--engine":
                guard let precision = BertEncoder.Precision(rawValue: args.next() ?? "") else {
                    fail("--engine takes f32 or int8")
                }
                options.engine = precision
            case "--texts": options.texts = args.next()
            case "--questions": options.questions = args.next()
            case "--vectors-out": options.vectorsOut = args.next()
            case "--tokens-per-pass":
                guard let tokens = Int(args.next() ?? ""), tokens >= 1 else {
                    fail("--tokens-per-pass takes a whole number ≥ 1")
                }
                options.tokensPerPass = tokens
            default: fail("unknown argument \(arg)")
            }
        }
        return options
    }

    static func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data("cascade-bench-embed: \(message)\n".utf8))
        exit(64)
    }

    static func main() async throws {
        // The same OpenBLAS start-up settings as the cascade CLI (the children and the Python
        // peers inherit them, so every engine runs with the same BLAS settings).
        BLASCoreSelection.reexecIfNeeded(
            environment: ProcessInfo.processInfo.environment, arguments: CommandLine.arguments)
        let options = parse()
        if let precision = options.engine {
            return try runEngine(precision, options: options)
        }
        try runAll(options)
    }

    // MARK: - One engine (child process)

    /// Embeds the texts as one ingest would, then each question alone; prints one JSON row and
    /// writes every vector (f32, row after row) to `--vectors-out`.
    static func runEngine(_ precision: BertEncoder.Precision, options: Options) throws {
        guard let textsPath = options.texts, let questionsPath = options.questions else {
            fail("--engine needs --texts and --questions")
        }
        let texts = try readLines(textsPath)
        let questions = try readLines(questionsPath)
        let loadStart = ContinuousClock.now
        var model = try MiniLMEmbedder(directory: MiniLMEmbedder.defaultDirectory(), precision: precision)
        if let tokens = options.tokensPerPass { model.maxTokensPerPass = tokens }
        let loadSeconds = seconds(ContinuousClock.now - loadStart)
        _ = model.embedSynchronously(Array(texts.prefix(16)))  // warm-up
        let start = ContinuousClock.now
        let vectors = model.embedSynchronously(texts)
        let elapsed = seconds(ContinuousClock.now - start)
        let tokens = texts.reduce(0) { $0 + model.tokenizer.encode($1, maxLength: model.maxTokens).count }
        // One question at a time (what a search pays): tokenise + encode.
        for q in questions.prefix(20) { _ = model.embedSynchronously([q]) }
        var times: [Double] = []
        for q in questions {
            let t = ContinuousClock.now
            _ = model.embedSynchronously([q])
            times.append(seconds(ContinuousClock.now - t) * 1000)
        }
        times.sort()
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        if let out = options.vectorsOut {
            var flat: [Float] = []
            flat.reserveCapacity(vectors.count * model.dimension)
            for v in vectors { flat.append(contentsOf: v) }
            try flat.withUnsafeBytes { Data($0) }.write(to: URL(fileURLWithPath: out))
        }
        let engine =
            precision == .f32 ? "cascade-f32" : "cascade-int8-\(BertEncoder.int8Path)"
        let row: [String: Any] = [
            "engine": engine, "chunks": texts.count, "tokens": tokens, "seconds": elapsed,
            "chunks_per_s": Double(texts.count) / elapsed, "tokens_per_s": Double(tokens) / elapsed,
            "peak_memory_bytes": Int(usage.ru_maxrss) * 1024, "load_s": loadSeconds,
            "question_p50_ms": percentile(times, 50), "question_p99_ms": percentile(times, 99),
            "blas": BLASLibrary.summary,
        ]
        let data = try JSONSerialization.data(withJSONObject: row, options: [.sortedKeys])
        print(String(decoding: data, as: UTF8.self))
    }

    // MARK: - The whole comparison (parent process)

    static func runAll(_ options: Options) throws {
        let model = try MiniLMEmbedder(directory: MiniLMEmbedder.defaultDirectory())
        // The same chunk texts ingest would embed, from the demo corpus, and 500 questions of
        // 5–25 words cut from them.
        let texts = try demoChunkTexts(corpus: options.corpus, model: model, limit: options.chunks)
        let questions = (0..<500).map { i -> String in
            let words = texts[(i * 7) % texts.count].split(separator: " ")
            let count = 5 + (i * 13) % 21
            return words.prefix(count).joined(separator: " ")
        }
        let flops = texts.reduce(0.0) {
            $0
                + flopsPerSequence(
                    length: model.tokenizer.encode($1, maxLength: model.maxTokens).count,
                    config: model.encoder.configuration)
        }
        let peak = measureSGEMMPeak()

        let work = FileManager.default.temporaryDirectory.appendingPathComponent("bench-embed-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        let textsFile = work.appendingPathComponent("texts.jsonl").path
        let questionsFile = work.appendingPathComponent("questions.jsonl").path
        try writeLines(texts, to: textsFile)
        try writeLines(questions, to: questionsFile)

        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
        /// One engine: how to run it, and whether it runs in every round.
        struct Engine {
            var name: String
            var executable: String
            var arguments: [String]
            var everyRound: Bool
            var vectorsFile: String?
        }
        var engines: [Engine] = BertEncoder.Precision.allCases.map { precision in
            let vectorsFile = work.appendingPathComponent("\(precision.rawValue).f32").path
            return Engine(
                name: "cascade-\(precision.rawValue)", executable: executable,
                arguments: [
                    "--engine", precision.rawValue, "--texts", textsFile, "--questions", questionsFile,
                    "--vectors-out", vectorsFile,
                ], everyRound: true, vectorsFile: vectorsFile)
        }
        if let python = options.peerPython {
            if FileManager.default.isExecutableFile(atPath: python) {
                let model = MiniLMEmbedder.defaultDirectory().path
                let common = ["--model", model, "--texts", textsFile, "--questions", questionsFile]
                engines += [
                    Engine(
                        name: "numpy", executable: python, arguments: ["tools/reference/minilm_numpy.py"] + common,
                        everyRound: false),
                    Engine(
                        name: "onnx-f32", executable: python,
                        arguments: ["tools/reference/minilm_onnx.py"] + common + ["--precision", "f32"],
                        everyRound: true),
                    Engine(
                        name: "onnx-int8", executable: python,
                        arguments: ["tools/reference/minilm_onnx.py"] + common + ["--precision", "int8"],
                        everyRound: true),
                ]
            } else {
                FileHandle.standardError.write(
                    Data("peers skipped: \(python) not found (tools/bench/embedding creates the venv)\n".utf8))
            }
        }

        // Each engine's row per round, in engine order.
        var samples = [[[String: Any]]](repeating: [], count: engines.count)
        var cascadeVectors: [String: [[Float]]] = [:]
        for round in 0..<options.rounds {
            for (index, engine) in engines.enumerated() where engine.everyRound || round == 0 {
                guard var row = try runChild(engine.executable, engine.arguments) else {
                    if engine.executable == executable { fail("the \(engine.name) engine failed") }
                    continue
                }
                if round == 0, let file = engine.vectorsFile {
                    let vectors = try readVectors(file, dimension: model.dimension)
                    cascadeVectors[engine.name] = vectors
                    if engine.name == "cascade-int8", let reference = cascadeVectors["cascade-f32"] {
                        // int8 quality gate: cosine to the f32 vectors on every chunk.
                        let cosines = zip(vectors, reference).map(cosine)
                        row["min_cosine_vs_f32"] = cosines.min() ?? 0
                        row["mean_cosine_vs_f32"] = cosines.reduce(0, +) / Double(max(cosines.count, 1))
                    }
                }
                // Every engine must compute the same function: a peer's first vectors against
                // cascade's f32 vectors for the same texts.
                if let raw = row.removeValue(forKey: "first_vectors") as? [Any],
                    let reference = cascadeVectors["cascade-f32"]
                {
                    let theirs = raw.map { ($0 as? [Any] ?? []).map { Float(($0 as? NSNumber)?.doubleValue ?? 0) } }
                    row["min_cosine_vs_f32"] = zip(theirs, reference).map(cosine).min() ?? 0
                }
                samples[index].append(row)
            }
        }
        let rows = samples.filter { !$0.isEmpty }.map(medianRow)
        let perRound = samples.filter { !$0.isEmpty }
        var table = rows
        for i in table.indices {
            if let s = table[i]["seconds"] as? Double { table[i]["gflops"] = flops / s / 1e9 }
            table[i]["percent_of_sgemm_peak"] = (table[i]["gflops"] as? Double ?? 0) / peak * 100
        }
        let goals = evaluateGoals(table, rounds: perRound)
        let report: [String: Any] = [
            "blas": BLASLibrary.summary, "sgemm_peak_gflops": peak,
            "cores": ProcessInfo.processInfo.activeProcessorCount,
            "chunks": texts.count, "questions": questions.count, "rounds": options.rounds, "rows": table,
            "goals": goals.map { ["goal": $0.goal, "met": $0.met, "measured": $0.measured] },
        ]
        if options.json {
            let data = try JSONSerialization.data(withJSONObject: report, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
            return
        }
        printReport(rows: table, goals: goals, peak: peak, questions: questions.count, rounds: options.rounds)
    }

    struct Goal {
        var goal: String
        var met: Bool
        var measured: String
    }

    /// One engine's row over its rounds: the median of each timing, the largest peak memory,
    /// and the spread of chunks/s.
    static func medianRow(_ samples: [[String: Any]]) -> [String: Any] {
        var row = samples[0]
        for key in ["seconds", "chunks_per_s", "tokens_per_s", "load_s", "question_p50_ms", "question_p99_ms"] {
            let values = samples.compactMap { $0[key] as? Double }.sorted()
            if !values.isEmpty { row[key] = median(values) }
        }
        row["peak_memory_bytes"] = samples.compactMap { $0["peak_memory_bytes"] as? Int }.max() ?? 0
        let speeds = samples.compactMap { $0["chunks_per_s"] as? Double }
        row["chunks_per_s_min"] = speeds.min() ?? 0
        row["chunks_per_s_max"] = speeds.max() ?? 0
        row["rounds"] = samples.count
        return row
    }

    /// The median (the mean of the middle two for an even count) of sorted values.
    static func median(_ sorted: [Double]) -> Double {
        sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }

    /// The goals, judged on the median rows; each comparison also counted round by round
    /// (`rounds`: every engine's rows, one per round it ran).
    static func evaluateGoals(_ rows: [[String: Any]], rounds: [[[String: Any]]] = []) -> [Goal] {
        func row(_ prefix: String) -> [String: Any]? {
            rows.first { ($0["engine"] as? String ?? "").hasPrefix(prefix) }
        }
        func value(_ prefix: String, _ key: String) -> Double? { row(prefix)?[key] as? Double }
        /// `prefix`'s `key` in each round it ran.
        func perRound(_ prefix: String, _ key: String) -> [Double] {
            rounds.first { ($0.first?["engine"] as? String ?? "").hasPrefix(prefix) }?.compactMap { $0[key] as? Double }
                ?? []
        }
        /// "; met in k of n rounds" for a test on each round's values of the named engines.
        func held(_ engines: [String], _ key: String, _ met: ([Double]) -> Bool) -> String {
            let series = engines.map { perRound($0, key) }
            let n = series.map(\.count).min() ?? 0
            guard n > 1 else { return "" }
            let k = (0..<n).filter { i in met(series.map { $0[i] }) }.count
            return "; met in \(k) of \(n) rounds"
        }
        var goals: [Goal] = []
        if let f32 = value("cascade-f32", "chunks_per_s"), let int8 = value("cascade-int8", "chunks_per_s") {
            goals.append(
                Goal(
                    goal: "cascade int8 ≥ 2× cascade f32 in chunks/s", met: int8 >= 2 * f32,
                    measured: String(format: "%.2f×", int8 / f32)
                        + held(["cascade-int8", "cascade-f32"], "chunks_per_s") { $0[0] >= 2 * $0[1] }))
        }
        if let low = value("cascade-int8", "min_cosine_vs_f32"), let mean = value("cascade-int8", "mean_cosine_vs_f32")
        {
            goals.append(
                Goal(
                    goal: "int8 cosine to f32 ≥ 0.99 on every chunk", met: low >= 0.99,
                    measured: String(format: "min %.4f, mean %.4f", low, mean)))
        }
        if let mine = value("cascade-int8", "chunks_per_s"), let theirs = value("onnxruntime-int8", "chunks_per_s") {
            goals.append(
                Goal(
                    goal: "cascade int8 ahead of ONNX Runtime int8 in chunks/s", met: mine > theirs,
                    measured: String(format: "%.2f×", mine / theirs)
                        + held(["cascade-int8", "onnxruntime-int8"], "chunks_per_s") { $0[0] > $0[1] }))
        }
        if let mine = value("cascade-f32", "chunks_per_s"), let theirs = value("onnxruntime-f32", "chunks_per_s") {
            goals.append(
                Goal(
                    goal: "cascade f32 ahead of ONNX Runtime f32 in chunks/s", met: mine > theirs,
                    measured: String(format: "%.2f×", mine / theirs)
                        + held(["cascade-f32", "onnxruntime-f32"], "chunks_per_s") { $0[0] > $0[1] }))
        }
        let cascadeBest = [value("cascade-f32", "question_p50_ms"), value("cascade-int8", "question_p50_ms")]
            .compactMap { $0 }.min()
        if let best = cascadeBest {
            goals.append(
                Goal(
                    goal: "one question p50 ≤ 3 ms (cascade, f32 or int8)", met: best <= 3,
                    measured: String(format: "%.2f ms", best)
                        + held(["cascade-f32", "cascade-int8"], "question_p50_ms") { $0.min()! <= 3 }))
        }
        let onnxBest = [value("onnxruntime-f32", "question_p50_ms"), value("onnxruntime-int8", "question_p50_ms")]
            .compactMap { $0 }.min()
        if let mine = cascadeBest, let theirs = onnxBest {
            goals.append(
                Goal(
                    goal: "one question p50 below ONNX Runtime's (best of each)", met: mine < theirs,
                    measured: String(format: "%.2f ms vs %.2f ms", mine, theirs)
                        + held(
                            ["cascade-f32", "cascade-int8", "onnxruntime-f32", "onnxruntime-int8"], "question_p50_ms"
                        ) { min($0[0], $0[1]) < min($0[2], $0[3]) }))
        }
        return goals
    }

    static func printReport(rows: [[String: Any]], goals: [Goal], peak: Double, questions: Int, rounds: Int) {
        print("BLAS (cascade): \(BLASLibrary.summary)")
        for row in rows where !(row["engine"] as? String ?? "").hasPrefix("cascade") {
            print("\(row["engine"] as? String ?? "peer"): \(row["blas"] as? String ?? "")")
        }
        let environment = ProcessInfo.processInfo.environment
        print(
            "OPENBLAS_CORETYPE=\(environment["OPENBLAS_CORETYPE"] ?? "(unset)") "
                + "OPENBLAS_THREAD_TIMEOUT=\(environment["OPENBLAS_THREAD_TIMEOUT"] ?? "(unset)") (same for every engine)"
        )
        print(String(format: "machine sgemm peak (2048×384 · 384×1536): %.1f GFLOP/s", peak))
        print("each engine in its own process; one question = tokenise + encode, \(questions) questions of 5–25 words")
        if rounds > 1 {
            print(
                "\(rounds) interleaved rounds: figures are medians over the rounds an engine ran (numpy: the first only); "
                    + "chunks/s range in brackets")
        }
        print(
            "engine              chunks/s  (range)       tokens/s  GFLOP/s  %peak  peak MB  load s  question p50  p99 ms  cosine vs f32"
        )
        for row in rows {
            let cosineText = (row["min_cosine_vs_f32"] as? Double).map { String(format: "%.4f", $0) } ?? "–"
            print(
                String(
                    format: "%@ %9.1f  %@ %9.0f %8.1f %5.0f%% %8.0f %7.2f %10.2f ms %7.2f  %@",
                    padded(row["engine"] as? String ?? "", 18), row["chunks_per_s"] as? Double ?? 0,
                    padded(
                        String(
                            format: "(%.1f–%.1f)", row["chunks_per_s_min"] as? Double ?? 0,
                            row["chunks_per_s_max"] as? Double ?? 0), 12),
                    row["tokens_per_s"] as? Double ?? 0, row["gflops"] as? Double ?? 0,
                    row["percent_of_sgemm_peak"] as? Double ?? 0,
                    Double(row["peak_memory_bytes"] as? Int ?? 0) / 1_048_576, row["load_s"] as? Double ?? 0,
                    row["question_p50_ms"] as? Double ?? .nan, row["question_p99_ms"] as? Double ?? .nan,
                    cosineText))
        }
        print("(cosine vs f32: min over every chunk for cascade int8, over the first 20 chunks for the peers)")
        print("goals:")
        for goal in goals {
            print("  \(goal.met ? "✓" : "✗") \(goal.goal): \(goal.measured)")
        }
    }

    // MARK: - Helpers

    /// `%-18@` does not pad in Foundation's String(format:), so names are padded here.
    static func padded(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }

    static func runChild(_ executable: String, _ arguments: [String]) throws -> [String: Any]? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let lastLine = String(decoding: data, as: UTF8.self).split(separator: "\n").last.map(String.init) ?? ""
        guard process.terminationStatus == 0,
            let row = try? JSONSerialization.jsonObject(with: Data(lastLine.utf8)) as? [String: Any]
        else {
            FileHandle.standardError.write(
                Data("\(executable) \(arguments.first ?? "") failed with status \(process.terminationStatus)\n".utf8))
            return nil
        }
        return row
    }

    static func readLines(_ path: String) throws -> [String] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").compactMap { line in
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            return object?["text"] as? String
        }
    }

    static func writeLines(_ texts: [String], to path: String) throws {
        let lines = try texts.map {
            String(decoding: try JSONSerialization.data(withJSONObject: ["text": $0]), as: UTF8.self)
        }
        try lines.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
    }

    static func readVectors(_ path: String, dimension: Int) throws -> [[Float]] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let floats = data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        return stride(from: 0, to: floats.count, by: dimension).map { Array(floats[$0..<($0 + dimension)]) }
    }

    static func cosine(_ a: [Float], _ b: [Float]) -> Double {
        // Both are unit vectors; the dot product is the cosine.
        zip(a, b).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
    }

    static func percentile(_ sorted: [Double], _ p: Int) -> Double {
        guard !sorted.isEmpty else { return .nan }
        return p == 50 ? sorted[sorted.count / 2] : sorted[min(sorted.count - 1, sorted.count * p / 100)]
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
}
