import Foundation

/// The version 1 vector format: one raw little-endian float32 blob per vector (4 bytes per
/// component, no header). Kept to migrate such stores into packs (`v2-vector-packs`), whose
/// blobs use the same encoding, many rows back to back.
enum VectorBlob {
    static func encode(_ vector: [Float]) -> Data {
        vector.withUnsafeBufferPointer { Data(buffer: $0) }
    }

    static func decode(_ data: Data) -> [Float] {
        var out = [Float](repeating: 0, count: data.count / MemoryLayout<Float>.size)
        _ = out.withUnsafeMutableBytes { data.copyBytes(to: $0) }
        return out
    }
}
