import ArgumentParser
import Cascade
import Embeddings
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
    @OptionGroup var databaseOption: DatabaseOption

    func validate() throws {
        try TenantNameValidation.check(tenant)
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
        /// How the store's model computes: `f32 (BLAS sgemm)`, `int8 (AMX)`, `int8 (AVX-512 VNNI)`,
        /// `int8 (portable loop)`; null for other models.
        var encoder: String?

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(path, forKey: .path)
            try c.encode(documents, forKey: .documents)
            try c.encode(chunks, forKey: .chunks)
            try c.encode(vectors, forKey: .vectors)
            try c.encode(chunks_without_vector, forKey: .chunks_without_vector)
            try c.encode(collections, forKey: .collections)
            try c.encode(embedding_model, forKey: .embedding_model)
            try c.encode(dimension, forKey: .dimension)
            try c.encode(file_bytes, forKey: .file_bytes)
            try c.encode(text_bytes, forKey: .text_bytes)
            try c.encode(vector_bytes, forKey: .vector_bytes)
            try c.encode(schema_version, forKey: .schema_version)
            try c.encode(blas_library, forKey: .blas_library)
            try c.encode(blas, forKey: .blas)
            try c.encode(self.encoder, forKey: .encoder)
        }

        enum CodingKeys: String, CodingKey {
            case path, documents, chunks, vectors, chunks_without_vector, collections, embedding_model, dimension
            case file_bytes, text_bytes, vector_bytes, schema_version, blas_library, blas, encoder
        }
    }

    static func encoderPath(model: String?) -> String? {
        switch model {
        case MiniLMEmbedder.defaultModelID: "f32 (BLAS sgemm)"
        case MiniLMEmbedder.int8ModelID: "int8 (\(BertEncoder.int8Path.rawValue))"
        default: nil
        }
    }

    func run() async throws {
        try await runReportingErrors {
            try await databaseOption.refreshSharedCopy(
                tenant: tenant, explicitKB: store.explicitPath, data: dataOption.directory)
            guard FileManager.default.fileExists(atPath: kbPath) else {
                throw StoreError.cannotOpen(
                    path: kbPath, reason: "no such file; create it with `cascade ingest <folder> --kb \(kbPath)`")
            }
            let stats = try KnowledgeBaseStore(existingAt: kbPath).stats()
            let output = Output(
                path: kbPath, documents: stats.documents, chunks: stats.chunks, vectors: stats.vectors,
                chunks_without_vector: stats.chunksWithoutVector, collections: stats.collections,
                embedding_model: stats.embeddingModel, dimension: stats.dimension, file_bytes: stats.fileBytes,
                text_bytes: stats.textBytes, vector_bytes: stats.vectorBytes, schema_version: stats.schemaVersion,
                blas_library: BLASLibrary.loadedPath, blas: BLASLibrary.summary,
                encoder: Self.encoderPath(model: stats.embeddingModel))
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
            if let path = output.encoder { print("  encoder       \(path)") }
        }
    }
}
