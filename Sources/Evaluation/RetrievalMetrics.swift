import Foundation

/// Per-query ranking metrics, as BEIR and trec_eval define them.
///
/// nDCG uses linear gains (the graded relevance itself, as `pytrec_eval`'s `ndcg_cut` does) and
/// log₂(rank + 1) discounts; the ideal ranking is built from every judged document of the query.
/// A ranking lists documents, each once (chunks of one document count at its first position).
public struct RetrievalMetrics: Sendable, Hashable, Codable {
    public var hitAt1 = 0.0
    public var hitAt5 = 0.0
    public var hitAt10 = 0.0
    public var recallAt10 = 0.0
    public var mrrAt10 = 0.0
    public var ndcgAt10 = 0.0

    enum CodingKeys: String, CodingKey {
        case hitAt1 = "hit_at_1"
        case hitAt5 = "hit_at_5"
        case hitAt10 = "hit_at_10"
        case recallAt10 = "recall_at_10"
        case mrrAt10 = "mrr_at_10"
        case ndcgAt10 = "ndcg_at_10"
    }

    public init() {}

    /// Metrics of one ranked list of document ids against its judgements.
    public init(ranking: [String], relevant: [String: Int]) {
        let top = Array(ranking.prefix(10))
        let firstHit = top.firstIndex { (relevant[$0] ?? 0) > 0 }
        hitAt1 = firstHit.map { $0 < 1 ? 1 : 0 } ?? 0
        hitAt5 = firstHit.map { $0 < 5 ? 1 : 0 } ?? 0
        hitAt10 = firstHit == nil ? 0 : 1
        mrrAt10 = firstHit.map { 1 / Double($0 + 1) } ?? 0
        let judged = relevant.filter { $0.value > 0 }
        recallAt10 = judged.isEmpty ? 0 : Double(top.filter { (judged[$0] ?? 0) > 0 }.count) / Double(judged.count)
        var dcg = 0.0
        for (i, doc) in top.enumerated() { dcg += Double(relevant[doc] ?? 0) / log2(Double(i + 2)) }
        var idcg = 0.0
        for (i, gain) in judged.values.sorted(by: >).prefix(10).enumerated() {
            idcg += Double(gain) / log2(Double(i + 2))
        }
        ndcgAt10 = idcg > 0 ? dcg / idcg : 0
    }

    /// The mean of each metric over `all`.
    public static func mean(_ all: [RetrievalMetrics]) -> RetrievalMetrics {
        var m = RetrievalMetrics()
        guard !all.isEmpty else { return m }
        let n = Double(all.count)
        m.hitAt1 = all.map(\.hitAt1).reduce(0, +) / n
        m.hitAt5 = all.map(\.hitAt5).reduce(0, +) / n
        m.hitAt10 = all.map(\.hitAt10).reduce(0, +) / n
        m.recallAt10 = all.map(\.recallAt10).reduce(0, +) / n
        m.mrrAt10 = all.map(\.mrrAt10).reduce(0, +) / n
        m.ndcgAt10 = all.map(\.ndcgAt10).reduce(0, +) / n
        return m
    }

    /// Keeps the first occurrence of each document: chunk rankings become document rankings.
    public static func documentRanking(_ docIDs: [String]) -> [String] {
        var seen = Set<String>()
        return docIDs.filter { seen.insert($0).inserted }
    }
}
