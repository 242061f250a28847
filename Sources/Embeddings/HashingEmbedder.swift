import VectorSearch

/// A deterministic, model-free embedder: signed feature hashing of words, light stems and word
/// bigrams into a fixed number of buckets, L2-normalised.
///
/// It needs no model files, so the knowledge base works (with lexical-level similarity) on a
/// machine where the neural model has not been fetched, and tests run fast and repeatably.
public struct HashingEmbedder: Embedder {
    public let dimension: Int
    public let maxTokens: Int
    public var modelID: String { "hashing-v1-\(dimension)" }
    public var preferredBatchSize: Int { 256 }

    public init(dimension: Int = 384, maxTokens: Int = 256) {
        precondition(dimension > 0)
        self.dimension = dimension
        self.maxTokens = maxTokens
    }

    public func tokenCount(of text: String) -> Int {
        TextSegmenter.estimatedWordPieces(text)
    }

    public func embed(_ texts: [String]) async throws -> [[Float]] {
        texts.map(vector(for:))
    }

    /// The vector for one text (synchronous; the work is a few microseconds per word).
    public func vector(for text: String) -> [Float] {
        var vector = [Float](repeating: 0, count: dimension)
        let words = TextSegmenter.words(text).prefix(maxTokens * 2)
        var previous: String?
        for word in words {
            add("w:" + word, weight: 1, to: &vector)
            let stem = Self.stem(word)
            if stem != word { add("w:" + stem, weight: 0.5, to: &vector) }
            if let previous { add("b:" + previous + " " + stem, weight: 0.5, to: &vector) }
            previous = stem
        }
        // Sub-linear term frequency: repeated words should not dominate the direction.
        for i in vector.indices where vector[i] != 0 {
            let magnitude = (1 + abs(vector[i])).squareRoot() - 1
            vector[i] = vector[i] < 0 ? -magnitude : magnitude
        }
        VectorMath.normalize(&vector)
        return vector
    }

    private func add(_ feature: String, weight: Float, to vector: inout [Float]) {
        let hash = StableHash.fnv1a64(feature)
        let bucket = Int(hash % UInt64(dimension))
        let sign: Float = (hash >> 63) == 0 ? 1 : -1
        vector[bucket] += sign * weight
    }

    /// A crude English suffix stripper, enough to make "indexes", "indexing" and "index" meet.
    static func stem(_ word: String) -> String {
        guard word.count > 4 else { return word }
        for suffix in ["ations", "ation", "ings", "ing", "ies", "es", "ed", "ly", "s"] where word.hasSuffix(suffix) {
            let stem = String(word.dropLast(suffix.count))
            if stem.count >= 3 { return suffix == "ies" ? stem + "y" : stem }
        }
        return word
    }
}
