import KnowledgeBase

/// Documents of a result list that are one page in two forms: two documents are twins when a
/// retrieved chunk of one is the same text as a retrieved chunk of the other
/// (``PassageOverlap/sameText(_:_:)``), and twinship is transitive.
///
/// Why it matters: a knowledge base holding each page twice (HTML and its source) returns the
/// twin of the best passage as the runner-up, so "how far the best passage is ahead of another
/// document's" measures nothing, and the twin takes a citation slot that should point to another
/// page. Callers group by ``group(of:)`` instead of by document.
public struct TwinDocuments: Sendable {
    /// Characters of each chunk compared: more than a chunk the chunker writes holds.
    public static let comparedCharacters = 4_000

    /// Group representative of each document key (`collection` + tab + `docID`) of the list.
    private var representative: [String: String] = [:]

    public init(_ results: [SearchResult]) {
        let keys = results.map { Self.key($0.chunk) }
        var parent: [String: String] = [:]
        for key in keys { parent[key] = key }
        func find(_ key: String) -> String {
            var root = key
            while let next = parent[root], next != root { root = next }
            return root
        }
        // Each pair of results from different documents once, on each chunk's opening (a chunk
        // imported whole costs no more than a long section). Two texts whose lengths differ by
        // more than half cannot share 60% of their trigrams, so most pairs are settled by length
        // alone, and a chunk's trigrams are computed only when a pair needs them.
        let openings = results.map { String($0.chunk.text.prefix(Self.comparedCharacters)) }
        let lengths = openings.map { Double($0.utf8.count) }
        var trigrams = [Set<Int>?](repeating: nil, count: results.count)
        func trigramsOf(_ i: Int) -> Set<Int> {
            if let known = trigrams[i] { return known }
            let computed = PassageOverlap.trigrams(openings[i])
            trigrams[i] = computed
            return computed
        }
        for i in results.indices {
            for j in results.indices where j > i && keys[j] != keys[i] {
                let (a, b) = (find(keys[i]), find(keys[j]))
                guard a != b, min(lengths[i], lengths[j]) >= 0.5 * max(lengths[i], lengths[j]),
                    PassageOverlap.sameText(trigramsOf(i), trigramsOf(j))
                else { continue }
                parent[b] = a
            }
        }
        for key in keys { representative[key] = find(key) }
    }

    /// The group of a chunk's document: equal for twins, its own key otherwise.
    public func group(of chunk: StoredChunk) -> String {
        let key = Self.key(chunk)
        return representative[key] ?? key
    }

    /// Whether two chunks' documents are one page (the same document, or twins).
    public func samePage(_ a: StoredChunk, _ b: StoredChunk) -> Bool { group(of: a) == group(of: b) }

    static func key(_ chunk: StoredChunk) -> String { chunk.collection + "\t" + chunk.docID }
}
