import ArgumentParser
import Cascade
import Embeddings
import Evaluation
import Foundation
import KnowledgeBase
import Metering
import Retrieval

struct EvalCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Measure retrieval and the cascade on a BEIR-format evaluation set.",
        subcommands: [EvalRetrievalCommand.self, EvalCascadeCommand.self]
    )
}

/// Options every evaluation command shares: the set, the embedder, the cache.
struct EvaluationOptions: ParsableArguments {
    @Option(help: "A BEIR-format set: corpus.jsonl (or corpus-path), queries.jsonl, qrels/test.tsv.")
    var dataset: String

    @Option(help: "Judgments to score against: qrels/<split>.tsv in the set.")
    var split: String = "test"

    @Option(
        help:
            "Embedding model (\(EmbedderRegistry.names.joined(separator: ", "))). Default: minilm (an error when its files are missing: run tools/fetch-model)."
    )
    var embedder: String?

    @Option(help: "Where corpora are ingested and kept between runs.")
    var cache: String = ".cascade/eval-cache"

    @Option(help: "Use this knowledge base (already holding the set's corpus) instead of the cache.")
    var kb: String?

    @Option(
        help: ArgumentHelp(
            "Use this tenant's knowledge base (<data>/tenants/<tenant>/kb.sqlite; with --database, the shared one, this machine's copy brought up to date first).",
            valueName: "tenant"))
    var kbTenant: String?

    @OptionGroup var databaseOption: DatabaseOption

    func validate() throws {
        if kb != nil && kbTenant != nil {
            throw ValidationError("--kb and --kb-tenant name two knowledge bases: give one")
        }
        if databaseOption.database != nil && kbTenant == nil {
            throw ValidationError("--database evaluates a tenant's shared knowledge base: give --kb-tenant")
        }
        try TenantNameValidation.check(kbTenant, option: "--kb-tenant")
    }

    /// The set, with its corpus ingested (or reused) into a cached knowledge base, or the
    /// knowledge base named by `--kb` / `--kb-tenant`.
    func open(data: DataDirectory) async throws -> (BEIRDataset, Retriever) {
        let set = try BEIRDataset.load(dataset, split: split)
        var named = kb
        if let kbTenant {
            try await databaseOption.refreshSharedCopy(tenant: kbTenant, explicitKB: nil, data: data)
            named = try data.knowledgeBasePath(tenant: kbTenant)
        }
        if let kb = named {
            guard FileManager.default.fileExists(atPath: kb) else {
                throw StoreError.cannotOpen(
                    path: kb, reason: "no such file; drop --kb to ingest the set's corpus into the cache")
            }
            let store = try KnowledgeBaseStore(existingAt: kb)
            var chosen: (any Embedder)?
            if let embedder { chosen = try await EmbedderRegistry.embedder(named: embedder) }
            return (set, try Retriever(store: store, embedder: chosen))
        }
        let chosen: any Embedder =
            if let embedder { try await EmbedderRegistry.embedder(named: embedder) } else {
                try EmbedderRegistry.defaultEmbedder()
            }
        let bar = ProgressBar()
        let cached = try await EvaluationCache(directory: URL(fileURLWithPath: cache)).knowledgeBase(
            for: set, embedder: chosen
        ) { progress in
            bar.update(
                done: progress.filesDone, total: progress.filesTotal,
                detail: "ingesting the corpus: \(progress.chunksEmbedded) chunks embedded")
        }
        bar.finish()
        if !cached.reused { Terminal.note("corpus ingested into \(cached.path) (reused next time)") }
        return (set, try Retriever(store: cached.store, embedder: chosen))
    }

    /// Unanswerable questions: the given file, else `unanswerable.jsonl` in the set, else none.
    func unanswerable(_ path: String?, set: BEIRDataset) throws -> [BEIRDataset.Query] {
        if let path { return try BEIRDataset.readQueries(URL(fileURLWithPath: path)) }
        let shipped = set.root.appendingPathComponent("unanswerable.jsonl")
        return FileManager.default.fileExists(atPath: shipped.path) ? try BEIRDataset.readQueries(shipped) : []
    }
}

struct EvalRetrievalCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retrieval",
        abstract: "hit@1/5/10, recall@10, MRR@10, nDCG@10 and latency per search mode.",
        discussion: """
            Chunks of one document count once, at their best rank. --run-file writes the ranked documents per \
            query so the numbers can be re-checked with any BEIR scorer.
            """
    )

    @OptionGroup var options: EvaluationOptions
    @OptionGroup var dataOption: DataOption

    @Option(
        help:
            "Search mode: \(SearchMode.allCases.map(\.rawValue).joined(separator: ", ")). Default: hybrid, as search uses."
    )
    var mode: SearchMode?

    @Flag(help: "Evaluate every mode side by side.")
    var compare = false

    @Option(name: .short, help: "Documents kept per query (metrics use the first 10).")
    var k: Int = 10

    @Option(help: "Write the run (one JSON line per query: query_id, results [{doc_id, score}]) to this file.")
    var runFile: String?

    @Option(help: "Also write a Markdown summary (for a pull request) to this file.")
    var markdown: String?

    @Option(help: .hidden)
    var vectorWeight: Double?

    @Option(
        help: ArgumentHelp(
            "Write each judged query's fusion inputs (vector and keyword candidates with scores, judged documents) as JSON Lines, for tools/eval/fusion_study.py.",
            visibility: .hidden))
    var dumpCandidates: String?

    @Flag(help: "Print as JSON.")
    var json = false

    func validate() throws {
        if compare && mode != nil { throw ValidationError("use either --mode or --compare, not both") }
        if compare && runFile != nil { throw ValidationError("--run-file needs a single mode (drop --compare)") }
        if !(10...1000).contains(k) { throw ValidationError("-k must be between 10 and 1000") }
        if let vectorWeight, !(0...1).contains(vectorWeight) {
            throw ValidationError("--vector-weight must be in [0, 1]")
        }
    }

    struct Row: Encodable {
        var mode: String
        var queries: Int
        var metrics: RetrievalMetrics
        var latency_p50_ms: Double
        var latency_p95_ms: Double
    }

    func run() async throws {
        try await runReportingErrors {
            // Output files are checked before the evaluation runs (minutes), not after.
            for file in [runFile, markdown, dumpCandidates].compactMap({ $0 }) {
                try OutputFile.checkWritable(file, replace: true)
            }
            var (set, retriever) = try await options.open(data: dataOption.directory)
            if let vectorWeight { retriever.fusion.vectorWeight = vectorWeight }
            if let dumpCandidates {
                try await Self.dump(set: set, retriever: retriever, to: dumpCandidates)
                return
            }

            let modes: [SearchMode] = compare ? [.keyword, .vector, .rrf, .hybrid] : [mode ?? .hybrid]
            var rows: [Row] = []
            var perQuery: [String: [Double]] = [:]
            for mode in modes {
                let bar = ProgressBar()
                let outcome = try await RetrievalEvaluation(retriever: retriever, k: k).run(set, mode: mode) {
                    bar.update(done: $0, total: $1, detail: mode.rawValue)
                }
                bar.finish()
                if let runFile {
                    let encoder = JSONEncoder()
                    encoder.outputFormatting = [.sortedKeys]
                    let lines = try outcome.run.map { String(decoding: try encoder.encode($0), as: UTF8.self) }
                    try (lines.joined(separator: "\n") + "\n").write(toFile: runFile, atomically: true, encoding: .utf8)
                }
                perQuery[mode.rawValue] = outcome.perQuery.map(\.ndcgAt10)
                rows.append(
                    Row(
                        mode: mode.rawValue, queries: outcome.queries, metrics: outcome.metrics,
                        latency_p50_ms: outcome.latencyP50Ms, latency_p95_ms: outcome.latencyP95Ms))
            }
            var table = Self.markdownTable(rows, set: set, model: retriever.embedder.modelID)
            let verdict = Self.verdict(rows, perQuery: perQuery)
            if let verdict { table += "\n" + verdict.line + "\n" }
            if let markdown { try table.write(toFile: markdown, atomically: true, encoding: .utf8) }
            if json {
                struct Output: Encodable {
                    var dataset: String
                    var model: String
                    var rows: [Row]
                    /// With --compare: the mode with the best nDCG@10, and hybrid's nDCG@10 minus the
                    /// better of vector and keyword (negative: the default loses to one of its parts).
                    var winner: String?
                    var hybrid_margin: Double?
                    /// Hybrid against that better part, query by query (nDCG@10).
                    var hybrid_vs_best_part: Paired?

                    struct Paired: Encodable {
                        var part: String
                        var wins: Int
                        var losses: Int
                        var ties: Int
                        /// The paired bootstrap 95% interval of the margin.
                        var margin_low: Double
                        var margin_high: Double
                    }

                    func encode(to encoder: any Encoder) throws {
                        var c = encoder.container(keyedBy: CodingKeys.self)
                        try c.encode(dataset, forKey: .dataset)
                        try c.encode(model, forKey: .model)
                        try c.encode(rows, forKey: .rows)
                        try c.encode(winner, forKey: .winner)
                        try c.encode(hybrid_margin, forKey: .hybrid_margin)
                        try c.encode(hybrid_vs_best_part, forKey: .hybrid_vs_best_part)
                    }
                    enum CodingKeys: String, CodingKey {
                        case dataset, model, rows, winner, hybrid_margin, hybrid_vs_best_part
                    }
                }
                let paired = verdict.flatMap { v in
                    v.paired.map {
                        Output.Paired(
                            part: v.part, wins: $0.wins, losses: $0.losses, ties: $0.ties,
                            margin_low: Self.rounded($0.low), margin_high: Self.rounded($0.high))
                    }
                }
                try Terminal.printJSON(
                    Output(
                        dataset: set.name, model: retriever.embedder.modelID, rows: rows, winner: verdict?.winner,
                        hybrid_margin: verdict?.margin, hybrid_vs_best_part: paired))
            } else {
                print(table, terminator: "")
            }
        }
    }

    static func dump(set: BEIRDataset, retriever: Retriever, to path: String) async throws {
        var lines: [String] = []
        for query in set.judgedQueries {
            let text = try Retriever.validated(query: query.text, k: 10)
            let vector = try await retriever.embedder.embed(text)
            let c = try retriever.candidates(text: text, vector: vector, depth: 200)
            let ids = Array(Set(c.vector.map(\.chunkID) + c.keyword.map(\.chunkID)))
            let docs = Dictionary(
                try retriever.store.chunks(ids: ids).map { ($0.chunkID, $0.docID) }, uniquingKeysWith: { a, _ in a })
            let object: [String: Any] = [
                "query_id": query.id, "query": query.text,
                "relevant": set.qrels[query.id] ?? [:],
                "vector": c.vector.map { [$0.chunkID, docs[$0.chunkID] ?? "", $0.cosine] as [Any] },
                "keyword": c.keyword.map { [$0.chunkID, docs[$0.chunkID] ?? "", $0.bm25] as [Any] },
                "exact": Dictionary(uniqueKeysWithValues: c.exactCosine.map { (String($0.key), $0.value) }),
            ]
            lines.append(String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self))
        }
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        print("candidates of \(lines.count) queries written to \(path)")
    }

    /// The per-set winner and hybrid's margin over the better of its two parts (when the rows
    /// have hybrid, vector and keyword), so a regression of the default shows in every run; with
    /// the per-query scores, also how many queries hybrid wins and loses against that part and the
    /// bootstrap interval of the margin (``PairedComparison``), so a margin of a few thousandths
    /// reads as what it is.
    static func verdict(_ rows: [Row], perQuery: [String: [Double]] = [:]) -> (
        winner: String, margin: Double, part: String, paired: PairedComparison?, line: String
    )? {
        guard let hybrid = rows.first(where: { $0.mode == "hybrid" })?.metrics.ndcgAt10,
            let vector = rows.first(where: { $0.mode == "vector" })?.metrics.ndcgAt10,
            let keyword = rows.first(where: { $0.mode == "keyword" })?.metrics.ndcgAt10,
            let best = rows.max(by: { $0.metrics.ndcgAt10 < $1.metrics.ndcgAt10 })
        else { return nil }
        // Rounded as printed, so the verdict agrees with the table.
        let margin = rounded(hybrid - max(vector, keyword))
        let part = vector >= keyword ? "vector" : "keyword"
        var line = String(
            format: "Winner: %@ (nDCG@10 %.3f). Hybrid vs %@ alone: %+.3f %@", best.mode, best.metrics.ndcgAt10, part,
            margin,
            margin >= 0
                ? "✓ (the default is at least as good as its parts)" : "✗ (the default loses to one of its parts)")
        let paired = perQuery["hybrid"].flatMap { h in perQuery[part].flatMap { PairedComparison(h, $0) } }
        if let paired {
            line += String(
                format:
                    "\nQuery by query: hybrid better on %d, worse on %d, the same on %d; 95%% interval of the margin %+.3f to %+.3f",
                paired.wins, paired.losses, paired.ties, rounded(paired.low), rounded(paired.high))
            line +=
                paired.low > 0
                ? " (the gain holds beyond the choice of queries)."
                : paired.high < 0
                    ? " (the loss holds beyond the choice of queries)."
                    : " (these queries cannot tell the two apart)."
        }
        return (best.mode, margin, part, paired, line)
    }

    /// Rounded to the third decimal, as the table prints.
    static func rounded(_ value: Double) -> Double { (value * 1000).rounded() / 1000 }

    static func markdownTable(_ rows: [Row], set: BEIRDataset, model: String) -> String {
        var out = "Retrieval on \(set.name) (\(rows.first?.queries ?? 0) judged queries, \(model))\n\n"
        out += "| mode | hit@1 | hit@5 | hit@10 | recall@10 | MRR@10 | nDCG@10 | p50 ms | p95 ms |\n"
        out += "|---|---|---|---|---|---|---|---|---|\n"
        for r in rows {
            let m = r.metrics
            out += String(
                format: "| %@ | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f | %.1f | %.1f |\n", r.mode, m.hitAt1, m.hitAt5,
                m.hitAt10, m.recallAt10, m.mrrAt10, m.ndcgAt10, r.latency_p50_ms, r.latency_p95_ms)
        }
        return out
    }
}

struct EvalCascadeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cascade",
        abstract:
            "Run the set's questions through the cascade: resolved per tier, escalations, false resolutions, cost.",
        discussion: """
            A resolution is wrong when an answerable question is resolved citing none of its relevant documents, \
            or an unanswerable one is resolved at all. The tenant's settings (rules, threshold, confidence, LLM) \
            apply; nothing is written to any billing ledger.
            """
    )

    @OptionGroup var options: EvaluationOptions

    @Option(help: "JSONL of {_id, text} questions the corpus cannot answer. Default: unanswerable.jsonl in the set.")
    var unanswerable: String?

    @Option(help: "Tenant whose settings apply.")
    var tenant: String = "eval"

    @Option(help: "Folder of per-tenant settings. Default: <data>/tenants.")
    var tenantsDir: String?

    @OptionGroup var dataOption: DataOption

    @Option(help: "Override the tenant's confidence threshold.")
    var threshold: Double?

    @Option(help: "Also write a Markdown summary to this file.")
    var markdown: String?

    @Flag(help: "Print as JSON (summary and one item per question).")
    var json = false

    func run() async throws {
        try await runReportingErrors {
            if let markdown { try OutputFile.checkWritable(markdown, replace: true) }
            let (set, retriever) = try await options.open(data: dataOption.directory)
            let extra = try options.unanswerable(unanswerable, set: set)
            let scratch = FileManager.default.temporaryDirectory.appendingPathComponent(
                "cascade-eval-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: scratch) }
            // What a new tenant gets: the knowledge base's label-free calibration (stored in the
            // evaluation cache, which is ours to write; computed in memory for --kb/--kb-tenant).
            let calibration = try await SelfCalibration.current(
                retriever: retriever, write: options.kb == nil && options.kbTenant == nil)
            // The same resolver `ask` and the service build for this tenant, on a throw-away ledger.
            let resolver = try Resolver.forTenant(
                tenant, settingsDirectory: tenantsDir ?? dataOption.directory.tenantsDirectory, retriever: retriever,
                ledger: try Ledger(path: scratch.appendingPathComponent("ledger.sqlite").path), threshold: threshold,
                calibration: calibration)
            if !json {
                Terminal.note(
                    "threshold and weights: \(resolver.calibrationSource.replacingOccurrences(of: "_", with: " "))")
            }
            let bar = ProgressBar()
            let items = try await CascadeEvaluation(resolver: resolver).run(set, unanswerable: extra, tenant: tenant) {
                bar.update(done: $0, total: $1, detail: "questions")
            }
            bar.finish()
            let summary = CascadeEvaluation.Summary(items: items)
            let text = Self.markdown(summary, items: items, set: set, threshold: resolver.threshold)
            if let markdown { try text.write(toFile: markdown, atomically: true, encoding: .utf8) }
            if json {
                struct Output: Encodable {
                    var dataset: String
                    var threshold: Double
                    var summary: CascadeEvaluation.Summary
                    var items: [CascadeEvaluation.Item]
                }
                try Terminal.printJSON(
                    Output(dataset: set.name, threshold: resolver.threshold, summary: summary, items: items))
            } else {
                print(text, terminator: "")
            }
        }
    }

    /// The report: the measures, then which questions were resolved wrongly and which RAG
    /// answers did not quote their key, so a change that moves one is visible by name.
    static func markdown(
        _ s: CascadeEvaluation.Summary, items: [CascadeEvaluation.Item], set: BEIRDataset, threshold: Double
    ) -> String {
        func pct(_ x: Double) -> String { String(format: "%.1f%%", x * 100) }
        let wrong = items.filter { $0.correct == false }.map(\.queryID)
        let unquoted = items.filter { $0.answerQuoted == false }.map(\.queryID)
        var lists = ""
        if !wrong.isEmpty { lists += "Wrong resolutions: \(wrong.joined(separator: ", "))\n" }
        if !unquoted.isEmpty {
            lists += "RAG answers that do not quote the answer: \(unquoted.joined(separator: ", "))\n"
        }
        // With an LLM: which RAG answers its verifier stopped, and which it could not check.
        for (outcome, label) in [
            ("refuted", "RAG answers the LLM verifier refuted"),
            ("failed", "RAG answers the LLM verifier could not check"),
        ] {
            let ids = items.filter { $0.attempts?.contains("verify:\(outcome)") == true }.map(\.queryID)
            if !ids.isEmpty { lists += "\(label): \(ids.joined(separator: ", "))\n" }
        }
        return """
            Cascade on \(set.name): \(s.questions) questions (\(s.answerable) answerable, \(s.unanswerable) unanswerable), \
            threshold \(String(format: "%.2f", threshold))

            | measure | value |
            |---|---|
            | resolved by rule | \(pct(s.resolvedShareByTier["rule"] ?? 0)) |
            | resolved by RAG | \(pct(s.resolvedShareByTier["rag"] ?? 0)) |
            | resolved by LLM | \(pct(s.resolvedShareByTier["llm"] ?? 0)) |
            | escalated | \(pct(s.escalationRate)) |
            | rejected (junk) | \(pct(s.rejectedRate)) |
            | false-resolution rate | \(pct(s.falseResolutionRate)) (\(s.wrongResolutions) of \(s.resolutions) resolutions) |
            | correct auto-resolution rate | \(pct(s.correctAutoResolutionRate)) of answerable questions |
            | answer precision | \(s.answerPrecision.map { "\(pct($0)) of \(s.answerPrecisionQuestions) RAG answers quote the answer" } ?? "n/a (no answers.jsonl)") |
            | cost per query | \(String(format: "%.2f", s.costMicrosPerQuery)) µ$ (total \(s.totalCostMicros) µ$) |

            """ + (lists.isEmpty ? "" : lists + "\n")
    }
}
