import Embeddings
import Foundation
import Testing

@testable import KnowledgeBase

/// A page's opening says what it is for: the RAG tier reads it when the chunk retrieved from a
/// cited page is a signature or a link list.
@Suite struct OpeningChunksTests {
    @Test func theFirstChunksOfEachDocumentComeInReadingOrder() async throws {
        let dir = try TemporaryDirectory()
        let sections = (1...6).map { part in
            "## Part \(part)\n\n"
                + (1...15).map { "Sentence \($0) of part \(part) says something about the page." }.joined(
                    separator: " ")
        }
        try dir.write("docs/long.md", "# Long page\n\n" + sections.joined(separator: "\n\n"))
        try dir.write("docs/short.md", "# Short page\n\nOne paragraph only.")
        let store = try KnowledgeBaseStore(path: dir.path("kb.sqlite"))
        _ = try await Ingestor(store: store, embedder: HashingEmbedder()).ingest(dir.path("docs"))
        let long = try store.chunks(source: "docs/long.md")
        let short = try store.chunks(source: "docs/short.md")
        try #require(long.count >= 4 && short.count == 1)

        let opening = try store.openingChunks(
            of: [(long[0].collection, long[0].docID), (short[0].collection, short[0].docID)], count: 3)
        #expect(opening.map(\.chunkID) == long.prefix(3).map(\.chunkID) + [short[0].chunkID])
        #expect(opening.first?.text == long.first?.text && opening.first?.title == long.first?.title)

        #expect(try store.openingChunks(of: [(long[0].collection, "no-such-doc")], count: 3).isEmpty)
        #expect(try store.openingChunks(of: [("another-collection", long[0].docID)], count: 3).isEmpty)
        #expect(try store.openingChunks(of: [(long[0].collection, long[0].docID)], count: 0).isEmpty)

        // The chunk after a chunk, in its own document only: a document's last chunk has none.
        let following = try store.followingChunks(of: [
            long[0].chunkID, long[1].chunkID, long.last!.chunkID, short[0].chunkID, 999_999,
        ])
        #expect(following[long[0].chunkID]?.chunkID == long[1].chunkID)
        #expect(following[long[1].chunkID]?.text == long[2].text)
        #expect(following[long.last!.chunkID] == nil && following[short[0].chunkID] == nil && following[999_999] == nil)
        #expect(try store.followingChunks(of: []).isEmpty)
    }
}
