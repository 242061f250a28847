import VectorSearch

/// The in-memory vector index of one knowledge base: every stored vector of its model, as an
/// exact float32 matrix or as int8 codes (see ``VectorEncoding``).
///
/// Rows are identified by ``VectorRef`` (packed), not chunk ids: chunks with the same text share
/// one vector. ``KnowledgeBaseStore/vectorSearch(_:query:k:filter:)`` maps rows back to chunks.
/// Immutable and `Sendable`: any number of tasks may search one index concurrently.
public struct ChunkVectorIndex: Sendable {
    public let model: String
    public let dimension: Int
    public let encoding: VectorEncoding
    let exact: FlatIndex?
    let quantized: QuantizedIndex?
    let filters = VectorFilterCache()

    /// Number of vectors (distinct chunk texts).
    public var count: Int { exact?.count ?? quantized?.count ?? 0 }

    /// Row identifiers (packed ``VectorRef``s), ascending.
    public var identifiers: [Int64] { exact?.identifiers ?? quantized?.identifiers ?? [] }

    /// Bytes the index holds in memory: vectors (or codes, scales and sums) plus row identifiers.
    public var memoryBytes: Int {
        if let exact { return exact.matrix.storage.count * 4 + exact.identifiers.count * 8 }
        if let quantized { return quantized.matrix.memoryBytes + quantized.identifiers.count * 8 }
        return 0
    }

    /// Float32 bytes of the vectors themselves (what `memoryBytes` is compared with).
    public var rawVectorBytes: Int { count * dimension * 4 }

    init(model: String, dimension: Int, exact: FlatIndex) {
        self.model = model
        self.dimension = dimension
        self.encoding = .f32
        self.exact = exact
        self.quantized = nil
    }

    init(model: String, dimension: Int, quantized: QuantizedIndex) {
        self.model = model
        self.dimension = dimension
        self.encoding = .int8
        self.exact = nil
        self.quantized = quantized
    }

    /// The in-memory stage alone, for measurements: the exact top `k` rows (f32), or the int8
    /// candidate rows before their float32 re-rank.
    public func searchRows(_ query: [Float], k: Int) throws -> [ScoredRow] {
        if let exact { return try exact.search(query, k: k) }
        if let quantized { return try quantized.candidates(for: query, count: Self.candidateCount(k: k)) }
        return []
    }

    /// How many int8 candidates are re-ranked in float32 for a top-`k` search.
    public static func candidateCount(k: Int) -> Int { max(k * 8, 64) }
}
