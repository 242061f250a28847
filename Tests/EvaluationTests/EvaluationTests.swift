import Cascade
import Embeddings
import Foundation
import KnowledgeBase
import Metering
import Retrieval
import TestSupport
import Testing

@testable import Evaluation

enum Fixtures {
    static var tiny: String {
        Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent("tiny").path
    }
}

/// A temporary folder holding a copy of the tiny set at `set/`, to damage.
func tinySetCopy() throws -> TemporaryDirectory {
    let dir = try TemporaryDirectory()
    try FileManager.default.copyItem(atPath: Fixtures.tiny, toPath: dir.path("set"))
    return dir
}

/// The message `BEIRDataset.load` refuses the set with, or nil when it loads.
func loadError(_ set: String, split: String = "test") -> String? {
    do {
        _ = try BEIRDataset.load(set, split: split)
        return nil
    } catch {
        return error.description
    }
}

@Suite("Retrieval metrics")
struct RetrievalMetricsTests {
    @Test("hit@k, recall, MRR and graded nDCG match hand-computed values")
    func handComputed() {
        // Relevant: a (2), b (1). Ranking: x, b, y, a.
        let m = RetrievalMetrics(ranking: ["x", "b", "y", "a"], relevant: ["a": 2, "b": 1])
        #expect(m.hitAt1 == 0)
        #expect(m.hitAt5 == 1)
        #expect(m.hitAt10 == 1)
        #expect(m.mrrAt10 == 0.5)
        #expect(m.recallAt10 == 1)
        // DCG = 1/log2(3) + 2/log2(5); IDCG = 2/log2(2) + 1/log2(3).
        let dcg = 1 / log2(3.0) + 2 / log2(5.0)
        let idcg = 2.0 + 1 / log2(3.0)
        #expect(abs(m.ndcgAt10 - dcg / idcg) < 1e-12)
    }

    @Test("a relevant document past rank 10 counts for nothing")
    func cutOff() {
        let ranking = (0..<10).map { "n\($0)" } + ["a"]
        let m = RetrievalMetrics(ranking: ranking, relevant: ["a": 1])
        #expect(m == RetrievalMetrics())
    }

    @Test("chunks of one document count once, at the first position")
    func documentRanking() {
        #expect(RetrievalMetrics.documentRanking(["a", "b", "a", "c", "b"]) == ["a", "b", "c"])
    }
}

@Suite("BEIR sets")
struct BEIRDatasetTests {
    @Test("a set is read with graded judgements; queries without judgements are not scored")
    func reads() throws {
        let set = try BEIRDataset.load(Fixtures.tiny)
        #expect(set.queries.count == 5)
        #expect(set.judgedQueries.map(\.id) == ["q1", "q2", "q3", "q4"])
        #expect(set.qrels["q4"] == ["busy": 2, "wal": 1])
    }

    @Test("broken files are named with the line and what is wrong")
    func brokenFiles() throws {
        let dir = try tinySetCopy()
        try dir.write("set/queries.jsonl", "{\"_id\": \"q1\", \"text\": \"ok\"}\nnot json\n")
        #expect(
            throws: EvaluationError.malformed(
                path: dir.path("set/queries.jsonl"), line: 2, reason: "not a JSON object with \"_id\" and \"text\"")
        ) {
            try BEIRDataset.load(dir.path("set"))
        }
        try FileManager.default.removeItem(atPath: dir.path("set/corpus.jsonl"))
        #expect(throws: EvaluationError.self) { try BEIRDataset.load(dir.path("set")) }
        #expect(throws: EvaluationError.self) { try BEIRDataset.load(dir.path("nowhere")) }
    }
}

@Suite("Which judgments a set is scored against (--split)")
struct SplitTests {
    @Test("qrels/<split>.tsv is read; a set without the asked split names the ones it has")
    func splits() throws {
        let dir = try tinySetCopy()
        try FileManager.default.moveItem(atPath: dir.path("set/qrels/test.tsv"), toPath: dir.path("set/qrels/dev.tsv"))
        #expect(try BEIRDataset.load(dir.path("set"), split: "dev").qrels["q4"] == ["busy": 2, "wal": 1])
        let refusal = loadError(dir.path("set"))
        #expect(refusal?.contains("pass --split dev") == true, "\(String(describing: refusal))")
        for bad in ["../dev", "", "dev.tsv", "a/b"] {
            #expect(throws: EvaluationError.self, "\(bad)") { try BEIRDataset.load(dir.path("set"), split: bad) }
        }
    }
}

@Suite("Set files saved on Windows")
struct WindowsSetFileTests {
    @Test("queries, judgments and answer keys with CRLF line ends and a byte-order mark read like LF ones")
    func crlf() throws {
        let dir = try tinySetCopy()
        let expected = try BEIRDataset.load(dir.path("set"))
        for file in ["queries.jsonl", "qrels/test.tsv"] {
            let text = try String(contentsOfFile: dir.path("set/" + file), encoding: .utf8)
            try FileManager.default.removeItem(atPath: dir.path("set/" + file))
            try dir.write("set/" + file, "\u{FEFF}" + text.replacingOccurrences(of: "\n", with: "\r\n"))
        }
        try dir.write(
            "set/answers.jsonl",
            "{\"_id\": \"q1\", \"contains\": [\"WAL\"]}\r\n{\"_id\": \"q2\", \"contains\": [\"VACUUM\"]}\r\n")
        let set = try BEIRDataset.load(dir.path("set"))
        #expect(set.queries == expected.queries)
        #expect(set.qrels == expected.qrels)
        #expect(set.answerKeys == ["q1": ["WAL"], "q2": ["VACUUM"]])
    }
}

@Suite("Judged queries search would refuse")
struct UnsearchableQueryTests {
    @Test("an empty or over-long judged query is named when the set is read, before any ingest")
    func named() throws {
        for text in ["   ", String(repeating: "why ", count: 1_100)] {
            let dir = try tinySetCopy()
            let queries = try String(contentsOfFile: dir.path("set/queries.jsonl"), encoding: .utf8)
            let line = String(
                decoding: try JSONSerialization.data(withJSONObject: ["_id": "q1", "text": text]), as: UTF8.self)
            try dir.write(
                "set/queries.jsonl",
                queries.split(separator: "\n").map { $0.contains("\"q1\"") ? line : String($0) }.joined(separator: "\n")
            )
            let refusal = loadError(dir.path("set"))
            #expect(
                refusal?.contains("query q1 cannot be searched") == true,
                "a query of \(text.count) characters: \(String(describing: refusal))")
        }
    }
}

@Suite("A set whose corpus is a folder (corpus-path)")
struct CorpusPathTests {
    func set(in dir: TemporaryDirectory, pointer: String) throws -> String {
        try dir.write("set/queries.jsonl", "{\"_id\": \"q1\", \"text\": \"backups\"}\n")
        try dir.write("set/qrels/test.tsv", "query-id\tcorpus-id\tscore\nq1\tguide.md\t1\n")
        try dir.write("set/corpus-path", pointer)
        try dir.write("docs/guide.md", "# Backups\n\nUse the backup API.\n")
        return dir.path("set")
    }

    @Test("the folder is named relative to the set, or by an absolute path")
    func relativeOrAbsolute() throws {
        let dir = try TemporaryDirectory()
        func folder(_ pointer: String) throws -> String? {
            guard case .folder(let url) = try BEIRDataset.load(set(in: dir, pointer: pointer)).corpus else {
                return nil
            }
            return url.standardizedFileURL.path
        }
        let docs = URL(fileURLWithPath: dir.path("docs")).standardizedFileURL.path
        #expect(try folder("../docs\n") == docs)
        #expect(try folder(dir.path("docs") + "\n") == docs)
    }

    @Test("an empty or multi-line corpus-path is refused, not read as the set's own folder")
    func emptyPointer() throws {
        for pointer in ["", "\n  \n", "../docs\n../other\n"] {
            let dir = try TemporaryDirectory()
            #expect(throws: EvaluationError.self, "\(pointer.debugDescription)") {
                try BEIRDataset.load(set(in: dir, pointer: pointer))
            }
        }
    }
}

@Suite("Evaluation runs")
struct EvaluationRunTests {
    func openTiny(_ dir: TemporaryDirectory) async throws -> (BEIRDataset, Retriever) {
        let set = try BEIRDataset.load(Fixtures.tiny)
        let kb = try await EvaluationCache(directory: dir.url).knowledgeBase(for: set, embedder: HashingEmbedder())
        return (set, try Retriever(store: kb.store, embedder: HashingEmbedder()))
    }

    @Test("the corpus is ingested once into the cache and reused; the set's folder is not written")
    func cacheReuse() async throws {
        let dir = try TemporaryDirectory()
        let set = try BEIRDataset.load(Fixtures.tiny)
        let before = try FileManager.default.contentsOfDirectory(atPath: Fixtures.tiny).sorted()
        let first = try await EvaluationCache(directory: dir.url).knowledgeBase(for: set, embedder: HashingEmbedder())
        let second = try await EvaluationCache(directory: dir.url).knowledgeBase(for: set, embedder: HashingEmbedder())
        #expect(!first.reused && second.reused)
        #expect(first.path == second.path)
        #expect(try first.store.stats().documents == 8)
        #expect(try FileManager.default.contentsOfDirectory(atPath: Fixtures.tiny).sorted() == before)
    }

    @Test("retrieval is scored per mode and the run lists each document once, best first")
    func retrievalRun() async throws {
        let dir = try TemporaryDirectory()
        let (set, retriever) = try await openTiny(dir)
        for mode in SearchMode.allCases {
            let outcome = try await RetrievalEvaluation(retriever: retriever).run(set, mode: mode)
            #expect(outcome.queries == 4)
            #expect(outcome.run.count == 4)
            for line in outcome.run {
                #expect(Set(line.results.map(\.docID)).count == line.results.count)
            }
            // The metrics are the mean of the run's own rankings: re-scoring the run agrees.
            let rescored = RetrievalMetrics.mean(
                outcome.run.map {
                    RetrievalMetrics(ranking: $0.results.map(\.docID), relevant: set.qrels[$0.queryID] ?? [:])
                })
            #expect(rescored == outcome.metrics)
            #expect(outcome.metrics.hitAt5 >= 0.75, "\(mode): these queries share words with their passages")
        }
    }

    @Test("the cascade evaluation counts an unanswerable question resolved as a false resolution")
    func cascadeRun() async throws {
        let dir = try TemporaryDirectory()
        let (set, retriever) = try await openTiny(dir)
        let unanswerable = try BEIRDataset.readQueries(URL(fileURLWithPath: Fixtures.tiny + "/unanswerable.jsonl"))
        for (threshold, expectWrong) in [(0.0, true), (1.0, false)] {
            let resolver = Resolver(
                rules: .empty, retriever: retriever, ledger: try Ledger(path: dir.path("ledger-\(threshold).sqlite")),
                threshold: threshold)
            let items = try await CascadeEvaluation(resolver: resolver).run(
                set, unanswerable: unanswerable, tenant: "t")
            let summary = CascadeEvaluation.Summary(items: items)
            #expect(summary.questions == 6)
            if expectWrong {
                // Threshold 0 resolves everything: both unanswerable questions are wrong resolutions.
                #expect(summary.resolutions == 6)
                #expect(summary.wrongResolutions >= 2)
                #expect(summary.falseResolutionRate == Double(summary.wrongResolutions) / 6)
                #expect(summary.costMicrosPerQuery == Double(summary.totalCostMicros) / 6)
            } else {
                #expect(summary.resolutions == 0)
                #expect(summary.escalationRate == 1)
                #expect(summary.falseResolutionRate == 0)
            }
        }
    }
}

@Suite("Calibration")
struct CalibrationTests {
    /// Samples whose chance of being right is a known function of the similarity.
    func synthetic(count: Int, seed: UInt64) -> [Calibration.Sample] {
        var state = seed
        func next() -> Double {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Double(state >> 11) / Double(1 << 53)
        }
        return (0..<count).map { i in
            let similarity = next()
            let p = 1 / (1 + exp(-(12 * similarity - 6)))
            return Calibration.Sample(
                queryID: "s\(i)", signals: .init(topSimilarity: similarity, margin: 0, agreement: false),
                correct: next() < p)
        }
    }

    @Test("the fitted confidence recovers a known logistic relation and is better calibrated than the hand-set one")
    func fitRecoversTruth() {
        let samples = synthetic(count: 4000, seed: 1)
        let fitted = Calibration.fit(samples)
        #expect(abs(fitted.similarityWeight - 12) < 1.5)
        #expect(abs(fitted.bias + 6) < 1)
        let after = Calibration.reliability(samples, model: fitted).ece
        let before = Calibration.reliability(samples, model: RAGConfidence()).ece
        #expect(after < 0.03)
        #expect(after < before)
    }

    @Test("the chosen threshold keeps the false-resolution rate under the target, and lower ones do not")
    func threshold() {
        let samples = synthetic(count: 2000, seed: 2)
        let model = Calibration.fit(samples)
        let all = Set(samples.map(\.queryID))
        let t = Calibration.threshold(samples, model: model, target: 0.05, answerable: all)
        let at = Calibration.operating(samples, model: model, threshold: t, answerable: all)
        #expect(at.falseResolutionRate <= 0.05)
        #expect(at.resolved > 0)
        let below = Calibration.operating(samples, model: model, threshold: t - 0.01, answerable: all)
        #expect(below.falseResolutionRate > 0.05)
    }

    @Test("the split is deterministic and roughly even")
    func split() {
        let samples = synthetic(count: 1000, seed: 3)
        let (a, b) = Calibration.split(samples)
        #expect(a.count + b.count == 1000)
        #expect(abs(a.count - 500) < 60)
        #expect(Calibration.split(samples).calibration.map(\.queryID) == a.map(\.queryID))
    }
}
