import ArgumentParser
import Cascade
import Embeddings
import Evaluation
import Foundation
import KnowledgeBase
import Retrieval

struct IngestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest",
        abstract: "Add a folder of documents (Markdown, text, HTML, PDF, BEIR corpus.jsonl) to a knowledge base.",
        discussion: """
            Unchanged documents are skipped (content hashes); changed ones are replaced; --prune removes \
            documents whose files are gone. Files listed in a .cascadeignore at the folder's root are skipped. \
            Exit status 1 means some files failed; the others were ingested.
            """
    )

    @Argument(help: "A folder (searched recursively) or a single file.")
    var path: String

    @OptionGroup var store: KnowledgeBaseOption

    @Option(help: "Use this tenant's knowledge base (<data>/tenants/<tenant>/kb.sqlite).")
    var tenant: String?

    @OptionGroup var dataOption: DataOption
    @OptionGroup var databaseOption: DatabaseOption

    /// The knowledge base file these options name.
    var kbPath: String { (try? store.path(tenant: tenant, data: dataOption.directory)) ?? "" }

    @Option(
        help:
            "Embedding model: \(EmbedderRegistry.names.joined(separator: ", ")). Default: the store's model, else minilm (an error when its files are missing: run tools/fetch-model)."
    )
    var embedder: String?

    @Flag(
        help:
            "Skip the label-free calibration after the ingest (its threshold is then fitted at the first question instead)."
    )
    var noCalibrate = false

    @Flag(help: "Remove documents of this folder whose files no longer exist.")
    var prune = false

    @Option(help: "Largest chunk, in model tokens (≤ the model's limit).")
    var chunkTokens: Int?

    @Option(help: "Largest file accepted, in bytes.")
    var maxFileSize: Int = 64 << 20

    @OptionGroup var encoding: VectorEncodingOption

    @Flag(help: "Print the summary as JSON.")
    var json = false

    func validate() throws {
        try TenantNameValidation.check(tenant)
        if let chunkTokens, chunkTokens < 16 { throw ValidationError("--chunk-tokens must be at least 16") }
        if maxFileSize < 1 { throw ValidationError("--max-file-size must be positive") }
    }

    func run() async throws {
        var report = IngestReport()
        try await runReportingErrors {
            // Validate the input before creating anything: a typo must not leave an empty store.
            guard FileManager.default.fileExists(atPath: path) else { throw IngestError.pathNotFound(path) }
            if databaseOption.database != nil && (tenant == nil || store.explicitPath != nil) {
                throw ValidationError(
                    "--database ingests into a tenant's shared knowledge base: give --tenant, not --kb")
            }
            if databaseOption.database != nil, let tenant {
                try FileManager.default.createDirectory(
                    atPath: try dataOption.directory.tenantDirectory(tenant), withIntermediateDirectories: true)
                // The shared knowledge base's model decides the embedder (as the local file's does).
                let path = kbPath
                try await databaseOption.withShared { _, log in
                    if try await !log.entries(tenant: tenant, after: 0, limit: 1).isEmpty {
                        try await KnowledgeBaseStore(path: path).replay(log, tenant: tenant)
                    }
                }
            }
            // The embedder too, when the store does not exist yet (a missing model creates nothing).
            var chosen: (any Embedder)?
            if let embedder {
                chosen = try await EmbedderRegistry.embedder(named: embedder)
            } else if !FileManager.default.fileExists(atPath: kbPath) {
                chosen = try EmbedderRegistry.defaultEmbedder()
            }
            let kb = try KnowledgeBaseStore(path: kbPath)
            try encoding.apply(to: kb)
            if chosen == nil {
                if let model = try kb.embeddingModel() {
                    chosen = try EmbedderRegistry.embedder(forModelID: model.id, dimension: model.dimension)
                } else {
                    chosen = try EmbedderRegistry.defaultEmbedder()
                }
            }
            guard let chosen else { return }
            var ingestor = Ingestor(store: kb, embedder: chosen, chunkTokens: chunkTokens, maxFileSize: maxFileSize)
            let bar = ProgressBar()
            let progress: @Sendable (IngestProgress) -> Void = { progress in
                bar.update(
                    done: progress.filesDone, total: progress.filesTotal,
                    detail: "\(progress.chunksEmbedded) chunks embedded  \(progress.currentSource)")
            }
            if let tenant, databaseOption.database != nil {
                // The tenant's knowledge base is the shared log: bring this machine's copy up to
                // it, ingest against the copy (unchanged files are skipped), and append what
                // changed as one change that every node applies whole.
                let collector = CollectedChanges()
                ingestor.collector = collector
                let (path, prune, copy) = (path, prune, kb)
                let shared = ingestor
                report = try await databaseOption.withShared { _, log in
                    try await copy.replay(log, tenant: tenant)
                    let report = try await shared.ingest(path, prune: prune, progress: progress)
                    let (changes, vectors) = collector.gathered
                    guard !changes.writes.isEmpty || !changes.removals.isEmpty else { return report }
                    let record = try KnowledgeBaseLogRecord(
                        changes: changes, vectors: vectors, model: chosen.modelID, dimension: chosen.dimension
                    ) { missing in try copy.cachedVectors(model: chosen.modelID, textHashes: missing) }
                    _ = try await log.append(tenant: tenant, record: record, now: Date())
                    try await copy.replay(log, tenant: tenant)
                    return report
                }
            } else {
                report = try await ingestor.ingest(path, prune: prune, progress: progress)
            }
            bar.finish()
            if !noCalibrate, try kb.embeddingModel() != nil {
                // The threshold a tenant without labelled questions gets, fitted on this content's
                // own questions and stored beside it.
                let retriever = try Retriever(store: kb, embedder: chosen)
                if let calibration = try await SelfCalibration.current(retriever: retriever, write: true) {
                    Terminal.note(
                        String(
                            format:
                                "label-free calibration: threshold %.2f from %d questions written from its headings and titles (cascade self-calibrate --details lists them)",
                            calibration.threshold, calibration.answerableQuestions + calibration.unanswerableQuestions))
                } else {
                    Terminal.note(
                        "label-free calibration: too few headings and titles to write \(SelfCalibration.minimumQuestions) questions from; the default threshold applies"
                    )
                }
            }
            if json {
                try Terminal.printJSON(report)
            } else {
                printSummary(report)
            }
        }
        if report.documentsFailed > 0 { throw ExitStatus.partialFailure }
    }

    private func printSummary(_ report: IngestReport) {
        for skipped in report.skipped { Terminal.note("skipped \(skipped.source): \(skipped.error)") }
        for failure in report.failures { Terminal.note("failed  \(failure.source): \(failure.error)") }
        print(
            """
            Ingested \(report.collection) into \(kbPath) with \(report.embeddingModel) in \
            \(String(format: "%.1f", report.elapsedMilliseconds / 1000))s
              documents: \(report.documentsAdded) added, \(report.documentsUpdated) updated, \
            \(report.documentsUnchanged) unchanged, \(report.documentsRemoved) removed, \(report.documentsFailed) failed
              chunks:    \(report.chunksWritten) written, \(report.chunksEmbedded) embedded
            """)
        if report.chunksEmbedded == 0 && report.documentsAdded == 0 && report.documentsUpdated == 0 {
            print("  nothing changed: no text was embedded")
        }
    }
}
