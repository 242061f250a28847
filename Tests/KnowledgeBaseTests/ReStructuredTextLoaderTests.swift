import Foundation
import Testing

@testable import KnowledgeBase

/// reStructuredText reads like the HTML Sphinx makes from it: titles are headings (levels in the
/// order their styles appear), code directives and `::` literal blocks are code, admonitions are
/// text, and roles read as the words a reader sees.
@Suite struct ReStructuredTextLoaderTests {
    static func load(_ text: String, file: String = "page.rst") throws -> ParsedDocument {
        let context = LoadContext(fileURL: URL(fileURLWithPath: "/kb/\(file)"), relativePath: file)
        let loader: any DocumentLoader = file.hasSuffix(".txt") ? PlainTextLoader() : ReStructuredTextLoader()
        return try #require(try loader.load(Data(text.utf8), context: context).first)
    }

    static func headings(_ document: ParsedDocument) -> [String] {
        document.blocks.compactMap { block in
            if case .heading(let level) = block.kind { return "\(level) \(block.text)" }
            return nil
        }
    }

    @Test func titleLevelsFollowTheOrderOfTheirStyles() throws {
        let document = try Self.load(
            """
            ==========
             Overview
            ==========

            Intro.

            Installing
            ----------

            Run it.

            .. _tuning-label:

            Tuning
            ~~~~~~

            Turn it up.

            Upgrading
            ---------

            Upgrade in place.
            """)
        #expect(document.title == "Overview")
        #expect(Self.headings(document) == ["1 Overview", "2 Installing", "3 Tuning", "2 Upgrading"])
        #expect(document.blocks.first { $0.text == "Tuning" }?.anchor == "tuning-label")
    }

    @Test func codeDirectivesAndLiteralBlocksAreCode() throws {
        let document = try Self.load(
            """
            Example
            =======

            Run the server like this::

                $ flask run --port 8000
                $ flask run --debug

            Or in Python:

            .. code-block:: python
               :linenos:

               app = Flask(__name__)
               app.run()

            Done ::

                plain literal
            """)
        let code = document.blocks.filter { $0.kind == .code }.map(\.text)
        #expect(
            code == [
                "$ flask run --port 8000\n$ flask run --debug", "app = Flask(__name__)\napp.run()", "plain literal",
            ])
        #expect(document.blocks.contains { $0.text == "Run the server like this:" })
        #expect(document.blocks.contains { $0.text == "Done" })
        #expect(!document.text.contains("code-block") && !document.text.contains(":linenos:"))
    }

    @Test func admonitionsAreTextAndHiddenDirectivesAndCommentsGo() throws {
        let document = try Self.load(
            """
            Page
            ====

            .. versionadded:: 2.0

            .. note:: Keep the secret key secret.

            .. warning::

               Never run the debugger in production.

            .. image:: logo.png
               :alt: the logo

            .. toctree::
               :maxdepth: 2

               quickstart
               tutorial

            .. this is a comment
               over two lines

            .. |logo| image:: logo.png

            The end.
            """)
        #expect(
            document.blocks.map(\.text) == [
                "Page", "New in version 2.0", "Keep the secret key secret.", "Never run the debugger in production.",
                "The end.",
            ])
    }

    @Test func rolesAndLiteralsReadAsText() throws {
        let document = try Self.load(
            """
            Roles
            =====

            Use :class:`~flask.Flask` and :meth:`flask.Flask.run`, see :doc:`the tutorial <tutorial/index>`,
            set ``SECRET_KEY`` and read `blinker`_ or **this**.
            """)
        #expect(
            document.blocks.last?.text
                == "Use Flask and flask.Flask.run, see the tutorial, set SECRET_KEY and read blinker or this.")
    }

    @Test func aTextFileIsReStructuredTextOnlyWithItsMarkup() throws {
        let source = try Self.load("Page\n====\n\n.. note:: Hi.\n\nText with :func:`f`.\n", file: "page.rst.txt")
        #expect(source.metadata["format"] == "rst")
        // Underlined titles alone are AsciiDoc's as much as reStructuredText's: read as AsciiDoc.
        let titles = try Self.load("Setup\n-----\nA.\n\nUse\n---\nB.\n", file: "readme.txt")
        #expect(titles.metadata["format"] == "asciidoc")
        let plain = try Self.load("Just notes.\n\nNothing else.", file: "notes.txt")
        #expect(plain.metadata["format"] == "text")
    }
}
