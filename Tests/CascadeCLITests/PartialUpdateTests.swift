import Foundation
import Testing

@Suite("settings change only where a flag is given", .serialized)
struct PartialUpdateTests {
    @Test("tenants set --plan keeps the tenant's time zone, billing mode and reopen window")
    func planChangeKeepsTheRest() async throws {
        let dir = try TemporaryDirectory()
        let ledger = dir.path("ledger.sqlite")
        let first = try await CLIProcess.run([
            "tenants", "set", "t", "--plan", "pro", "--billing", "both", "--timezone", "Europe/Berlin",
            "--reopen-window", "24", "--ledger", ledger,
        ])
        #expect(first.status == 0, "\(first.stderr)")
        let second = try await CLIProcess.run(["tenants", "set", "t", "--plan", "team", "--ledger", ledger, "--json"])
        #expect(second.status == 0, "\(second.stderr)")
        let setting = try second.json()
        #expect(setting["plan"] as? String == "team")
        #expect(setting["billing"] as? String == "both")
        #expect(setting["timezone"] as? String == "Europe/Berlin")
        #expect(setting["reopen_window_hours"] as? Int == 24)
        let none = try await CLIProcess.run(["tenants", "set", "fresh", "--ledger", ledger])
        #expect(none.status != 0)
        #expect(none.stderr.contains("--plan"))
    }

    @Test("--version prints the version; ask with a mistyped --kb fails instead of escalating everything")
    func versionAndMistypedKB() async throws {
        let version = try await CLIProcess.run(["--version"])
        #expect(version.status == 0)
        #expect(version.stdout.contains("cascade"))
        let dir = try TemporaryDirectory()
        let ask = try await CLIProcess.run([
            "ask", "how do I enable wal", "--tenant", "acme", "--kb", dir.path("typo.sqlite"), "--ledger",
            dir.path("ledger.sqlite"),
        ])
        #expect(ask.status == 2)
        #expect(ask.stderr.contains("typo.sqlite"))
        #expect(!FileManager.default.fileExists(atPath: dir.path("typo.sqlite")))
    }
}
