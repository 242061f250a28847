import Foundation

/// What a ZIP archive says it holds, read from its central directory without extracting
/// anything: enough to refuse a decompression bomb before a tool inflates it (a 1.2 MB `.docx`
/// holding 363 MB of XML once drove pandoc to 6.2 GB of memory).
///
/// Linear in the directory's size and bounded: at most ``maxEntries`` entries are read. The
/// sizes are the archive's own claims; the extraction tool's memory limit (``ExtractionTool``)
/// catches an archive that lies about them.
public struct ZIPDirectory: Equatable, Sendable {
    public var entries: Int
    /// The sum of the entries' uncompressed sizes, in bytes.
    public var uncompressedBytes: Int

    public static let maxEntries = 100_000

    public enum Problem: Error, Equatable {
        case notAnArchive(String)
        case tooLarge
    }

    /// Reads the central directory of `data`.
    /// Public for the fuzz target (tools/fuzz): any bytes give a directory or a ``Problem``.
    public static func read(_ data: Data) throws(Problem) -> ZIPDirectory {
        let bytes = [UInt8](data)
        func u16(_ at: Int) -> Int { Int(bytes[at]) | Int(bytes[at + 1]) << 8 }
        func u32(_ at: Int) -> Int { u16(at) | u16(at + 2) << 16 }
        // The end-of-central-directory record: 22 bytes plus a comment of at most 65,535.
        guard bytes.count >= 22 else { throw .notAnArchive("too short for a ZIP archive") }
        var end = -1
        var at = bytes.count - 22
        let lowest = max(0, bytes.count - 22 - 65_535)
        while at >= lowest {
            if bytes[at] == 0x50, bytes[at + 1] == 0x4B, bytes[at + 2] == 0x05, bytes[at + 3] == 0x06 {
                end = at
                break
            }
            at -= 1
        }
        guard end >= 0 else { throw .notAnArchive("no central directory (truncated or not a ZIP archive)") }
        let count = u16(end + 10)
        let size = u32(end + 12)
        let offset = u32(end + 16)
        // ZIP64 markers: an honest Word document never needs them.
        guard count != 0xFFFF, size != 0xFFFF_FFFF, offset != 0xFFFF_FFFF else { throw .tooLarge }
        guard count <= maxEntries else { throw .tooLarge }
        guard offset + size <= end else { throw .notAnArchive("its central directory points outside the file") }
        var position = offset
        var total = 0
        for _ in 0..<count {
            guard position + 46 <= end, u32(position) == 0x0201_4B50 else {
                throw .notAnArchive("damaged central directory")
            }
            let uncompressed = u32(position + 24)
            guard uncompressed != 0xFFFF_FFFF else { throw .tooLarge }
            total += uncompressed
            position += 46 + u16(position + 28) + u16(position + 30) + u16(position + 32)
        }
        return ZIPDirectory(entries: count, uncompressedBytes: total)
    }
}
