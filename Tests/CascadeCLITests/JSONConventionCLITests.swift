import Foundation
import Testing

/// One convention over every command's `--json` (the HTTP API's): snake_case keys, ISO-8601 UTC
/// timestamps, money as decimal strings, nested JSON never as a string, an object per item and
/// JSON Lines for streams.
@Suite("every command's --json follows one convention", .serialized)
struct JSONConventionCLITests {
    static let moneyKeys: Set<String> = [
        "total", "amount", "unit_price", "quantity", "invoice_total", "billed", "margin",
        "blended_cost_per_resolution", "difference", "base_fee", "token_margin", "price", "minimum", "cap",
        "resolution_price", "total_cost",
    ]

    /// Every violation in `value` (reached by `path`), as readable strings.
    static func violations(_ value: Any, path: String = "$") -> [String] {
        var found: [String] = []
        if let object = value as? [String: Any] {
            for (key, child) in object {
                let at = "\(path).\(key)"
                if key.range(of: "^[a-z][a-z0-9_]*$", options: .regularExpression) == nil {
                    found.append("\(at): key is not snake_case")
                }
                if key.contains("elapsed") && key != "elapsed_ms" {
                    found.append("\(at): elapsed times are named elapsed_ms (milliseconds)")
                }
                if moneyKeys.contains(key), !(child is String || child is NSNull) {
                    found.append("\(at): money must be a decimal string, got \(child)")
                }
                if key.hasSuffix("_at") || key == "occurred" {
                    if let text = child as? String {
                        if text.range(of: #"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$"#, options: .regularExpression)
                            == nil
                        {
                            found.append("\(at): timestamp is not ISO-8601 UTC: \(text)")
                        }
                    } else if !(child is NSNull) {
                        found.append("\(at): timestamp must be a string, got \(child)")
                    }
                }
                found += violations(child, path: at)
            }
        } else if let array = value as? [Any] {
            for (i, child) in array.enumerated() { found += violations(child, path: "\(path)[\(i)]") }
        } else if let text = value as? String, let first = text.first, first == "[" || first == "{",
            (try? JSONSerialization.jsonObject(with: Data(text.utf8))) != nil
        {
            found.append("\(path): nested JSON encoded as a string")
        }
        return found
    }

    /// Parses `output` as one JSON document, or as JSON Lines when `lines`.
    static func documents(_ output: CLIProcess.Output, lines: Bool) throws -> [Any] {
        if lines {
            return try output.stdout.split(separator: "\n").map {
                try JSONSerialization.jsonObject(with: Data($0.utf8), options: [.fragmentsAllowed])
            }
        }
        return [try JSONSerialization.jsonObject(with: Data(output.stdout.utf8))]
    }

    @Test("ask, ledger, escalations, tenants, keys, plans, billing, checkpoint, ingest, search and stats")
    func everyCommand() async throws {
        let dir = try TemporaryDirectory()
        let data = dir.path("data")
        try dir.write(
            "rules.yaml",
            Data(
                "rules:\n  - id: wal\n    match:\n      any: [wal]\n    answer: Run PRAGMA journal_mode=WAL.\n  - id: refund\n    match:\n      any: [refund]\n    escalate: true\n"
                    .utf8))
        try dir.write(
            "batch.jsonl",
            Data(
                """
                {"query_id": "q1", "text": "how do I enable wal", "conversation_id": "c1"}
                {"query_id": "q2", "text": "I want a refund"}
                """.utf8))
        try dir.write("docs/guide.md", "# Guide\n\n## Backups\n\nRun the backup command every night.")
        let common = ["--data", data]
        let month = String(ISO8601DateFormatter().string(from: TestClock.now).prefix(7))
        // (arguments, JSON Lines?)
        let commands: [([String], Bool)] = [
            (["ingest", dir.path("docs"), "--embedder", "hashing", "--json"] + common, false),
            (["search", "backup", "--json"] + common, false),
            (["stats", "--json"] + common, false),
            (["embed", "backup", "--embedder", "hashing", "--json"], false),
            (["reindex", "--embedder", "hashing", "--json"] + common, false),
            (["tenants", "create", "acme", "--json"] + common, false),
            (["tenants", "set", "acme", "--plan", "pro", "--json"] + common, false),
            (["tenants", "show", "acme", "--json"] + common, false),
            (["tenants", "list", "--json"] + common, true),
            (["keys", "create", "--tenant", "acme", "--scope", "query", "--json"] + common, false),
            (["keys", "list", "--tenant", "acme", "--json"] + common, true),
            (
                [
                    "ask", "--tenant", "acme", "--batch", dir.path("batch.jsonl"), "--rules", dir.path("rules.yaml"),
                    "--no-kb", "--json",
                ] + common, true
            ),
            (
                [
                    "ask", "how do I enable wal", "--tenant", "acme", "--rules", dir.path("rules.yaml"), "--no-kb",
                    "--json",
                ]
                    + common, false
            ),
            (["ledger", "show", "--json"] + common, true),
            (["ledger", "verify", "--json"] + common, false),
            (["ledger", "checkpoint", "--json"] + common, false),
            (["escalations", "list", "--tenant", "acme", "--json"] + common, true),
            (["escalations", "resolve", "q2", "--tenant", "acme", "--answer", "Refunded.", "--json"] + common, false),
            (["plans", "list", "--json"] + common, true),
            (["report", "--tenant", "acme", "--month", month, "--json"] + common, false),
            (["invoice", "--tenant", "acme", "--month", month, "--json"] + common, false),
            (
                ["simulate", "--tenant", "acme", "--month", month, "--plan", "team", "--billing", "token", "--json"]
                    + common, false
            ),
        ]
        for (arguments, lines) in commands {
            let output = try await CLIProcess.run(arguments)
            let name = arguments.prefix(2).joined(separator: " ")
            #expect(output.status == 0, "\(name): \(output.stderr)")
            guard output.status == 0 else { continue }
            let parsed: [Any]
            do {
                parsed = try Self.documents(output, lines: lines)
            } catch {
                Issue.record("\(name): not \(lines ? "JSON Lines" : "one JSON document"): \(output.stdout.prefix(300))")
                continue
            }
            #expect(!parsed.isEmpty, "\(name) printed nothing")
            if !lines { #expect(parsed.first is [String: Any], "\(name): one item is an object") }
            let problems = parsed.flatMap { Self.violations($0) }
            #expect(problems.isEmpty, "\(name): \(problems.prefix(8).joined(separator: "; "))")
        }
    }

    @Test("exit codes: 64 for invalid usage wherever it is found, 2 for failures, one line on stderr")
    func exitCodes() async throws {
        let dir = try TemporaryDirectory()
        let ledger = dir.path("ledger.sqlite")
        try dir.write("b.jsonl", Data(#"{"query_id": "q1", "text": "how do I vacuum"}"#.utf8))
        _ = try await CLIProcess.run([
            "ask", "--tenant", "t", "--batch", dir.path("b.jsonl"), "--ledger", ledger, "--no-kb",
        ])
        let usage: [[String]] = [
            ["ledger", "show", "--since", "yesterday", "--ledger", ledger],  // checked inside the command
            [
                "report", "--tenant", "t", "--month", TestClock.month(), "--months",
                "\(TestClock.month(offset: -1))..\(TestClock.month())", "--ledger", ledger,
            ],
            ["ledger", "verify", "--public-key", "x.pub", "--ledger", ledger],
            ["search", "x", "-k", "0"],
        ]
        for arguments in usage {
            let result = try await CLIProcess.run(arguments)
            #expect(result.status == 64, "\(arguments.prefix(2)): \(result.stderr)")
        }
        let failures: [[String]] = [
            ["ledger", "show", "--ledger", dir.path("missing.sqlite")],
            ["ask", "--tenant", "t", "--batch", dir.path("missing.jsonl"), "--ledger", ledger, "--no-kb"],
            ["report", "--tenant", "t", "--ledger", ledger, "--html", dir.path("no/such/folder/r.html")],
        ]
        for arguments in failures {
            let result = try await CLIProcess.run(arguments)
            #expect(result.status == 2, "\(arguments.prefix(2)): \(result.stderr)")
            #expect(result.stderr.split(separator: "\n").count == 1, "one line: \(result.stderr)")
            #expect(!result.stderr.contains("NSCocoaErrorDomain"))
        }
    }
}
