import Foundation
import KnowledgeBase
import Retrieval

/// Runs every judged query of a set through one search mode and scores the rankings.
public struct RetrievalEvaluation: Sendable {
    /// The ranked documents returned for one query (what a run file holds).
    public struct RunLine: Sendable, Codable, Hashable {
        public struct Result: Sendable, Codable, Hashable {
            public var docID: String
            public var score: Double
            enum CodingKeys: String, CodingKey {
                case docID = "doc_id"
                case score
            }
        }

        public var queryID: String
        public var results: [Result]
        enum CodingKeys: String, CodingKey {
            case queryID = "query_id"
            case results
        }
    }

    public struct Outcome: Sendable {
        public var mode: SearchMode
        public var metrics: RetrievalMetrics
        public var queries: Int
        public var latencyP50Ms: Double
        public var latencyP95Ms: Double
        public var run: [RunLine]
        /// Each judged query's metrics, in the set's query order (for paired comparisons).
        public var perQuery: [RetrievalMetrics]
    }

    public var retriever: Retriever
    /// Documents kept per query (metrics look at the first 10).
    public var k: Int

    public init(retriever: Retriever, k: Int = 10) {
        self.retriever = retriever
        self.k = k
    }

    public func run(
        _ dataset: BEIRDataset, mode: SearchMode, progress: (@Sendable (Int, Int) -> Void)? = nil
    ) async throws -> Outcome {
        let queries = dataset.judgedQueries
        var perQuery: [RetrievalMetrics] = []
        var latencies: [Double] = []
        var run: [RunLine] = []
        // Chunks, not documents, are ranked: ask for enough chunks to fill k distinct documents.
        let chunkDepth = min(1000, max(k * 5, 50))
        for (i, query) in queries.enumerated() {
            let start = ContinuousClock.now
            let results = try await retriever.search(query.text, k: chunkDepth, mode: mode)
            let elapsed = ContinuousClock.now - start
            latencies.append(Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1000)
            var seen = Set<String>()
            var line = RunLine(queryID: query.id, results: [])
            for result in results where seen.insert(result.chunk.docID).inserted {
                line.results.append(.init(docID: result.chunk.docID, score: result.score))
                if line.results.count == k { break }
            }
            run.append(line)
            perQuery.append(
                RetrievalMetrics(ranking: line.results.map(\.docID), relevant: dataset.qrels[query.id] ?? [:]))
            progress?(i + 1, queries.count)
        }
        latencies.sort()
        func percentile(_ p: Double) -> Double {
            latencies.isEmpty
                ? 0 : latencies[min(latencies.count - 1, Int((Double(latencies.count - 1) * p).rounded()))]
        }
        return Outcome(
            mode: mode, metrics: .mean(perQuery), queries: queries.count, latencyP50Ms: percentile(0.5),
            latencyP95Ms: percentile(0.95), run: run, perQuery: perQuery)
    }
}
