import Cascade
import Embeddings
import Foundation
import KnowledgeBase
import Retrieval
import TestSupport
import Testing

@testable import Evaluation

@Suite("Label-free calibration")
struct SelfCalibrationTests {
    /// A small help centre: pages with headings, an FAQ, a definition, and a generic section.
    /// - Parameter extraPages: generated pages, each with two sections (label-free calibration
    ///   needs ``SelfCalibration/minimumQuestions`` questions).
    func helpCentre(extraPages: Int = 0) async throws -> (TemporaryDirectory, KnowledgeBaseStore) {
        let dir = try TemporaryDirectory()
        let subjects = [
            "invoices", "webhooks", "exports", "reminders", "calendars", "avatars", "passwords", "labels", "folders",
            "templates", "reports", "comments", "mentions", "filters", "dashboards", "widgets", "quotas", "tokens",
            "sessions", "devices",
        ]
        for i in 0..<extraPages {
            let subject = subjects[i % subjects.count]
            let team = i / subjects.count + 1
            try dir.write(
                "docs/\(subject)-\(team).md",
                """
                # Managing \(subject) for team \(team)

                ## Archiving old \(subject) of team \(team)

                Open the \(subject) page of team \(team), select the items and choose Archive to move them away.

                ## Sharing \(subject) with team \(team)

                Choose Share on any of the \(subject) and pick team \(team) to give its members access.
                """)
        }
        try dir.write(
            "docs/branches.md",
            """
            # Working with branches

            ## Deleting a remote branch

            Run git push origin --delete name to delete the branch on the remote.

            ## Renaming a local branch

            Run git branch -m old new to rename a branch you have checked out.

            ## Overview

            Branches are cheap.
            """)
        try dir.write(
            "docs/stash.md",
            """
            # Stashing changes

            A stash is a saved set of uncommitted changes that you can apply later.

            ## Can I stash untracked files?

            Yes: git stash --include-untracked saves untracked files too.
            """)
        try dir.write(
            "docs/tags.md",
            """
            # Tagging releases

            ## Creating an annotated tag

            Run git tag -a v1.0 -m message to create an annotated tag with a message.
            """)
        let store = try KnowledgeBaseStore(path: dir.path("kb.sqlite"))
        _ = try await Ingestor(store: store, embedder: HashingEmbedder()).ingest(dir.path("docs"))
        return (dir, store)
    }

    @Test("questions come from headings, FAQ headings, titles and definitions, each with the page that answers it")
    func answerableQuestions() async throws {
        let (_, store) = try await helpCentre()
        let questions = try PseudoQuestions.make(from: store)
        let byText = Dictionary(questions.answerable.map { ($0.text, $0) }, uniquingKeysWith: { a, _ in a })
        #expect(byText["Deleting a remote branch"]?.kind == "heading")
        #expect(byText["Deleting a remote branch"]?.answeredBy?.hasSuffix("\tbranches.md") == true)
        #expect(byText["Can I stash untracked files?"]?.kind == "faq")
        #expect(byText["Tagging releases"]?.kind == "title")
        #expect(byText["What is stash?"]?.kind == "definition")
        #expect(byText["What is stash?"]?.answeredBy?.hasSuffix("\tstash.md") == true)
        #expect(byText["Overview"] == nil, "a generic heading names no subject")
        // The same knowledge base gives the same questions.
        let again = try PseudoQuestions.make(from: store)
        #expect(again.answerable == questions.answerable && again.unanswerable == questions.unanswerable)
    }

    @Test(
        "unanswerable questions: other matters, near misses moved to a product it never mentions, and swaps it never holds together"
    )
    func unanswerableQuestions() async throws {
        let (_, store) = try await helpCentre()
        let questions = try PseudoQuestions.make(from: store)
        #expect(questions.unanswerable.allSatisfy { $0.answeredBy == nil })
        #expect(questions.unanswerable.contains { $0.kind == "foreign" })
        let nearMisses = questions.unanswerable.filter { $0.kind == "near_miss" }
        #expect(!nearMisses.isEmpty)
        for question in nearMisses {
            let words = PseudoQuestions.subjectWords(question.text)
            #expect(try !store.mentionsTogether(words), "\(question.text) is answered by one chunk")
        }
    }

    @Test(
        "the calibration is stored for the content it was fitted on; a reader writes nothing; new content makes it stale"
    )
    func cachedByContentVersion() async throws {
        let (dir, store) = try await helpCentre(extraPages: 20)
        let retriever = try Retriever(store: store)
        let inMemory = try #require(try await SelfCalibration.current(retriever: retriever, write: false))
        #expect(try store.metaValue(SelfCalibration.metaKey) == nil, "a reader stores nothing")
        #expect(inMemory.answerableQuestions > 0 && inMemory.unanswerableQuestions > 0)
        #expect((0...1).contains(inMemory.threshold))
        let stored = try await SelfCalibration.current(retriever: retriever, write: true)
        #expect(stored == inMemory, "the same content gives the same calibration")
        #expect(try SelfCalibration.cached(in: store) == stored)
        try dir.write("more/merge.md", "# Merging\n\n## Aborting a merge\n\nRun git merge --abort to stop a merge.")
        _ = try await Ingestor(store: store, embedder: HashingEmbedder()).ingest(dir.path("more"))
        #expect(try SelfCalibration.cached(in: store) == nil, "new content: the stored calibration no longer applies")
    }

    @Test("a knowledge base of a few pages is too small to calibrate: nothing is fitted, nothing stored")
    func tooSmall() async throws {
        let (_, store) = try await helpCentre()
        #expect(try PseudoQuestions.make(from: store).answerable.count < SelfCalibration.minimumQuestions)
        #expect(try await SelfCalibration.current(retriever: try Retriever(store: store), write: true) == nil)
        #expect(try store.metaValue(SelfCalibration.metaKey) == nil)
    }

    @Test("the fit pulled toward the hand-set weights stays near them when the evidence is thin, and never diverges")
    func fitStaysFinite() {
        // Perfectly separated by coverage: an unpenalised fit would send the weights to infinity.
        let samples = (0..<40).map { i in
            Calibration.Sample(
                queryID: "\(i)",
                signals: .init(topSimilarity: 0.6, margin: 0.1, agreement: false, coverage: i < 20 ? 1 : 0.3),
                correct: i < 20)
        }
        let pulled = Calibration.fit(samples, ridge: 10, prior: RAGConfidence())
        let free = Calibration.fit(samples, ridge: 0.01)
        for model in [pulled, free] {
            #expect(
                [model.bias, model.similarityWeight, model.marginWeight, model.agreementWeight, model.coverageWeight]
                    .allSatisfy { $0.isFinite && abs($0) < 1e4 })
        }
        #expect(abs(pulled.similarityWeight - RAGConfidence().similarityWeight) < 1)
        #expect(pulled.confidence(samples[0].signals) > pulled.confidence(samples[39].signals))
    }

    @Test("a passage is recognised in another document that holds it with other markup, not in one on the same subject")
    func samePassage() {
        let html =
            "If you enable PATH_INFO usage in gitweb by putting $feature{'pathinfo'}{'default'} = [1]; in your gitweb configuration file, it is possible to set up your server so that it consumes and produces URLs"
        let source =
            "PATH_INFO usage\n\nIf you enable PATH_INFO usage in gitweb by putting\n`$feature{'pathinfo'}{'default'} = [1];`\nin your gitweb configuration file, it is possible to set up your server so that it consumes and produces URLs in the form shown."
        let sameSubject =
            "Gitweb can use path_info (component) based URLs, or it can pass all necessary information via query parameters in your gitweb configuration file."
        #expect(PseudoQuestions.holds(source, passage: html))
        #expect(!PseudoQuestions.holds(sameSubject, passage: html))
        #expect(!PseudoQuestions.holds(html, passage: "gitweb"), "too short to recognise")
    }

    @Test(
        "one page shipped twice (HTML and its source): its headings still give questions, and citing either form is right"
    )
    func twinPages() async throws {
        let dir = try TemporaryDirectory()
        let sections = [
            (
                "Archiving old invoices",
                "Open the invoices page, select the items you no longer need and choose Archive to move them out of the list."
            ),
            (
                "Sharing a dashboard",
                "Choose Share on the dashboard and pick the people who may see it; they get an email with the link."
            ),
        ]
        try dir.write(
            "docs/guide.html",
            "<html><head><title>Guide</title></head><body><h1>Guide</h1>"
                + sections.map { "<h2>\($0.0)</h2><p>\($0.1)</p>" }.joined() + "</body></html>")
        try dir.write(
            "docs/guide.txt",
            "Guide\n=====\n\n"
                + sections.map { "\($0.0)\n\(String(repeating: "-", count: $0.0.count))\n\($0.1)\n" }.joined(
                    separator: "\n"))
        try dir.write(
            "docs/other.md", "# Other\n\n## Archiving old invoices\n\nA different page that names the same heading.")
        let store = try KnowledgeBaseStore(path: dir.path("kb.sqlite"))
        _ = try await Ingestor(store: store, embedder: HashingEmbedder()).ingest(dir.path("docs"))
        let questions = try PseudoQuestions.make(from: store).answerable
        let sharing = try #require(questions.first { $0.text == "Sharing a dashboard" })
        #expect(sharing.answeredBy?.contains("guide.") == true)
        #expect(!sharing.passage.isEmpty)
        // Named by a page of other content too: no question (it does not say which page answers).
        #expect(!questions.contains { $0.text == "Archiving old invoices" })
    }

    @Test(
        "a section opening with a table too short to recognise is recognised by its next chunk too, so its page's other form counts as right"
    )
    func shortOpeningsReadOnIntoTheSection() async throws {
        // Git's pack format page: the section "Instruction to copy from base object" opens with a
        // table of eight field names (six word trigrams), alone in its chunk.
        let table = "| 1xxxxxxx | offset1 | offset2 | offset3 | offset4 | size1 | size2 | size3 |"
        let prose =
            "This is the instruction format to copy a byte range from the source object. It encodes the offset to copy from and the number of bytes to copy."
        let entry = KnowledgeBaseStore.OutlineEntry(
            collection: "git-doc", docID: "gitformat-pack.html", title: "gitformat-pack(5)",
            heading: "Deltified representation › Instruction to copy from base object", opening: table,
            continuation: prose)
        #expect(PseudoQuestions.trigrams(table).count < PseudoQuestions.minimumPassageTrigrams)
        let passage = PseudoQuestions.passage(entry)
        #expect(passage == table + "\n" + prose)
        #expect(PseudoQuestions.trigrams(passage).count >= PseudoQuestions.minimumPassageTrigrams)
        // The source form of the page holds it.
        let source = "  " + table + "\n\n" + prose + " Offset and size are in little-endian order."
        #expect(PseudoQuestions.holds(source, passage: passage))
        // An opening long enough to recognise is the passage alone; so is one with nothing after it.
        var long = entry
        long.opening = prose
        #expect(PseudoQuestions.passage(long) == prose)
        var alone = entry
        alone.continuation = nil
        #expect(PseudoQuestions.passage(alone) == table)

        // The store gives a section's second chunk as its continuation, never another section's.
        let dir = try TemporaryDirectory()
        let longSection = (1...40).map { "Sentence \($0) of the long section says something about packs." }
            .joined(separator: " ")
        try dir.write("docs/page.md", "# Page\n\n## Long\n\n\(longSection)\n\n## Short\n\nOne short paragraph.")
        let store = try KnowledgeBaseStore(path: dir.path("kb.sqlite"))
        _ = try await Ingestor(store: store, embedder: HashingEmbedder()).ingest(dir.path("docs"))
        let chunks = try store.chunks(source: "docs/page.md")
        let outline = try store.outline()
        let longEntry = try #require(outline.first { $0.heading.hasSuffix("Long") })
        let shortEntry = try #require(outline.first { $0.heading.hasSuffix("Short") })
        let longChunks = chunks.filter { $0.heading.hasSuffix("Long") }
        try #require(longChunks.count >= 2)
        #expect(longEntry.continuation == String(longChunks[1].text.prefix(400)))
        #expect(shortEntry.continuation == nil)
    }
}
