import Foundation
import KnowledgeBase
import Retrieval
import Testing

@testable import Cascade

/// A RAG answer must answer: a syntax diagram, a list of links or labels is cited but never
/// quoted, and a passage about the opposite action never resolves the question.
@Suite struct AnswerCheckTests {
    @Test(arguments: [
        "create-index-stmt:\n\nexpr:\n\nfilter-clause:\n\nliteral-value:\n\nover-clause:\n\nframe-spec:",
        "Overview\n\nInstallation\n\nConfiguration\n\nTroubleshooting\n\nFAQ\n\nRelease notes",
        "sqlite3_open sqlite3_close sqlite3_exec sqlite3_prepare_v2 sqlite3_step sqlite3_finalize sqlite3_bind_int",
        "Figure 3: The WAL file layout",
        "See also lists of Objects, Constants, and Functions.",
        "See also: the sqlite3_total_changes() interface, the count_changes pragma, the changes() SQL function",
        // A man page's SYNOPSIS, cut mid-command by the chunker (issue 31 defect c).
        "git stash list [<log-options>]\ngit stash show [-u | --include-untracked | --only-untracked] [<diff-options>] [<stash>]\ngit stash drop [-q | --quiet] [<stash>]\ngit stash pop [--index] [-q",
    ])
    func labelsDiagramsAndListsAreNotQuotable(text: String) {
        #expect(AnswerCheck.notQuotable(text) != nil, "\(text.prefix(40))")
    }

    @Test(arguments: [
        "To get the maximum performance out of a query with multiple AND-connected terms, create a multi-column index. CREATE INDEX Idx3 ON FruitsForSale(fruit, state);",
        "Run PRAGMA journal_mode=WAL; on the database once. The setting is persistent.",
        "Foreign key constraints are disabled by default and must be enabled for each connection.",
        // An option's description names options and still answers.
        "-D Shortcut for --delete --force. Use it to delete a branch irrespective of its merged status, or whether it even points to a valid commit.",
    ])
    func proseIsQuotable(text: String) {
        #expect(AnswerCheck.notQuotable(text) == nil, "\(text.prefix(40))")
    }

    @Test func theOppositeActionIsAContradiction() {
        let clash = AnswerCheck.contradiction(
            question: "How do I disable WAL mode?",
            passage: "To enable WAL mode, run PRAGMA journal_mode=WAL once; it is persistent.",
            heading: "Activating WAL")
        #expect(clash?.asked == "disable" && clash?.found == "enable")
        #expect(
            AnswerCheck.contradiction(
                question: "How do I remove a column?", passage: "Use ALTER TABLE ADD COLUMN to add a column.",
                heading: "ALTER TABLE") != nil)
        // The asked action present in the passage: no contradiction, even if the opposite is too.
        #expect(
            AnswerCheck.contradiction(
                question: "How do I disable foreign keys?",
                passage: "Foreign keys are disabled by default; enable them with PRAGMA foreign_keys=ON.",
                heading: "Enabling Foreign Key Support") == nil)
        #expect(
            AnswerCheck.contradiction(
                question: "How do I enable WAL?", passage: "Run PRAGMA journal_mode=WAL.", heading: "WAL") == nil)
        // Another word for the asked action counts as the action.
        #expect(
            AnswerCheck.contradiction(
                question: "How do I delete a trigger?",
                passage: "The DROP TRIGGER statement removes a trigger created by the CREATE TRIGGER statement.",
                heading: "DROP TRIGGER") == nil)
        #expect(
            AnswerCheck.contradiction(
                question: "How do I disable WAL?",
                passage: "Turn off WAL with journal_mode=DELETE; you can enable it again later.",
                heading: "") == nil)
        #expect(
            AnswerCheck.contradiction(
                question: "How do I delete a trigger?", passage: "CREATE TRIGGER creates a new trigger.", heading: "")
                != nil, "creating is still the opposite of deleting")
        // A question about both actions asks about neither alone.
        #expect(
            AnswerCheck.contradiction(
                question: "Can I enable and disable WAL at will?", passage: "You can enable WAL.", heading: "") == nil)
    }

    @Test func wholeWordsMatchOnlyAtWordBoundaries() {
        #expect(TextFolding.containsWords("run pragma journal mode wal", "journal mode"))
        #expect(TextFolding.containsWords("enable wal", "enable") && TextFolding.containsWords("re enable", "enable"))
        #expect(TextFolding.containsWords("to disable", "disable"))
        #expect(!TextFolding.containsWords("enabled wal", "enable"), "a longer word is another word")
        #expect(!TextFolding.containsWords("xenable", "enable"))
        #expect(!TextFolding.containsWords("journal", "journal mode"))
        #expect(!TextFolding.containsWords("anything", ""))
        #expect(TextFolding.containsWords("café ouvert", "café"))
    }

    @Test func coverageCountsTheSubjectNotTheQuestionWords() {
        #expect(
            AnswerCheck.coverage(
                question: "How do I disable WAL?", passage: "WAL files grow until a checkpoint runs.", heading: "",
                title: "") == 0.5)
        #expect(
            AnswerCheck.coverage(
                question: "How can I add a column?", passage: "ALTER TABLE ADD COLUMN adds a column.", heading: "",
                title: "") == 1)
    }

    static func result(_ id: Int64, _ doc: String, _ text: String, cosine: Double, rank: Int) -> SearchResult {
        SearchResult(
            rank: rank,
            chunk: StoredChunk(
                chunkID: id, docID: doc, collection: "c", source: "c/\(doc)", title: doc, heading: "", anchor: nil,
                text: text, startOffset: 0, endOffset: text.count),
            score: cosine, vectorScore: cosine, keywordScore: nil, vectorRank: rank, keywordRank: nil)
    }

    @Test func aDiagramIsCitedButTheNextProseIsQuoted() {
        let results = [
            Self.result(
                1, "lang_createindex.html", "create-index-stmt:\n\nexpr:\n\nfilter-clause:\n\nliteral-value:",
                cosine: 0.82, rank: 1),
            Self.result(
                2, "queryplanner.html",
                "To create an index on two columns, list both: CREATE INDEX i ON t(a, b). The planner uses it for AND terms.",
                cosine: 0.74, rank: 2),
        ]
        let selection = RAGAnswer.select(question: "How do I create an index?", results: results)
        #expect(selection.quoted?.chunk.chunkID == 2)
        #expect(selection.refusal == nil)
        #expect(Set(selection.cited.map(\.chunk.docID)) == ["queryplanner.html", "lang_createindex.html"])
        #expect(
            RAGAnswer.text(question: "How do I create an index?", cited: selection.cited).hasPrefix(
                "To create an index"))
        let onlyDiagrams = RAGAnswer.select(question: "How do I create an index?", results: [results[0]])
        #expect(onlyDiagrams.refusal?.outcome == "not_quotable")
    }

    @Test func theOppositeProcedureIsRefused() {
        let results = [
            Self.result(1, "wal.html", "To enable WAL, run PRAGMA journal_mode=WAL once.", cosine: 0.87, rank: 1)
        ]
        let selection = RAGAnswer.select(question: "How do I disable WAL?", results: results)
        #expect(selection.refusal?.outcome == "contradicts_question")
        #expect(selection.refusal?.note.contains("disable") == true)
    }

    /// A page shipped as HTML and as its source: the twin is neither the runner-up the margin is
    /// measured against nor a second citation.
    @Test func aTwinOfTheBestPageIsNoRunnerUpAndTakesNoCitationSlot() {
        let page =
            "Signals are sent when something happens in the core framework. Use the connect method of a signal to subscribe a function to it; the first argument is the sender."
        let source =
            "Signals are sent when something happens in the core framework. Use the :meth:`connect` method of a signal to subscribe a function to it; the first argument is the sender."
        let results = [
            Self.result(1, "signals.html", page, cosine: 0.80, rank: 1),
            Self.result(2, "_sources/signals.rst.txt", source, cosine: 0.79, rank: 2),
            Self.result(
                3, "api.html", "The request context is pushed before a request is dispatched.", cosine: 0.60, rank: 3),
            Self.result(
                4, "views.html", "A view function returns the response body for a route.", cosine: 0.55, rank: 4),
        ]
        let selection = RAGAnswer.select(question: "How do I subscribe to a signal?", results: results)
        #expect(selection.cited.map(\.chunk.docID) == ["signals.html", "api.html", "views.html"])
        #expect(abs((selection.signals?.margin ?? 0) - 0.20) < 1e-9, "measured against api.html, not the source form")
        // Without the twin, the same signals: the source form changes nothing.
        let alone = RAGAnswer.select(question: "How do I subscribe to a signal?", results: [results[0]] + results[2...])
        #expect(alone.signals?.margin == selection.signals?.margin)
        // Two different pages on one subject stay two pages.
        let other = Self.result(
            2, "patterns.html", "Connect a function to a signal and it is called with the sender.", cosine: 0.79,
            rank: 2)
        let distinct = RAGAnswer.select(question: "How do I subscribe to a signal?", results: [results[0], other])
        #expect(distinct.cited.count == 2)
        #expect(abs((distinct.signals?.margin ?? 1) - 0.01) < 1e-9)
    }

    /// A word's inflections share one stem, so a passage saying "releases" covers a question
    /// asking to "release"; short words are left as they are.
    @Test(arguments: [
        ["release", "releases", "released", "releasing"], ["change", "changes", "changed", "changing"],
        ["create", "creates", "created", "creating"], ["table", "tables"], ["index", "indexes", "indexed"],
        ["query", "queries"], ["match", "matches"], ["file", "files"], ["store", "stored", "storing"],
    ])
    func inflectionsShareAStem(forms: [String]) {
        let stems = Set(forms.map(PassageTrimmer.stem))
        #expect(stems.count == 1, "\(forms) → \(stems)")
    }

    @Test func subjectWordsLeaveOutQuestionWordsBeforeStemming() {
        #expect(AnswerCheck.subjectWords("is there something that releases memory") == ["releas", "memory"])
        #expect(PassageTrimmer.stem("uses") == "uses" && PassageTrimmer.stem("class") == "class")
        #expect(PassageTrimmer.stem("status") == "status")
    }
}
