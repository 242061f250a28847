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

    /// Every answerable question of the shipped set has an answer key, and every key names a
    /// question of the set.
    @Test func theShippedSetHasAKeyForEveryQuestion() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let set = try BEIRDataset.load(root.appendingPathComponent("corpora/sqlite-docs/eval").path)
        #expect(Set(set.answerKeys.keys) == Set(set.judgedQueries.map(\.id)))
    }
}
