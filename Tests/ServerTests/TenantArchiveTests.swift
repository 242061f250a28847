import Cascade
import Foundation
import KnowledgeBase
import Metering
import Server
import TestSupport
import Testing

/// `cascade import` reads a folder someone else wrote: every hostile variant below is refused by
/// ``TenantArchive/read(from:)`` with one clear error, before any store is opened.
@Suite("Tenant archives refuse hostile input")
struct TenantArchiveTests {
    /// A genuine export of tenant acme (one row, one key), to alter.
    func export(_ dir: TemporaryDirectory) async throws -> String {
        let data = DataDirectory(dir.path("data"))
        try FileManager.default.createDirectory(atPath: data.root, withIntermediateDirectories: true)
        let control = try ControlStore(path: data.controlPath, create: true)
        _ = try control.createTenant("acme")
        _ = try control.createKey(tenant: "acme", scope: .query, name: nil)
        let ledger = try Ledger(path: data.ledgerPath)
        _ = try ledger.record(
            query: LedgerEntry(
                kind: .query, queryID: "q1", tenant: "acme", tier: "rag", outcome: "resolved", question: "Why?",
                answer: "Because.", costMicros: 20, occurredAt: Date()),
            attempts: [])
        let folder = dir.path("export")
        try await TenantArchive.export(
            tenant: "acme", from: .init(control: control, ledger: ledger, knowledge: .local(data)), to: folder)
        return folder
    }

    /// Replaces `name` and updates the manifest's hash, as a careful forger would.
    func forge(_ folder: String, _ name: String, _ contents: Data) throws {
        let base = URL(fileURLWithPath: folder)
        try contents.write(to: base.appendingPathComponent(name))
        let manifestURL = base.appendingPathComponent(TenantArchive.manifestFile)
        var manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: manifestURL)) as! [String: Any]
        var files = manifest["files"] as! [String: String]
        files[name] = SHA256.hex(contents)
        manifest["files"] = files
        try JSONSerialization.data(withJSONObject: manifest).write(to: manifestURL)
    }

    func refused(_ folder: String, _ fragment: String, sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            _ = try TenantArchive.read(from: folder)
            Issue.record("accepted; expected an error about \(fragment)", sourceLocation: sourceLocation)
        } catch {
            #expect("\(error)".contains(fragment), "\(error)", sourceLocation: sourceLocation)
        }
    }

    @Test("the export itself reads back")
    func genuine() async throws {
        let dir = try TemporaryDirectory()
        let contents = try TenantArchive.read(from: try await export(dir))
        #expect(contents.manifest.ledgerRows == 1 && contents.manifest.keys == 1)
    }

    @Test("a row of another tenant, an edited row, garbage and non-UTF-8 lines are refused")
    func ledgerLines() async throws {
        let dir = try TemporaryDirectory()
        let folder = try await export(dir)
        let original = try Data(contentsOf: URL(fileURLWithPath: folder).appendingPathComponent("ledger.jsonl"))
        let text = String(decoding: original, as: UTF8.self)
        try forge(folder, "ledger.jsonl", Data(text.replacingOccurrences(of: "\"acme\"", with: "\"beta\"").utf8))
        refused(folder, "belongs to beta")
        try forge(folder, "ledger.jsonl", Data(text.replacingOccurrences(of: "Because.", with: "Because!").utf8))
        refused(folder, "does not hash to its recorded hash")
        try forge(folder, "ledger.jsonl", Data([0xFF, 0xFE, 0x00, 0x7B, 0x0A]))
        refused(folder, "ledger.jsonl line 1")
        try forge(folder, "ledger.jsonl", original)
        try forge(folder, "billing.jsonl", Data(#"{"tenant":"acme","plan":"pro"}"#.utf8) + Data([0x0A]))
        refused(folder, "billing.jsonl line 1")
    }

    @Test("a NaN vector, a tenant name that is a path, a missing file and a changed byte are refused")
    func otherFiles() async throws {
        let dir = try TemporaryDirectory()
        let folder = try await export(dir)
        let record = try KnowledgeBaseLogRecord.nanForTest
        try forge(folder, "knowledge.jsonl", try record.encoded() + Data([0x0A]))
        refused(folder, "NaN")

        let keep = try (1...3).map { _ in try TemporaryDirectory() }
        let other = try await export(keep[0])
        let manifestURL = URL(fileURLWithPath: other).appendingPathComponent(TenantArchive.manifestFile)
        let manifest = try String(contentsOf: manifestURL, encoding: .utf8)
        try manifest.replacingOccurrences(of: "\"tenant\" : \"acme\"", with: "\"tenant\" : \"..\\/etc\"")
            .write(to: manifestURL, atomically: true, encoding: .utf8)
        refused(other, "tenant")

        let third = try await export(keep[1])
        try FileManager.default.removeItem(atPath: third + "/tenant.json")
        refused(third, "tenant.json is missing")

        let fourth = try await export(keep[2])
        let keys = URL(fileURLWithPath: fourth).appendingPathComponent("tenant.json")
        var bytes = try Data(contentsOf: keys)
        bytes[bytes.count / 2] ^= 0x20
        try bytes.write(to: keys)
        refused(fourth, "SHA-256")
        refused(dir.path("nowhere"), "not a cascade export")
    }
}

extension KnowledgeBaseLogRecord {
    /// A one-chunk change whose vector holds NaN.
    static var nanForTest: KnowledgeBaseLogRecord {
        get throws {
            let json = """
                {"format":1,"model":"hashing-384","dimension":2,"removals":[],
                 "vectors":{"h1":"\((Data([0, 0, 0xC0, 0x7F]) + Data([0, 0, 0, 0])).base64EncodedString())"},
                 "writes":[{"collection":"c","doc_id":"d","source":"s","title":"t","metadata":{},"content_hash":"x",
                   "pipeline":"v2","byte_size":1,"chunks":[{"ordinal":0,"heading_path":[],"anchor":null,"text":"x",
                   "start_offset":0,"end_offset":1,"token_count":1,"text_hash":"h1"}]}]}
                """
            return try KnowledgeBaseLogRecord.decode(Data(json.utf8), version: 1)
        }
    }
}
