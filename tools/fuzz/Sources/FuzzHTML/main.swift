import Foundation
import KnowledgeBase

// Any bytes: parsed documents or one IngestError, never a crash; no NUL reaches the text.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let data = Data(bytes: start, count: count)
    let context = LoadContext(fileURL: URL(fileURLWithPath: "/fuzz/page.html"), relativePath: "page.html")
    if let documents = try? HTMLLoader().load(data, context: context) {
        for document in documents {
            precondition(!document.text.unicodeScalars.contains("\u{0}"), "NUL in parsed text")
        }
    }
    return 0
}
