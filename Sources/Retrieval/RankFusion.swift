/// Reciprocal-rank fusion: each list contributes `1 / (k + rank)` for every item it ranks.
///
/// Ranks instead of raw scores, because cosine similarities and BM25 scores live on unrelated
/// scales; `k = 60` (Cormack et al., 2009) damps the influence of any single list's top ranks.
public struct RankFusion: Sendable {
    public var k: Double

    public init(k: Double = 60) { self.k = k }

    /// Fused scores for every item in any list, best first (ties broken by item id).
    public func fuse(_ lists: [[Int64]]) -> [(id: Int64, score: Double)] {
        var scores: [Int64: Double] = [:]
        for list in lists {
            for (index, id) in list.enumerated() { scores[id, default: 0] += 1 / (k + Double(index + 1)) }
        }
        return scores.map { ($0.key, $0.value) }.sorted { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0 < $1.0 }
    }
}
