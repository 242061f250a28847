import Foundation
import Testing

@Suite("cascade verdicts", .serialized)
struct VerdictsCLITests {
    @Test(
        "verdicts list shows each verdict with its answer's confidence; threshold recommends the lowest one the verdicts support, and writes it"
    )
    func thresholdFromVerdicts() async throws {
        let dir = try TemporaryDirectory()
        let pages = [
            "wal.md": "# WAL\n\nRun PRAGMA journal_mode=WAL to enable write-ahead logging.\n",
            "backup.md": "# Backups\n\nUse the .backup command of the sqlite3 shell to copy a live database safely.\n",
            "vacuum.md": "# Vacuum\n\nThe VACUUM command rebuilds the database file and reclaims unused pages.\n",
            "fk.md": "# Foreign keys\n\nForeign key enforcement is off by default; run PRAGMA foreign_keys=ON.\n",
        ]
        for (name, text) in pages { try dir.write("docs/\(name)", Data(text.utf8)) }
        let ingest = try await CLIProcess.run([
            "ingest", dir.path("docs"), "--kb", dir.path("kb.sqlite"), "--embedder", "hashing", "--no-calibrate",
        ])
        #expect(ingest.status == 0, "\(ingest.stderr)")
        try dir.write(
            "batch.jsonl",
            Data(
                """
                {"query_id": "a1", "text": "How do I enable write-ahead logging?"}
                {"query_id": "a2", "text": "How do I back up a live database?"}
                {"query_id": "a3", "text": "How do I reclaim unused pages?"}
                {"query_id": "a4", "text": "How do I turn on foreign key enforcement?"}
                """.utf8))
        let common = ["--data", dir.path("data"), "--ledger", dir.path("ledger.sqlite")]
        // Threshold 0: every question is answered, so each verdict judges an answer.
        let asked = try await CLIProcess.run(
            [
                "ask", "--tenant", "acme", "--batch", dir.path("batch.jsonl"), "--kb", dir.path("kb.sqlite"),
                "--threshold", "0", "--json",
            ] + common)
        #expect(asked.status == 0, "\(asked.stderr)")
        var confidence: [String: Double] = [:]
        for line in asked.stdout.split(separator: "\n") {
            let row = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            #expect(row["tier"] as? String == "rag", "\(row)")
            confidence[row["query_id"] as? String ?? ""] = row["confidence"] as? Double
        }
        // The customers reject the least confident answer and confirm the others.
        let ranked = confidence.sorted { $0.value < $1.value }.map(\.key)
        try #require(ranked.count == 4 && Set(confidence.values).count == 4, "\(confidence)")
        for id in ranked {
            let verdict = id == ranked[0] ? "--not-helpful" : "--helpful"
            let recorded = try await CLIProcess.run(["ledger", "feedback", id, verdict, "--tenant", "acme"] + common)
            #expect(recorded.status == 0, "\(recorded.stderr)")
        }

        let list = try await CLIProcess.run(["verdicts", "list", "--tenant", "acme", "--json"] + common)
        #expect(list.status == 0, "\(list.stderr)")
        let lines = try list.stdout.split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        #expect(lines.map { $0["query_id"] as? String } == ranked)
        #expect(lines[0]["verdict"] as? String == "rejected_by_customer")
        #expect(lines[1]["verdict"] as? String == "confirmed" && lines[1]["comment"] is NSNull)
        #expect(lines[0]["confidence"] as? Double == confidence[ranked[0]])

        // Four verdicts are too few by default: no recommendation, and nothing is written.
        let few = try await CLIProcess.run(["verdicts", "threshold", "--tenant", "acme", "--json"] + common)
        #expect(few.status == 0, "\(few.stderr)")
        #expect(try few.json()["recommended_threshold"] is NSNull)
        #expect((try few.json()["reason"] as? String)?.contains("--min-verdicts") == true)
        let refused = try await CLIProcess.run(
            ["verdicts", "threshold", "--tenant", "acme", "--write-config"] + common)
        #expect(refused.status != 0 && refused.stderr.contains("nothing written"), "\(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.path("data/tenants/acme.yaml")))

        // With three verdicts enough, the lowest threshold with no rejection is the second answer's.
        let fitted = try await CLIProcess.run(
            [
                "verdicts", "threshold", "--tenant", "acme", "--min-verdicts", "3", "--max-false-resolution", "0",
                "--write-config", "--json",
            ] + common)
        #expect(fitted.status == 0, "\(fitted.stderr)")
        let output = try fitted.json()
        #expect(output["recommended_threshold"] as? Double == confidence[ranked[1]], "\(output)")
        #expect(output["current_threshold"] as? Double == 0)
        #expect((output["table"] as? [[String: Any]])?.count == 4)
        let settings = try String(contentsOfFile: dir.path("data/tenants/acme.yaml"), encoding: .utf8)
        #expect(settings.contains("threshold: \(confidence[ranked[1]]!)"), "\(settings)")
        #expect(settings.contains("confidence:"), "the weights the confidences were computed with go with it")

        let badTenant = try await CLIProcess.run(["verdicts", "list", "--tenant", "../x"] + common)
        #expect(badTenant.status == 64, "\(badTenant.stderr)")
    }
}
