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
            #expect(error.description.contains("not a Word .docx file"), "\(error)")
        }
    }

    /// The fixture with every central-directory entry claiming `size` uncompressed bytes.
    static func claiming(_ size: UInt32, in data: Data) -> Data {
        var bytes = [UInt8](data)
        var at = 0
        while at + 46 <= bytes.count {
            if bytes[at] == 0x50, bytes[at + 1] == 0x4B, bytes[at + 2] == 0x01, bytes[at + 3] == 0x02 {
                for i in 0..<4 { bytes[at + 24 + i] = UInt8((size >> (8 * UInt32(i))) & 0xFF) }
            }
            at += 1
        }
        return Data(bytes)
    }

    @Test func theArchiveDirectoryIsReadWithoutExtracting() throws {
        let data = try Data(contentsOf: Self.file)
        let directory = try ZIPDirectory.read(data)
        #expect(directory.entries >= 3 && directory.uncompressedBytes > data.count)
        #expect(throws: ZIPDirectory.Problem.self) { try ZIPDirectory.read(data.prefix(data.count - 30)) }
        #expect(throws: ZIPDirectory.Problem.tooLarge) { try ZIPDirectory.read(Self.claiming(0xFFFF_FFFF, in: data)) }
    }

    @Test func aDecompressionBombIsRefusedBeforePandocRuns() throws {
        // Every part claims 200 MB: together far past the 256 MB limit, from a 10 KB file.
        let bomb = Self.claiming(200 << 20, in: try Data(contentsOf: Self.file))
        do {
            _ = try load(bomb)
            Issue.record("a bomb was extracted")
        } catch {
            #expect(error.description.contains("expands to") && error.description.contains("limit"), "\(error)")
        }
    }

    @Test func pandocRunsUnderAMemoryLimit() throws {
        // 64 MB is too little for pandoc itself: the limit is really applied to the child, and
        // hitting it is one clear error, not a sick node.
        var loader = DOCXLoader()
        loader.memoryLimitBytes = 64 << 20
        let data = try Data(contentsOf: Self.file)
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(UUID().uuidString).docx")
        try data.write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        do {
            _ = try loader.load(data, context: LoadContext(fileURL: url, relativePath: "travel-policy.docx"))
            Issue.record("pandoc ran in 64 MB")
        } catch {
            #expect(error.description.contains("64 MB"), "\(error)")
        }
        // The default limit leaves room for a real document.
        #expect(try !load(data).isEmpty)
    }
}
