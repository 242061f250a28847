import ArgumentParser
import Foundation
import Server

/// `cascade import`: a folder written by `cascade export`, into stores that do not have the tenant.
struct ImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract:
            "Read a tenant exported by `cascade export` into the SQLite files (--data) or PostgreSQL (--database).",
        discussion: """
            Everything is checked first (each file's SHA-256, every ledger row's own hash, every vector); \\
            nothing is written into stores that already have the tenant. Ledger rows are re-chained in the \\
            target with their contents unchanged.
            """)

    @Option(help: "The folder `cascade export` wrote.") var from: String
    @OptionGroup var ledgerOption: LedgerOption
    @OptionGroup var databaseOption: DatabaseOption
    @Flag(help: "Print the manifest as JSON.") var json = false

    func run() async throws {
        try await runReportingErrors {
            // Read and checked in full before any store is opened (or created).
            let contents = try TenantArchive.read(from: from)
            let manifest = try await databaseOption.withStores(ledgerOption, create: true) { stores in
                try await TenantArchive.write(contents, into: stores)
            }
            if json { try Terminal.printJSON(manifest); return }
            print(
                "imported \(manifest.tenant): \(manifest.ledgerRows) ledger rows, \(manifest.billingChanges) billing changes, \(manifest.finalInvoices) final invoices, \(manifest.keys) keys, \(manifest.documents) documents"
            )
        }
    }
}
