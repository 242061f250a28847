/// Vectors scalar-quantized to signed bytes, one scale per row: 4× less memory than float32.
///
/// Row `i` is stored as `codes[i]` = round(v / scaleᵢ) with scaleᵢ = max|v| / 127, so every row
/// uses the full int8 range whatever its norm. An inner product is then an exact int32 dot
/// product of codes times the two scales, which is what makes int8 scoring cheap: a quarter of
/// the bytes to stream, and byte-wide multiply-adds (AVX-512 VNNI where the CPU has it).
public struct QuantizedMatrix: Sendable {
    public let dimension: Int
    /// Row-major int8 codes, `dimension` per row.
    public private(set) var codes: [Int8] = []
    /// Per-row scale: component ≈ code × scale.
    public private(set) var scales: [Float] = []
    /// Per-row sum of codes (used by the VNNI kernel).
    public private(set) var rowSums: [Int32] = []

    public var rowCount: Int { scales.count }

    /// Bytes held: codes plus the per-row scale and sum.
    public var memoryBytes: Int { codes.count + scales.count * 4 + rowSums.count * 4 }

    public init(dimension: Int) {
        precondition(dimension > 0, "a vector matrix needs a positive dimension")
        self.dimension = dimension
    }

    /// Quantizes every row of `matrix`.
    public init(quantizing matrix: VectorMatrix) {
        self.init(dimension: matrix.dimension)
        reserveCapacity(rows: matrix.rowCount)
        matrix.storage.withUnsafeBufferPointer { try? append(packed: $0) }
    }

    public mutating func reserveCapacity(rows: Int) {
        codes.reserveCapacity(rows * dimension)
        scales.reserveCapacity(rows)
        rowSums.reserveCapacity(rows)
    }

    /// Quantizes and appends rows packed back to back in `packed`.
    public mutating func append(packed: UnsafeBufferPointer<Float>) throws(VectorSearchError) {
        guard packed.count % dimension == 0 else {
            throw .dimensionMismatch(expected: dimension, actual: packed.count % dimension)
        }
        for start in stride(from: 0, to: packed.count, by: dimension) {
            let row = UnsafeBufferPointer(rebasing: packed[start..<start + dimension])
            let (scale, sum) = Self.quantize(row) { codes.append($0) }
            scales.append(scale)
            rowSums.append(sum)
        }
    }

    /// Quantizes one vector (a query) into `dimension` codes and its scale.
    public static func quantize(_ vector: [Float]) -> (codes: [Int8], scale: Float) {
        var codes: [Int8] = []
        codes.reserveCapacity(vector.count)
        let (scale, _) = vector.withUnsafeBufferPointer { quantize($0) { codes.append($0) } }
        return (codes, scale)
    }

    /// Rounds to nearest; a zero row gets scale 0 and zero codes.
    @inline(__always)
    static func quantize(_ row: UnsafeBufferPointer<Float>, emit: (Int8) -> Void) -> (scale: Float, sum: Int32) {
        var maxAbs: Float = 0
        for x in row { maxAbs = max(maxAbs, abs(x)) }
        guard maxAbs > 0, maxAbs.isFinite else {
            for _ in row { emit(0) }
            return (0, 0)
        }
        let inverse = 127 / maxAbs
        var sum: Int32 = 0
        for x in row {
            let code = Int8((x * inverse).rounded())
            sum += Int32(code)
            emit(code)
        }
        return (maxAbs / 127, sum)
    }
}
