import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A read-only, memory-mapped `.safetensors` file: an 8-byte little-endian header length, a JSON
/// header mapping tensor names to dtype, shape and byte offsets, then the raw tensor data.
///
/// Mapping instead of reading keeps load time to the header parse and lets the kernel share the
/// weights' pages between processes. The mapping is immutable for the object's lifetime, so
/// tensor views may be read from any thread (`@unchecked Sendable`).
public final class SafeTensorsFile: @unchecked Sendable {
    /// One tensor's metadata.
    public struct TensorInfo: Hashable, Sendable {
        public var dtype: String
        public var shape: [Int]
        public var byteRange: Range<Int>
    }

    public let path: String
    public let tensors: [String: TensorInfo]
    private let base: UnsafeMutableRawPointer
    private let length: Int
    private let dataStart: Int

    public init(path: String) throws(EmbeddingError) {
        self.path = path
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw .modelUnavailable(model: path, reason: "cannot open \(path)") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_size > 8 else {
            throw .invalidModelFile(path: path, reason: "file is empty or too small to be safetensors")
        }
        let length = Int(info.st_size)
        guard let mapped = mmap(nil, length, PROT_READ, MAP_PRIVATE, fd, 0), mapped != MAP_FAILED else {
            throw .invalidModelFile(path: path, reason: "cannot memory-map the file")
        }
        var headerLength: UInt64 = 0
        memcpy(&headerLength, mapped, 8)
        headerLength = UInt64(littleEndian: headerLength)
        guard headerLength > 0, headerLength < UInt64(length - 8), headerLength < 100_000_000 else {
            munmap(mapped, length)
            throw .invalidModelFile(path: path, reason: "header length \(headerLength) does not fit the file")
        }
        let headerData = Data(bytes: mapped + 8, count: Int(headerLength))
        let dataStart = 8 + Int(headerLength)
        do {
            self.tensors = try Self.parseHeader(headerData, dataLength: length - dataStart)
        } catch {
            munmap(mapped, length)
            throw .invalidModelFile(path: path, reason: error.reason)
        }
        self.base = mapped
        self.length = length
        self.dataStart = dataStart
    }

    deinit { munmap(base, length) }

    struct HeaderError: Error { var reason: String }

    static func parseHeader(_ data: Data, dataLength: Int) throws(HeaderError) -> [String: TensorInfo] {
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw HeaderError(reason: "header is not a JSON object")
        }
        var tensors: [String: TensorInfo] = [:]
        for (name, value) in object where name != "__metadata__" {
            guard let entry = value as? [String: Any], let dtype = entry["dtype"] as? String,
                let shape = entry["shape"] as? [Int], let offsets = entry["data_offsets"] as? [Int], offsets.count == 2
            else { throw HeaderError(reason: "tensor \(name) has no dtype, shape or data_offsets") }
            guard offsets[0] >= 0, offsets[0] <= offsets[1], offsets[1] <= dataLength else {
                throw HeaderError(reason: "tensor \(name) points outside the file (truncated download?)")
            }
            let elementSize =
                ["F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "F64": 8, "U8": 1, "I8": 1][dtype] ?? 0
            guard elementSize > 0, shape.reduce(1, *) * elementSize == offsets[1] - offsets[0] else {
                throw HeaderError(reason: "tensor \(name): \(dtype) \(shape) does not match its byte size")
            }
            tensors[name] = TensorInfo(dtype: dtype, shape: shape, byteRange: offsets[0]..<offsets[1])
        }
        return tensors
    }

    /// The float32 tensor `name`, checked against the expected shape.
    /// - Throws: ``EmbeddingError/invalidModelFile(path:reason:)`` when it is missing, not F32, or shaped differently.
    public func floats(_ name: String, shape expected: [Int]) throws(EmbeddingError) -> UnsafeBufferPointer<Float> {
        guard let info = tensors[name] else { throw .invalidModelFile(path: path, reason: "tensor \(name) is missing") }
        guard info.dtype == "F32" else {
            throw .invalidModelFile(path: path, reason: "tensor \(name) is \(info.dtype), expected F32")
        }
        guard info.shape == expected else {
            throw .invalidModelFile(path: path, reason: "tensor \(name) has shape \(info.shape), expected \(expected)")
        }
        let start = base + dataStart + info.byteRange.lowerBound
        guard Int(bitPattern: start) % MemoryLayout<Float>.alignment == 0 else {
            throw .invalidModelFile(path: path, reason: "tensor \(name) is not 4-byte aligned")
        }
        return UnsafeBufferPointer(start: start.assumingMemoryBound(to: Float.self), count: info.shape.reduce(1, *))
    }
}
