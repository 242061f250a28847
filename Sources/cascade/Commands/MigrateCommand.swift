import ArgumentParser
import Foundation
import PostgresStorage

/// `cascade migrate --database postgres://…`: creates or upgrades the PostgreSQL schema several
/// nodes share. Safe to run from several nodes at once (one waits for the other); refuses a
/// database whose schema a newer cascade wrote.
struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Create or upgrade the PostgreSQL schema of a shared database (refuses a newer one).",
        discussion: """
            The SQLite files of the embedded default migrate themselves when opened; this command is
            for the PostgreSQL database several `cascade serve` nodes share. Run it once before
            starting nodes on a new or upgraded database.
            """
    )

    @Option(help: "The shared database: postgres://user[:password]@host[:port]/database")
    var database: String

    @Flag(help: "Print as JSON.")
    var json = false

    struct Output: Encodable {
        var database: String
        var from_version: Int
        var to_version: Int
        var changed: Bool
    }

    func run() async throws {
        try await runReportingErrors {
            let url: PostgresURL
            do {
                url = try PostgresURL(database)
            } catch {
                throw ValidationError("--database: \(error)")
            }
            let (from, to) = try await PostgresDatabase.with(url) { database in try await database.migrate() }
            let output = Output(database: url.description, from_version: from, to_version: to, changed: from != to)
            if json {
                try Terminal.printJSON(output)
            } else if from == to {
                print("\(url): schema already at version \(to); nothing to do")
            } else {
                print("\(url): schema migrated from version \(from) to \(to)")
            }
        }
    }
}
