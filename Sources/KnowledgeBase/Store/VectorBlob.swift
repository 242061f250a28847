import Foundation

/// Vectors are stored as raw little-endian IEEE-754 float32 blobs: 4 bytes per component, no
/// header, so loading is a memcpy and any tool (numpy's `frombuffer`) can read them.
enum VectorBlob {
    static func encode(_ vector: [Float]) -> Data {
        vector.withUnsafeBufferPointer { Data(buffer: $0) }
    }

    static func decode(_ data: Data) -> [Float] {
        var out = [Float](repeating: 0, count: data.count / MemoryLayout<Float>.size)
        _ = out.withUnsafeMutableBytes { data.copyBytes(to: $0) }
        return out
    }

    static func withFloats<T>(_ data: Data, _ body: (UnsafeBufferPointer<Float>) throws -> T) rethrows -> T {
        try data.withUnsafeBytes { raw in
            if Int(bitPattern: raw.baseAddress) % MemoryLayout<Float>.alignment == 0 {
                return try body(raw.bindMemory(to: Float.self))
            }
            let copy = decode(data)
            return try copy.withUnsafeBufferPointer(body)
        }
    }
}
