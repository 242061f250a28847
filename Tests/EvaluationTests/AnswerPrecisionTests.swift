import Foundation
import Testing

@testable import Evaluation

/// Answer precision counts what the customer reads: the quoted passage, not the citations.
@Suite struct AnswerPrecisionTests {
    @Test func onlyTheQuotedPassageCounts() {
        let answer = "Run PRAGMA   journal_mode=WAL; once.\n\nSee also: Pragmas (pragma.html#busy_timeout)"
        #expect(CascadeEvaluation.quotes(answer, anyOf: ["journal_mode=wal"]))
        #expect(!CascadeEvaluation.quotes(answer, anyOf: ["busy_timeout"]), "a citation is not an answer")
        #expect(CascadeEvaluation.quotes("Run  PRAGMA\njournal_mode=WAL", anyOf: ["pragma journal_mode"]))
    }

    @Test func precisionIsOverRAGResolutionsWithAKey() {
        func item(_ id: String, tier: String, quoted: Bool?) -> CascadeEvaluation.Item {
            var item = CascadeEvaluation.Item(
                queryID: id, answerable: true, tier: tier, confidence: 0.9, citedDocIDs: [], correct: true,
                costMicros: 1)
            item.answerQuoted = quoted
            return item
        }
        let summary = CascadeEvaluation.Summary(items: [
            item("a", tier: "rag", quoted: true), item("b", tier: "rag", quoted: true),
            item("c", tier: "rag", quoted: false),
            item("d", tier: "rule", quoted: nil), item("e", tier: "escalated", quoted: nil),
        ])
        #expect(summary.answerPrecisionQuestions == 3)
        #expect(abs((summary.answerPrecision ?? 0) - 2.0 / 3.0) < 1e-12)
        #expect(CascadeEvaluation.Summary(items: [item("x", tier: "rule", quoted: nil)]).answerPrecision == nil)
    }

    @Test func answerKeysAreReadAndAMalformedLineIsNamed() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("keys-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let good = dir.appendingPathComponent("good.jsonl")
        try "{\"_id\": \"q1\", \"contains\": [\"busy_timeout\"]}\n\n".write(to: good, atomically: true, encoding: .utf8)
        #expect(try BEIRDataset.readAnswerKeys(good) == ["q1": ["busy_timeout"]])
        let bad = dir.appendingPathComponent("bad.jsonl")
        try "{\"_id\": \"q1\", \"contains\": [\"a\"]}\n{\"_id\": \"q2\", \"contains\": []}\n".write(
            to: bad, atomically: true, encoding: .utf8)
        #expect {
            try BEIRDataset.readAnswerKeys(bad)
        } throws: { error in
            (error as? EvaluationError)?.description.contains("line 2") == true
        }
    }

    /// Every answerable question of the shipped sets (the design set and the held-out one) has an
    /// answer key, and every key names a question of the set.
    @Test(arguments: ["eval", "heldout", "heldout-b"])
    func theShippedSetHasAKeyForEveryQuestion(set name: String) throws {
        let set = try BEIRDataset.load(Self.repository.appendingPathComponent("corpora/sqlite-docs/\(name)").path)
        #expect(!set.answerKeys.isEmpty)
        #expect(Set(set.answerKeys.keys) == Set(set.judgedQueries.map(\.id)))
    }

    /// A key is a fact of the documentation: one of its strings is in the text of a page the
    /// question's judgments call the answer (score 2), or no quote could ever contain it.
    @Test(arguments: ["eval", "heldout", "heldout-b"])
    func everyKeyIsInAPageThatAnswers(set name: String) throws {
        let set = try BEIRDataset.load(Self.repository.appendingPathComponent("corpora/sqlite-docs/\(name)").path)
        var pages: [String: String] = [:]
        func text(_ page: String) throws -> String {
            if let known = pages[page] { return known }
            let html = try String(contentsOf: set.corpus.url.appendingPathComponent(page), encoding: .utf8)
            let folded = html.replacingOccurrences(of: "<[^>]+>", with: " ", options: .regularExpression)
                .replacingOccurrences(of: "&nbsp;", with: " ").replacingOccurrences(of: "&gt;", with: ">")
                .replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&amp;", with: "&")
                .replacingOccurrences(of: "&quot;", with: "\"").lowercased()
            pages[page] = folded
            return folded
        }
        for (query, keys) in set.answerKeys.sorted(by: { $0.key < $1.key }) {
            let answering = (set.qrels[query] ?? [:]).filter { $0.value >= 2 }.map(\.key).sorted()
            let found = try answering.contains { page in try keys.contains { try text(page).contains($0.lowercased()) }
            }
            #expect(found, "\(name) \(query): none of \(keys) is in \(answering)")
        }
    }

    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
}
