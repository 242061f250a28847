import ArgumentParser
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

    @Option(help: "Embedding model to switch to: \(EmbedderRegistry.names.joined(separator: ", ")).")
    var embedder: String = "minilm"

    @Flag(help: "Print the summary as JSON.")
    var json = false

    func run() async throws {
        try await runReportingErrors {
            guard FileManager.default.fileExists(atPath: store.kb) else {
                throw StoreError.cannotOpen(path: store.kb, reason: "no such file")
            }
            let kb = try KnowledgeBaseStore(path: store.kb)
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
                    "Reindexed \(store.kb): \(report.previousModel ?? "none") → \(report.model), "
                        + "\(report.chunksEmbedded) chunks embedded in \(String(format: "%.1f", report.elapsedSeconds))s"
                )
            }
        }
    }
}
