import ArgumentParser
import Foundation
import Metering
import PostgresStorage

/// `--database postgres://…`: the shared PostgreSQL database of several nodes, as an alternative
/// to the SQLite ledger file. Only on the commands that support it so far (`serve`, `report`,
/// `invoice`, `simulate`, `ledger show|verify|reopen|void`, `migrate`), so no command silently
/// ignores it.
struct DatabaseOption: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "Use the shared PostgreSQL database instead of the SQLite ledger file.",
            valueName: "postgres://user[:password]@host[:port]/database"))
    var database: String?

    func url() throws -> PostgresURL? {
        guard let database else { return nil }
        do {
            return try PostgresURL(database)
        } catch {
            throw ValidationError("--database: \(error)")
        }
    }

    /// Runs `body` with the ledger these options name: the PostgreSQL one with `--database`,
    /// else the existing SQLite file.
    func withLedger<Result: Sendable>(
        _ ledgerOption: LedgerOption, _ body: @Sendable (any LedgerStore) async throws -> Result
    ) async throws -> Result {
        if let url = try url() {
            if ledgerOption.explicitPath != nil {
                throw ValidationError("--database and --ledger name two different ledgers: give one")
            }
            return try await PostgresDatabase.with(url) { database in
                try await body(try await PostgresLedger(database: database))
            }
        }
        return try await body(try ledgerOption.openExisting())
    }
}
