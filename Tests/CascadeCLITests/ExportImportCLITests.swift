import Foundation
import TestSupport
import Testing

/// `cascade export` / `cascade import`: a tenant moves from the SQLite default to PostgreSQL and
/// back with the same ledger, invoice, keys and knowledge base; a changed file is refused before
/// anything is written.
@Suite("cascade export and import")
struct ExportImportCLITests {
    func run(_ arguments: [String]) async throws -> CLIProcess.Output {
        let result = try await CLIProcess.run(arguments)
        #expect(result.status == 0, "\(arguments.prefix(2).joined(separator: " ")): \(result.stderr)")
        return result
    }

    @Test("SQLite → PostgreSQL → SQLite: the same report, keys and knowledge; a changed file is refused")
    func roundTrip() async throws {
        let dir = try TemporaryDirectory()
        let url = testSchemaURL()
        let source = dir.path("source")
        try dir.write("docs/wal.md", "# Write-ahead log\n\nRun PRAGMA journal_mode=WAL to turn on write-ahead logging.")
        try dir.write("docs/backup.md", "# Backups\n\nUse the .backup command to copy a live database safely.")
        _ = try await run(["tenants", "create", "acme", "--plan", "pro", "--data", source])
        let key = try await run(["keys", "create", "--tenant", "acme", "--scope", "query", "--data", source, "--json"])
        let keyID = try key.json()["key_id"] as? String ?? "?"
        _ = try await run([
            "ingest", dir.path("docs"), "--kb", dir.path("source/tenants/acme/kb.sqlite"), "--embedder", "hashing",
        ])
        for (i, question) in ["How do I turn on WAL?", "How do I back up a live database?"].enumerated() {
            _ = try await run(["ask", question, "--tenant", "acme", "--query-id", "m\(i)", "--data", source])
        }
        let report = try await run(["report", "--tenant", "acme", "--data", source, "--json"]).json()

        // To PostgreSQL.
        _ = try await run(["migrate", "--database", url])
        let first = dir.path("first")
        let exported = try await run(["export", "--tenant", "acme", "--to", first, "--data", source, "--json"]).json()
        #expect(exported["ledger_rows"] as? Int ?? 0 >= 2)
        #expect(exported["documents"] as? Int == 2)
        _ = try await run(["import", "--from", first, "--database", url])
        let onPostgres = try await run(["report", "--tenant", "acme", "--database", url, "--json"]).json()
        #expect(NSDictionary(dictionary: onPostgres) == NSDictionary(dictionary: report))
        #expect(try await run(["keys", "list", "--tenant", "acme", "--database", url]).stdout.contains(keyID))
        #expect(try await run(["ledger", "verify", "--database", url, "--json"]).json()["ok"] as? Bool == true)
        // ask and search with --database read the shared knowledge base through a local copy.
        let node = dir.path("cli-node")
        let searched = try await run([
            "search", "write-ahead logging", "--tenant", "acme", "--database", url, "--data", node,
        ])
        #expect(searched.stdout.contains("wal.md"), "\(searched.stdout)")
        let asked = try await run([
            "ask", "How do I turn on WAL?", "--tenant", "acme", "--query-id", "pg-1", "--database", url, "--data", node,
            "--json",
        ]).json()
        let rag = (asked["attempts"] as? [[String: Any]])?.first { $0["tier"] as? String == "rag" }
        #expect(
            rag != nil && rag?["outcome"] as? String != "skipped",
            "the RAG tier searched the shared documents: \(asked)")
        try dir.write("more/vacuum.md", "# Vacuum\n\nRun VACUUM to rebuild the database file and reclaim free pages.")
        let ingested = try await run([
            "ingest", dir.path("more"), "--tenant", "acme", "--database", url, "--data", node, "--json",
        ])
        #expect(try ingested.json()["documents_added"] as? Int == 1, "\(ingested.stdout)")
        let otherNode = try await run([
            "search", "reclaim free pages", "--tenant", "acme", "--database", url, "--data", dir.path("other-node"),
        ])
        let stats = try await run([
            "stats", "--tenant", "acme", "--database", url, "--data", dir.path("third-node"), "--json",
        ])
        #expect(try stats.json()["documents"] as? Int == 3, "\(stats.stdout)")
        #expect(otherNode.stdout.contains("vacuum.md"), "another machine's copy gets the ingest from the log")
        let rows = try await run(["ledger", "show", "--tenant", "acme", "--database", url, "--json"]).stdout
        #expect(rows.contains("\"pg-1\""), "recorded in the shared ledger")
        let again = try await CLIProcess.run(["import", "--from", first, "--database", url])
        #expect(again.status != 0 && again.stderr.contains("already exists"), "an import never merges")

        // And back into a new SQLite data folder, from PostgreSQL.
        let current = try await run(["report", "--tenant", "acme", "--database", url, "--json"]).json()
        #expect(current["queries"] as? Int == (report["queries"] as? Int ?? 0) + 1)
        let second = dir.path("second")
        _ = try await run(["export", "--tenant", "acme", "--to", second, "--database", url])
        let target = dir.path("target")
        _ = try await run(["import", "--from", second, "--data", target])
        let back = try await run(["report", "--tenant", "acme", "--data", target, "--json"]).json()
        #expect(NSDictionary(dictionary: back) == NSDictionary(dictionary: current))
        let found = try await run(["search", "write-ahead logging", "--tenant", "acme", "--data", target])
        #expect(found.stdout.contains("wal.md"))
        #expect(try await run(["ledger", "verify", "--data", target]).status == 0)

        // One byte changed in transit: refused, nothing written.
        let ledger = URL(fileURLWithPath: first).appendingPathComponent("ledger.jsonl")
        var bytes = try Data(contentsOf: ledger)
        bytes[bytes.count / 2] ^= 0x01
        try bytes.write(to: ledger)
        let elsewhere = dir.path("elsewhere")
        let refused = try await CLIProcess.run(["import", "--from", first, "--data", elsewhere])
        #expect(refused.status != 0 && refused.stderr.contains("SHA-256"), "\(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: elsewhere + "/control.sqlite"), "nothing written")
    }
}
