import Foundation
import Testing

@testable import KnowledgeBase

/// AsciiDoc source reads like the HTML made from it: titles are headings, listing blocks are code
/// with their line breaks, call-outs stay with their code, and the markup a reader never sees is
/// gone. A `.txt` file is read as AsciiDoc only when it is written in it.
@Suite struct AsciiDocLoaderTests {
    static func load(_ text: String, file: String = "page.adoc") throws -> ParsedDocument {
        let context = LoadContext(fileURL: URL(fileURLWithPath: "/kb/\(file)"), relativePath: file)
        let loader: any DocumentLoader = file.hasSuffix(".txt") ? PlainTextLoader() : AsciiDocLoader()
        return try #require(try loader.load(Data(text.utf8), context: context).first)
    }

    static func headings(_ document: ParsedDocument) -> [String] {
        document.blocks.compactMap { block in
            if case .heading(let level) = block.kind { return "\(level) \(block.text)" }
            return nil
        }
    }

    @Test func oneLineAndTwoLineTitlesAreHeadingsWithLevels() throws {
        let document = try Self.load(
            """
            = The Guide
            :toc: left
            // a comment nobody reads

            Intro text.

            == Installing
            Run the installer.

            Upgrading
            ~~~~~~~~~
            Upgrade in place.

            [[tuning]]
            === Tuning ===
            Turn it up.
            """)
        #expect(document.title == "The Guide")
        #expect(Self.headings(document) == ["1 The Guide", "2 Installing", "3 Upgrading", "3 Tuning"])
        #expect(document.blocks.first { $0.text == "Tuning" }?.anchor == "tuning")
        #expect(document.blocks.first { $0.text == "Installing" }?.anchor == "_installing")
        #expect(!document.text.contains(":toc:"))
        #expect(!document.text.contains("comment"))
        #expect(!document.text.contains("~~~"))
    }

    @Test func listingBlocksAreCodeAndCalloutsStayWithThem() throws {
        let document = try Self.load(
            """
            Delete an unneeded branch::
            +
            ------------
            $ git branch -d -r origin/todo   <1>
            $ git branch -D test             <2>
            ------------
            +
            <1> Delete the remote-tracking branches.
                The next fetch creates them again.
            <2> Delete the "test" branch even if unmerged.

            Patterns will normally need quoting.
            """)
        let code = try #require(document.blocks.first { $0.kind == .code })
        #expect(code.text == "$ git branch -d -r origin/todo   <1>\n$ git branch -D test             <2>")
        let callouts = document.blocks.filter { $0.text.hasPrefix("<") }
        #expect(callouts.count == 2)
        #expect(callouts.allSatisfy { $0.keepWithPrevious })
        #expect(callouts[0].text == "<1> Delete the remote-tracking branches. The next fetch creates them again.")
        let after = try #require(document.blocks.first { $0.text.hasPrefix("Patterns") })
        #expect(!after.keepWithPrevious)
        #expect(document.blocks.first?.text == "Delete an unneeded branch")
    }

    @Test func labelledListTermsAndInlineMacrosReadAsText() throws {
        let document = try Self.load(
            """
            --force::
            	Reset <branchname> to <start-point>, see linkgit:git-reset[1]
            	and link:howto/recover.html[the recovery guide] or <<tuning,Tuning>>.
            `--quiet`:: Be quiet.
            """)
        let texts = document.blocks.map(\.text)
        #expect(
            texts == [
                "--force",
                "Reset <branchname> to <start-point>, see git-reset(1) and the recovery guide or Tuning.",
                "--quiet", "Be quiet.",
            ])
    }

    @Test func verseSynopsesAndIndentedParagraphsKeepTheirLines() throws {
        let document = try Self.load(
            """
            SYNOPSIS
            --------
            [verse]
            'git branch' [--color[=<when>]]
            	[-v [--abbrev=<n>]]

              an indented literal
              paragraph
            """)
        let code = document.blocks.filter { $0.kind == .code }.map(\.text)
        #expect(
            code == ["'git branch' [--color[=<when>]]\n\t[-v [--abbrev=<n>]]", "  an indented literal\n  paragraph"])
    }

    @Test func commentsPassthroughAndIncludesAreDropped() throws {
        let document = try Self.load(
            """
            = Page

            ////
            A block comment.
            ////
            ++++
            <div>raw</div>
            ++++
            include::includes/footer.txt[]
            ====
            Inside an example.
            ====
            """)
        #expect(document.blocks.map(\.text) == ["Page", "Inside an example."])
    }

    @Test func anUnclosedFenceRunsToTheEndOfThePage() throws {
        let document = try Self.load("Text.\n\n----\nline one\n\nline two")
        #expect(document.blocks.last?.kind == .code)
        #expect(document.blocks.last?.text == "line one\n\nline two")
    }

    @Test func aTextFileIsAsciiDocOnlyWhenWrittenInIt() throws {
        // One underlined line is not enough: plenty of plain notes rule a line off.
        let plain = try Self.load("Notes\n\nA line.\n-----\nMore text.", file: "notes.txt")
        #expect(plain.metadata["format"] == "text")
        #expect(Self.headings(plain).isEmpty)
        let manual = try Self.load("git-x(1)\n========\n\nNAME\n----\ngit-x - does x\n", file: "git-x.txt")
        #expect(manual.metadata["format"] == "asciidoc")
        #expect(manual.title == "git-x(1)")
        #expect(Self.headings(manual) == ["1 git-x(1)", "2 NAME"])
        let sections = try Self.load("Setup\n-----\nA.\n\nUse\n---\nB.\n", file: "readme.txt")
        #expect(sections.metadata["format"] == "asciidoc")
    }

    @Test func hostileInputGetsOneClearError() throws {
        let context = LoadContext(fileURL: URL(fileURLWithPath: "/kb/bad.adoc"), relativePath: "bad.adoc")
        #expect(throws: IngestError.self) { _ = try AsciiDocLoader().load(Data("= A\u{0}B".utf8), context: context) }
        #expect(throws: IngestError.self) { _ = try AsciiDocLoader().load(Data("  \n ".utf8), context: context) }
    }
}
