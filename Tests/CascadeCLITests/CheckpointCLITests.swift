import Foundation
import GRDB
import Testing

@Suite("ledger checkpoints and finalization from the command line", .serialized)
struct CheckpointCLITests {
    /// Noon UTC on the last day of last month: inside the 34-day backfill window whatever today is.
    static var lastMonth: (stamp: String, month: String) {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let startOfMonth = calendar.date(from: calendar.dateComponents([.year, .month], from: TestClock.now))!
        let day = startOfMonth.addingTimeInterval(-12 * 3600)
        let c = calendar.dateComponents([.year, .month], from: day)
        return (
            day.formatted(.iso8601.year().month().day().dateSeparator(.dash)) + "T12:00:00Z",
            String(format: "%04d-%02d", c.year!, c.month!)
        )
    }

    @Test("checkpoint signs with the default key (created once), verify checks against it and finds a rollback")
    func checkpointAndVerify() async throws {
        let dir = try TemporaryDirectory()
        let data = dir.path("data")
        try dir.write("b.jsonl", Data(#"{"query_id": "q1", "text": "hello there, how do I vacuum"}"#.utf8))
        let asked = try await CLIProcess.run([
            "ask", "--tenant", "t", "--batch", dir.path("b.jsonl"), "--data", data, "--no-kb",
        ])
        #expect(asked.status == 0, "\(asked.stderr)")
        try FileManager.default.copyItem(atPath: data + "/ledger.sqlite", toPath: dir.path("older.sqlite"))
        try dir.write("b2.jsonl", Data(#"{"query_id": "q2", "text": "and how do I back it up"}"#.utf8))
        _ = try await CLIProcess.run([
            "ask", "--tenant", "t", "--batch", dir.path("b2.jsonl"), "--data", data, "--no-kb",
        ])

        let signed = try await CLIProcess.run([
            "ledger", "checkpoint", "--data", data, "--out", dir.path("cp.json"), "--json",
        ])
        #expect(signed.status == 0, "\(signed.stderr)")
        #expect(signed.stderr.contains("created checkpoint signing key"))
        #expect(FileManager.default.fileExists(atPath: data + "/signing.key.pub"))
        let checkpoint = try signed.json()
        #expect((checkpoint["ledger"] as? [String: Any])?["sequence"] as? Int ?? 0 >= 4)
        let again = try await CLIProcess.run(["ledger", "checkpoint", "--data", data, "--out", dir.path("cp.json")])
        #expect(again.status == 2, "an existing output file is not replaced")
        #expect(!again.stderr.contains("created checkpoint signing key"))

        let ok = try await CLIProcess.run([
            "ledger", "verify", "--data", data, "--checkpoint", dir.path("cp.json"), "--public-key",
            data + "/signing.key.pub",
        ])
        #expect(ok.status == 0, "\(ok.stdout)\(ok.stderr)")
        #expect(ok.stdout.contains("matches the checkpoint"))

        let rolledBack = try await CLIProcess.run([
            "ledger", "verify", "--ledger", dir.path("older.sqlite"), "--checkpoint", dir.path("cp.json"), "--json",
        ])
        #expect(rolledBack.status == 1)
        #expect((try rolledBack.json()["problem"] as? String)?.contains("older copy") == true)

        let other = try await CLIProcess.run(["ledger", "keygen", "--out", dir.path("other.key"), "--json"])
        #expect(other.status == 0, "\(other.stderr)")
        let pinnedToAnother = try await CLIProcess.run([
            "ledger", "verify", "--data", data, "--checkpoint", dir.path("cp.json"), "--public-key",
            dir.path("other.key.pub"),
        ])
        #expect(pinnedToAnother.status == 2)
        #expect(pinnedToAnother.stderr.contains("not by the trusted public key"))
    }

    @Test("on PostgreSQL: checkpoint pins each tenant's chain (or one), verify checks it and names the tenant")
    func checkpointOnPostgres() async throws {
        let url = testSchemaURL()
        let dir = try TemporaryDirectory()
        let data = dir.path("data")
        #expect(try await CLIProcess.run(["migrate", "--database", url]).status == 0)
        try dir.write("doc.md", Data("# Vacuum\n\nRun VACUUM to reclaim space after deleting many rows.\n".utf8))
        try dir.write("b.jsonl", Data(#"{"query_id": "q1", "text": "how do I vacuum"}"#.utf8))
        for tenant in ["acme", "beta"] {
            let ingest = try await CLIProcess.run([
                "ingest", dir.path("doc.md"), "--tenant", tenant, "--database", url, "--data", data, "--embedder",
                "hashing",
            ])
            #expect(ingest.status == 0, "\(ingest.stderr)")
            let ask = try await CLIProcess.run([
                "ask", "--tenant", tenant, "--batch", dir.path("b.jsonl"), "--database", url, "--data", data,
            ])
            #expect(ask.status == 0, "\(ask.stderr)")
        }
        #expect(try await CLIProcess.run(["ledger", "keygen", "--out", dir.path("k.key")]).status == 0)
        let all = try await CLIProcess.run([
            "ledger", "checkpoint", "--database", url, "--signing-key", dir.path("k.key"), "--out",
            dir.path("all.json"),
            "--json",
        ])
        #expect(all.status == 0, "\(all.stderr)")
        let signed = try all.json()
        #expect(signed["format"] as? String == "cascade-ledger-checkpoint/2")
        #expect(signed.keys.contains("ledger") && signed["ledger"] is NSNull, "nulls are written")
        let heads = signed["tenant_ledgers"] as? [[String: Any]] ?? []
        #expect(heads.compactMap { $0["tenant"] as? String } == ["acme", "beta"])
        let one = try await CLIProcess.run([
            "ledger", "checkpoint", "--database", url, "--signing-key", dir.path("k.key"), "--tenant", "beta",
            "--out", dir.path("beta.json"), "--json",
        ])
        #expect(
            (try one.json()["tenant_ledgers"] as? [[String: Any]])?.compactMap { $0["tenant"] as? String } == ["beta"])

        for file in ["all.json", "beta.json"] {
            let verify = try await CLIProcess.run([
                "ledger", "verify", "--database", url, "--checkpoint", dir.path(file), "--public-key",
                dir.path("k.key.pub"),
            ])
            #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
            #expect(verify.stdout.contains("matches the checkpoint"))
            #expect(verify.stdout.contains("2 stored checkpoints"))
        }
        // A SQLite ledger's checkpoint vouches for nothing here; and --tenant needs --database.
        let sqliteLedger = try await CLIProcess.run([
            "ask", "--tenant", "t", "--batch", dir.path("b.jsonl"), "--data", dir.path("local"), "--no-kb",
        ])
        #expect(sqliteLedger.status == 0, "\(sqliteLedger.stderr)")
        let local = try await CLIProcess.run([
            "ledger", "checkpoint", "--data", dir.path("local"), "--signing-key", dir.path("k.key"), "--out",
            dir.path("local.json"),
        ])
        #expect(local.status == 0, "\(local.stderr)")
        let foreign = try await CLIProcess.run([
            "ledger", "verify", "--database", url, "--checkpoint", dir.path("local.json"), "--json",
        ])
        #expect(foreign.status == 1)
        #expect((try foreign.json()["problem"] as? String)?.contains("cannot vouch for this PostgreSQL ledger") == true)
        let tenantOnSQLite = try await CLIProcess.run([
            "ledger", "checkpoint", "--data", dir.path("local"), "--signing-key", dir.path("k.key"), "--tenant", "t",
        ])
        #expect(tenantOnSQLite.status == 64)
        #expect(tenantOnSQLite.stderr.contains("--tenant needs --database"))
        // A tenant name that is a path, has a line break, or is too long is one clear refusal; nothing
        // is signed or stored. (A NUL byte cannot reach a command line: argv ends a string there.)
        for hostile in ["../etc", "acme\nbeta", String(repeating: "a", count: 65)] {
            let refused = try await CLIProcess.run([
                "ledger", "checkpoint", "--database", url, "--signing-key", dir.path("k.key"), "--tenant", hostile,
                "--out", dir.path("hostile.json"),
            ])
            #expect(refused.status == 64 && refused.stderr.contains("--tenant"), "\(refused.stderr)")
            #expect(!FileManager.default.fileExists(atPath: dir.path("hostile.json")))
        }
        let stored = try await CLIProcess.run(["ledger", "verify", "--database", url, "--json"])
        #expect(try stored.json()["stored_checkpoints"] as? Int == 2, "only the two good checkpoints were stored")
    }

    @Test("a month before the tenant's first plan cannot be finalized; a backfill stays possible while it is open")
    func noFinalizeBeforeFirstPlan() async throws {
        let dir = try TemporaryDirectory()
        let ledger = dir.path("ledger.sqlite")
        let (stamp, month) = Self.lastMonth
        try dir.write(
            "b.jsonl", Data(#"{"query_id": "late", "text": "how do I vacuum", "occurred_at": "\#(stamp)"}"#.utf8))
        let asked = try await CLIProcess.run([
            "ask", "--tenant", "t", "--batch", dir.path("b.jsonl"), "--ledger", ledger, "--no-kb",
        ])
        #expect(asked.status == 0, "\(asked.stderr)")
        _ = try await CLIProcess.run(["tenants", "set", "t", "--plan", "pro", "--ledger", ledger])
        let refused = try await CLIProcess.run([
            "invoice", "--tenant", "t", "--month", month, "--ledger", ledger, "--finalize", "--signing-key",
            dir.path("nokey"),
        ])
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("had no plan"), "\(refused.stderr)")
        let queue = try DatabaseQueue(path: ledger)
        #expect(try await queue.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM final_invoice") } == 0)
    }

    @Test("a foreign or garbled checkpoint file or signing key is one clear error, and nothing is written")
    func hostileFiles() async throws {
        let dir = try TemporaryDirectory()
        let ledger = dir.path("ledger.sqlite")
        try dir.write("b.jsonl", Data(#"{"query_id": "q1", "text": "how do I vacuum"}"#.utf8))
        _ = try await CLIProcess.run([
            "ask", "--tenant", "t", "--batch", dir.path("b.jsonl"), "--ledger", ledger, "--no-kb",
        ])
        try dir.write("garbage.json", Data([0x7B, 0x00, 0xFF, 0xFE, 0x22]))
        try dir.write("bad.key", Data("cascade-ed25519-signing-key\nnot base64 \u{0}\n".utf8))
        let verify = try await CLIProcess.run([
            "ledger", "verify", "--ledger", ledger, "--checkpoint", dir.path("garbage.json"),
        ])
        #expect(verify.status == 2)
        #expect(verify.stderr.contains("not a cascade checkpoint"))
        let sign = try await CLIProcess.run([
            "ledger", "checkpoint", "--ledger", ledger, "--signing-key", dir.path("bad.key"), "--out",
            dir.path("cp.json"),
        ])
        #expect(sign.status == 2)
        #expect(sign.stderr.contains("not a cascade signing key"))
        #expect(!FileManager.default.fileExists(atPath: dir.path("cp.json")))
        let queue = try DatabaseQueue(path: ledger)
        #expect(try await queue.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM checkpoint") } == 0)
    }
}
