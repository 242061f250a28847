/// The default hybrid fusion: a convex combination of normalised vector and keyword scores in
/// which the keyword share depends on the query.
///
/// Reciprocal-rank fusion throws the scores away, so a keyword list that is confidently wrong
/// pulls as hard as a semantic match that is confidently right; on the public BEIR slices plain
/// RRF scores *below* vector search alone. Here:
///
/// - every candidate (from either list) is scored with its exact cosine, so a keyword-only
///   candidate competes on its real semantic score, not a guess;
/// - scores are normalised as in Bruch et al., "An Analysis of Fusion Functions for Hybrid
///   Retrieval" (2023, "TM2C2"): cosine from its theoretical minimum −1 to the query's best,
///   BM25 from 0 to the query's best;
/// - the keyword share `1 − vectorWeight` only applies when the two top-10 lists agree on at
///   least ``agreementGate`` chunks (the words point at the same place the meaning does), and is
///   scaled by how far BM25's best hit stands out from its second (an exact term such as an error
///   code or a function name, where keywords beat embeddings).
///
/// The constants were chosen with `cascade eval retrieval --compare` on MS MARCO, DBpedia and the
/// shipped SQLite set as the setting that is at least as good as vector-only, keyword-only and RRF
/// on all three (docs/evaluation.md has the numbers and the caveat: the margin is small and was
/// measured on the sets it was chosen on).
public struct ScoreFusion: Sendable, Hashable {
    public var vectorWeight: Double
    /// Minimum overlap of the two top-10 lists for keywords to count at all.
    public var agreementGate: Int
    /// Keyword share = (1 − vectorWeight) · min(1, peakiness · (bm25₁ − bm25₂) / bm25₁).
    public var peakiness: Double

    public init(vectorWeight: Double = 0.6, agreementGate: Int = 3, peakiness: Double = 4) {
        self.vectorWeight = vectorWeight
        self.agreementGate = agreementGate
        self.peakiness = peakiness
    }

    /// Fuses candidates, best first.
    /// - Parameters:
    ///   - vector: the vector list (id, cosine), best first.
    ///   - keyword: the keyword list (id, BM25, higher is better), best first.
    ///   - exactCosine: cosines of keyword candidates missing from `vector` (those without one get
    ///     the vector list's lowest cosine, an upper bound since they ranked below it).
    public func fuse(
        vector: [(id: Int64, score: Double)], keyword: [(id: Int64, score: Double)],
        exactCosine: [Int64: Double] = [:]
    ) -> [(id: Int64, score: Double)] {
        var cosine: [Int64: Double] = [:]
        for hit in vector { cosine[hit.id] = hit.score }
        let floor = vector.last?.score ?? -1
        var ids = vector.map(\.id)
        var seen = Set(ids)
        for hit in keyword where seen.insert(hit.id).inserted {
            ids.append(hit.id)
            cosine[hit.id] = exactCosine[hit.id] ?? floor
        }
        let bestCosine = cosine.values.max() ?? 0
        let cosineRange = max(bestCosine + 1, 1e-9)
        let bestKeyword = keyword.first.map { max(0, $0.score) } ?? 0

        var keywordWeight = 1 - vectorWeight
        let overlap = Set(vector.prefix(10).map(\.id)).intersection(keyword.prefix(10).map(\.id)).count
        if overlap < agreementGate || bestKeyword <= 0 { keywordWeight = 0 }
        if keyword.count > 1, bestKeyword > 0 {
            let gap = (bestKeyword - max(0, keyword[1].score)) / bestKeyword
            keywordWeight *= min(1, peakiness * gap)
        }
        var keywordScore: [Int64: Double] = [:]
        if bestKeyword > 0 { for hit in keyword { keywordScore[hit.id] = max(0, hit.score) / bestKeyword } }

        let fused = ids.map { id in
            (
                id: id,
                score: vectorWeight * ((cosine[id] ?? floor) + 1) / cosineRange + keywordWeight
                    * (keywordScore[id] ?? 0)
            )
        }
        return fused.sorted { $0.score != $1.score ? $0.score > $1.score : $0.id < $1.id }
    }
}
