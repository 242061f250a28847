import Embeddings
import Foundation
import GRDB
import KnowledgeBase

/// A temporary folder removed when the test ends.
final class TemporaryDirectory: @unchecked Sendable {
    // Immutable after init; safe to share.
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("cascade-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: url) }

    func path(_ relative: String) -> String { url.appendingPathComponent(relative).path }

    @discardableResult
    func write(_ relative: String, _ text: String) throws -> URL {
        try write(relative, Data(text.utf8))
    }

    @discardableResult
    func write(_ relative: String, _ data: Data) throws -> URL {
        let file = url.appendingPathComponent(relative)
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        try data.write(to: file)
        return file
    }
}

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

/// Runs integrity checks a consistent knowledge base must pass.
func assertConsistent(_ store: KnowledgeBaseStore) throws -> [String] {
    try store.writer.read { db in
        var problems: [String] = []
        let integrity = try String.fetchAll(db, sql: "PRAGMA integrity_check")
        if integrity != ["ok"] { problems.append("integrity_check: \(integrity)") }
        let mismatched =
            try Int.fetchOne(
                db,
                sql: """
                    SELECT COUNT(*) FROM document d
                    WHERE d.chunk_count != (SELECT COUNT(*) FROM chunk c WHERE c.document_id = d.id)
                    """) ?? -1
        if mismatched != 0 { problems.append("\(mismatched) documents with a wrong chunk count") }
        let chunks = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM chunk") ?? -1
        let fts = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM chunk_fts") ?? -2
        if chunks != fts { problems.append("\(chunks) chunks but \(fts) keyword rows") }
        let missing =
            try Int.fetchOne(
                db,
                sql: """
                    SELECT COUNT(*) FROM chunk c JOIN kb_meta m ON m.key = 'embedding_model'
                    WHERE NOT EXISTS (SELECT 1 FROM embedding e WHERE e.model = m.value AND e.text_hash = c.text_hash)
                    """) ?? -1
        if missing != 0 { problems.append("\(missing) chunks without a vector") }
        return problems
    }
}
