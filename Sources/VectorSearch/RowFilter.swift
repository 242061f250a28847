/// Restricts a search to a subset of rows, applied *before* top-k selection.
///
/// Filtering first means a search asked for k results returns k whenever at least k rows match,
/// unlike post-filtering, which comes back short when the best hits are filtered out.
public struct RowFilter: Sendable {
    /// `allowed[i]` says whether row `i` may be returned.
    public let allowed: [Bool]
    /// Number of allowed rows.
    public let allowedCount: Int

    /// Positions of the allowed rows, ascending (what a selective search reads).
    public let allowedRows: [Int32]

    public init(allowed: [Bool]) {
        self.allowed = allowed
        var rows: [Int32] = []
        for (i, ok) in allowed.enumerated() where ok { rows.append(Int32(i)) }
        self.allowedRows = rows
        self.allowedCount = rows.count
    }

    /// A filter allowing the rows whose identifier satisfies `predicate`.
    public init(identifiers: [Int64], where predicate: (Int64) -> Bool) {
        self.init(allowed: identifiers.map(predicate))
    }

    /// A filter allowing the rows whose identifier is in `allowed`, for an index whose
    /// `identifiers` are ascending; both are walked once together (no hashing).
    public static func sortedSubset(of identifiers: [Int64], allowed: [Int64]) -> RowFilter {
        var mask = [Bool](repeating: false, count: identifiers.count)
        var i = 0
        for id in allowed {
            while i < identifiers.count, identifiers[i] < id { i += 1 }
            if i < identifiers.count, identifiers[i] == id { mask[i] = true }
        }
        return RowFilter(allowed: mask)
    }
}
