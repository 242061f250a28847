import ArgumentParser
import Cascade
import Embeddings
import Foundation
import KnowledgeBase
import Retrieval

extension SearchMode: ExpressibleByArgument {}

struct SearchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "search",
        abstract: "Find the chunks of the knowledge base that best match a question."
    )

    @Argument(help: "The question or keywords.")
    var query: String

    @OptionGroup var store: KnowledgeBaseOption

    @Option(help: "Use this tenant's knowledge base (<data>/tenants/<tenant>/kb.sqlite).")
    var tenant: String?

    @OptionGroup var dataOption: DataOption
    @OptionGroup var databaseOption: DatabaseOption

    /// The knowledge base file these options name.
    var kbPath: String { (try? store.path(tenant: tenant, data: dataOption.directory)) ?? "" }

    @Option(name: .short, help: "Number of results.")
    var k: Int = 5

    @Option(help: "hybrid (vector + keyword, fused), vector or keyword.")
    var mode: SearchMode = .hybrid

    @Option(help: "Only documents whose source starts with this prefix.")
    var sourcePrefix: String?

    @Option(help: "Only documents of this collection (ingested folder name).")
    var collection: String?

    @Flag(help: "Print results as JSON.")
    var json = false

    func validate() throws {
        try TenantNameValidation.check(tenant)
        guard (1...1000).contains(k) else { throw ValidationError("-k must be between 1 and 1000") }
    }

    struct Output: Encodable {
        struct Result: Encodable {
            var rank: Int
            var doc_id: String
            var source: String
            var title: String
            var chunk_id: Int64
            var heading: String
            var anchor: String?
            var citation: String
            var text: String
            var start_offset: Int
            var end_offset: Int
            var score: Double
            var vector_score: Double?
            var keyword_score: Double?

            enum CodingKeys: String, CodingKey {
                case rank, doc_id, source, title, chunk_id, heading, anchor, citation, text, start_offset, end_offset
                case score, vector_score, keyword_score
            }

            /// Every documented field is present; missing signals are `null`, not left out.
            func encode(to encoder: any Encoder) throws {
                var c = encoder.container(keyedBy: CodingKeys.self)
                try c.encode(rank, forKey: .rank)
                try c.encode(doc_id, forKey: .doc_id)
                try c.encode(source, forKey: .source)
                try c.encode(title, forKey: .title)
                try c.encode(chunk_id, forKey: .chunk_id)
                try c.encode(heading, forKey: .heading)
                try c.encode(anchor, forKey: .anchor)
                try c.encode(citation, forKey: .citation)
                try c.encode(text, forKey: .text)
                try c.encode(start_offset, forKey: .start_offset)
                try c.encode(end_offset, forKey: .end_offset)
                try c.encode(score, forKey: .score)
                try c.encode(vector_score, forKey: .vector_score)
                try c.encode(keyword_score, forKey: .keyword_score)
            }
        }
        var query: String
        var mode: String
        var elapsed_ms: Double
        var results: [Result]
    }

    func run() async throws {
        try await runReportingErrors {
            try await databaseOption.refreshSharedCopy(
                tenant: tenant, explicitKB: store.explicitPath, data: dataOption.directory)
            guard FileManager.default.fileExists(atPath: kbPath) else {
                throw StoreError.cannotOpen(
                    path: kbPath, reason: "no such file; check --kb/--tenant/--data, or create it with `cascade ingest`"
                )
            }
            let kb = try KnowledgeBaseStore(existingAt: kbPath)
            var embedder: (any Embedder)?
            if mode == .keyword, let model = try kb.embeddingModel() {
                // BM25 needs no model: a missing one only matters if a vector is asked for.
                do {
                    embedder = try EmbedderRegistry.embedder(forModelID: model.id, dimension: model.dimension)
                } catch let error as EmbeddingError {
                    embedder = UnavailableEmbedder(modelID: model.id, dimension: model.dimension, reason: error)
                }
            }
            let retriever = try Retriever(store: kb, embedder: embedder)
            let filter = SearchFilter(sourcePrefix: sourcePrefix, collections: collection.map { [$0] })
            let started = ContinuousClock.now
            let results = try await retriever.search(query, k: k, mode: mode, filter: filter)
            let elapsed = ContinuousClock.now - started
            let ms = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
            if json {
                let output = Output(
                    query: query, mode: mode.rawValue, elapsed_ms: (ms * 1000).rounded() / 1000,
                    results: results.map { r in
                        .init(
                            rank: r.rank, doc_id: r.chunk.docID, source: r.chunk.source, title: r.chunk.title,
                            chunk_id: r.chunk.chunkID, heading: r.chunk.heading, anchor: r.chunk.anchor,
                            citation: r.chunk.citation, text: r.chunk.text, start_offset: r.chunk.startOffset,
                            end_offset: r.chunk.endOffset, score: r.score, vector_score: r.vectorScore,
                            keyword_score: r.keywordScore)
                    })
                try Terminal.printJSON(output)
                return
            }
            if results.isEmpty { print("No results for \"\(query)\".") }
            for r in results {
                let signals = [
                    r.vectorScore.map { String(format: "vector %.3f", $0) },
                    r.keywordScore.map { String(format: "bm25 %.2f", $0) },
                ].compactMap { $0 }.joined(separator: ", ")
                print("\(r.rank). \(r.chunk.title)\(r.chunk.heading.isEmpty ? "" : " › " + r.chunk.heading)")
                print(
                    "   \(r.chunk.citation)  score \(String(format: "%.4f", r.score))\(signals.isEmpty ? "" : " (\(signals))")"
                )
                let snippet = r.chunk.text.replacingOccurrences(of: "\n", with: " ")
                print("   \(snippet.prefix(220))\(snippet.count > 220 ? "…" : "")")
            }
            print(String(format: "(%d results in %.1f ms, %@ mode)", results.count, ms, mode.rawValue))
        }
    }
}
