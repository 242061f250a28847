/// A dense, row-major matrix of `Float32` vectors stored in one contiguous buffer.
///
/// One contiguous allocation is what lets BLAS stream the whole index through the cache in a single
/// `sgemv`/`sgemm` call; an array of arrays would scatter rows over the heap and defeat that.
/// The storage is a value (`[Float]`), so a matrix can be shared freely across tasks.
public struct VectorMatrix: Sendable, Equatable {
    /// Number of components in every row.
    public let dimension: Int
    /// Row-major storage: row `i` occupies `storage[i * dimension ..< (i + 1) * dimension]`.
    public private(set) var storage: [Float]

    /// Number of rows (vectors) in the matrix.
    public var rowCount: Int { dimension == 0 ? 0 : storage.count / dimension }

    /// Creates an empty matrix whose rows will have `dimension` components.
    public init(dimension: Int) {
        precondition(dimension > 0, "a vector matrix needs a positive dimension")
        self.dimension = dimension
        self.storage = []
    }

    /// Creates a matrix over existing row-major storage.
    /// - Throws: ``VectorSearchError`` when `storage.count` is not a multiple of `dimension`.
    public init(dimension: Int, storage: [Float]) throws(VectorSearchError) {
        guard dimension > 0 else { throw .invalidDimension(dimension) }
        guard storage.count % dimension == 0 else {
            throw .dimensionMismatch(expected: dimension, actual: storage.count % dimension)
        }
        self.dimension = dimension
        self.storage = storage
    }

    /// Creates a matrix from individual rows, all of which must have `dimension` components.
    public init(dimension: Int, rows: [[Float]]) throws(VectorSearchError) {
        guard dimension > 0 else { throw .invalidDimension(dimension) }
        var storage: [Float] = []
        storage.reserveCapacity(rows.count * dimension)
        for row in rows {
            guard row.count == dimension else { throw .dimensionMismatch(expected: dimension, actual: row.count) }
            storage.append(contentsOf: row)
        }
        self.dimension = dimension
        self.storage = storage
    }

    /// Reserves room for `rows` rows so appends do not reallocate.
    public mutating func reserveCapacity(rows: Int) {
        storage.reserveCapacity(rows * dimension)
    }

    /// Appends one row.
    public mutating func append(_ row: some Collection<Float>) throws(VectorSearchError) {
        guard row.count == dimension else { throw .dimensionMismatch(expected: dimension, actual: row.count) }
        storage.append(contentsOf: row)
    }

    /// Appends rows packed back to back in `packed`, as read from a storage blob.
    public mutating func append(packed: UnsafeBufferPointer<Float>) throws(VectorSearchError) {
        guard packed.count % dimension == 0 else {
            throw .dimensionMismatch(expected: dimension, actual: packed.count % dimension)
        }
        storage.append(contentsOf: packed)
    }

    /// A copy of row `index`.
    public func row(_ index: Int) -> [Float] {
        Array(storage[index * dimension..<(index + 1) * dimension])
    }
}
