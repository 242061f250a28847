import Embeddings
import Foundation
import GRDB
import KnowledgeBase
@_exported import TestSupport

enum Fixtures {
    static var sampleDocs: URL {
        Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent("sample-docs")
    }

    /// Copies the sample documents into `directory/name` and returns that folder's path.
    static func copySampleDocs(into directory: TemporaryDirectory, name: String = "docs") throws -> String {
        let target = directory.url.appendingPathComponent(name)
        try FileManager.default.copyItem(at: sampleDocs, to: target)
        return target.path
    }
}

func parse(_ loader: some DocumentLoader, _ text: String, name: String) throws -> ParsedDocument {
    let context = LoadContext(fileURL: URL(fileURLWithPath: "/tmp/\(name)"), relativePath: name)
    let docs = try loader.load(Data(text.utf8), context: context)
    guard let first = docs.first else { throw IngestError.noContent(source: name) }
    return first
}

/// Integrity checks a consistent knowledge base must pass (empty when it does).
func assertConsistent(_ store: KnowledgeBaseStore) throws -> [String] {
    try knowledgeBaseConsistencyProblems(store.writer)
}
