import Cascade
import Foundation

// The input is a rules file, then a line "---QUESTION---", then a question: the rules parse or
// fail with one RuleError, and matching the question runs in linear time (libFuzzer's -timeout
// catches a pattern that backtracks).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let text = String(decoding: UnsafeRawBufferPointer(start: start, count: count), as: UTF8.self)
    let parts = text.components(separatedBy: "\n---QUESTION---\n")
    if let rules = try? RuleSet.parse(parts[0], source: "fuzz.yaml") {
        _ = rules.match(parts.count > 1 ? parts[1] : "how do I enable wal")
    }
    return 0
}
