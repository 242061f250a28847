import Embeddings
import Foundation
import Testing

@testable import KnowledgeBase

/// Help-centre exports become one document per published article, cited by its public URL;
/// drafts never become answers; a malformed export names the line to fix.
@Suite struct HelpCenterExportTests {
    static let folder = Bundle.module.resourceURL!.appendingPathComponent("Fixtures/helpcenter")

    func load(_ file: String) throws -> [ParsedDocument] {
        let url = Self.folder.appendingPathComponent(file)
        return try HelpCenterExportLoader().load(
            try Data(contentsOf: url), context: LoadContext(fileURL: url, relativePath: file))
    }

    func load(text: String) throws(IngestError) -> [ParsedDocument] {
        try HelpCenterExportLoader().load(
            Data(text.utf8), context: LoadContext(fileURL: URL(fileURLWithPath: "/tmp/x.json"), relativePath: "x.json"))
    }

    @Test func zendeskArticlesAreCitedByTheirURLAndDraftsSkipped() throws {
        let documents = try load("zendesk-articles.json")
        #expect(documents.map(\.docID) == ["360001234567", "360009876543"], "the draft is not loaded")
        let reset = documents[0]
        #expect(reset.source == "https://help.acme.example/hc/en-us/articles/360001234567-How-do-I-reset-my-password")
        #expect(reset.title == "How do I reset my password?")
        #expect(reset.text.contains("valid for 30 minutes"))
        #expect(reset.blocks.contains { $0.text == "Reset link" && $0.anchor == "h_01" })
        #expect(reset.metadata["updated_at"] == "2026-10-02T14:05:10Z")
        #expect(reset.metadata["section_id"] == "360000111222")
        let refunds = documents[1]
        #expect(refunds.text.contains("Monthly | 14 days") && refunds.text.contains("Annual | 30 days"))
        #expect(!refunds.text.contains("track("), "scripts in a body are not text")
        #expect(!documents.contains { $0.text.contains("teleportation") })
    }

    @Test func intercomArticlesKeepTheirDescriptionAndSkipDrafts() throws {
        let documents = try load("intercom-articles.json")
        #expect(documents.map(\.docID) == ["6871119", "6871121"])
        #expect(documents[0].source == "https://intercom.help/acme/en/articles/6871119-exporting-your-invoices")
        #expect(documents[0].text.hasPrefix("Download every invoice as PDF or CSV"))
        #expect(documents[0].blocks.contains { $0.text == "CSV columns" && $0.anchor == "csv" })
        #expect(documents[0].metadata["updated_at"] == "2024-10-27T03:33:20Z")
        #expect(documents[0].metadata["export"] == "intercom")
        // Block offsets point into the document text.
        for block in documents[0].blocks {
            let scalars = Array(documents[0].text.unicodeScalars)
            let slice = String(
                String.UnicodeScalarView(
                    scalars[block.startOffset..<(block.startOffset + block.text.unicodeScalars.count)]))
            #expect(slice == block.text)
        }
    }

    @Test func aMalformedExportNamesItsLine() {
        func message(_ text: String) -> String {
            do {
                _ = try load(text: text)
                return "loaded"
            } catch {
                return error.description
            }
        }
        #expect(
            message("{\n  \"articles\": [\n    {\"id\": 1,\n     \"title\": \"x\" \"body\": 2}\n  ]\n}").contains(
                "line 4"))
        #expect(message("[1, 2, 3]").contains("not a help-centre export"))
        #expect(message("{\"results\": []}").contains("Zendesk"))
        let missingTitle = """
            {"articles": [
              {"id": 1, "title": "A", "html_url": "https://h.example/a", "body": "<p>a</p>"},
              {"id": 2, "html_url": "https://h.example/b", "body": "<p>b</p>"}
            ]}
            """
        #expect(
            message(missingTitle).contains("line 3") && message(missingTitle).contains("article 2: missing \"title\""))
        let badURL =
            "{\"articles\": [{\"id\": 1, \"title\": \"A\", \"html_url\": \"javascript:alert(1)\", \"body\": \"<p>a</p>\"}]}"
        #expect(message(badURL).contains("html_url"))
        let duplicate =
            "{\"articles\": [{\"id\": 1, \"title\": \"A\", \"html_url\": \"https://h/a\", \"body\": \"a\"}, {\"id\": 1, \"title\": \"B\", \"html_url\": \"https://h/b\", \"body\": \"b\"}]}"
        #expect(message(duplicate).contains("duplicate"))
        let nul =
            "{\"articles\": [{\"id\": 1, \"title\": \"A\\u0000\", \"html_url\": \"https://h/a\", \"body\": \"a\"}]}"
        #expect(message(nul).contains("NUL"))
    }

    @Test func hostileExportsAreOneClearError() {
        // Nested 100,000 deep: refused by the parser, not a stack overflow.
        let deep =
            "{\"articles\": " + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000) + "}"
        #expect(throws: IngestError.self) { try load(text: deep) }
        let url = URL(fileURLWithPath: "/tmp/x.json")
        #expect(throws: IngestError.self) {
            try HelpCenterExportLoader().load(
                Data([0x7B, 0x22, 0xFF, 0xFE, 0x22, 0x7D]), context: LoadContext(fileURL: url, relativePath: "x.json"))
        }
        #expect(throws: IngestError.self) {
            try HelpCenterExportLoader().load(
                Data("{\"articles\": []}\u{0}".utf8), context: LoadContext(fileURL: url, relativePath: "x.json"))
        }
    }

    @Test func aNewerExportRedoesOnlyTheArticlesThatChanged() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hc-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let export = directory.appendingPathComponent("help/articles.json")
        try FileManager.default.createDirectory(
            at: export.deletingLastPathComponent(), withIntermediateDirectories: true)
        let original = try String(
            contentsOf: Self.folder.appendingPathComponent("zendesk-articles.json"), encoding: .utf8)
        try original.write(to: export, atomically: true, encoding: .utf8)
        let store = try KnowledgeBaseStore(path: directory.appendingPathComponent("kb.sqlite").path)
        let ingestor = Ingestor(store: store, embedder: HashingEmbedder())
        let first = try await ingestor.ingest(directory.appendingPathComponent("help").path)
        #expect(first.documentsAdded == 2)
        let edited = original.replacingOccurrences(of: "within <b>14 days</b>", with: "within <b>21 days</b>")
            .replacingOccurrences(of: "2026-09-20T08:00:00Z", with: "2026-11-20T08:00:00Z")
        try edited.write(to: export, atomically: true, encoding: .utf8)
        let second = try await ingestor.ingest(directory.appendingPathComponent("help").path)
        #expect(second.documentsUpdated == 1 && second.documentsUnchanged == 1)
        // An article deleted from the help centre leaves the knowledge base with --prune.
        let start = edited.range(of: "    {\n      \"id\": 360009876543")!.lowerBound
        let end = edited.range(of: "    {\n      \"id\": 360005555555")!.lowerBound
        try edited.replacingCharacters(in: start..<end, with: "").write(to: export, atomically: true, encoding: .utf8)
        let third = try await ingestor.ingest(directory.appendingPathComponent("help").path, prune: true)
        #expect(third.documentsRemoved == 1 && third.documentsUnchanged == 1)
    }
}
