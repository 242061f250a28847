import Foundation
import Testing

/// The model is never replaced silently by the toy hashing embedder; keyword search needs no model.
@Suite("no silent fallback to the hashing embedder", .serialized)
struct ModelRequiredCLITests {
    let noModel = ["CASCADE_MODEL_DIR": "/nonexistent/cascade-model"]

    @Test("without the model, ingest and embed fail saying how to get it, and create nothing")
    func ingestNeedsTheModel() async throws {
        let dir = try TemporaryDirectory()
        try dir.write("docs/page.md", "# Page\n\nSome text about backups.")
        let ingest = try await CLIProcess.run(
            ["ingest", dir.path("docs"), "--kb", dir.path("kb.sqlite")], environment: noModel)
        #expect(ingest.status == 2)
        #expect(ingest.stderr.contains("tools/fetch-model"))
        #expect(ingest.stderr.contains("--embedder hashing"))
        #expect(!FileManager.default.fileExists(atPath: dir.path("kb.sqlite")))
        let embed = try await CLIProcess.run(["embed", "hello"], environment: noModel)
        #expect(embed.status == 2)
        #expect(embed.stderr.contains("tools/fetch-model"))
        // Asked for on purpose, the hashing embedder works.
        let hashing = try await CLIProcess.run(
            ["ingest", dir.path("docs"), "--kb", dir.path("toy.sqlite"), "--embedder", "hashing"], environment: noModel)
        #expect(hashing.status == 0, "\(hashing.stderr)")
    }

    @Test(
        "keyword search works on a MiniLM knowledge base without the model; vector search says how to get it",
        .enabled(
            if: FileManager.default.fileExists(
                atPath: CLIProcess.repositoryRoot.appendingPathComponent("models/all-MiniLM-L6-v2/model.safetensors")
                    .path)))
    func keywordSearchNeedsNoModel() async throws {
        let dir = try TemporaryDirectory()
        try dir.write("docs/page.md", "# Backups\n\nRun the backup command every night.")
        let model = CLIProcess.repositoryRoot.appendingPathComponent("models/all-MiniLM-L6-v2").path
        let ingest = try await CLIProcess.run(
            ["ingest", dir.path("docs"), "--kb", dir.path("kb.sqlite")], environment: ["CASCADE_MODEL_DIR": model])
        #expect(ingest.status == 0, "\(ingest.stderr)")
        let keyword = try await CLIProcess.run(
            ["search", "backup", "--kb", dir.path("kb.sqlite"), "--mode", "keyword", "--json"], environment: noModel)
        #expect(keyword.status == 0, "\(keyword.stderr)")
        #expect((try keyword.json()["results"] as? [Any])?.isEmpty == false)
        let vector = try await CLIProcess.run(
            ["search", "backup", "--kb", dir.path("kb.sqlite"), "--mode", "vector"], environment: noModel)
        #expect(vector.status == 2)
        #expect(vector.stderr.contains("tools/fetch-model"))
        #expect(!vector.stderr.contains("--embedder"), "search has no --embedder option to suggest")
    }
}
