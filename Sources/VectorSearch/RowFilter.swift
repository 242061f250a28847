/// Restricts a search to a subset of rows, applied *before* top-k selection.
///
/// Filtering first means a search asked for k results returns k whenever at least k rows match,
/// unlike post-filtering, which comes back short when the best hits are filtered out.
public struct RowFilter: Sendable {
    /// `allowed[i]` says whether row `i` may be returned.
    public let allowed: [Bool]
    /// Number of allowed rows.
    public let allowedCount: Int

    public init(allowed: [Bool]) {
        self.allowed = allowed
        self.allowedCount = allowed.reduce(0) { $0 + ($1 ? 1 : 0) }
    }

    /// A filter allowing the rows whose identifier satisfies `predicate`.
    public init(identifiers: [Int64], where predicate: (Int64) -> Bool) {
        self.init(allowed: identifiers.map(predicate))
    }
}
