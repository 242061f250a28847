import Foundation
import GRDB
import Testing

/// Each store knows what it is: another kind of cascade file, another application's database or a
/// newer cascade's file is refused with a clear line, and left byte for byte as it was.
@Suite("store kinds", .serialized)
struct StoreKindTests {
    @Test("a knowledge base as --ledger, a ledger as --kb and a foreign database are refused unchanged")
    func wrongKinds() async throws {
        let dir = try TemporaryDirectory()
        try dir.write("docs/a.md", Data("# A\n\nSome text about refunds.".utf8))
        let ingest = try await CLIProcess.run([
            "ingest", dir.path("docs"), "--kb", dir.path("kb.sqlite"), "--embedder", "hashing",
        ])
        #expect(ingest.status == 0, "\(ingest.stderr)")
        let ask = try await CLIProcess.run([
            "ask", "refund?", "--tenant", "t", "--no-kb", "--ledger", dir.path("ledger.sqlite"),
        ])
        #expect(ask.status == 0, "\(ask.stderr)")
        let foreign = try DatabaseQueue(path: dir.path("foreign.sqlite"))
        try await foreign.write { db in try db.execute(sql: "CREATE TABLE customers (id INTEGER, name TEXT)") }
        try foreign.close()
        let kbBytes = try Data(contentsOf: URL(fileURLWithPath: dir.path("kb.sqlite")))
        let foreignBytes = try Data(contentsOf: URL(fileURLWithPath: dir.path("foreign.sqlite")))

        for (command, says) in [
            (["ledger", "verify", "--ledger", dir.path("kb.sqlite")], "knowledge base, not a ledger"),
            (["ledger", "show", "--ledger", dir.path("foreign.sqlite")], "another application"),
            (["search", "refund", "--kb", dir.path("ledger.sqlite")], "ledger, not a knowledge base"),
            (["stats", "--kb", dir.path("foreign.sqlite")], "another application"),
            (
                ["ingest", dir.path("docs"), "--kb", dir.path("foreign.sqlite"), "--embedder", "hashing"],
                "another application"
            ),
        ] {
            let result = try await CLIProcess.run(command)
            #expect(result.status == 2, "\(command.joined(separator: " "))")
            #expect(result.stderr.contains(says), "\(command.joined(separator: " ")): \(result.stderr)")
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: dir.path("kb.sqlite"))) == kbBytes)
        #expect(try Data(contentsOf: URL(fileURLWithPath: dir.path("foreign.sqlite"))) == foreignBytes)
    }

    @Test("a store from a newer cascade is refused")
    func newerSchema() async throws {
        let dir = try TemporaryDirectory()
        let ask = try await CLIProcess.run([
            "ask", "refund?", "--tenant", "t", "--no-kb", "--ledger", dir.path("l.sqlite"),
        ])
        #expect(ask.status == 0)
        let db = try DatabaseQueue(path: dir.path("l.sqlite"))
        try await db.write { db in
            try db.execute(sql: "INSERT INTO grdb_migrations(identifier) VALUES ('v99-from-the-future')")
        }
        try db.close()
        let show = try await CLIProcess.run(["ledger", "show", "--ledger", dir.path("l.sqlite")])
        #expect(show.status == 2)
        #expect(show.stderr.contains("newer cascade"), "\(show.stderr)")
    }
}
