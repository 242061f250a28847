import Foundation
import Testing

@Suite("cascade eval, calibrate and import-vectors", .serialized)
struct EvalCLITests {
    /// A small BEIR set whose questions share words with their passages.
    func tinySet(_ dir: TemporaryDirectory) throws -> String {
        let passages = [
            ("wal", "Write-ahead log", "WAL mode lets readers continue while a writer appends to the log."),
            ("vacuum", "VACUUM", "VACUUM rebuilds the database file so it shrinks after large deletes."),
            ("fk", "Foreign keys", "Foreign key constraints are enforced after PRAGMA foreign_keys=ON."),
            ("busy", "Busy timeout", "A busy timeout makes a locked database wait and retry."),
            ("json", "JSON", "json_extract reads values from JSON documents in text columns."),
        ]
        let corpus = try passages.map {
            String(
                decoding: try JSONSerialization.data(withJSONObject: ["_id": $0.0, "title": $0.1, "text": $0.2]),
                as: UTF8.self)
        }
        try dir.write("set/corpus.jsonl", Data(corpus.joined(separator: "\n").utf8))
        try dir.write(
            "set/queries.jsonl",
            Data(
                """
                {"_id": "q1", "text": "readers continue while writer appends wal"}
                {"_id": "q2", "text": "database file shrinks after deletes vacuum"}
                {"_id": "q3", "text": "foreign key constraints enforced"}
                {"_id": "q4", "text": "locked database wait and retry"}
                """.utf8))
        try dir.write(
            "set/qrels/test.tsv",
            Data("query-id\tcorpus-id\tscore\nq1\twal\t1\nq2\tvacuum\t1\nq3\tfk\t1\nq4\tbusy\t2\n".utf8))
        try dir.write(
            "set/unanswerable.jsonl",
            Data(
                "{\"_id\": \"u1\", \"text\": \"best pizza in town\"}\n{\"_id\": \"u2\", \"text\": \"capital of peru\"}\n"
                    .utf8))
        return dir.path("set")
    }

    @Test("eval retrieval --compare prints every mode; --run-file writes a re-scorable run")
    func retrieval() async throws {
        let dir = try TemporaryDirectory()
        let set = try tinySet(dir)
        let common = ["--dataset", set, "--embedder", "hashing", "--cache", dir.path("cache")]
        let compare = try await CLIProcess.run(["eval", "retrieval"] + common + ["--compare", "--json"])
        #expect(compare.status == 0, "\(compare.stderr)")
        let rows = try #require(try compare.json()["rows"] as? [[String: Any]])
        #expect(rows.compactMap { $0["mode"] as? String } == ["keyword", "vector", "rrf", "hybrid"])
        let metrics = try #require(rows.last?["metrics"] as? [String: Double])
        for key in ["hit_at_1", "hit_at_5", "hit_at_10", "recall_at_10", "mrr_at_10", "ndcg_at_10"] {
            #expect(metrics[key] != nil, "missing \(key)")
        }
        // The verdict: the best mode, and hybrid's margin over the better of vector and keyword.
        let ndcg = Dictionary(
            uniqueKeysWithValues: rows.compactMap { row -> (String, Double)? in
                guard let mode = row["mode"] as? String, let m = row["metrics"] as? [String: Double] else { return nil }
                return (mode, m["ndcg_at_10"] ?? -1)
            })
        let body = try compare.json()
        let winner = try #require(body["winner"] as? String)
        #expect(ndcg[winner] == ndcg.values.max(), "the winner has the best nDCG@10 (ties: any of them)")
        let margin = try #require(body["hybrid_margin"] as? Double)
        let expected = ndcg["hybrid"]! - max(ndcg["vector"]!, ndcg["keyword"]!)
        #expect(abs(margin - expected) <= 0.0005)
        // Query by query against that part: the counts add up to the judged queries, and the
        // interval brackets the margin.
        let paired = try #require(body["hybrid_vs_best_part"] as? [String: Any])
        #expect(paired["part"] as? String == (ndcg["vector"]! >= ndcg["keyword"]! ? "vector" : "keyword"))
        let counts = ["wins", "losses", "ties"].compactMap { paired[$0] as? Int }
        #expect(counts.count == 3 && counts.reduce(0, +) == rows.first?["queries"] as? Int)
        let low = try #require(paired["margin_low"] as? Double)
        let high = try #require(paired["margin_high"] as? Double)
        #expect(low <= margin + 0.0005 && margin - 0.0005 <= high)
        let text = try await CLIProcess.run(["eval", "retrieval"] + common + ["--compare"])
        #expect(text.stdout.contains("Winner: ") && text.stdout.contains("Hybrid vs "))
        #expect(text.stdout.contains("Query by query: hybrid better on "))

        let run = try await CLIProcess.run(
            ["eval", "retrieval"] + common + ["--mode", "keyword", "--run-file", dir.path("run.jsonl")])
        #expect(run.status == 0, "\(run.stderr)")
        let lines = try String(contentsOfFile: dir.path("run.jsonl"), encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 4)
        let first = try #require(try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
        #expect(first["query_id"] as? String == "q1")
        let results = try #require(first["results"] as? [[String: Any]])
        #expect(results.first?["doc_id"] as? String == "wal")
        #expect(results.first?["score"] is Double)
        #expect(!FileManager.default.fileExists(atPath: set + "/run.jsonl"))
    }

    @Test("wrong flags and broken sets are clear errors with the documented exit codes")
    func errors() async throws {
        let dir = try TemporaryDirectory()
        let set = try tinySet(dir)
        let both = try await CLIProcess.run(["eval", "retrieval", "--dataset", set, "--mode", "vector", "--compare"])
        #expect(both.status == 64)
        #expect(both.stderr.contains("either --mode or --compare"))
        try dir.write("set/qrels/test.tsv", Data("query-id\tcorpus-id\tscore\nq1\twal\n".utf8))
        let broken = try await CLIProcess.run([
            "eval", "retrieval", "--dataset", set, "--embedder", "hashing", "--cache", dir.path("c"),
        ])
        #expect(broken.status == 2)
        #expect(broken.stderr.contains("test.tsv, line 2"))
    }

    @Test("calibrate --write-config stores the threshold and confidence in the tenant's settings, keeping the rest")
    func calibrate() async throws {
        let dir = try TemporaryDirectory()
        let set = try tinySet(dir)
        try dir.write("tenants/demo.yaml", Data("rules: my-rules.yaml\nthreshold: 0.9\n".utf8))
        let result = try await CLIProcess.run([
            "calibrate", "--dataset", set, "--embedder", "hashing", "--cache", dir.path("cache"), "--tenant", "demo",
            "--tenants-dir", dir.path("tenants"), "--write-config", "--json",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        let output = try result.json()
        let threshold = try #require(output["threshold"] as? Double)
        #expect((0...1).contains(threshold))
        #expect(output["held_out"] != nil && output["before"] != nil && output["after"] != nil)
        let yaml = try String(contentsOfFile: dir.path("tenants/demo.yaml"), encoding: .utf8)
        #expect(yaml.contains("rules: \"my-rules.yaml\""))
        #expect(yaml.contains("threshold: \(String(format: "%.6g", threshold))"))
        #expect(yaml.contains("confidence:\n  bias: "))
    }

    @Test("eval cascade reports the measures and names the wrong resolutions and the answers that miss their key")
    func cascadeReportNamesTheMisses() async throws {
        let dir = try TemporaryDirectory()
        let set = try tinySet(dir)
        // q1's key is nowhere in the corpus: resolved by RAG, it cannot quote it.
        try dir.write(
            "set/answers.jsonl",
            Data(
                """
                {"_id": "q1", "contains": ["no such words anywhere"]}
                {"_id": "q2", "contains": ["VACUUM"]}
                {"_id": "q3", "contains": ["foreign_keys"]}
                {"_id": "q4", "contains": ["busy timeout"]}
                """.utf8))
        let common = [
            "eval", "cascade", "--dataset", set, "--embedder", "hashing", "--cache", dir.path("cache"), "--data",
            dir.path("data"), "--threshold", "0",
        ]
        let json = try await CLIProcess.run(common + ["--json"])
        #expect(json.status == 0, "\(json.stderr)")
        let items = try #require(try json.json()["items"] as? [[String: Any]])
        func ids(_ keep: ([String: Any]) -> Bool) -> [String] {
            items.filter(keep).compactMap { $0["query_id"] as? String }
        }
        let wrong = ids { $0["correct"] as? Bool == false }
        let unquoted = ids { $0["answer_quoted"] as? Bool == false }
        #expect(unquoted.contains("q1"), "\(items)")
        // Each item lists the tiers tried, so a reader sees which check stopped an answer.
        for item in items {
            let attempts = try #require(item["attempts"] as? [String], "\(item)")
            #expect(attempts.allSatisfy { $0.split(separator: ":").count == 2 }, "\(attempts)")
            if item["tier"] as? String == "rag" { #expect(attempts.last == "rag:resolved", "\(attempts)") }
        }
        let text = try await CLIProcess.run(common)
        #expect(text.status == 0, "\(text.stderr)")
        #expect(text.stdout.contains("| answer precision |"))
        #expect(text.stdout.contains("RAG answers that do not quote the answer: \(unquoted.joined(separator: ", "))\n"))
        #expect(wrong.isEmpty != text.stdout.contains("Wrong resolutions: \(wrong.joined(separator: ", "))\n"))
    }

    @Test(
        "with a tenant's LLM, eval cascade names the RAG answers its verifier refuted, and each item's attempts show it"
    )
    func cascadeReportNamesTheVerifiersRefusals() async throws {
        let dir = try TemporaryDirectory()
        let set = try tinySet(dir)
        // An OpenAI-compatible fake: the verifier refutes the answer to the question about VACUUM
        // (its prompt's first line is the question) and accepts the others; the LLM tier cannot answer.
        let llm = try LoopbackHTTPServer { request in
            let body = request.json() ?? [:]
            let schema = (body["response_format"] as? [String: Any])?["json_schema"] as? [String: Any]
            let user = ((body["messages"] as? [[String: Any]])?.last?["content"] as? String) ?? ""
            let content =
                schema?["name"] as? String == "answer_check"
                ? #"{"reason": "checked", "answers": \#(!(user.split(separator: "\n").first ?? "").contains("vacuum"))}"#
                : #"{"can_answer": false, "answer": "", "citations": [], "confidence": 0}"#
            return .json([
                "choices": [["message": ["role": "assistant", "content": content], "finish_reason": "stop"]],
                "usage": ["prompt_tokens": 100, "completion_tokens": 10],
            ])
        }
        try dir.write(
            "tenants/t.yaml",
            Data("llm:\n  url: \"\(llm.baseURL.absoluteString)/v1\"\n  model: \"gpt-4o-mini\"\n".utf8))
        let common = [
            "eval", "cascade", "--dataset", set, "--embedder", "hashing", "--cache", dir.path("cache"), "--data",
            dir.path("data"), "--threshold", "0", "--tenant", "t", "--tenants-dir", dir.path("tenants"),
        ]
        let json = try await CLIProcess.run(common + ["--json"])
        #expect(json.status == 0, "\(json.stderr)")
        let items = try #require(try json.json()["items"] as? [[String: Any]])
        let q2 = try #require(items.first { $0["query_id"] as? String == "q2" })
        #expect((q2["attempts"] as? [String])?.contains("verify:refuted") == true, "\(q2)")
        #expect(q2["tier"] as? String == "escalated")
        let q1 = try #require(items.first { $0["query_id"] as? String == "q1" })
        #expect((q1["attempts"] as? [String])?.last == "verify:verified", "\(q1)")
        let text = try await CLIProcess.run(common)
        #expect(text.status == 0, "\(text.stderr)")
        let refuted = items.filter { ($0["attempts"] as? [String])?.contains("verify:refuted") == true }
        #expect(refuted.compactMap { $0["query_id"] as? String } == ["q2"])
        #expect(text.stdout.contains("RAG answers the LLM verifier refuted: q2\n"), "\(text.stdout)")
        #expect(!text.stdout.contains("could not check"))
    }

    /// Two unit vectors along the first two axes (384-d unless said), as a .npy file.
    func twoVectors(dimension: Int = 384) -> Data {
        var values = [Float](repeating: 0, count: 2 * dimension)
        values[0] = 1
        values[dimension + 1] = 1
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, \(dimension)), }"
        header += String(repeating: " ", count: (64 - (10 + header.utf8.count + 1) % 64) % 64) + "\n"
        var npy =
            Data([0x93]) + Data("NUMPY".utf8)
            + Data([1, 0, UInt8(header.utf8.count & 0xFF), UInt8(header.utf8.count >> 8)])
        npy.append(Data(header.utf8))
        values.withUnsafeBufferPointer { npy.append($0) }
        return npy
    }

    @Test("import-vectors refuses vectors whose dimension is not the named model's, and writes nothing")
    func importVectorsChecksTheModelsDimension() async throws {
        let dir = try TemporaryDirectory()
        try dir.write(
            "corpus.jsonl", Data("{\"_id\": \"a\", \"text\": \"alpha\"}\n{\"_id\": \"b\", \"text\": \"beta\"}\n".utf8))
        try dir.write("ten.npy", twoVectors(dimension: 10))
        for model in ["minilm", "sentence-transformers/all-MiniLM-L6-v2", "hashing"] {
            let refused = try await CLIProcess.run([
                "import-vectors", "--corpus", dir.path("corpus.jsonl"), "--vectors", dir.path("ten.npy"), "--model",
                model, "--kb", dir.path("kb.sqlite"),
            ])
            #expect(refused.status == 2, "\(model): \(refused.stderr)")
            #expect(refused.stderr.contains("10 dimensions") && refused.stderr.contains("384"), "\(refused.stderr)")
            #expect(refused.stderr.contains("ten.npy"), "the file is named: \(refused.stderr)")
            #expect(!FileManager.default.fileExists(atPath: dir.path("kb.sqlite")), "nothing written")
        }
        // A model this build does not know is taken at its word (only its vectors tell its dimension).
        let other = try await CLIProcess.run([
            "import-vectors", "--corpus", dir.path("corpus.jsonl"), "--vectors", dir.path("ten.npy"), "--model",
            "acme/tiny-embedder", "--kb", dir.path("kb.sqlite"),
        ])
        #expect(other.status == 0, "\(other.stderr)")
    }

    @Test(
        "on PostgreSQL: eval reads a tenant's shared knowledge base, reindex switches it for every copy, import-vectors appends to it"
    )
    func sharedKnowledgeBases() async throws {
        let url = testSchemaURL()
        let dir = try TemporaryDirectory()
        let set = try tinySet(dir)
        #expect(try await CLIProcess.run(["migrate", "--database", url]).status == 0)
        let (node, admin) = (dir.path("node"), dir.path("admin"))
        #expect(
            try await CLIProcess.run(["tenants", "create", "acme", "--database", url, "--data", admin]).status == 0)
        let ingest = try await CLIProcess.run([
            "ingest", set + "/corpus.jsonl", "--tenant", "acme", "--database", url, "--data", node, "--embedder",
            "hashing",
        ])
        #expect(ingest.status == 0, "\(ingest.stderr)")

        // eval on the shared knowledge base (a fresh copy) equals eval on the node's own copy.
        func ndcg(_ arguments: [String]) async throws -> Double? {
            let run = try await CLIProcess.run(
                ["eval", "retrieval", "--dataset", set, "--mode", "hybrid", "--json"] + arguments)
            #expect(run.status == 0, "\(run.stderr)")
            let rows = try run.json()["rows"] as? [[String: Any]]
            return (rows?.first?["metrics"] as? [String: Any])?["ndcg_at_10"] as? Double
        }
        let shared = try await ndcg(["--database", url, "--kb-tenant", "acme", "--data", admin])
        #expect(shared != nil)
        #expect(shared == (try await ndcg(["--kb", node + "/tenants/acme/kb.sqlite"])))
        let noTenant = try await CLIProcess.run(["eval", "retrieval", "--dataset", set, "--database", url])
        #expect(noTenant.status == 64 && noTenant.stderr.contains("--kb-tenant"))

        // reindex from another machine: one change of the log, which the node's copy replays.
        let reindex = try await CLIProcess.run([
            "reindex", "--tenant", "acme", "--database", url, "--data", admin, "--embedder", "minilm", "--json",
        ])
        #expect(reindex.status == 0, "\(reindex.stderr)")
        #expect(try reindex.json()["previous_model"] as? String == "hashing-v1-384")
        let stats = try await CLIProcess.run(["stats", "--tenant", "acme", "--database", url, "--data", node, "--json"])
        #expect(stats.status == 0, "\(stats.stderr)")
        #expect(stats.stdout.contains("all-MiniLM-L6-v2"), "\(stats.stdout)")
        // Moved to one SQLite node, the knowledge base arrives as it is now: switched, whole.
        let export = try await CLIProcess.run([
            "export", "--tenant", "acme", "--database", url, "--to", dir.path("acme-export"), "--data", admin,
        ])
        #expect(export.status == 0, "\(export.stderr)")
        #expect(
            try await CLIProcess.run(["import", "--from", dir.path("acme-export"), "--data", dir.path("single")]).status
                == 0)
        let single = try await CLIProcess.run(["stats", "--tenant", "acme", "--data", dir.path("single"), "--json"])
        #expect(single.stdout.contains("all-MiniLM-L6-v2"), "\(single.stdout)\(single.stderr)")
        #expect(try single.json()["documents"] as? Int == 5)
        // A change of the old model after the switch is refused, nothing appended.
        try dir.write("v.npy", twoVectors())
        try dir.write(
            "c/corpus.jsonl",
            Data(
                "{\"_id\": \"a\", \"title\": \"A\", \"text\": \"first\"}\n{\"_id\": \"b\", \"title\": \"B\", \"text\": \"second\"}\n"
                    .utf8))
        let imported = [
            "import-vectors", "--corpus", dir.path("c/corpus.jsonl"), "--vectors", dir.path("v.npy"), "--model",
            "hashing", "--database", url, "--data", admin,
        ]
        let refused = try await CLIProcess.run(imported + ["--tenant", "acme"])
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("uses embedding model"), "\(refused.stderr)")
        // Into a tenant with no knowledge base yet: every machine's copy gets it.
        let accepted = try await CLIProcess.run(imported + ["--tenant", "beta", "--json"])
        #expect(accepted.status == 0, "\(accepted.stderr)")
        #expect(try accepted.json()["documents"] as? Int == 2)
        let search = try await CLIProcess.run([
            "search", "second", "--tenant", "beta", "--database", url, "--data", node, "--mode", "keyword", "--json",
        ])
        #expect(search.status == 0, "\(search.stderr)")
        #expect(search.stdout.contains("\"b\""), "\(search.stdout)")
        // compact: one snapshot change; a machine with nothing yet starts from it.
        let compact = try await CLIProcess.run([
            "compact", "--tenant", "beta", "--database", url, "--data", admin, "--json",
        ])
        #expect(compact.status == 0, "\(compact.stderr)")
        let snapshot = try compact.json()
        #expect(snapshot["version"] as? Int == 2 && snapshot["base_version"] as? Int == 1)
        #expect(snapshot["documents"] as? Int == 2)
        let fresh = try await CLIProcess.run([
            "search", "second", "--tenant", "beta", "--database", url, "--data", dir.path("fresh"), "--mode", "keyword",
            "--json",
        ])
        #expect(fresh.status == 0 && fresh.stdout.contains("\"b\""), "\(fresh.stdout)\(fresh.stderr)")
        let local = try await CLIProcess.run(["compact", "--tenant", "beta", "--data", admin])
        #expect(local.status == 64 && local.stderr.contains("--database"))
    }

    @Test("import-vectors stores a .npy matrix with its corpus, and search finds the rows")
    func importVectors() async throws {
        let dir = try TemporaryDirectory()
        let npy = twoVectors()
        try dir.write("v.npy", npy)
        try dir.write(
            "c/corpus.jsonl",
            Data(
                "{\"_id\": \"a\", \"title\": \"A\", \"text\": \"first\"}\n{\"_id\": \"b\", \"title\": \"B\", \"text\": \"second\"}\n"
                    .utf8))
        let kb = dir.path("kb.sqlite")
        let result = try await CLIProcess.run([
            "import-vectors", "--corpus", dir.path("c/corpus.jsonl"), "--vectors", dir.path("v.npy"), "--model",
            "hashing",
            "--kb", kb, "--vector-encoding", "int8", "--json",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        let summary = try result.json()
        #expect(summary["documents"] as? Int == 2)
        #expect(summary["vectors"] as? Int == 2)
        #expect(summary["rows_per_second"] is Double)
        let search = try await CLIProcess.run(["search", "second", "--kb", kb, "--mode", "keyword", "--json"])
        #expect(search.status == 0, "\(search.stderr)")

        try dir.write("short.npy", npy.prefix(npy.count - 4))
        let bad = try await CLIProcess.run([
            "import-vectors", "--corpus", dir.path("c/corpus.jsonl"), "--vectors", dir.path("short.npy"), "--kb", kb,
        ])
        #expect(bad.status == 2)
        #expect(bad.stderr.contains("data bytes"))
    }
}
