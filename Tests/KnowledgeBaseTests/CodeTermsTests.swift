import Embeddings
import Foundation
import Testing

@testable import KnowledgeBase

/// What a page marks as code in its running text survives loading as the document's code terms:
/// the one trace of the author's markup that says "this is the thing you type".
@Suite struct CodeTermsTests {
    static func terms(_ document: ParsedDocument) -> [String] { CodeTerms.decode(document.metadata) }

    @Test func htmlKeepsInlineCodeOfEveryGenerator() throws {
        let page = """
            <html><head><title>9.8. Scheduling Asynchronous Tasks: anacron</title></head><body>
            <nav><code>nav-only</code></nav>
            <h2>Scheduling Asynchronous Tasks: <code class="command">anacron</code></h2>
            <p><code class="command">anacron</code> is the daemon that completes <code class="command">cron</code>
            for computers that are not on at all times; see <code class="filename">/etc/anacrontab</code>.</p>
            <p>Sphinx: run <code class="docutils literal notranslate"><span class="pre">flask</span>
            <span class="pre">run</span></code>, press <kbd>Ctrl</kbd>, old pages <tt>PRAGMA&nbsp;quick_check</tt>.</p>
            <pre>in-a-block --is --not --a --term</pre>
            <p>Nothing marked: <code>x</code>, <code>--</code>, <code></code>.</p>
            </body></html>
            """
        let document = try parse(HTMLLoader(), page, name: "anacron.html")
        #expect(
            Self.terms(document) == [
                "anacron", "cron", "/etc/anacrontab", "flask run", "Ctrl", "PRAGMA quick_check",
            ])
        #expect(document.metadata["format"] == "html")
        // The text is as before: the markup is gone, the words stay.
        #expect(document.text.contains("anacron is the daemon that completes cron for computers"))
    }

    @Test func aPageWithoutCodeHasNoTerms() throws {
        let document = try parse(HTMLLoader(), "<p>Plain words only.</p>", name: "plain.html")
        #expect(document.metadata[CodeTerms.metadataKey] == nil)
        #expect(Self.terms(document).isEmpty)
    }

    @Test func lightweightMarkupKeepsItsCodeSpans() throws {
        let markdown = try parse(
            MarkdownLoader(),
            """
            # Install

            Run `pip install flask` and then `flask run`.

            ```
            `fenced` is an example, not a term
            ```

            A ```` `` ```` run is not a span; `unclosed stays text.
            """, name: "install.md")
        #expect(Self.terms(markdown) == ["pip install flask", "flask run"])

        let asciidoc = try parse(
            AsciiDocLoader(),
            """
            git-push(1)
            ===========

            NAME
            ----
            git-push - Update remote refs

            DESCRIPTION
            -----------
            Use `git push origin --delete <branch>` to delete a remote branch.

            ----
            `listing` blocks are examples
            ----
            """, name: "git-push.adoc")
        #expect(Self.terms(asciidoc) == ["git push origin --delete <branch>"])

        let rst = try parse(
            ReStructuredTextLoader(),
            """
            Quickstart
            ==========

            Set ``FLASK_APP`` or pass ``--app hello``; a single `role` is not a literal.
            """, name: "quickstart.rst")
        #expect(Self.terms(rst) == ["FLASK_APP", "--app hello"])
    }

    @Test func termsAreBoundedInNumberAndLength() throws {
        let many = (0..<(CodeTerms.maximumTerms + 50)).map { "<code>name\($0)</code>" }.joined(separator: " ")
        let long = "<code>" + String(repeating: "a", count: 200) + "</code>"
        let document = try parse(HTMLLoader(), "<p>\(long) \(many)</p>", name: "many.html")
        let terms = Self.terms(document)
        #expect(terms.count == CodeTerms.maximumTerms)
        #expect(terms.first == "name0" && terms.allSatisfy { CodeTerms.lengths.contains($0.count) })
    }

    /// A hostile line of a million backquotes is read once, left to right.
    @Test func aLineOfDelimitersIsScannedOnce() {
        var collector = CodeTerms.Collector()
        collector.addSpans(of: String(repeating: "`a", count: 500_000), delimiter: "`")
        // "`a`a`…": every other "a" is a span of one letter, shorter than a term.
        #expect(collector.terms.isEmpty)
        collector.addSpans(of: String(repeating: "`ab", count: 500_000), delimiter: "`")
        #expect(collector.terms == ["ab"])
    }

    @Test func termsAreFoundAsWholeWordsTheQuestionDoesNotName() {
        let set = CodeTermSet(["anacron", "cron", "-S", "apt-cache policy", "round(X,Y)", "delete"])
        let question = "my laptop is off at night, will my daily cron jobs still run?"
        #expect(set.firstNamed(in: "anacron is the daemon that completes cron.", notIn: question) == "anacron")
        // cron is in the question: not news.
        #expect(set.firstNamed(in: "The cron command remains active.", notIn: question) == nil)
        // Whole words, with the punctuation of prose around them.
        #expect(set.firstNamed(in: "Use (dpkg -S) to search.", notIn: "") == "-S")
        #expect(set.firstNamed(in: "Use --search to search.", notIn: "") == nil)
        #expect(set.firstNamed(in: "Run “apt-cache policy”, then read it.", notIn: "") == "apt-cache policy")
        #expect(set.firstNamed(in: "apt-cache shows packages.", notIn: "") == nil)
        #expect(set.firstNamed(in: "The result of round(X,Y).", notIn: "") == "round(X,Y)")
        // Case matters: "Delete" opening a sentence is prose, not the journal mode.
        #expect(set.firstNamed(in: "Delete the file.", notIn: "") == nil)
        #expect(CodeTermSet([]).firstNamed(in: "anything", notIn: "") == nil)
    }

    /// A page marking thousands of terms that open with the same words costs a bounded number of
    /// comparisons per sentence: past ``CodeTermSet/maximumComparisons`` the sentence names none.
    @Test func matchingWorkIsBoundedOnAHostilePage() {
        let hostile = (0..<CodeTerms.maximumTerms).map { "git push x\($0)" }
        let set = CodeTermSet(hostile + ["visudo"])
        #expect(set.firstNamed(in: "run git push x3 now", notIn: "") == "git push x3")
        let late = CodeTermSet.maximumComparisons + 10
        #expect(set.firstNamed(in: "run git push x\(late) now", notIn: "") == nil, "past the bound")
        // Other words of the sentence are still looked up within the bound.
        #expect(set.firstNamed(in: "edit it with visudo", notIn: "") == "visudo")
    }

    @Test func theStoreKeepsAndReturnsEachDocumentsTerms() async throws {
        let dir = try TemporaryDirectory()
        try dir.write("docs/anacron.html", "<h1>anacron</h1><p><code>anacron</code> runs missed jobs.</p>")
        try dir.write("docs/plain.md", "# Plain\n\nNo code here.")
        let storePath = dir.path("kb.sqlite")
        let store = try KnowledgeBaseStore(path: storePath)
        _ = try await Ingestor(store: store, embedder: HashingEmbedder()).ingest(dir.path("docs"))
        let html = try #require(try store.chunks(source: "docs/anacron.html").first)
        let plain = try #require(try store.chunks(source: "docs/plain.md").first)
        let key = DocumentKey(collection: html.collection, docID: html.docID)
        let found = try store.codeTerms(of: [
            key, DocumentKey(collection: plain.collection, docID: plain.docID),
            DocumentKey(collection: "elsewhere", docID: html.docID),
        ])
        #expect(found.keys.map { $0 } == [key])
        #expect(found[key]?.firstNamed(in: "anacron runs missed jobs.", notIn: "missed jobs") == "anacron")
        #expect(try store.codeTerms(of: []).isEmpty)
    }
}
