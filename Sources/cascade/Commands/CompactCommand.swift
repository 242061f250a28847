import ArgumentParser
import Cascade
import Foundation
import KnowledgeBase

struct CompactCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compact",
        abstract: "Snapshot a tenant's shared knowledge base into its log, so new nodes start from it.",
        discussion: """
            Several nodes share a knowledge base as a log of changes in PostgreSQL; a node with an empty data \
            folder replays it from the first change. This appends one change holding the whole knowledge base \
            as it is now (documents, chunks, vectors): a node with nothing yet loads the newest snapshot and \
            replays only what came after it; nodes that are up to date only note its version. The changes \
            before it stay in the log (it is append-only). Refused, with nothing written, if another node \
            changes the knowledge base meanwhile: run it again.
            """
    )

    @Option(help: "The tenant whose shared knowledge base to snapshot.") var tenant: String
    @OptionGroup var dataOption: DataOption
    @OptionGroup var databaseOption: DatabaseOption
    @Flag(help: "Print JSON.") var json = false

    func validate() throws {
        try TenantNameValidation.check(tenant)
        if databaseOption.database == nil {
            throw ValidationError("compact works on a shared knowledge base: give --database")
        }
    }

    struct Output: Encodable {
        var tenant: String
        var version: Int64
        var baseVersion: Int64
        var documents: Int
        var chunks: Int
        enum CodingKeys: String, CodingKey {
            case tenant, version, documents, chunks
            case baseVersion = "base_version"
        }
    }

    func run() async throws {
        try await runReportingErrors {
            let data = dataOption.directory
            try await databaseOption.refreshSharedCopy(tenant: tenant, explicitKB: nil, data: data)
            let copy = try KnowledgeBaseStore(path: try data.knowledgeBasePath(tenant: tenant))
            let tenant = self.tenant
            let output = try await databaseOption.withShared { _, log in
                for attempt in 1...3 {
                    try await copy.replay(log, tenant: tenant)
                    guard let record = try copy.snapshotRecord() else {
                        throw StoreError.empty(path: "the shared knowledge base of \(tenant)")
                    }
                    do {
                        let version = try await log.append(tenant: tenant, record: record, now: Date())
                        try await copy.replay(log, tenant: tenant)
                        return Output(
                            tenant: tenant, version: version, baseVersion: record.baseVersion ?? 0,
                            documents: record.writes.count, chunks: record.writes.reduce(0) { $0 + $1.chunks.count })
                    } catch StoreError.changedMeanwhile where attempt < 3 {
                        continue
                    }
                }
                throw CommandError("the knowledge base of \(tenant) kept changing; run compact again")
            }
            if json {
                try Terminal.printJSON(output)
            } else {
                print(
                    "snapshot of \(tenant) appended as change \(output.version): \(output.documents) documents, \(output.chunks) chunks as of change \(output.baseVersion); new nodes replay from here"
                )
            }
        }
    }
}
