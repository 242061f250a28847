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
    /// The chunks of each row, read once at load so a search maps rows to chunks without SQL:
    /// `firstChunk[row]` (−1 when none), and the further chunks of rows shared by several.
    var firstChunk: [Int64] = []
    var moreChunks: [Int32: [Int64]] = [:]

    /// The row holding packed ``VectorRef`` `identifier` (identifiers are ascending: binary search).
    func row(of identifier: Int64) -> Int? {
        let ids = identifiers
        var lo = 0
        var hi = ids.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if ids[mid] < identifier { lo = mid + 1 } else { hi = mid }
        }
        return lo < ids.count && ids[lo] == identifier ? lo : nil
    }

    /// The chunk ids of row `row`, ascending.
    func chunks(ofRow row: Int) -> [Int64] {
        let first = firstChunk[row]
        guard first >= 0 else { return [] }
        guard let more = moreChunks[Int32(row)] else { return [first] }
        return [first] + more
    }

    /// Number of vectors (distinct chunk texts).
    public var count: Int { exact?.count ?? quantized?.count ?? 0 }

    /// Row identifiers (packed ``VectorRef``s), ascending.
    public var identifiers: [Int64] { exact?.identifiers ?? quantized?.identifiers ?? [] }

    /// Bytes the index holds in memory: vectors (or codes, scales and sums) plus row identifiers.
    public var memoryBytes: Int {
        let mapping = firstChunk.count * 8 + moreChunks.values.reduce(0) { $0 + 16 + $1.count * 8 }
        if let exact { return exact.matrix.storage.count * 4 + exact.identifiers.count * 8 + mapping }
        if let quantized { return quantized.matrix.memoryBytes + quantized.identifiers.count * 8 + mapping }
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
