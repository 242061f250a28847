/// How a knowledge base holds its vectors in memory for search.
///
/// Stored vectors are always float32 (exact); the encoding only decides what the in-memory index
/// scans. `int8` streams a quarter of the bytes and re-ranks a candidate set with the float32
/// vectors read back from the store, so results stay those of exact search in all but rare ties
/// (recall@10 is measured by `tools/bench/vector-search`).
public enum VectorEncoding: String, Sendable, CaseIterable, Codable {
    /// Exact float32 scan with BLAS.
    case f32
    /// int8 scan of every row, float32 re-rank of the best candidates.
    case int8

    /// Below this many vectors the float32 scan is already fast and exact; from here int8 wins on
    /// speed with the same recall (`tools/bench/vector-search`: 2.4× at 100k, 3.5× at 1M).
    public static let int8Threshold = 100_000

    /// The encoding used when a knowledge base does not name one.
    public static func automatic(rowCount: Int) -> VectorEncoding {
        rowCount >= int8Threshold ? .int8 : .f32
    }
}
