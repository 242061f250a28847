import Foundation
import KnowledgeBase

// Any bytes: a directory whose counts are within bounds, or one Problem; never a crash or a read
// outside the input (ASan), and linear time (-timeout).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let data = Data(bytes: start, count: count)
    if let directory = try? ZIPDirectory.read(data) {
        precondition(directory.entries >= 0 && directory.entries <= ZIPDirectory.maxEntries, "entry count out of bounds")
        precondition(directory.uncompressedBytes >= 0, "negative size")
    }
    return 0
}
