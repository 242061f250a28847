import Embeddings
import Foundation
import GRDB
import Testing

@testable import KnowledgeBase

@Suite("Incremental ingest")
struct IngestorTests {
    func makeIngestor(_ dir: TemporaryDirectory) throws -> Ingestor {
        let store = try KnowledgeBaseStore(path: dir.path("kb.sqlite"))
        return Ingestor(store: store, embedder: HashingEmbedder())
    }

    @Test("a folder is ingested into documents, chunks, vectors and keyword rows")
    func ingestsFolder() async throws {
        let dir = try TemporaryDirectory()
        let docs = try Fixtures.copySampleDocs(into: dir)
        let ingestor = try makeIngestor(dir)
        let report = try await ingestor.ingest(docs)
        #expect(report.documentsAdded == 3)
        #expect(report.documentsFailed == 0)
        #expect(report.chunksEmbedded > 0)
        #expect(report.collection == "docs")
        let stats = try ingestor.store.stats()
        #expect(stats.documents == 3)
        #expect(stats.chunks == report.chunksWritten)
        #expect(stats.vectors == report.chunksEmbedded)
        #expect(stats.embeddingModel == "hashing-v1-384")
        #expect(try assertConsistent(ingestor.store).isEmpty)
    }

    @Test(
        "a short section repeated word for word under one heading by many pages is kept twice, not on every page (issue 31 defect c)"
    )
    func repeatedFootersAreKeptTwice() async throws {
        let dir = try TemporaryDirectory()
        for name in ["stash", "push", "branch", "tag", "merge"] {
            _ = try dir.write(
                "man/git-\(name).md",
                """
                # git-\(name)

                ## Description

                The git \(name) command does its own particular thing to a repository, described here at length.

                ## Is it safe?

                Yes.

                ## Git

                Part of the git(1) suite
                """)
        }
        // The same short text under another heading is no repetition.
        _ = try dir.write("man/faq.md", "# FAQ\n\n## Can I undo a push?\n\nYes.\n\n## Can I undo a tag?\n\nYes.")
        let ingestor = try makeIngestor(dir)
        _ = try await ingestor.ingest(dir.path("man"))
        func count(_ text: String, heading: String) throws -> Int {
            try ingestor.store.writer.read { db in
                try Int.fetchOne(
                    db, sql: "SELECT count(*) FROM chunk WHERE text = ? AND heading LIKE ?",
                    arguments: [text, "%" + heading]) ?? 0
            }
        }
        #expect(try count("Part of the git(1) suite", heading: "Git") == 2)
        #expect(try count("Yes.", heading: "Is it safe?") == 2)
        #expect(try count("Yes.", heading: "Can I undo a push?") == 1)
        #expect(try count("Yes.", heading: "Can I undo a tag?") == 1)
        // A changed page that held a kept copy keeps it; the store stays consistent.
        _ = try dir.write(
            "man/git-stash.md",
            "# git-stash\n\n## Description\n\nChanged text about stashing changes away.\n\n## Git\n\nPart of the git(1) suite"
        )
        _ = try await ingestor.ingest(dir.path("man"))
        #expect(try count("Part of the git(1) suite", heading: "Git") == 2)
        #expect(try assertConsistent(ingestor.store).isEmpty)
    }

    @Test("re-ingesting an unchanged folder embeds nothing; a changed file is replaced")
    func incremental() async throws {
        let dir = try TemporaryDirectory()
        let docs = try Fixtures.copySampleDocs(into: dir)
        let ingestor = try makeIngestor(dir)
        _ = try await ingestor.ingest(docs)

        let again = try await ingestor.ingest(docs)
        #expect(again.documentsUnchanged == 3)
        #expect(again.documentsAdded == 0 && again.documentsUpdated == 0)
        #expect(again.chunksEmbedded == 0)

        try dir.write(
            "docs/notes.txt",
            "Release notes\n\nVersion 4 brings dark mode.\n\nVersion 3 removes the legacy sync protocol.")
        let changed = try await ingestor.ingest(docs)
        #expect(changed.documentsUpdated == 1)
        #expect(changed.documentsUnchanged == 2)
        // Only the new paragraph's chunk text is new; the other texts' vectors are reused.
        #expect(changed.chunksEmbedded >= 1)
        let hits = try ingestor.store.keywordSearch("dark mode", limit: 5)
        #expect(!hits.isEmpty)
        #expect(try ingestor.store.keywordSearch("offline", limit: 5).isEmpty, "old text must be gone")
        #expect(try assertConsistent(ingestor.store).isEmpty)
    }

    @Test("--prune removes documents whose files are gone, and only with --prune")
    func prune() async throws {
        let dir = try TemporaryDirectory()
        let docs = try Fixtures.copySampleDocs(into: dir)
        let ingestor = try makeIngestor(dir)
        _ = try await ingestor.ingest(docs)
        try FileManager.default.removeItem(atPath: dir.path("docs/notes.txt"))
        let keep = try await ingestor.ingest(docs)
        #expect(keep.documentsRemoved == 0)
        #expect(try ingestor.store.stats().documents == 3)
        let pruned = try await ingestor.ingest(docs, prune: true)
        #expect(pruned.documentsRemoved == 1)
        #expect(try ingestor.store.stats().documents == 2)
        #expect(try assertConsistent(ingestor.store).isEmpty)
    }

    @Test("broken files are named with a reason while the good ones are ingested")
    func brokenFiles() async throws {
        let dir = try TemporaryDirectory()
        let docs = try Fixtures.copySampleDocs(into: dir)
        try dir.write("docs/empty.md", "")
        try dir.write("docs/binary.txt", Data([0x00, 0x01, 0x02, 0xFF]))
        try dir.write("docs/latin1.txt", Data([0x63, 0x61, 0x66, 0xE9]))  // "café" in Latin-1
        try dir.write("docs/huge.txt", String(repeating: "x", count: 3_000))
        try dir.write("docs/image.png", Data([0x89, 0x50, 0x4E, 0x47]))
        try dir.write("docs/bad.jsonl", "{\"_id\": \"1\", \"text\": \"fine\"}\n{oops\n")
        try dir.write("docs/.hidden.md", "# Hidden\n\nnot ingested")
        let store = try KnowledgeBaseStore(path: dir.path("kb.sqlite"))
        let ingestor = Ingestor(store: store, embedder: HashingEmbedder(), maxFileSize: 2_000)
        let report = try await ingestor.ingest(docs)
        #expect(report.documentsAdded == 3)
        #expect(report.documentsFailed == 5)
        let failed = Dictionary(uniqueKeysWithValues: report.failures.map { ($0.source, $0.error) })
        #expect(failed["docs/empty.md"]?.contains("empty") == true)
        #expect(failed["docs/binary.txt"]?.contains("binary") == true)
        #expect(failed["docs/latin1.txt"]?.contains("UTF-8") == true)
        #expect(failed["docs/huge.txt"]?.contains("limit") == true)
        #expect(failed["docs/bad.jsonl"]?.contains("line 2") == true)
        #expect(report.skipped.map(\.source) == ["docs/image.png"])
        #expect(try assertConsistent(store).isEmpty)
    }

    @Test("an unreadable file is reported and the rest goes on", .enabled(if: getuid() != 0, "root reads any file"))
    func unreadable() async throws {
        let dir = try TemporaryDirectory()
        let docs = try Fixtures.copySampleDocs(into: dir)
        try FileManager.default.setAttributes([.posixPermissions: 0o000], ofItemAtPath: dir.path("docs/notes.txt"))
        let report = try await makeIngestor(dir).ingest(docs)
        #expect(report.documentsFailed == 1)
        #expect(report.documentsAdded == 2)
    }

    @Test("files listed in .cascadeignore are not ingested")
    func ignoreFile() async throws {
        let dir = try TemporaryDirectory()
        let docs = try Fixtures.copySampleDocs(into: dir)
        try dir.write("docs/.cascadeignore", "# provenance, not content\nnotes.txt\ndrafts/\n")
        try dir.write("docs/drafts/wip.md", "# WIP\n\nunfinished")
        let report = try await makeIngestor(dir).ingest(docs)
        #expect(report.documentsAdded == 2)
    }

    @Test("a BEIR corpus keeps its _id as the document id, and editing one line re-embeds one document")
    func beirIncremental() async throws {
        let dir = try TemporaryDirectory()
        let lines = (1...20).map {
            #"{"_id": "doc\#($0)", "title": "Title \#($0)", "text": "Passage number \#($0) about topic \#($0)."}"#
        }
        try dir.write("beir/corpus.jsonl", lines.joined(separator: "\n"))
        let ingestor = try makeIngestor(dir)
        let first = try await ingestor.ingest(dir.path("beir/corpus.jsonl"))
        #expect(first.documentsAdded == 20)
        var edited = lines
        edited[4] = #"{"_id": "doc5", "title": "Title 5", "text": "A rewritten passage."}"#
        try dir.write("beir/corpus.jsonl", edited.joined(separator: "\n"))
        let second = try await ingestor.ingest(dir.path("beir/corpus.jsonl"))
        #expect(second.documentsUpdated == 1)
        #expect(second.documentsUnchanged == 19)
        #expect(second.chunksEmbedded == 1)
        let hit = try #require(try ingestor.store.keywordSearch("rewritten", limit: 1).first)
        #expect(try ingestor.store.chunks(ids: [hit.chunkID]).first?.docID == "doc5")
    }

    @Test("a store built with one model refuses to ingest with another")
    func modelMismatch() async throws {
        let dir = try TemporaryDirectory()
        let docs = try Fixtures.copySampleDocs(into: dir)
        let store = try KnowledgeBaseStore(path: dir.path("kb.sqlite"))
        _ = try await Ingestor(store: store, embedder: HashingEmbedder()).ingest(docs)
        await #expect(throws: StoreError.modelMismatch(stored: "hashing-v1-384", requested: "hashing-v1-128")) {
            try await Ingestor(store: store, embedder: HashingEmbedder(dimension: 128)).ingest(docs)
        }
        #expect(StoreError.modelMismatch(stored: "a", requested: "b").description.contains("reindex"))
    }

    @Test("a missing path is a clear error")
    func missingPath() async throws {
        let dir = try TemporaryDirectory()
        await #expect(throws: IngestError.pathNotFound(dir.path("nope"))) {
            try await makeIngestor(dir).ingest(dir.path("nope"))
        }
    }

    @Test("a file that is not a knowledge base is refused without being modified")
    func notAKnowledgeBase() throws {
        let dir = try TemporaryDirectory()
        let file = try dir.write("notes.sqlite", "this is just text, not SQLite")
        #expect(throws: StoreError.self) { try KnowledgeBaseStore(path: file.path) }
        #expect(try String(contentsOf: file, encoding: .utf8) == "this is just text, not SQLite")
    }
}
