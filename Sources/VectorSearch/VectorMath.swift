import CBLAS

/// Small vector helpers shared by embedders and search.
public enum VectorMath {
    /// Scales `vector` to unit Euclidean length in place; a zero vector is left unchanged.
    public static func normalize(_ vector: inout [Float]) {
        let norm = vector.withUnsafeBufferPointer { cblas_snrm2(Int32($0.count), $0.baseAddress, 1) }
        guard norm > 0, norm.isFinite else { return }
        vector.withUnsafeMutableBufferPointer { cblas_sscal(Int32($0.count), 1 / norm, $0.baseAddress, 1) }
    }

    /// Inner product of two equally long vectors.
    public static func dot(_ a: [Float], _ b: [Float]) -> Float {
        precondition(a.count == b.count, "dot product of vectors of different lengths")
        return a.withUnsafeBufferPointer { x in
            b.withUnsafeBufferPointer { y in cblas_sdot(Int32(x.count), x.baseAddress, 1, y.baseAddress, 1) }
        }
    }
}
