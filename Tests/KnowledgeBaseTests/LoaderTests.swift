import Foundation
import Testing

@testable import KnowledgeBase

@Suite("Document loaders")
struct LoaderTests {
    @Test("Markdown keeps headings with anchors, code blocks and readable inline text")
    func markdown() throws {
        let doc = try parse(
            MarkdownLoader(),
            try String(contentsOf: Fixtures.sampleDocs.appendingPathComponent("guide.md"), encoding: .utf8),
            name: "guide.md")
        #expect(doc.title == "Widget Guide")
        let headings = doc.blocks.filter { if case .heading = $0.kind { true } else { false } }
        #expect(headings.map(\.text) == ["Installing widgets", "Configuring the cache", "Troubleshooting"])
        #expect(headings.map(\.anchor) == ["installing-widgets", "configuring-the-cache", "troubleshooting"])
        #expect(headings.map(\.kind) == [.heading(level: 1), .heading(level: 2), .heading(level: 2)])
        let install = try #require(doc.blocks.first { $0.text.hasPrefix("Run the") })
        #expect(install.text == "Run the installer with widget install and follow the setup wizard.")
        #expect(doc.blocks.contains { $0.kind == .code && $0.text == "widget config set cache_size 512" })
    }

    @Test("block offsets point at the block's text inside the document text")
    func offsets() throws {
        let doc = try parse(MarkdownLoader(), "# Café ☕\n\nFirst paragraph é.\n\nSecond one.\n", name: "o.md")
        let scalars = Array(doc.text.unicodeScalars)
        for block in doc.blocks {
            let count = block.text.unicodeScalars.count
            let slice = String(String.UnicodeScalarView(scalars[block.startOffset..<(block.startOffset + count)]))
            #expect(slice == block.text)
        }
    }

    @Test("HTML drops scripts, styles, SVG, navigation and comments, and keeps headings with anchors")
    func html() throws {
        let doc = try parse(
            HTMLLoader(),
            try String(contentsOf: Fixtures.sampleDocs.appendingPathComponent("page.html"), encoding: .utf8),
            name: "page.html")
        #expect(doc.title == "Backup & Restore")
        for hidden in ["secret", "color: red", "Home", "Menu entry", "diagram label", "comment", "Copyright footer"] {
            #expect(!doc.text.contains(hidden), "\(hidden) should not be indexed")
        }
        let headings = doc.blocks.filter { if case .heading = $0.kind { true } else { false } }
        #expect(headings.map(\.text) == ["Making backups", "Restoring a backup"])
        #expect(headings.map(\.anchor) == ["backups", "restore"])
        #expect(
            doc.text.contains("Use the .backup command to copy a live database — it is safe while writers are active."))
        #expect(doc.text.contains("Copy the file back <while no process has it open>."))
        #expect(doc.blocks.contains { $0.kind == .code && $0.text.contains(#"sqlite3 app.db ".restore backup.db""#) })
    }

    @Test("HTML never drops the page's body or main content for its class, nor a block whose class names a layout")
    func layoutClassesAreNotNavigation() throws {
        let doc = try parse(
            HTMLLoader(),
            """
            <html><body class="no-sidebar"><main class="toc-enabled"><article class="nav-open">
            <h1>Per-user directories</h1><p>Each user can have a web site in their home directory.</p>
            <div class="content has-sidebar"><p>Enable it with the UserDir directive.</p></div>
            <div class="sidebar"><p>Sidebar links</p></div><div class="with-toc"><p>Kept as well.</p></div>
            </article></main></body></html>
            """, name: "layout.html")
        #expect(doc.text.contains("Each user can have a web site in their home directory."))
        #expect(doc.text.contains("Enable it with the UserDir directive."))
        #expect(doc.text.contains("Kept as well."))
        #expect(!doc.text.contains("Sidebar links"))
    }

    @Test("HTML leaves out a page's last-modified stamp, and keeps prose that only starts like one")
    func pageStamp() throws {
        let doc = try parse(
            HTMLLoader(),
            """
            <h1>sqldiff</h1><p>The sqldiff utility displays differences between databases.</p>
            <p align="center"><small><i>This page last modified on <a href="/x">2021-09-07 19:28:01</a> UTC</i></small></p>
            <p>This page was last edited on 3 March 2024, at 10:12.</p>
            <div class="md-source-file"><small>Last update: 2023-05-01</small></div>
            <p>Last modified dates are kept for 30 days, then the server forgets them, so a sync after that
            copies every file again whatever its age, which is why nightly syncs are recommended.</p>
            <p>Last updated on request.</p>
            """, name: "stamp.html")
        #expect(doc.text.contains("displays differences between databases"))
        for stamp in ["2021-09-07", "last edited", "Last update:"] {
            #expect(!doc.text.contains(stamp), "\(stamp) should not be indexed")
        }
        #expect(doc.text.contains("Last modified dates are kept for 30 days"))
        #expect(doc.text.contains("Last updated on request."))
    }

    @Test("a heading keeps the <a name> before it when the paragraph before that was never closed")
    func anchorAfterOpenParagraph() throws {
        // SQLite's pragma and result-code pages: 164 chunks cited the page's table of contents
        // (`#toc`) instead of their own section.
        let doc = try parse(
            HTMLLoader(),
            """
            <a name="toc"></a><h2>List of pragmas</h2>
            <p>Each pragma is described below.
            <a name="pragma_integrity_check"></a>
            <h _id=pragma_integrity_check style="display:none"> PRAGMA integrity_check</h><hr>
            <p>This pragma does a low-level consistency check.
            <a name="inline"></a> and then goes on.</p>
            <h3>Notes</h3><p>More.</p>
            """, name: "pragma.html")
        let headings = doc.blocks.filter { if case .heading = $0.kind { true } else { false } }
        #expect(headings.map(\.text) == ["List of pragmas", "PRAGMA integrity_check", "Notes"])
        // An anchor followed by text belongs to that text, not to the next heading.
        #expect(headings.map(\.anchor) == ["toc", "pragma_integrity_check", nil])
    }

    @Test("HTML that is not well-formed still yields its text")
    func messyHTML() throws {
        let doc = try parse(HTMLLoader(), "<p>one<p>two <b>bold<div>three &#x41;&#66;&unknown; < 4", name: "m.html")
        #expect(doc.text.contains("one"))
        #expect(doc.text.contains("two bold"))
        #expect(doc.text.contains("three AB&unknown; < 4"))
    }

    @Test("plain text splits paragraphs on blank lines and takes the first line as title")
    func plainText() throws {
        let doc = try parse(
            PlainTextLoader(),
            try String(contentsOf: Fixtures.sampleDocs.appendingPathComponent("notes.txt"), encoding: .utf8),
            name: "notes.txt")
        #expect(doc.title == "Release notes")
        #expect(
            doc.blocks.map(\.text) == [
                "Release notes", "Version 2 adds offline mode.", "Version 3 removes the legacy sync protocol.",
            ])
    }

    @Test("a BEIR corpus gives one document per line, keyed by _id")
    func beirCorpus() throws {
        let jsonl = """
            {"_id": "d1", "title": "Paris", "text": "Paris is the capital of France."}
            {"_id": 42, "title": "", "text": "Numeric ids are accepted."}

            {"_id": "d3", "text": "No title here."}
            """
        let context = LoadContext(fileURL: URL(fileURLWithPath: "/tmp/corpus.jsonl"), relativePath: "corpus.jsonl")
        let docs = try BEIRCorpusLoader().load(Data(jsonl.utf8), context: context)
        #expect(docs.map(\.docID) == ["d1", "42", "d3"])
        #expect(docs.map(\.source) == ["corpus.jsonl#d1", "corpus.jsonl#42", "corpus.jsonl#d3"])
        #expect(docs[0].title == "Paris")
        #expect(docs[0].text == "Paris is the capital of France.")
    }

    @Test("a malformed BEIR line is reported with its line number")
    func beirMalformed() {
        let context = LoadContext(fileURL: URL(fileURLWithPath: "/tmp/c.jsonl"), relativePath: "c.jsonl")
        let broken = "{\"_id\": \"a\", \"text\": \"ok\"}\n{not json\n"
        #expect(
            throws: IngestError.malformed(
                source: "c.jsonl", line: 2, reason: "not a JSON object with \"_id\" and \"text\"")
        ) {
            try BEIRCorpusLoader().load(Data(broken.utf8), context: context)
        }
        let duplicate = "{\"_id\": \"a\", \"text\": \"x\"}\n{\"_id\": \"a\", \"text\": \"y\"}\n"
        #expect(throws: IngestError.malformed(source: "c.jsonl", line: 2, reason: "duplicate \"_id\" a")) {
            try BEIRCorpusLoader().load(Data(duplicate.utf8), context: context)
        }
    }

    @Test("empty, binary and invalid UTF-8 files are refused with a message that says why")
    func badBytes() {
        let context = LoadContext(fileURL: URL(fileURLWithPath: "/tmp/x.txt"), relativePath: "x.txt")
        let loader = PlainTextLoader()
        #expect(throws: IngestError.emptyFile(source: "x.txt")) { try loader.load(Data(), context: context) }
        #expect(throws: IngestError.emptyFile(source: "x.txt")) {
            try loader.load(Data("  \n\t".utf8), context: context)
        }
        #expect(throws: IngestError.binaryContent(source: "x.txt")) {
            try loader.load(Data([0x7F, 0x45, 0x4C, 0x46, 0x00, 0x01]), context: context)
        }
        #expect(throws: IngestError.invalidUTF8(source: "x.txt", byteOffset: 3)) {
            try loader.load(Data([0x61, 0x62, 0x63, 0xFF, 0x64]), context: context)
        }
        #expect(IngestError.invalidUTF8(source: "x.txt", byteOffset: 3).description.contains("re-save it as UTF-8"))
    }

    @Test("a UTF-8 byte-order mark is ignored")
    func byteOrderMark() throws {
        let context = LoadContext(fileURL: URL(fileURLWithPath: "/tmp/b.txt"), relativePath: "b.txt")
        let docs = try PlainTextLoader().load(Data([0xEF, 0xBB, 0xBF] + Array("Hello".utf8)), context: context)
        #expect(docs.first?.text == "Hello")
    }

    @Test("files saved on Windows (CRLF) or old Macs (CR) read as if their lines ended in LF")
    func lineEndings() throws {
        func load(_ loader: some DocumentLoader, _ text: String, _ name: String) throws -> [ParsedDocument] {
            let context = LoadContext(fileURL: URL(fileURLWithPath: "/tmp/" + name), relativePath: name)
            return try loader.load(Data(text.utf8), context: context)
        }
        for newline in ["\r\n", "\r"] {
            let text = try load(
                PlainTextLoader(),
                ["Release notes", "", "First paragraph.", "", "Second paragraph."].joined(separator: newline),
                "notes.txt")
            #expect(text.first?.title == "Release notes")
            #expect(text.first?.blocks.map(\.text).suffix(2) == ["First paragraph.", "Second paragraph."])
            let corpus = try load(
                BEIRCorpusLoader(),
                ["{\"_id\": \"a\", \"text\": \"alpha\"}", "{\"_id\": \"b\", \"text\": \"beta\"}", ""].joined(
                    separator: newline), "corpus.jsonl")
            #expect(corpus.map(\.docID) == ["a", "b"])
            let markdown = try load(
                MarkdownLoader(),
                ["# Backups", "", "```", "sqlite3 app.db", ".backup b.db", "```"].joined(separator: newline),
                "b.md")
            #expect(
                markdown.first?.blocks.contains { $0.kind == .code && $0.text == "sqlite3 app.db\n.backup b.db" }
                    == true)
            #expect(markdown.first?.text.contains("\r") == false)
        }
    }

    @Test("line ends are normalised byte by byte: CRLF and lone CR become LF, a byte-order mark goes")
    func normalisedBytes() {
        #expect(LineEndings.normalized(Array("a\r\nb\rc\n\r\n".utf8)) == Array("a\nb\nc\n\n".utf8))
        #expect(LineEndings.normalized([0xEF, 0xBB, 0xBF] + Array("x\r".utf8)) == Array("x\n".utf8))
        #expect(LineEndings.normalized(Array("plain\n".utf8)) == Array("plain\n".utf8))
        #expect(LineEndings.normalized([]) == [])
        #expect(LineEndings.text(Data([0xFF, 0x0D])) == nil)
    }
}
