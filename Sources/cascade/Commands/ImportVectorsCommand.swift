import ArgumentParser
import Cascade
import Embeddings
import Foundation
import KnowledgeBase
import VectorSearch

struct ImportVectorsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import-vectors",
        abstract: "Import precomputed vectors: a corpus.jsonl and a .npy float32 matrix, row i for line i.",
        discussion: """
            Each corpus line (_id, title, text) becomes one document with one chunk. --model names the model \
            that computed the vectors (minilm, hashing or a model id); queries must be embedded with it. \
            Documents with an _id already in the collection are replaced.
            """
    )

    @Option(help: "BEIR-style corpus: one JSON object per line with _id, title, text.")
    var corpus: String

    @Option(help: "A .npy float32 matrix of shape (lines, dimension).")
    var vectors: String

    @Option(help: "The embedding model of the vectors: minilm, hashing, or a full model id.")
    var model: String = "minilm"

    @Option(help: "Collection name. Default: the corpus file's folder name.")
    var collection: String?

    @OptionGroup var store: KnowledgeBaseOption

    @Option(help: "Use this tenant's knowledge base (<data>/tenants/<tenant>/kb.sqlite).")
    var tenant: String?

    @OptionGroup var dataOption: DataOption
    @OptionGroup var databaseOption: DatabaseOption

    func validate() throws {
        try TenantNameValidation.check(tenant)
        if databaseOption.database != nil && (tenant == nil || store.explicitPath != nil) {
            throw ValidationError("--database imports into a tenant's shared knowledge base: give --tenant, not --kb")
        }
    }

    /// Documents per change of the shared log: each change is replayed by every node at once.
    static let documentsPerChange = 8192

    /// The knowledge base file these options name.
    var kbPath: String { (try? store.path(tenant: tenant, data: dataOption.directory)) ?? "" }
    @OptionGroup var encoding: VectorEncodingOption

    @Flag(help: "Print the summary as JSON.")
    var json = false

    struct Output: Encodable {
        var documents: Int
        var vectors: Int
        var seconds: Double
        var rows_per_second: Double
        var model: String
    }

    func run() async throws {
        try await runReportingErrors {
            let modelID =
                switch model.lowercased() {
                case "minilm": MiniLMEmbedder.defaultModelID
                case "hashing": HashingEmbedder().modelID
                default: model
                }
            // Validate the inputs before creating anything: a failed import must not leave an empty store.
            for file in [corpus, vectors] where !FileManager.default.isReadableFile(atPath: file) {
                throw IngestError.pathNotFound(file)
            }
            let matrix = try NPYMatrix(contentsOf: URL(fileURLWithPath: vectors))  // shape and type, before any write
            // A store must never say a model made vectors it could not have made (10-dimensional
            // "MiniLM" vectors were once recorded as "all-MiniLM-L6-v2 (10 dimensions)").
            if let expected = EmbedderRegistry.knownDimension(ofModelID: modelID), matrix.dimension != expected {
                throw IngestError.malformed(
                    source: vectors, line: nil,
                    reason:
                        "\(vectors): the vectors have \(matrix.dimension) dimensions but \(modelID) makes \(expected)-dimensional "
                        + "vectors; compute them with that model or name the model that did with --model. Nothing was written"
                )
            }
            if let bad = matrix.firstNonFinite() {
                throw IngestError.malformed(
                    source: vectors, line: nil,
                    reason: "row \(bad.row) has a non-finite value (NaN or infinity) in column \(bad.column)")
            }
            let corpusURL = URL(fileURLWithPath: corpus)
            let name = collection ?? corpusURL.deletingLastPathComponent().lastPathComponent
            let bar = ProgressBar()
            let report: VectorImporter.Report
            if let tenant, databaseOption.database != nil {
                // The same import into a scratch store (same checks, same documents), then
                // appended to the shared log; this machine's copy replays it like every node.
                let scratch = FileManager.default.temporaryDirectory.appendingPathComponent(
                    "cascade-import-\(UUID().uuidString)")
                try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
                defer { try? FileManager.default.removeItem(at: scratch) }
                let staged = try KnowledgeBaseStore(path: scratch.appendingPathComponent("kb.sqlite").path)
                report = try VectorImporter(store: staged).importVectors(
                    corpus: corpusURL, vectors: URL(fileURLWithPath: vectors), model: modelID, collection: name
                ) { done, total in bar.update(done: done, total: total, detail: "documents") }
                let records = try staged.exportRecords(maxDocuments: Self.documentsPerChange)
                try await databaseOption.withShared { _, log in
                    for record in records { _ = try await log.append(tenant: tenant, record: record, now: Date()) }
                }
                try await databaseOption.refreshSharedCopy(tenant: tenant, explicitKB: nil, data: dataOption.directory)
                try encoding.apply(to: try KnowledgeBaseStore(path: kbPath))
            } else {
                let kb = try KnowledgeBaseStore(path: kbPath)
                try encoding.apply(to: kb)
                report = try VectorImporter(store: kb).importVectors(
                    corpus: corpusURL, vectors: URL(fileURLWithPath: vectors), model: modelID, collection: name
                ) { done, total in bar.update(done: done, total: total, detail: "documents") }
            }
            bar.finish()
            let rate = report.seconds > 0 ? Double(report.documents) / report.seconds : 0
            if json {
                try Terminal.printJSON(
                    Output(
                        documents: report.documents, vectors: report.vectors, seconds: report.seconds,
                        rows_per_second: rate, model: modelID))
            } else {
                print(
                    "Imported \(report.documents) documents into \(kbPath) (\(report.vectors) vectors of \(modelID)) "
                        + "in \(String(format: "%.1f", report.seconds))s, \(String(format: "%.0f", rate)) rows/s")
            }
        }
    }
}
