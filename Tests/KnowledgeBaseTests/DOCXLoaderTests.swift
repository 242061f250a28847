import Foundation
import Testing

@testable import KnowledgeBase

/// Word documents read through pandoc keep their structure: headings become sections, tables
/// rows, lists items; anything that is not a Word document is one clear error.
@Suite struct DOCXLoaderTests {
    static let file = Bundle.module.resourceURL!.appendingPathComponent("Fixtures/docx/travel-policy.docx")

    func load(_ data: Data, name: String = "travel-policy.docx") throws(IngestError) -> [ParsedDocument] {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(UUID().uuidString)-\(name)")
        try? data.write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        return try DOCXLoader().load(data, context: LoadContext(fileURL: url, relativePath: name))
    }

    @Test func headingsTablesAndListsSurvive() throws {
        let document = try #require(try load(try Data(contentsOf: Self.file)).first)
        #expect(document.title == "Travel expense policy")
        #expect(document.metadata["format"] == "docx")
        let headings = document.blocks.filter { if case .heading = $0.kind { true } else { false } }
        #expect(headings.map(\.text) == ["Travel expense policy", "Hotels", "Per diem"])
        #expect(headings.map(\.anchor) == ["travel-expense-policy", "hotels", "per-diem"])
        #expect(document.blocks.contains { $0.text == "Berlin | 150 EUR" })
        #expect(document.blocks.contains { $0.text == "Lunch: 15 EUR" })
        #expect(!document.text.contains("|---"))
    }

    @Test func somethingElseIsRefusedWithTheReason() {
        #expect(throws: IngestError.self) { try load(Data("just text".utf8)) }
        do {
            _ = try load(Data([0x50, 0x4B, 0x03, 0x04] + Array(repeating: 0x41, count: 200)))
            Issue.record("a broken archive loaded")
        } catch {
            #expect(error.description.contains("pandoc could not read it"))
        }
    }
}
