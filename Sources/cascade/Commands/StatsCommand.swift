import ArgumentParser
import Cascade
import Foundation
import KnowledgeBase
import VectorSearch

struct StatsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats",
        abstract: "Show what a knowledge base holds: documents, chunks, vectors, model, sizes, BLAS."
    )

    @OptionGroup var store: KnowledgeBaseOption

    @Option(help: "Use this tenant's knowledge base (<data>/tenants/<tenant>/kb.sqlite).")
    var tenant: String?

    @OptionGroup var dataOption: DataOption

    func validate() throws {
        if let tenant, (try? TenantConfiguration.validatedName(tenant)) == nil {
            throw ValidationError("--tenant: letters, digits, '-', '_' and '.' only (at most 64)")
        }
    }

    /// The knowledge base file these options name.
    var kbPath: String { (try? store.path(tenant: tenant, data: dataOption.directory)) ?? "" }

    @Flag(help: "Print as JSON.")
    var json = false

    struct Output: Encodable {
        var path: String
        var documents: Int
        var chunks: Int
        var vectors: Int
        var chunks_without_vector: Int
        var collections: [String]
        var embedding_model: String?
        var dimension: Int?
        var file_bytes: Int64
        var text_bytes: Int64
        var vector_bytes: Int64
        var schema_version: String
        var blas_library: String?
        var blas: String
    }

    func run() async throws {
        try await runReportingErrors {
            guard FileManager.default.fileExists(atPath: kbPath) else {
                throw StoreError.cannotOpen(
                    path: kbPath, reason: "no such file; create it with `cascade ingest <folder> --kb \(kbPath)`")
            }
            let stats = try KnowledgeBaseStore(path: kbPath).stats()
            let output = Output(
                path: kbPath, documents: stats.documents, chunks: stats.chunks, vectors: stats.vectors,
                chunks_without_vector: stats.chunksWithoutVector, collections: stats.collections,
                embedding_model: stats.embeddingModel, dimension: stats.dimension, file_bytes: stats.fileBytes,
                text_bytes: stats.textBytes, vector_bytes: stats.vectorBytes, schema_version: stats.schemaVersion,
                blas_library: BLASLibrary.loadedPath, blas: BLASLibrary.summary)
            if json {
                try Terminal.printJSON(output)
                return
            }
            func mb(_ bytes: Int64) -> String { String(format: "%.2f MB", Double(bytes) / 1_048_576) }
            print(
                """
                Knowledge base  \(kbPath)
                  documents     \(stats.documents)  (collections: \(stats.collections.joined(separator: ", ")))
                  chunks        \(stats.chunks)
                  vectors       \(stats.vectors)\(stats.chunksWithoutVector > 0 ? "  (\(stats.chunksWithoutVector) chunks still need a vector: run reindex)" : "")
                  model         \(stats.embeddingModel ?? "none yet")\(stats.dimension.map { " (\($0) dimensions)" } ?? "")
                  file size     \(mb(stats.fileBytes))  (text \(mb(stats.textBytes)), vectors \(mb(stats.vectorBytes)))
                  schema        \(stats.schemaVersion)
                  BLAS          \(BLASLibrary.summary)
                """)
        }
    }
}
