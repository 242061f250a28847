import Foundation
import GRDB
import KnowledgeBase
import VectorSearch

/// `tools/bench/vector-search`: cascade's vector search (through the KnowledgeBase store, as the
/// product uses it) against numpy, FAISS, USearch and sqlite-vec on the same `.npy` files, in one
/// run with the same BLAS settings. Prints a table with ratios and the issue's goals, or `--json`.
@main
struct VectorBenchmark {
    struct Options {
        var sizes = [10_000, 100_000, 1_000_000]
        var dimension = 384
        var queries = 200
        var json = false
        var peerPython: String?
        var realKBs: [String] = []
        var workDirectory = ".cascade/bench/vectors"
    }

    static func parse() -> Options {
        var options = Options()
        var arguments = CommandLine.arguments.dropFirst().makeIterator()
        func value(_ flag: String) -> String {
            guard let v = arguments.next() else { fail("\(flag) needs a value") }
            return v
        }
        while let argument = arguments.next() {
            switch argument {
            case "--n": options.sizes = value("--n").split(separator: ",").compactMap { Int($0) }
            case "--dim": options.dimension = Int(value("--dim")) ?? 0
            case "--queries": options.queries = Int(value("--queries")) ?? 0
            case "--json": options.json = true
            case "--peer": options.peerPython = value("--peer")
            case "--real-kb": options.realKBs.append(value("--real-kb"))
            case "--work": options.workDirectory = value("--work")
            case "-h", "--help":
                print(
                    "usage: tools/bench/vector-search [--n 10000,100000,1000000] [--dim 384] [--queries 200] [--json]")
                exit(0)
            default: fail("unknown option \(argument) (see --help)")
            }
        }
        guard !options.sizes.isEmpty, options.sizes.allSatisfy({ $0 >= 1000 }) else {
            fail("--n takes sizes of at least 1000, comma-separated")
        }
        guard options.dimension > 0, options.queries >= 64 else {
            fail("--dim must be positive and --queries at least 64 (one batch)")
        }
        return options
    }

    static func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data("cascade-bench-vectors: \(message)\n".utf8))
        exit(64)
    }

    static func main() async throws {
        BLASCoreSelection.reexecIfNeeded(
            environment: ProcessInfo.processInfo.environment, arguments: CommandLine.arguments)
        let options = parse()
        let environment = ProcessInfo.processInfo.environment
        var rows: [[String: Any]] = []
        var notes: [String] = []
        for n in options.sizes {
            let data = "\(options.workDirectory)/n\(n)-d\(options.dimension)-q\(options.queries)"
            progress("n=\(n): writing the shared data files (once)")
            try runPython(
                options.peerPython,
                [
                    "tools/bench/vector_data.py", "--n", "\(n)", "--dim", "\(options.dimension)", "--queries",
                    "\(options.queries)", "--out", data,
                ])
            progress("n=\(n): cascade")
            let (cascadeRows, importRate) = try cascadeRows(data: data, n: n)
            rows += cascadeRows
            notes.append(String(format: "n=%d: import-vectors stored %.0f rows/s", n, importRate))
            if let python = options.peerPython {
                progress("n=\(n): peers")
                let output = try runPython(python, ["tools/bench/vector_peers.py", "--data", data], capture: true)
                if let peers = try JSONSerialization.jsonObject(with: output) as? [[String: Any]] { rows += peers }
            }
        }
        var realRecall: [[String: Any]] = []
        for kb in options.realKBs where FileManager.default.fileExists(atPath: kb) {
            progress("int8 recall on real embeddings: \(kb)")
            realRecall.append(try int8RecallOnRealVectors(kb: kb))
        }
        let settings = [
            "OPENBLAS_CORETYPE": environment["OPENBLAS_CORETYPE"] ?? "(unset)",
            "OPENBLAS_THREAD_TIMEOUT": environment["OPENBLAS_THREAD_TIMEOUT"] ?? "(unset)",
        ]
        if options.json {
            let data = try JSONSerialization.data(withJSONObject: rows.map(cleaned), options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
            return
        }
        printTable(rows: rows, settings: settings, notes: notes, realRecall: realRecall)
    }

    // MARK: - cascade

    /// Imports the data into a fresh knowledge base, then measures both encodings.
    static func cascadeRows(data: String, n: Int) throws -> ([[String: Any]], Double) {
        let kbPath = "\(data)/cascade.sqlite"
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: kbPath + suffix) }
        let importStore = try KnowledgeBaseStore(path: kbPath)
        let report = try VectorImporter(store: importStore).importVectors(
            corpus: URL(fileURLWithPath: "\(data)/corpus.jsonl"), vectors: URL(fileURLWithPath: "\(data)/vectors.npy"),
            model: "bench", collection: "bench")
        let importRate = Double(report.documents) / report.seconds
        let queries = try NPYMatrix(contentsOf: URL(fileURLWithPath: "\(data)/queries.npy"))
        let queryVectors = (0..<queries.rowCount).map { queries.row($0) }
        let truth = try readTruth("\(data)/truth.npy")
        let rowOfChunk = try importStore.writer.read { db in
            var map: [Int64: Int] = [:]
            let cursor = try Row.fetchCursor(
                db, sql: "SELECT c.id, d.doc_id FROM chunk c JOIN document d ON d.id = c.document_id")
            while let row = try cursor.next() {
                let docID: String = row[1]
                map[row[0]] = Int(docID.dropFirst()) ?? -1
            }
            return map
        }
        let dimension = queries.dimension
        var rows: [[String: Any]] = []
        for encoding in VectorEncoding.allCases {
            // Open as a server would: a fresh store, then the in-memory index.
            let store = try KnowledgeBaseStore(path: kbPath)
            let rssBefore = residentBytes()
            let start = ContinuousClock.now
            let index = try store.loadVectorIndex(model: "bench", dimension: dimension, encoding: encoding)
            let load = seconds(ContinuousClock.now - start)
            let rss = residentBytes() - rssBefore

            _ = try store.vectorSearch(index, query: queryVectors[0], k: 10)
            var results: [[Int]] = []
            let singleStart = ContinuousClock.now
            for query in queryVectors {
                results.append(try store.vectorSearch(index, query: query, k: 10).map { rowOfChunk[$0.chunkID] ?? -1 })
            }
            let single = seconds(ContinuousClock.now - singleStart) / Double(queryVectors.count) * 1000
            // The same searches without mapping rows back to chunks: the in-memory index alone.
            let indexStart = ContinuousClock.now
            for query in queryVectors { _ = try index.searchRows(query, k: 10) }
            let indexOnly = seconds(ContinuousClock.now - indexStart) / Double(queryVectors.count) * 1000
            let batchStart = ContinuousClock.now
            for start in stride(from: 0, to: queryVectors.count, by: 64) {
                _ = try store.vectorSearch(
                    index, queries: Array(queryVectors[start..<min(start + 64, queryVectors.count)]), k: 10)
            }
            let batch = seconds(ContinuousClock.now - batchStart) / Double(queryVectors.count) * 1000
            let bytes = Double(n * dimension * (encoding == .f32 ? 4 : 1))
            var row: [String: Any] = [
                "engine": "cascade-\(encoding.rawValue)", "mode": encoding == .f32 ? "exact-f32" : "int8+f32-rerank",
                "n": n, "dim": dimension, "single_ms": single, "batch_ms": batch,
                "recall_at_10": recall(results, truth), "load_s": load, "memory_bytes": max(rss, index.memoryBytes),
                "index_bytes": index.memoryBytes, "index_only_single_ms": indexOnly,
                "raw_vector_bytes": index.rawVectorBytes,
                "gb_per_s": bytes / (single / 1000) / 1e9,
                "gflops_batch": 2 * Double(n) * Double(dimension) / (batch / 1000) / 1e9,
            ]
            if encoding == .int8 { row["gflops_batch"] = nil }
            rows.append(row)

            // A filter matching ~11% of the rows (sources "…#p1…"): k results every time?
            let filter = SearchFilter(sourcePrefix: "corpus.jsonl#p1")
            var short = 0
            let coldStart = ContinuousClock.now
            _ = try store.vectorSearch(index, query: queryVectors[0], k: 10, filter: filter)
            let cold = seconds(ContinuousClock.now - coldStart) * 1000
            let filteredStart = ContinuousClock.now
            for query in queryVectors {
                if try store.vectorSearch(index, query: query, k: 10, filter: filter).count < 10 { short += 1 }
            }
            let filtered = seconds(ContinuousClock.now - filteredStart) / Double(queryVectors.count) * 1000
            rows.append([
                "engine": "cascade-\(encoding.rawValue)", "mode": "filtered-11%", "n": n, "dim": dimension,
                "single_ms": filtered, "recall_at_10": NSNull(), "load_s": NSNull(), "memory_bytes": NSNull(),
                "batch_ms": NSNull(), "short_results": short, "first_query_ms": cold,
            ])
        }
        return (rows, importRate)
    }

    /// recall@10 of int8 (+ re-rank) against exact float32 on a real knowledge base, with its own
    /// chunk vectors as queries (each query's own row excluded from both result lists).
    static func int8RecallOnRealVectors(kb: String) throws -> [String: Any] {
        let store = try KnowledgeBaseStore(path: kb)
        guard let model = try store.embeddingModel() else { return ["kb": kb, "error": "empty"] }
        let exact = try store.loadVectorIndex(model: model.id, dimension: model.dimension, encoding: .f32)
        let int8 = try store.loadVectorIndex(model: model.id, dimension: model.dimension, encoding: .int8)
        // Queries: every 7th stored vector, lightly perturbed so the query is not a stored row.
        var found = 0
        var total = 0
        var rng = SystemRandomNumberGenerator()
        let matrixRows = exact.count
        for row in stride(from: 0, to: matrixRows, by: max(1, matrixRows / 300)) {
            var query = try store.writer.read { db in
                try exactRow(db, index: exact, row: row)
            }
            for i in query.indices { query[i] += Float.random(in: -0.02...0.02, using: &rng) }
            VectorMath.normalize(&query)
            let want = Set(try store.vectorSearch(exact, query: query, k: 10).map(\.chunkID))
            let got = try store.vectorSearch(int8, query: query, k: 10).map(\.chunkID)
            found += got.filter(want.contains).count
            total += want.count
        }
        return [
            "kb": kb, "model": model.id, "vectors": matrixRows, "queries": total / 10,
            "recall_at_10": Double(found) / Double(max(total, 1)),
        ]
    }

    static func exactRow(_ db: Database, index: ChunkVectorIndex, row: Int) throws -> [Float] {
        let ref = VectorRef(packed: index.identifiers[row])
        let blob = try Data.fetchOne(
            db, sql: "SELECT substr(vectors, ?, ?) FROM vector_pack WHERE id = ?",
            arguments: [ref.slot * index.dimension * 4 + 1, index.dimension * 4, ref.pack])
        var vector = [Float](repeating: 0, count: index.dimension)
        _ = vector.withUnsafeMutableBytes { blob?.copyBytes(to: $0) }
        return vector
    }

    // MARK: - helpers

    static func readTruth(_ path: String) throws -> [[Int]] {
        // truth.npy is int64: read its raw rows after the header.
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let headerLength = Int(data[8]) | Int(data[9]) << 8
        let body = data.dropFirst(10 + headerLength)
        let values = body.withUnsafeBytes { raw in
            (0..<body.count / 8).map {
                Int(Int64(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self)))
            }
        }
        return stride(from: 0, to: values.count, by: 10).map { Array(values[$0..<$0 + 10]) }
    }

    static func recall(_ results: [[Int]], _ truth: [[Int]]) -> Double {
        var hits = 0
        for (got, want) in zip(results, truth) { hits += Set(got.prefix(10)).intersection(want.prefix(10)).count }
        return Double(hits) / Double(results.count * 10)
    }

    /// Anonymous resident memory (heap), not file pages: SQLite's memory map of the store and
    /// numpy's page cache are the operating system's cache, not the index's cost.
    static func residentBytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in text.split(separator: "\n") where line.hasPrefix("RssAnon:") {
            let kb = line.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
            return kb * 1024
        }
        return 0
    }

    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }

    static func progress(_ message: String) {
        FileHandle.standardError.write(Data("[\(Date().formatted(date: .omitted, time: .standard))] \(message)\n".utf8))
    }

    @discardableResult
    static func runPython(_ python: String?, _ arguments: [String], capture: Bool = false) throws -> Data {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python ?? "/usr/bin/python3")
        process.arguments = arguments
        let out = Pipe()
        if capture { process.standardOutput = out }
        try process.run()
        let data = capture ? out.fileHandleForReading.readDataToEndOfFile() : Data()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            fail("\(arguments.joined(separator: " ")) failed with status \(process.terminationStatus)")
        }
        return data
    }

    static func cleaned(_ row: [String: Any]) -> [String: Any] {
        var out = row
        for key in ["engine", "mode", "n", "dim", "single_ms", "batch_ms", "recall_at_10", "load_s", "memory_bytes"]
        where out[key] == nil {
            out[key] = NSNull()
        }
        return out
    }

    // MARK: - table

    static func printTable(
        rows: [[String: Any]], settings: [String: String], notes: [String], realRecall: [[String: Any]]
    ) {
        func number(_ row: [String: Any], _ key: String) -> Double? { (row[key] as? NSNumber)?.doubleValue }
        func cell(_ value: Double?, _ format: String) -> String { value.map { String(format: format, $0) } ?? "-" }
        print("BLAS: \(BLASLibrary.summary)")
        print(
            "OPENBLAS_CORETYPE=\(settings["OPENBLAS_CORETYPE"]!) OPENBLAS_THREAD_TIMEOUT=\(settings["OPENBLAS_THREAD_TIMEOUT"]!) "
                + "(the peers inherit the same environment); cores: \(ProcessInfo.processInfo.activeProcessorCount)")
        print("")
        print(
            "engine        mode                         n      single ms  batch ms  recall@10  load s   memory MB  notes"
        )
        for row in rows {
            var extra: [String] = []
            if let i = number(row, "index_only_single_ms") {
                extra.append(String(format: "index alone %.3f ms", i))
            }
            if let g = number(row, "gb_per_s") { extra.append(String(format: "%.1f GB/s", g)) }
            if let g = number(row, "gflops_batch") { extra.append(String(format: "%.0f GFLOP/s batched", g)) }
            if let s = row["short_results"] as? Int { extra.append("\(s) short result lists") }
            if let c = number(row, "first_query_ms") {
                extra.append(String(format: "first query %.1f ms (resolves the filter, then cached)", c))
            }
            if let q = row["queries_timed"] as? Int { extra.append("\(q) queries timed") }
            if let i = number(row, "index_bytes"), let r = number(row, "raw_vector_bytes"), r > 0 {
                extra.append(String(format: "index %.2f× raw f32", i / r))
            }
            print(
                String(
                    format: "%-13@ %-26@ %8d  %9@  %8@  %9@  %6@  %10@  %@", row["engine"] as? String ?? "",
                    row["mode"] as? String ?? "", row["n"] as? Int ?? 0, cell(number(row, "single_ms"), "%.3f"),
                    cell(number(row, "batch_ms"), "%.3f"), cell(number(row, "recall_at_10"), "%.4f"),
                    cell(number(row, "load_s"), "%.3f"),
                    cell(number(row, "memory_bytes").map { $0 / 1_048_576 }, "%.1f"),
                    extra.joined(separator: ", ")))
        }
        print("")
        for note in notes { print(note) }
        for r in realRecall {
            print(
                String(
                    format: "int8 recall@10 vs exact f32 on real vectors (%@, %d vectors, %d queries): %.4f",
                    r["kb"] as? String ?? "", r["vectors"] as? Int ?? 0, r["queries"] as? Int ?? 0,
                    (r["recall_at_10"] as? Double) ?? 0))
        }
        print("")
        print("Goals (ratios from the rows above):")
        let sizes = Set(rows.compactMap { $0["n"] as? Int }).sorted()
        for n in sizes {
            func find(_ engine: String, _ mode: String? = nil) -> [String: Any]? {
                rows.first {
                    ($0["n"] as? Int) == n && ($0["engine"] as? String) == engine
                        && (mode == nil || ($0["mode"] as? String) == mode)
                }
            }
            guard let f32 = find("cascade-f32", "exact-f32"), let f32Single = number(f32, "single_ms") else { continue }
            func ratio(_ engine: String, _ key: String, _ mine: [String: Any], goal: Double, label: String) {
                guard let peer = find(engine), let theirs = number(peer, key), let ours = number(mine, key), ours > 0
                else {
                    return
                }
                let r = theirs / ours
                print(
                    String(
                        format: "  n=%-8d %@: %.2f× (goal ≥ %.1f×) %@", n, label, r, goal, r >= goal ? "met" : "NOT met"
                    ))
            }
            ratio("numpy", "single_ms", f32, goal: 1.0, label: "f32 single vs numpy        ")
            ratio("faiss-flat", "single_ms", f32, goal: 2.0, label: "f32 single vs FAISS flat   ")
            ratio("sqlite-vec", "single_ms", f32, goal: 5.0, label: "f32 single vs sqlite-vec   ")
            ratio("faiss-flat", "batch_ms", f32, goal: 1.0, label: "f32 batch-64 vs FAISS flat ")
            if let int8 = find("cascade-int8", "int8+f32-rerank"), let s = number(int8, "single_ms"), s > 0 {
                let r = f32Single / s
                let rec = number(int8, "recall_at_10") ?? 0
                print(
                    String(
                        format:
                            "  n=%-8d int8 single vs f32 single : %.2f× (goal ≥ 2.5× at 1M), recall@10 %.4f (goal ≥ 0.99)",
                        n, r,
                        rec))
            }
            if let filtered = find("cascade-f32", "filtered-11%"), let s = number(filtered, "single_ms") {
                print(
                    String(
                        format: "  n=%-8d f32 filtered vs unfiltered: %.2f× faster, short result lists: %d (goal 0)", n,
                        f32Single / s, filtered["short_results"] as? Int ?? -1))
            }
            if let numpy = find("numpy"), let theirs = number(numpy, "load_s"), let ours = number(f32, "load_s") {
                print(String(format: "  n=%-8d f32 load / numpy np.load  : %.2f× (goal ≤ 2×)", n, ours / theirs))
            }
            if let i = number(f32, "memory_bytes"), let r = number(f32, "raw_vector_bytes"), r > 0 {
                print(String(format: "  n=%-8d f32 index memory / raw    : %.2f× (goal ≤ 1.15×)", n, i / r))
            }
        }
    }
}
