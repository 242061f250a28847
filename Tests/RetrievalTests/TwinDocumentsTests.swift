import KnowledgeBase
import Testing

@testable import Retrieval

@Suite("Twin documents: one page shipped in two forms")
struct TwinDocumentsTests {
    /// Sphinx's rendered paragraph and its reStructuredText source: same words, other markup.
    static let html =
        "Signals are sent when something happens in the core framework. Use the connect method of a signal to subscribe a function to it; the first argument is the sender."
    static let source =
        "Signals are sent when something happens in the core framework. Use the :meth:`~blinker.Signal.connect` method of a signal to subscribe a function to it; the first argument is the sender."
    static let sameSubject =
        "A signal is subscribed to with connect. The sender is passed first, and the receiver is called whenever something happens in the framework."

    static func result(_ id: Int64, _ doc: String, _ text: String, rank: Int) -> SearchResult {
        SearchResult(
            rank: rank,
            chunk: StoredChunk(
                chunkID: id, docID: doc, collection: "c", source: "c/\(doc)", title: doc, heading: "", anchor: nil,
                text: text, startOffset: 0, endOffset: text.count),
            score: 1 / Double(rank), vectorScore: 0.8 - Double(rank) / 100, vectorRank: rank)
    }

    @Test("a passage and its source form are the same text; a passage on the same subject is not")
    func sameTextAcrossMarkup() {
        let html = PassageOverlap.trigrams(Self.html)
        #expect(PassageOverlap.sameText(html, PassageOverlap.trigrams(Self.source)))
        #expect(!PassageOverlap.sameText(html, PassageOverlap.trigrams(Self.sameSubject)))
        #expect(PassageOverlap.holds(Self.source, passage: Self.html))
    }

    @Test("a short line found in a long passage does not make the two the same text")
    func shortLinesAreNotRecognised() {
        let footer = PassageOverlap.trigrams("Part of the git suite")
        #expect(!PassageOverlap.sameText(footer, PassageOverlap.trigrams(Self.html + " Part of the git suite")))
        // Contained, but the long passage has far more besides: not the same text either way.
        let long = PassageOverlap.trigrams(Self.html + " " + Self.sameSubject + " " + Self.sameSubject.uppercased())
        #expect(!PassageOverlap.sameText(PassageOverlap.trigrams(Self.html), long))
    }

    @Test("documents sharing a retrieved passage are one page, transitively; others keep their own group")
    func grouping() {
        let results = [
            Self.result(1, "signals.html", Self.html, rank: 1),
            Self.result(2, "_sources/signals.rst.txt", Self.source, rank: 2),
            Self.result(3, "api.html", Self.sameSubject, rank: 3),
            Self.result(4, "signals-copy.html", Self.html, rank: 4),
        ]
        let twins = TwinDocuments(results)
        #expect(twins.samePage(results[0].chunk, results[1].chunk))
        #expect(twins.samePage(results[1].chunk, results[3].chunk))
        #expect(!twins.samePage(results[0].chunk, results[2].chunk))
        #expect(twins.group(of: results[2].chunk) == "c\tapi.html")
    }

    @Test("the same document name in two collections is two documents")
    func collectionsAreKept() {
        var other = Self.result(2, "signals.html", Self.sameSubject, rank: 2)
        other.chunk.collection = "d"
        let twins = TwinDocuments([Self.result(1, "signals.html", Self.html, rank: 1), other])
        #expect(!twins.samePage(Self.result(1, "signals.html", Self.html, rank: 1).chunk, other.chunk))
    }

    @Test("a chunk imported whole is compared by its opening, and twins are still found")
    func hugeChunksAreComparedByTheirOpening() {
        let filler = String(repeating: "lorem ipsum dolor sit amet ", count: 40_000)
        let results = [
            Self.result(1, "line-1", Self.html + " " + filler, rank: 1),
            Self.result(2, "line-2", Self.source + " " + filler.uppercased(), rank: 2),
            Self.result(3, "line-3", Self.sameSubject + " " + filler, rank: 3),
        ]
        let twins = TwinDocuments(results)
        #expect(twins.samePage(results[0].chunk, results[1].chunk))
        // The openings differ; the filler after them is never compared.
        #expect(!twins.samePage(results[0].chunk, results[2].chunk))
    }
}
