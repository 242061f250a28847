import ArgumentParser
import Cascade
import Foundation
import KnowledgeBase
import Metering
import PostgresStorage
import Server

/// `--database postgres://…`: the shared PostgreSQL database of several nodes, as an alternative
/// to the SQLite files (ledger, tenants and keys). Only on the commands that support it so far
/// (`serve`, `tenants`, `keys`, `report`, `invoice`, `simulate`, `ledger show|verify|reopen|void`,
/// `migrate`), so no command silently ignores it.
struct DatabaseOption: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "Use the shared PostgreSQL database (ledger, tenants, keys) instead of the SQLite files.",
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
    /// else the SQLite file (which must exist unless `create`).
    func withLedger<Result: Sendable>(
        _ ledgerOption: LedgerOption, create: Bool = false, _ body: @Sendable (any LedgerStore) async throws -> Result
    ) async throws -> Result {
        try await withControlAndLedger(ledgerOption, createControl: false, createLedger: create, control: false) {
            _, ledger in try await body(ledger)
        }
    }

    /// Runs `body` with the tenants and keys: PostgreSQL's with `--database`, else
    /// `<data>/control.sqlite` (which must exist unless `create`).
    func withControl<Result: Sendable>(
        data: DataDirectory, create: Bool, _ body: @Sendable (any ControlStoring) async throws -> Result
    ) async throws -> Result {
        if let url = try url() {
            return try await PostgresDatabase.with(url) { database in
                try await body(try await PostgresControlStore(database: database))
            }
        }
        return try await body(try ControlStore(path: data.controlPath, create: create))
    }

    /// Runs `body` with the control plane and the ledger, both from PostgreSQL with `--database`
    /// (one connection pool), else from the SQLite files.
    func withControlAndLedger<Result: Sendable>(
        _ ledgerOption: LedgerOption, createControl: Bool, createLedger: Bool, control: Bool = true,
        _ body: @Sendable ((any ControlStoring)?, any LedgerStore) async throws -> Result
    ) async throws -> Result {
        if let url = try url() {
            if ledgerOption.explicitPath != nil {
                throw ValidationError("--database and --ledger name two different ledgers: give one")
            }
            return try await PostgresDatabase.with(url) { database in
                let ledger = try await PostgresLedger(database: database)
                return try await body(control ? try await PostgresControlStore(database: database) : nil, ledger)
            }
        }
        let controlStore = try control ? ControlStore(path: ledgerOption.data.controlPath, create: createControl) : nil
        let ledger = try createLedger ? Ledger(path: ledgerOption.ledger) : ledgerOption.openExisting()
        return try await body(controlStore, ledger)
    }

    /// Runs `body` with every store of a tenant (control plane, ledger, knowledge bases):
    /// PostgreSQL's with `--database`, else the SQLite files under `--data` (created only when
    /// `create`: an export reads, an import writes).
    func withStores<Result: Sendable>(
        _ ledgerOption: LedgerOption, create: Bool, _ body: @Sendable (TenantArchive.Stores) async throws -> Result
    ) async throws -> Result {
        if let url = try url() {
            if ledgerOption.explicitPath != nil {
                throw ValidationError("--database and --ledger name two different ledgers: give one")
            }
            return try await PostgresDatabase.with(url) { database in
                try await body(
                    TenantArchive.Stores(
                        control: try await PostgresControlStore(database: database),
                        ledger: try await PostgresLedger(database: database),
                        knowledge: .shared(try await PostgresKnowledgeLog(database: database))))
            }
        }
        let data = ledgerOption.data
        let ledger = try create ? Ledger(path: ledgerOption.ledger) : ledgerOption.openExisting()
        return try await body(
            TenantArchive.Stores(
                control: try ControlStore(path: data.controlPath, create: create), ledger: ledger,
                knowledge: .local(data)))
    }

    /// Runs `body` with the shared ledger and knowledge-base log (`--database` must be given).
    func withShared<Result: Sendable>(
        ledger explicitLedger: String? = nil,
        _ body: @Sendable (any LedgerStore, any KnowledgeBaseLog) async throws -> Result
    ) async throws -> Result {
        guard let url = try url() else { throw ValidationError("--database is required here") }
        if explicitLedger != nil {
            throw ValidationError("--database and --ledger name two different ledgers: give one")
        }
        return try await PostgresDatabase.with(url) { database in
            try await body(
                try await PostgresLedger(database: database), try await PostgresKnowledgeLog(database: database))
        }
    }

    /// With `--database`: brings this machine's copy of `tenant`'s shared knowledge base
    /// (`<data>/tenants/<tenant>/kb.sqlite`) up to the log, for commands that read a knowledge
    /// base file. Without `--database`: nothing.
    func refreshSharedCopy(tenant: String?, explicitKB: String?, data: DataDirectory) async throws {
        guard database != nil else { return }
        guard let tenant, explicitKB == nil else {
            throw ValidationError("--database reads a tenant's shared knowledge base: give --tenant, not --kb")
        }
        let path = try data.knowledgeBasePath(tenant: tenant)
        try await withShared { _, log in
            guard try await !log.entries(tenant: tenant, after: 0, limit: 1).isEmpty else {
                throw StoreError.empty(path: "the shared knowledge base of \(tenant)")
            }
            try FileManager.default.createDirectory(
                atPath: try data.tenantDirectory(tenant), withIntermediateDirectories: true)
            try await KnowledgeBaseStore(path: path).replay(log, tenant: tenant)
        }
    }
}
