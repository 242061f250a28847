import Foundation
import GRDB
import Testing

@Suite("cascade command line", .serialized)
struct CLITests {
    let corpus = CLIProcess.repositoryRoot.appendingPathComponent("corpora/sqlite-docs").path

    func smallFolder(_ dir: TemporaryDirectory) throws -> String {
        try dir.write(
            "kb-docs/wal.md", Data("# WAL\n\nRun PRAGMA journal_mode=WAL to enable write-ahead logging.".utf8))
        try dir.write("kb-docs/backup.md", Data("# Backup\n\nUse the .backup command of the shell.".utf8))
        return dir.path("kb-docs")
    }

    @Test("what cascade creates (control store, ledger, knowledge base, secrets) only its owner can read")
    func createdFilesAreOwnerOnly() async throws {
        let dir = try TemporaryDirectory()
        let data = dir.path("data")
        try dir.write("docs/guide.md", "# Guide\n\nRun the backup command every night.\n")
        umask(0o022)  // a shell's usual umask: cascade must not depend on it
        #expect(try await CLIProcess.run(["tenants", "create", "acme", "--data", data]).status == 0)
        #expect(
            try await CLIProcess.run(["keys", "create", "--tenant", "acme", "--scope", "admin", "--data", data]).status
                == 0)
        let ingest = try await CLIProcess.run([
            "ingest", dir.path("docs"), "--tenant", "acme", "--data", data, "--embedder", "hashing",
        ])
        #expect(ingest.status == 0, "\(ingest.stderr)")
        let paths = try FileManager.default.subpathsOfDirectory(atPath: data)
        #expect(paths.count >= 3, "\(paths)")
        for path in paths {
            let attributes = try FileManager.default.attributesOfItem(atPath: data + "/" + path)
            let mode = (attributes[.posixPermissions] as? Int ?? 0o777) & 0o777
            #expect(mode & 0o077 == 0, "\(path) is \(String(mode, radix: 8))")
        }
    }

    @Test("ingest --json prints the documented summary; a second run embeds nothing")
    func ingestJSON() async throws {
        let dir = try TemporaryDirectory()
        let docs = try smallFolder(dir)
        let kb = dir.path("kb.sqlite")
        let first = try await CLIProcess.run(["ingest", docs, "--kb", kb, "--embedder", "hashing", "--json"])
        #expect(first.status == 0, "\(first.stderr)")
        let summary = try first.json()
        for key in [
            "documents_added", "documents_updated", "documents_unchanged", "documents_removed", "documents_failed",
            "chunks_embedded", "failures", "elapsed_ms",
        ] {
            #expect(summary[key] != nil, "missing \(key)")
        }
        #expect(summary["documents_added"] as? Int == 2)

        let second = try await CLIProcess.run(["ingest", docs, "--kb", kb, "--embedder", "hashing"])
        #expect(second.status == 0)
        #expect(second.stdout.contains("nothing changed"))
        #expect(second.stdout.contains("2 unchanged"))
    }

    @Test("a folder with broken files ingests the good ones, names the bad ones and exits 1")
    func partialFailure() async throws {
        let dir = try TemporaryDirectory()
        let docs = try smallFolder(dir)
        try dir.write("kb-docs/broken.txt", Data([0x66, 0x6F, 0xC3, 0x28]))
        let result = try await CLIProcess.run([
            "ingest", docs, "--kb", dir.path("kb.sqlite"), "--embedder", "hashing", "--json",
        ])
        #expect(result.status == 1)
        let summary = try result.json()
        #expect(summary["documents_added"] as? Int == 2)
        let failures = try #require(summary["failures"] as? [[String: String]])
        #expect(failures.first?["source"] == "kb-docs/broken.txt")
        #expect(failures.first?["error"]?.contains("UTF-8") == true)
    }

    @Test("search --json follows the documented shape in every mode")
    func searchJSON() async throws {
        let dir = try TemporaryDirectory()
        let kb = dir.path("kb.sqlite")
        _ = try await CLIProcess.run(["ingest", try smallFolder(dir), "--kb", kb, "--embedder", "hashing"])
        for mode in ["hybrid", "vector", "keyword"] {
            let result = try await CLIProcess.run([
                "search", "how do I enable WAL mode", "--kb", kb, "-k", "5", "--mode", mode, "--json",
            ])
            #expect(result.status == 0, "\(result.stderr)")
            let output = try result.json()
            #expect(output["query"] as? String == "how do I enable WAL mode")
            #expect(output["mode"] as? String == mode)
            #expect(output["elapsed_ms"] is Double)
            let results = try #require(output["results"] as? [[String: Any]])
            let first = try #require(results.first)
            for key in ["rank", "doc_id", "source", "chunk_id", "heading", "text", "score"] {
                #expect(first[key] != nil, "missing \(key)")
            }
            #expect(first.keys.contains("vector_score") || mode == "keyword")
            #expect(first["doc_id"] as? String == "wal.md")
        }
    }

    @Test("bad usage exits 64, a bad request exits 2, each with a message on stderr")
    func exitCodes() async throws {
        let dir = try TemporaryDirectory()
        let kb = dir.path("kb.sqlite")
        _ = try await CLIProcess.run(["ingest", try smallFolder(dir), "--kb", kb, "--embedder", "hashing"])
        let badFlag = try await CLIProcess.run(["search", "x", "--kb", kb, "--mode", "psychic"])
        #expect(badFlag.status == 64)
        #expect(badFlag.stderr.contains("psychic"))
        let empty = try await CLIProcess.run(["search", "  ", "--kb", kb])
        #expect(empty.status == 2)
        #expect(empty.stderr.contains("query is empty"))
        let missingKB = try await CLIProcess.run(["stats", "--kb", dir.path("nope.sqlite")])
        #expect(missingKB.status == 2)
        #expect(missingKB.stderr.contains("cascade ingest"))
        let missingFolder = try await CLIProcess.run(["ingest", dir.path("no-such-folder"), "--kb", kb])
        #expect(missingFolder.status == 2)
        #expect(missingFolder.stderr.contains("no such file or folder"))
    }

    @Test("stats --json names the counts, the model and the BLAS library in use")
    func statsJSON() async throws {
        let dir = try TemporaryDirectory()
        let kb = dir.path("kb.sqlite")
        _ = try await CLIProcess.run(["ingest", try smallFolder(dir), "--kb", kb, "--embedder", "hashing"])
        let stats = try await CLIProcess.run(["stats", "--kb", kb, "--json"]).json()
        #expect(stats["documents"] as? Int == 2)
        #expect(stats["embedding_model"] as? String == "hashing-v1-384")
        #expect((stats["blas"] as? String)?.isEmpty == false)
        #expect((stats["blas_library"] as? String)?.contains("blas") == true)
        #expect(stats.keys.contains("encoder") && stats["encoder"] is NSNull, "null for a model that is not MiniLM")
    }

    @Test("killing ingest at any moment leaves a consistent store, and re-running finishes the job")
    func killAndResume() async throws {
        let dir = try TemporaryDirectory()
        let kb = dir.path("kb.sqlite")
        let (process, _, stderr) = try CLIProcess.start(["ingest", corpus, "--kb", kb, "--embedder", "hashing"])
        // Wait until some documents are committed, then kill -9 mid-run.
        var committed = 0
        let deadline = Date().addingTimeInterval(120)
        while committed < 10, Date() < deadline, process.isRunning {
            try await Task.sleep(for: .milliseconds(20))
            // Read only once the store is set up (its WAL file exists): opening a file that the
            // CLI is still switching to WAL would race with that switch.
            if FileManager.default.fileExists(atPath: kb + "-wal"),
                let queue = try? DatabaseQueue(path: kb),
                let count = try? await queue.read({ try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM document") })
            {
                committed = count ?? 0
            }
        }
        if !process.isRunning {
            let message = String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            Issue.record("ingest finished before it could be interrupted: \(message)")
            return
        }
        kill(process.processIdentifier, SIGKILL)
        await process.exited()

        let interrupted = try DatabaseQueue(path: kb)
        let before = try await interrupted.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM document") ?? 0
        }
        #expect(before >= 10)
        #expect(try consistencyProblems(interrupted).isEmpty)
        try interrupted.close()

        let resumed = try await CLIProcess.run(["ingest", corpus, "--kb", kb, "--json"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        let summary = try resumed.json()
        let unchanged = summary["documents_unchanged"] as? Int ?? -1
        let added = summary["documents_added"] as? Int ?? -1
        #expect(unchanged >= before - 1, "documents committed before the kill must not be redone")
        let final = try DatabaseQueue(path: kb)
        #expect(try consistencyProblems(final).isEmpty)
        let total = try await final.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM document") ?? 0 }
        #expect(total == unchanged + added)
        let pages = try FileManager.default.subpathsOfDirectory(atPath: corpus).filter { $0.hasSuffix(".html") }.count
        #expect(total == pages)
    }

    @Test("embed prints the vector; a knowledge base can be re-embedded with another model and keeps working")
    func embedAndReindex() async throws {
        let dir = try TemporaryDirectory()
        let kb = dir.path("kb.sqlite")
        let hashing = try await CLIProcess.run(["embed", "some text", "--embedder", "hashing", "--json"]).json()
        #expect(hashing["model"] as? String == "hashing-v1-384")
        #expect((hashing["vector"] as? [Double])?.count == 384)
        let plain = try await CLIProcess.run(["embed", "some text", "--embedder", "hashing"])
        #expect(plain.stdout.split(separator: " ").count == 384)
        let unknown = try await CLIProcess.run(["embed", "x", "--embedder", "word2vec"])
        #expect(unknown.status == 2)
        #expect(unknown.stderr.contains("minilm, minilm-int8, hashing"))

        _ = try await CLIProcess.run(["ingest", try smallFolder(dir), "--kb", kb, "--embedder", "hashing"])
        let reindex = try await CLIProcess.run(["reindex", "--kb", kb, "--embedder", "hashing", "--json"])
        #expect(reindex.status == 0, "\(reindex.stderr)")
        #expect(try reindex.json()["chunks_embedded"] as? Int == 0, "same model: nothing to embed")
    }

    func consistencyProblems(_ db: DatabaseQueue) throws -> [String] {
        try knowledgeBaseConsistencyProblems(db)
    }
}
