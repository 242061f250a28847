import ArgumentParser
import Embeddings
import Foundation

struct EmbedCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed",
        abstract: "Print the embedding vector of a text (for checks and scripts)."
    )

    @Argument(help: "The text to embed.")
    var text: String

    @Option(help: "Embedding model: \(EmbedderRegistry.names.joined(separator: ", ")). Default: minilm when present.")
    var embedder: String?

    @Flag(help: "Print {\"model\",\"dimension\",\"tokens\",\"vector\"} as JSON.")
    var json = false

    struct Output: Encodable {
        var model: String
        var dimension: Int
        var tokens: Int
        var vector: [Float]
    }

    func run() async throws {
        try await runReportingErrors {
            let chosen: any Embedder
            if let embedder {
                chosen = try await EmbedderRegistry.embedder(named: embedder)
            } else {
                chosen = try EmbedderRegistry.defaultEmbedder()
            }
            let vector = try await chosen.embed(text)
            if json {
                try Terminal.printJSON(
                    Output(
                        model: chosen.modelID, dimension: vector.count, tokens: chosen.tokenCount(of: text),
                        vector: vector))
            } else {
                print(vector.map { String(format: "%.6f", $0) }.joined(separator: " "))
            }
        }
    }
}
