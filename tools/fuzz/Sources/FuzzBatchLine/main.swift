import Cascade
import Foundation

// One batch line: a Question or one LedgerError naming the line; ids and text as given.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let data = Data(bytes: start, count: count)
    for (number, line) in BatchLine.lines(of: data) {
        if let question = try? BatchLine.parse(line, number: number, tenant: "fuzz") {
            precondition(question.tenant == "fuzz")
        }
    }
    return 0
}
