import ArgumentParser
import Cascade
import Embeddings
import Foundation
import KnowledgeBase

struct ReindexCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reindex",
        abstract: "Re-embed a knowledge base with another embedding model (resumable).",
        discussion: """
            Vectors are stored batch by batch; the knowledge base keeps serving searches with its old model \
            until every chunk has a new vector, then switches. Interrupt it at any time and run it again to \
            continue. Chunks keep their boundaries; run `cascade ingest` afterwards to re-chunk with the new \
            model's tokenizer (cached vectors are reused).
            """
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

    @Option(help: "Embedding model to switch to: \(EmbedderRegistry.names.joined(separator: ", ")).")
    var embedder: String = "minilm"

    @Flag(help: "Print the summary as JSON.")
    var json = false

    func run() async throws {
        try await runReportingErrors {
            if databaseOption.database != nil && (tenant == nil || store.explicitPath != nil) {
                throw ValidationError(
                    "--database reindexes a tenant's shared knowledge base: give --tenant, not --kb")
            }
            // The shared log first: this machine's copy is brought up to it (and created).
            try await databaseOption.refreshSharedCopy(tenant: tenant, explicitKB: nil, data: dataOption.directory)
            guard FileManager.default.fileExists(atPath: kbPath) else {
                throw StoreError.cannotOpen(path: kbPath, reason: "no such file")
            }
            let kb = try KnowledgeBaseStore(path: kbPath)
            let chosen = try await EmbedderRegistry.embedder(named: embedder)
            let bar = ProgressBar()
            let progress: @Sendable (Int, Int) -> Void = { done, total in
                bar.update(done: done, total: total, detail: "chunks embedded with \(chosen.modelID)")
            }
            let report: Reindexer.Report
            if let tenant, databaseOption.database != nil {
                report = try await switchShared(kb, tenant: tenant, to: chosen, progress: progress)
            } else {
                report = try await Reindexer(store: kb, embedder: chosen).run(progress: progress)
            }
            bar.finish()
            if json {
                try Terminal.printJSON(report)
            } else {
                print(
                    "Reindexed \(kbPath): \(report.previousModel ?? "none") → \(report.model), "
                        + "\(report.chunksEmbedded) chunks embedded in \(String(format: "%.1f", report.elapsedMilliseconds / 1000))s"
                )
            }
        }
    }

    /// Reindexes a shared knowledge base: embeds into this machine's copy what the new model lacks
    /// (resumable, as on one machine), then appends the switch as one change of the log, which
    /// every node applies whole (its index and query model swap at one instant). When another
    /// node changed the knowledge base meanwhile, the copy catches up, embeds only the new chunks
    /// and tries again.
    private func switchShared(
        _ kb: KnowledgeBaseStore, tenant: String, to chosen: any Embedder,
        progress: @escaping @Sendable (Int, Int) -> Void
    ) async throws -> Reindexer.Report {
        let started = ContinuousClock.now
        let previous = try kb.embeddingModel()?.id
        let embedded = try await databaseOption.withShared { _, log in
            var embedded = 0
            for attempt in 1...3 {
                try await kb.replay(log, tenant: tenant)
                if try kb.embeddingModel()?.id == chosen.modelID { return embedded }
                let base = try kb.logVersion()
                embedded += try await Reindexer(store: kb, embedder: chosen).embedMissing(progress: progress)
                let record = try KnowledgeBaseLogRecord(
                    switchingTo: chosen.modelID, dimension: chosen.dimension,
                    vectors: try kb.switchVectors(model: chosen.modelID), baseVersion: base)
                do {
                    _ = try await log.append(tenant: tenant, record: record, now: Date())
                    try await kb.replay(log, tenant: tenant)
                    return embedded
                } catch StoreError.changedMeanwhile where attempt < 3 {
                    continue
                }
            }
            return embedded
        }
        let elapsed = ContinuousClock.now - started
        return Reindexer.Report(
            previousModel: previous, model: chosen.modelID, chunksEmbedded: embedded,
            elapsedMilliseconds: Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds)
                / 1e15)
    }
}
