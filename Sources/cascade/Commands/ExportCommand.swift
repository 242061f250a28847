import ArgumentParser
import Foundation
import Server

/// `cascade export`: one tenant into a folder, from the SQLite files or PostgreSQL.
struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write one tenant (record, keys, ledger, billing, final invoices, knowledge base) into a folder.",
        discussion: """
            The folder is what `cascade import` reads, to move a tenant between the SQLite default (--data) \\
            and PostgreSQL (--database). manifest.json lists every file with its SHA-256. Keys are exported \\
            as hashes: they keep working after the move.
            """)

    @Option(help: "The tenant to export.") var tenant: String
    @Option(help: "A new or empty folder to write into.") var to: String
    @OptionGroup var ledgerOption: LedgerOption
    @OptionGroup var databaseOption: DatabaseOption
    @Flag(help: "Print the manifest as JSON.") var json = false

    func run() async throws {
        try await runReportingErrors {
            let manifest = try await databaseOption.withStores(ledgerOption, create: false) { stores in
                try await TenantArchive.export(tenant: tenant, from: stores, to: to)
            }
            if json { try Terminal.printJSON(manifest); return }
            print(
                "exported \(manifest.tenant) to \(to): \(manifest.ledgerRows) ledger rows, \(manifest.billingChanges) billing changes, \(manifest.finalInvoices) final invoices, \(manifest.keys) keys, \(manifest.documents) documents"
            )
        }
    }
}
