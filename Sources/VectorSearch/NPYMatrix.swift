import Foundation

/// A two-dimensional little-endian float32 array in NumPy's `.npy` format, memory-mapped.
///
/// `.npy` is what Python tools write with `numpy.save`, so precomputed embeddings can be imported
/// (and benchmarks can share one data file with their peers) without a conversion step. Only
/// C-ordered `<f4` arrays of shape (rows, dimension) are accepted; anything else is refused with
/// what was found.
public struct NPYMatrix: Sendable {
    public let rowCount: Int
    public let dimension: Int
    private let data: Data
    private let offset: Int

    public init(contentsOf url: URL) throws(VectorSearchError) {
        let data: Data
        do {
            data = try Data(contentsOf: url, options: .alwaysMapped)
        } catch {
            throw .invalidFile(path: url.path, reason: "cannot read it (\(error.localizedDescription))")
        }
        func fail(_ reason: String) -> VectorSearchError { .invalidFile(path: url.path, reason: reason) }
        guard data.count >= 10, data.prefix(6) == Data([0x93]) + Data("NUMPY".utf8) else {
            throw fail("not a .npy file (no \\x93NUMPY magic)")
        }
        let major = data[data.startIndex + 6]
        let headerLength: Int
        let headerStart: Int
        if major == 1 {
            headerLength = Int(data[data.startIndex + 8]) | Int(data[data.startIndex + 9]) << 8
            headerStart = 10
        } else if major == 2 || major == 3, data.count >= 12 {
            headerLength = (0..<4).reduce(0) { $0 | Int(data[data.startIndex + 8 + $1]) << (8 * $1) }
            headerStart = 12
        } else {
            throw fail("unsupported .npy version \(major)")
        }
        guard data.count >= headerStart + headerLength else { throw fail("truncated header") }
        let header = String(
            decoding: data[data.startIndex + headerStart..<data.startIndex + headerStart + headerLength], as: UTF8.self)
        guard header.contains("'descr': '<f4'") else {
            throw fail(
                "array must be little-endian float32 ('<f4'); header: \(header.trimmingCharacters(in: .whitespacesAndNewlines))"
            )
        }
        guard header.contains("'fortran_order': False") else { throw fail("array must be C-ordered") }
        guard let open = header.range(of: "'shape': ("), let close = header[open.upperBound...].firstIndex(of: ")")
        else { throw fail("no shape in header") }
        let dims = header[open.upperBound..<close].split(separator: ",").compactMap {
            Int($0.trimmingCharacters(in: .whitespaces))
        }
        guard dims.count == 2, dims[1] > 0 else {
            throw fail("array must be two-dimensional (rows, dimension); shape is (\(header[open.upperBound..<close])")
        }
        let offset = headerStart + headerLength
        guard data.count - offset == dims[0] * dims[1] * 4 else {
            throw fail("expected \(dims[0] * dims[1] * 4) data bytes for shape \(dims), found \(data.count - offset)")
        }
        self.rowCount = dims[0]
        self.dimension = dims[1]
        self.data = data
        self.offset = offset
    }

    /// Calls `body` with rows `range` packed back to back (a view of the mapped file, no copy).
    public func withRows<T>(_ range: Range<Int>, _ body: (UnsafeBufferPointer<Float>) throws -> T) rethrows -> T {
        try data.withUnsafeBytes { raw in
            let start = raw.baseAddress! + offset + range.lowerBound * dimension * 4
            if Int(bitPattern: start) % MemoryLayout<Float>.alignment == 0 {
                return try body(
                    UnsafeBufferPointer(
                        start: start.assumingMemoryBound(to: Float.self), count: range.count * dimension))
            }
            var copy = [Float](repeating: 0, count: range.count * dimension)
            copy.withUnsafeMutableBytes { $0.copyMemory(from: UnsafeRawBufferPointer(start: start, count: $0.count)) }
            return try copy.withUnsafeBufferPointer(body)
        }
    }

    /// A copy of one row.
    /// The first row whose values are all zero (it has no direction, so no cosine), or nil.
    public func firstZeroRow() -> Int? {
        for row in 0..<rowCount where withRows(row..<row + 1, { $0.allSatisfy { $0 == 0 } }) { return row }
        return nil
    }

    /// The first value that is NaN or infinite, as (row, column), or nil when all are finite.
    public func firstNonFinite() -> (row: Int, column: Int)? {
        for start in stride(from: 0, to: rowCount, by: 4096) {
            let end = min(start + 4096, rowCount)
            if let bad = withRows(start..<end, { rows in rows.firstIndex { !$0.isFinite } }) {
                return (start + bad / dimension, bad % dimension)
            }
        }
        return nil
    }

    public func row(_ index: Int) -> [Float] { withRows(index..<index + 1) { Array($0) } }

    /// Writes `matrix` as a `.npy` file (shape (rows, dimension), `<f4`).
    public static func write(_ matrix: VectorMatrix, to url: URL) throws {
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': (\(matrix.rowCount), \(matrix.dimension)), }"
        let unpadded = 10 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        var data = Data([0x93]) + Data("NUMPY".utf8) + Data([1, 0])
        data.append(UInt8(header.utf8.count & 0xFF))
        data.append(UInt8(header.utf8.count >> 8))
        data.append(Data(header.utf8))
        matrix.storage.withUnsafeBufferPointer { data.append($0) }
        try data.write(to: url)
    }
}
