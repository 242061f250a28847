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

    func validate() throws {
        if let tenant, (try? TenantConfiguration.validatedName(tenant)) == nil {
            throw ValidationError("--tenant: letters, digits, '-', '_' and '.' only (at most 64)")
        }
    }

    /// The knowledge base file these options name.
    var kbPath: String { (try? store.path(tenant: tenant, data: dataOption.directory)) ?? "" }

    @Option(help: "Embedding model to switch to: \(EmbedderRegistry.names.joined(separator: ", ")).")
    var embedder: String = "minilm"

    @Flag(help: "Print the summary as JSON.")
    var json = false

    func run() async throws {
        try await runReportingErrors {
            guard FileManager.default.fileExists(atPath: kbPath) else {
                throw StoreError.cannotOpen(path: kbPath, reason: "no such file")
            }
            let kb = try KnowledgeBaseStore(path: kbPath)
            let chosen = try await EmbedderRegistry.embedder(named: embedder)
            let bar = ProgressBar()
            let report = try await Reindexer(store: kb, embedder: chosen).run { done, total in
                bar.update(done: done, total: total, detail: "chunks embedded with \(chosen.modelID)")
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
}
