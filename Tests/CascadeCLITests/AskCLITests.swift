import Foundation
import GRDB
import Testing

@Suite("cascade ask, ledger and escalations", .serialized)
struct AskCLITests {
    /// A small knowledge base and rules file in a temporary folder.
    func setUp(_ dir: TemporaryDirectory) async throws -> [String] {
        try dir.write(
            "kb-docs/wal.md", Data("# WAL\n\nRun PRAGMA journal_mode=WAL to enable write-ahead logging.".utf8))
        try dir.write(
            "rules.yaml",
            Data(
                """
                rules:
                  - id: hours
                    match: { all: [opening, hours] }
                    answer: Around the clock.
                  - id: human
                    match: { phrases: [talk to a human] }
                    escalate: true
                """.utf8))
        let ingest = try await CLIProcess.run([
            "ingest", dir.path("kb-docs"), "--kb", dir.path("kb.sqlite"), "--embedder", "hashing",
        ])
        #expect(ingest.status == 0, "\(ingest.stderr)")
        return [
            "--kb", dir.path("kb.sqlite"), "--ledger", dir.path("ledger.sqlite"), "--rules", dir.path("rules.yaml"),
        ]
    }

    @Test("ask --json prints the documented fields, and a retry with the same --query-id replays it")
    func askJSON() async throws {
        let dir = try TemporaryDirectory()
        let common = try await setUp(dir)
        let first = try await CLIProcess.run(
            ["ask", "What are your opening hours?", "--tenant", "acme", "--query-id", "Q1", "--json"] + common)
        #expect(first.status == 0, "\(first.stderr)")
        let output = try first.json()
        for key in [
            "query_id", "tenant", "conversation_id", "tier", "answer", "citations", "confidence", "cost_micros",
            "attempts",
        ] {
            #expect(output.keys.contains(key), "missing \(key)")
        }
        #expect(output["tier"] as? String == "rule")
        let attempt = try #require((output["attempts"] as? [[String: Any]])?.first)
        for key in ["tier", "confidence", "cost_micros", "tokens_in", "tokens_out", "latency_ms", "outcome"] {
            #expect(attempt.keys.contains(key), "missing attempt field \(key)")
        }
        let again = try await CLIProcess.run(
            ["ask", "What are your opening hours?", "--tenant", "acme", "--query-id", "Q1", "--json"] + common)
        #expect(try again.json()["replayed"] as? Bool == true)
        let rows = try await CLIProcess.run([
            "ledger", "show", "--tenant", "acme", "--ledger", dir.path("ledger.sqlite"), "--json",
        ])
        #expect(rows.stdout.split(separator: "\n").count == 2, "one attempt + one query row, nothing from the retry")
    }

    @Test("a batch gives one JSON line per input line; bad lines are reported and the rest goes on")
    func batch() async throws {
        let dir = try TemporaryDirectory()
        let common = try await setUp(dir)
        try dir.write(
            "questions.jsonl",
            Data(
                """
                {"query_id": "b1", "text": "opening hours?"}
                {"_id": "b2", "text": "I want to talk to a human"}
                not json
                {"query_id": "b4", "text": "hello"}
                {"query_id": "b5", "text": "x", "occurred_at": "2001-01-01T00:00:00Z"}
                """.utf8))
        let result = try await CLIProcess.run(
            ["ask", "--tenant", "acme", "--batch", dir.path("questions.jsonl"), "--json"] + common)
        #expect(result.status == 1, "some lines failed")
        let lines = result.stdout.split(separator: "\n").map {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        #expect(lines.count == 5)
        #expect(lines[0]?["tier"] as? String == "rule")
        #expect(lines[1]?["tier"] as? String == "escalated")
        #expect((lines[2]?["error"] as? String)?.contains("line 3") == true)
        #expect(lines[3]?["tier"] as? String == "rejected")
        #expect((lines[4]?["error"] as? String)?.contains("34 days") == true)
    }

    @Test("NUL characters in batch ids are refused line by line; the ledger still verifies; ids stay distinct")
    func nulInBatchIDs() async throws {
        let dir = try TemporaryDirectory()
        let common = try await setUp(dir)
        try dir.write(
            "nul.jsonl",
            Data(
                #"""
                {"query_id": "a\u0000-1", "text": "opening hours?"}
                {"query_id": "a\u0000-2", "text": "opening hours please"}
                {"query_id": "a-3", "text": "opening hours today?", "user_id": "u\u0000"}
                {"query_id": "a-4", "text": "what are the opening hours?"}
                """#.utf8))
        let result = try await CLIProcess.run(
            ["ask", "--tenant", "acme", "--batch", dir.path("nul.jsonl"), "--json"] + common)
        #expect(result.status == 1)
        let lines = result.stdout.split(separator: "\n").map {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        #expect(lines.count == 4)
        #expect((lines[0]?["error"] as? String)?.contains("query_id") == true)
        #expect((lines[1]?["error"] as? String)?.contains("query_id") == true)
        #expect((lines[2]?["error"] as? String)?.contains("user_id") == true)
        #expect(lines[3]?["tier"] as? String == "rule")
        let verify = try await CLIProcess.run(["ledger", "verify", "--ledger", dir.path("ledger.sqlite")])
        #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
    }

    @Test("escalations can be listed and closed with an agent's answer")
    func escalations() async throws {
        let dir = try TemporaryDirectory()
        let common = try await setUp(dir)
        let ledger = ["--ledger", dir.path("ledger.sqlite")]
        _ = try await CLIProcess.run(
            ["ask", "please let me talk to a human", "--tenant", "acme", "--query-id", "E1"] + common)
        let open = try await CLIProcess.run(["escalations", "list", "--tenant", "acme"] + ledger)
        #expect(open.stdout.contains("E1"))
        let resolve = try await CLIProcess.run(
            ["escalations", "resolve", "E1", "--answer", "Called the customer back."] + ledger)
        #expect(resolve.status == 0, "\(resolve.stderr)")
        #expect(
            try await CLIProcess.run(["escalations", "list", "--tenant", "acme"] + ledger).stdout.contains(
                "no open escalations"))
        let twice = try await CLIProcess.run(["escalations", "resolve", "E1", "--answer", "again"] + ledger)
        #expect(twice.status == 2)
        #expect(twice.stderr.contains("already resolved"))
    }

    @Test("ledger verify passes, then finds a row edited behind its back and exits 1")
    func verify() async throws {
        let dir = try TemporaryDirectory()
        let common = try await setUp(dir)
        for i in 1...3 { _ = try await CLIProcess.run(["ask", "opening hours \(i)?", "--tenant", "acme"] + common) }
        let ok = try await CLIProcess.run(["ledger", "verify", "--ledger", dir.path("ledger.sqlite")])
        #expect(ok.status == 0)
        #expect(ok.stdout.contains("6 rows"))
        let raw = try DatabaseQueue(path: dir.path("ledger.sqlite"))
        try await raw.write { db in
            try db.execute(sql: "DROP TRIGGER ledger_no_update")
            try db.execute(sql: "UPDATE ledger_entry SET answer = 'forged' WHERE seq = 4")
        }
        try raw.close()
        let broken = try await CLIProcess.run(["ledger", "verify", "--ledger", dir.path("ledger.sqlite"), "--json"])
        #expect(broken.status == 1)
        #expect(try broken.json()["first_broken_sequence"] as? Int == 4)
    }

    @Test("concurrent ask processes writing one ledger lose nothing")
    func concurrentProcesses() async throws {
        let dir = try TemporaryDirectory()
        let common = try await setUp(dir)
        var processes: [Process] = []
        for p in 0..<4 {
            let lines = (0..<10).map { #"{"query_id": "p\#(p)-\#($0)", "text": "opening hours \#($0)?"}"# }
            try dir.write("batch\(p).jsonl", Data(lines.joined(separator: "\n").utf8))
            let (process, _, _) = try CLIProcess.start(
                ["ask", "--tenant", "acme", "--batch", dir.path("batch\(p).jsonl"), "--json"] + common)
            processes.append(process)
        }
        for process in processes { await process.exited() }
        #expect(processes.allSatisfy { $0.terminationStatus == 0 })
        let rows = try await CLIProcess.run([
            "ledger", "show", "--tenant", "acme", "--ledger", dir.path("ledger.sqlite"), "--json",
        ])
        let queries = rows.stdout.split(separator: "\n").filter { $0.contains(#""kind":"query""#) }
        #expect(queries.count == 40)
        #expect(try await CLIProcess.run(["ledger", "verify", "--ledger", dir.path("ledger.sqlite")]).status == 0)
    }
}
