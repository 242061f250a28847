import Foundation
import Testing

/// A typo never creates a file: only commands that write may create a store, and only once their
/// input validated. Every refusal is one line on stderr naming the path, exit status 2.
@Suite("no store is created by a read or a failed write", .serialized)
struct NoCreateOnReadTests {
    static func npy(rows: [[Float]]) -> Data {
        let dimension = rows.first?.count ?? 0
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': (\(rows.count), \(dimension)), }"
        while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
        header += "\n"
        var data = Data([0x93]) + Data("NUMPY".utf8) + Data([1, 0])
        data.append(UInt8(header.utf8.count & 0xFF))
        data.append(UInt8(header.utf8.count >> 8))
        data += Data(header.utf8)
        for row in rows { for value in row { withUnsafeBytes(of: value.bitPattern.littleEndian) { data += $0 } } }
        return data
    }

    @Test("reads of a mistyped knowledge base or ledger fail and create nothing")
    func readsCreateNothing() async throws {
        let dir = try TemporaryDirectory()
        let commands: [[String]] = [
            ["search", "wal", "--kb", dir.path("nope/kb.sqlite")],
            ["search", "wal", "--tenant", "ghost", "--data", dir.path("nope")],
            ["stats", "--kb", dir.path("nope/kb.sqlite")],
            ["ledger", "show", "--ledger", dir.path("nope/ledger.sqlite")],
            ["ledger", "verify", "--ledger", dir.path("nope/ledger.sqlite")],
            ["escalations", "list", "--ledger", dir.path("nope/ledger.sqlite")],
            ["escalations", "resolve", "q1", "--answer", "x", "--ledger", dir.path("nope/ledger.sqlite")],
            ["tenants", "show", "acme", "--ledger", dir.path("nope/ledger.sqlite")],
            ["ledger", "void", "q1", "--reason", "x", "--ledger", dir.path("nope/ledger.sqlite")],
            ["report", "--tenant", "acme", "--data", dir.path("nope")],
            ["keys", "list", "--tenant", "acme", "--data", dir.path("nope")],
            ["tenants", "list", "--data", dir.path("nope")],
        ]
        for command in commands {
            let result = try await CLIProcess.run(command)
            #expect(result.status == 2, "\(command.joined(separator: " ")): \(result.stderr)")
            #expect(
                result.stderr.contains("nope"), "\(command.joined(separator: " ")) names the path: \(result.stderr)")
            #expect(!FileManager.default.fileExists(atPath: dir.path("nope")), "\(command.joined(separator: " "))")
        }
    }

    @Test("reads of an empty file refuse it and leave it empty (no schema written into it)")
    func readsOfAnEmptyFileWriteNothing() async throws {
        let dir = try TemporaryDirectory()
        try dir.write("empty.sqlite", Data())
        let kb = dir.path("empty.sqlite")
        for command in [
            ["search", "wal", "--kb", kb], ["search", "wal", "--kb", kb, "--mode", "keyword"], ["stats", "--kb", kb],
            ["ask", "how do I vacuum", "--tenant", "t", "--kb", kb, "--ledger", dir.path("l.sqlite")],
        ] {
            let result = try await CLIProcess.run(command)
            #expect(result.status == 2, "\(command.joined(separator: " ")): \(result.stderr)")
            #expect(result.stderr.contains("empty"), "\(result.stderr)")
            let size = try FileManager.default.attributesOfItem(atPath: kb)[.size] as? NSNumber
            #expect(size?.intValue == 0, "\(command.joined(separator: " ")) wrote into the file")
            #expect(!FileManager.default.fileExists(atPath: kb + "-wal"))
        }
    }

    @Test("ingest of a missing folder and a failed import-vectors leave no store behind")
    func failedWritesCreateNothing() async throws {
        let dir = try TemporaryDirectory()
        let ingest = try await CLIProcess.run(["ingest", dir.path("missing"), "--kb", dir.path("kb.sqlite")])
        #expect(ingest.status == 2)
        #expect(!FileManager.default.fileExists(atPath: dir.path("kb.sqlite")))

        try dir.write("corpus.jsonl", Data("{\"_id\":\"a\",\"text\":\"one\"}\n{\"_id\":\"b\",\"text\":\"two\"}\n".utf8))
        try dir.write("nan.npy", Self.npy(rows: [[1, 0, 0], [0, .nan, 0]]))
        try dir.write("inf.npy", Self.npy(rows: [[.infinity, 0, 0], [0, 1, 0]]))
        for (file, row) in [("nan.npy", "row 1"), ("inf.npy", "row 0"), ("absent.npy", "absent.npy")] {
            let result = try await CLIProcess.run([
                "import-vectors", "--corpus", dir.path("corpus.jsonl"), "--vectors", dir.path(file), "--model", "m",
                "--kb", dir.path("imported.sqlite"),
            ])
            #expect(result.status == 2, "\(file)")
            #expect(result.stderr.contains(row), "\(file): \(result.stderr)")
            #expect(!FileManager.default.fileExists(atPath: dir.path("imported.sqlite")), "\(file)")
        }
        try dir.write("good.npy", Self.npy(rows: [[1, 0, 0], [0, 1, 0]]))
        let good = try await CLIProcess.run([
            "import-vectors", "--corpus", dir.path("corpus.jsonl"), "--vectors", dir.path("good.npy"), "--model", "m",
            "--kb", dir.path("imported.sqlite"),
        ])
        #expect(good.status == 0, "\(good.stderr)")
    }
}
