import Foundation
import Testing

/// `cascade migrate --database`: creates the shared PostgreSQL schema, then finds nothing to do;
/// a bad URL is one actionable line and exit status 64. Uses the server `tools/postgres` starts
/// (`CASCADE_TEST_DATABASE_URL`), in a schema of its own.
@Suite("cascade migrate")
struct MigrateCLITests {
    @Test("creates the schema once, then reports nothing to do, as JSON with every field")
    func createsThenIdles() async throws {
        let url = testSchemaURL()
        let first = try await CLIProcess.run(["migrate", "--database", url, "--json"])
        #expect(first.status == 0, "\(first.stderr)")
        let created = try JSONSerialization.jsonObject(with: Data(first.stdout.utf8)) as? [String: Any]
        #expect(created?["from_version"] as? Int == 0)
        #expect(created?["changed"] as? Bool == true)
        let target = created?["to_version"] as? Int ?? -1
        #expect(target >= 1)
        #expect((created?["database"] as? String)?.contains("cascade:") == false, "the password is not printed")

        let again = try await CLIProcess.run(["migrate", "--database", url])
        #expect(again.status == 0)
        #expect(again.stdout.contains("already at version \(target)"))
    }

    @Test("ledger show, verify and void take --database; --database with --ledger is refused")
    func ledgerCommandsOnPostgres() async throws {
        let url = testSchemaURL()
        #expect(try await CLIProcess.run(["migrate", "--database", url]).status == 0)

        let show = try await CLIProcess.run(["ledger", "show", "--database", url])
        #expect(show.status == 0, "\(show.stderr)")
        #expect(show.stdout.contains("no ledger rows"))
        let verify = try await CLIProcess.run(["ledger", "verify", "--database", url, "--json"])
        #expect(verify.status == 0, "\(verify.stderr)")
        let result = try verify.json()
        #expect(result["ok"] as? Bool == true)
        #expect(result["rows"] as? Int == 0)
        #expect(result.keys.contains("first_broken_sequence"), "nulls are written")

        let void = try await CLIProcess.run(["ledger", "void", "q-unknown", "--reason", "test", "--database", url])
        #expect(void.status == 2)
        #expect(void.stderr.contains("q-unknown"))
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("ledger-\(UUID()).sqlite").path
        let both = try await CLIProcess.run(["ledger", "show", "--database", url, "--ledger", file])
        #expect(both.status == 64)
        #expect(!FileManager.default.fileExists(atPath: file), "no read creates a file")
    }

    @Test("a URL that is not a PostgreSQL URL is one line on stderr and exit status 64")
    func badURL() async throws {
        let result = try await CLIProcess.run(["migrate", "--database", "mysql://root:hunter2@localhost/db"])
        #expect(result.status == 64)
        #expect(result.stderr.contains("postgres://"))
        #expect(!result.stderr.contains("hunter2"))
        #expect(result.stderr.split(separator: "\n").count == 1)
    }

    @Test("tenants, keys and billing commands take --database: nothing is written to the data folder")
    func controlPlaneOnPostgres() async throws {
        let url = testSchemaURL()
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("data-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: data) }
        #expect(try await CLIProcess.run(["migrate", "--database", url]).status == 0)

        let create = try await CLIProcess.run(
            ["tenants", "create", "acme", "--plan", "pro", "--database", url, "--data", data, "--json"])
        #expect(create.status == 0, "\(create.stderr)")
        #expect(try create.json()["plan"] as? String == "pro")
        let again = try await CLIProcess.run(["tenants", "create", "acme", "--database", url, "--data", data])
        #expect(again.status != 0 && again.stderr.contains("already exists"))

        let key = try await CLIProcess.run(
            ["keys", "create", "--tenant", "acme", "--scope", "admin", "--database", url, "--data", data, "--json"])
        #expect(key.status == 0, "\(key.stderr)")
        let keyID = try key.json()["key_id"] as? String ?? ""
        let list = try await CLIProcess.run(["keys", "list", "--tenant", "acme", "--database", url, "--data", data])
        #expect(list.stdout.contains(keyID))
        let revoke = try await CLIProcess.run(["keys", "revoke", keyID, "--database", url, "--data", data, "--json"])
        #expect(revoke.status == 0, "\(revoke.stderr)")
        #expect(try revoke.json()["revoked_at"] is String)

        let tenants = try await CLIProcess.run(["tenants", "list", "--database", url, "--data", data])
        #expect(tenants.stdout.hasPrefix("acme\t"))
        let set = try await CLIProcess.run(
            ["tenants", "set", "acme", "--plan", "team", "--database", url, "--data", data, "--json"])
        #expect(set.status == 0, "\(set.stderr)")
        let show = try await CLIProcess.run(["tenants", "show", "acme", "--database", url, "--data", data, "--json"])
        #expect((try show.json()["history"] as? [Any])?.count == 2)
        let report = try await CLIProcess.run([
            "report", "--tenant", "acme", "--database", url, "--data", data, "--json",
        ])
        #expect(report.status == 0, "\(report.stderr)")
        #expect(try report.json()["queries"] as? Int == 0)
        #expect(!FileManager.default.fileExists(atPath: data), "the data folder was never needed")
    }
}
