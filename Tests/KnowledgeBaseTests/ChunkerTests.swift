import Embeddings
import Foundation
import Testing

@testable import KnowledgeBase

@Suite("Structure-aware chunker")
struct ChunkerTests {
    let counter: @Sendable (String) -> Int = { TextSegmenter.estimatedWordPieces($0) }

    func document(_ markdown: String) throws -> ParsedDocument {
        try parse(MarkdownLoader(), markdown, name: "doc.md")
    }

    @Test("a block with no letter or digit ('*', a rule of dashes) never becomes a chunk (issue 31 defect c)")
    func blocksWithoutWordsAreDropped() {
        // As an HTML page's lone list bullet or separator reaches the chunker.
        var builder = DocumentTextBuilder()
        builder.append(.heading(level: 1), "Top")
        builder.append(.paragraph, "*")
        builder.append(.heading(level: 2), "Next")
        builder.append(.code, "-----")
        builder.append(.paragraph, "Real text here.")
        let doc = builder.build(docID: "d", source: "d", title: "T", metadata: [:])
        let chunks = Chunker(maxTokens: 200, tokenCounter: counter).chunk(doc)
        #expect(chunks.map(\.text) == ["Real text here."])
    }

    @Test("a call-out that does not fit starts the next chunk with the code it explains, never alone")
    func calloutsStayWithTheirCode() {
        let code = "$ git branch -d -r origin/todo   <1>\n$ git branch -D test   <2>"
        let prose = String(repeating: "Some earlier explanation of branches. ", count: 8)
        let callout = "<1> Delete the remote-tracking branch todo; the next fetch creates it again."
        var builder = DocumentTextBuilder()
        builder.append(.heading(level: 1), "Examples")
        builder.append(.paragraph, prose)
        builder.append(.code, code)
        builder.append(.paragraph, callout, keepWithPrevious: true)
        let doc = builder.build(docID: "d", source: "d", title: "T", metadata: [:])
        // A budget that holds the prose and the code, not the call-out too.
        let budget = counter(prose) + counter(code) + 12
        let chunks = Chunker(maxTokens: budget, overlapTokens: 0, tokenCounter: counter).chunk(doc)
        let withCallout = chunks.filter { $0.text.contains("<1> Delete") }
        #expect(!withCallout.isEmpty && withCallout.allSatisfy { $0.text.contains("$ git branch -D test") })
    }

    @Test("chunks never span a heading and carry their heading path and anchor")
    func respectsHeadings() throws {
        let doc = try document(
            "# Top\n\nIntro text.\n\n## Sub A\n\nAlpha text.\n\n### Deep\n\nDeep text.\n\n## Sub B\n\nBeta text.")
        let chunks = Chunker(maxTokens: 200, tokenCounter: counter).chunk(doc)
        #expect(chunks.map(\.text) == ["Intro text.", "Alpha text.", "Deep text.", "Beta text."])
        #expect(
            chunks.map(\.headingPath) == [["Top"], ["Top", "Sub A"], ["Top", "Sub A", "Deep"], ["Top", "Sub B"]])
        #expect(chunks.map(\.anchor) == ["top", "sub-a", "deep", "sub-b"])
        #expect(chunks.map(\.ordinal) == [0, 1, 2, 3])
    }

    @Test("a chunk starting in an anchored reference entry cites the entry, not its section")
    func entryAnchors() throws {
        let entry = { (name: String) in
            "<a name=\"\(name)\"></a><dt><p><b>\(name)(X)</b></dt><dd><p>"
                + String(repeating: "The \(name)(X) function returns a value computed from its argument X. ", count: 6)
                + "</dd>"
        }
        let doc = try parse(
            HTMLLoader(),
            "<h2 id=\"funcs\">Functions</h2><p>Every function below is built in.</p><dl>"
                + entry("abs") + entry("round") + "</dl><h2 id=\"notes\">Notes</h2><p>Nothing more.</p>",
            name: "f.html")
        let chunks = Chunker(maxTokens: 120, overlapTokens: 0, tokenCounter: counter).chunk(doc)
        let anchors = chunks.map { ($0.text.prefix(12), $0.anchor) }
        // The section's own text (with the first entry's term packed after it) cites the section;
        // a chunk starting inside an entry, at its term or in its definition, cites the entry; the
        // next section starts over with its heading's anchor.
        #expect(chunks.first?.anchor == "funcs", "\(anchors)")
        #expect(chunks.first { $0.text.hasPrefix("The abs(X)") }?.anchor == "abs", "\(anchors)")
        #expect(chunks.first { $0.text.hasPrefix("The round(X)") }?.anchor == "round", "\(anchors)")
        #expect(chunks.last?.anchor == "notes", "\(anchors)")
    }

    @Test("no chunk exceeds the token budget, including its title and heading context", arguments: [24, 64, 200])
    func withinBudget(budget: Int) throws {
        let sentence = "The write-ahead log lets readers continue while a writer appends changes to the log file. "
        let long = String(repeating: sentence, count: 40)
        let words = String(repeating: "supercalifragilistic ", count: 300)
        let doc = try document("# Title\n\n\(long)\n\nShort paragraph.\n\n\(words)")
        let chunks = Chunker(maxTokens: budget, overlapTokens: 8, tokenCounter: counter).chunk(doc)
        #expect(chunks.count > 3)
        for chunk in chunks {
            #expect(
                counter(chunk.embeddingText(title: doc.title)) <= budget + 2,
                "chunk over budget: \(chunk.text.prefix(60))")
        }
    }

    @Test("consecutive chunks of one section overlap by trailing sentences")
    func overlap() throws {
        let sentences = (1...30).map { "Sentence number \($0) talks about topic \($0)." }
        let doc = try document("# T\n\n" + sentences.joined(separator: " "))
        let chunks = Chunker(maxTokens: 60, overlapTokens: 16, tokenCounter: counter).chunk(doc)
        #expect(chunks.count >= 3)
        for (a, b) in zip(chunks, chunks.dropFirst()) {
            let lastSentence = a.text.components(separatedBy: ". ").last ?? ""
            #expect(b.text.contains(lastSentence.trimmingCharacters(in: .punctuationCharacters)))
            #expect(b.startOffset < a.endOffset)
        }
        // Every sentence is somewhere.
        for s in sentences { #expect(chunks.contains { $0.text.contains(s) }) }
    }

    @Test("chunk offsets locate the chunk's first and last words in the document text")
    func offsetsCite() throws {
        let doc = try document("# Head\n\nFirst para is here.\n\nSecond para follows.\n\n## Next\n\nThird.")
        let chunks = Chunker(maxTokens: 200, tokenCounter: counter).chunk(doc)
        let scalars = Array(doc.text.unicodeScalars)
        for chunk in chunks {
            let span = String(String.UnicodeScalarView(scalars[chunk.startOffset..<chunk.endOffset]))
            #expect(span.hasPrefix(String(chunk.text.prefix(5))))
            #expect(span.hasSuffix(String(chunk.text.suffix(5))))
        }
    }

    @Test("a document with no text gives no chunks")
    func empty() throws {
        let doc = ParsedDocument(docID: "e", source: "e", title: "e", text: "", blocks: [])
        #expect(Chunker(tokenCounter: counter).chunk(doc).isEmpty)
    }
}
