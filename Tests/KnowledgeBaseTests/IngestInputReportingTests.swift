import Embeddings
import Foundation
import GRDB
import Testing

@testable import KnowledgeBase

/// Every input ingest passes over or cannot store exactly is reported: nothing is silently
/// truncated or skipped.
@Suite("Ingest reports what it skips or cannot store exactly")
struct IngestInputReportingTests {
    func makeIngestor(_ dir: TemporaryDirectory) throws -> Ingestor {
        Ingestor(store: try KnowledgeBaseStore(path: dir.path("kb.sqlite")), embedder: HashingEmbedder())
    }

    @Test("a file of a type no loader reads is skipped with the list of what is read, which includes every loader's")
    func unsupportedTypeListsTheLoaders() {
        let message = IngestError.unsupportedType(source: "docs/logo.svg", fileExtension: "svg").description
        for loader in Ingestor.defaultLoaders {
            for ext in loader.fileExtensions { #expect(message.contains(ext), "\(ext) missing from: \(message)") }
        }
        #expect(message.hasPrefix("unsupported file type '.svg'"))
    }

    @Test("a NUL byte after the first 8 KB fails the file (SQLite would cut the text there)")
    func lateNul() async throws {
        let dir = try TemporaryDirectory()
        var bytes = Array(String(repeating: "Plain words about backups. ", count: 400).utf8)
        #expect(bytes.count > 8192)
        bytes.append(0)
        bytes += Array(" and the rest of the page".utf8)
        try dir.write("docs/late.txt", Data(bytes))
        try dir.write("docs/fine.txt", "Fine\n\nA normal page.")
        let report = try await makeIngestor(dir).ingest(dir.path("docs"))
        #expect(report.documentsAdded == 1)
        #expect(report.failures.map(\.source) == ["docs/late.txt"])
        #expect(report.failures.first?.error.contains("NUL") == true)
    }

    @Test("a \\u0000 escape in corpus.jsonl fails the file with its line number")
    func jsonlNul() async throws {
        let dir = try TemporaryDirectory()
        try dir.write(
            "corpus/corpus.jsonl",
            #"""
            {"_id": "d1", "title": "One", "text": "first document"}
            {"_id": "d2", "title": "Two", "text": "cut here\u0000 and the rest"}
            """#)
        let report = try await makeIngestor(dir).ingest(dir.path("corpus"))
        #expect(report.documentsAdded == 0)
        #expect(report.failures.first?.error.contains("line 2") == true)
        #expect(report.failures.first?.error.contains("NUL") == true)
    }

    @Test("&#0; in HTML becomes U+FFFD, and the text after it is kept")
    func htmlNulReference() async throws {
        let dir = try TemporaryDirectory()
        try dir.write("docs/page.html", "<html><body><h1>Title</h1><p>before&#0;after the reference</p></body></html>")
        let ingestor = try makeIngestor(dir)
        let report = try await ingestor.ingest(dir.path("docs"))
        #expect(report.documentsAdded == 1)
        let text = try await ingestor.store.writer.read { db in
            try String.fetchAll(db, sql: "SELECT text FROM chunk").joined()
        }
        #expect(text.contains("before\u{FFFD}after the reference"))
    }

    @Test("symbolic links and FIFOs are reported as skipped and never opened")
    func linksAndFifos() async throws {
        let dir = try TemporaryDirectory()
        try dir.write("docs/real.md", "# Real\n\nA page.")
        try dir.write("outside/secret.md", "# Secret\n\nNot in the folder.")
        try FileManager.default.createSymbolicLink(
            atPath: dir.path("docs/link.md"), withDestinationPath: dir.path("outside/secret.md"))
        try FileManager.default.createSymbolicLink(atPath: dir.path("docs/loop"), withDestinationPath: dir.path("docs"))
        #expect(mkfifo(dir.path("docs/pipe.md"), 0o644) == 0)
        let report = try await makeIngestor(dir).ingest(dir.path("docs"))
        #expect(report.documentsAdded == 1)
        let skipped = Dictionary(uniqueKeysWithValues: report.skipped.map { ($0.source, $0.error) })
        #expect(skipped["docs/link.md"]?.contains("symbolic link") == true)
        #expect(skipped["docs/loop"]?.contains("symbolic link") == true)
        #expect(skipped["docs/pipe.md"]?.contains("not a regular file") == true)
        // Named explicitly, a FIFO is refused instead of blocking the run.
        let single = try await makeIngestor(dir).ingest(dir.path("docs/pipe.md"))
        #expect(single.failures.first?.error.contains("not a regular file") == true)
    }

    @Test(
        "an unreadable subfolder is reported, and --prune keeps the documents it holds",
        .enabled(if: geteuid() != 0, "root reads every folder; the walker's report is covered by the link/FIFO test"))
    func unreadableFolder() async throws {
        let dir = try TemporaryDirectory()
        try dir.write("docs/top.md", "# Top\n\nA page.")
        try dir.write("docs/private/inner.md", "# Inner\n\nAnother page.")
        let ingestor = try makeIngestor(dir)
        #expect(try await ingestor.ingest(dir.path("docs")).documentsAdded == 2)
        #expect(chmod(dir.path("docs/private"), 0) == 0)
        defer { chmod(dir.path("docs/private"), 0o755) }
        let report = try await ingestor.ingest(dir.path("docs"), prune: true)
        #expect(report.skipped.contains { $0.source == "docs/private" && $0.error.contains("cannot be read") })
        #expect(report.documentsRemoved == 0)
        #expect(try ingestor.store.stats().documents == 2)
    }
}
