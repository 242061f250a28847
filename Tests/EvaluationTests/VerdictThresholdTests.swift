import Foundation
import Metering
import Testing

@testable import Evaluation

@Suite("The threshold customers' verdicts support")
struct VerdictThresholdTests {
    func verdict(_ id: String, _ confidence: Double, rejected: Bool, tier: String = "rag", threshold: Double = 0.6)
        -> CustomerVerdict
    {
        var evidence = Evidence()
        evidence.threshold = threshold
        evidence.calibration = "knowledge_base"
        let query = LedgerEntry(
            kind: .query, queryID: id, tenant: "acme", tier: tier, outcome: "resolved", question: "Q?", answer: "A.",
            confidence: confidence, occurredAt: Date(timeIntervalSince1970: 0), evidence: evidence.json)
        return CustomerVerdict(
            query: query, verdict: rejected ? .notHelpful : .helpful, comment: nil,
            recordedAt: Date(timeIntervalSince1970: 0))
    }

    @Test("each row counts the judged answers at or above its confidence; the lowest row under the target wins")
    func tableAndChoice() {
        let verdicts = [
            verdict("a", 0.65, rejected: true), verdict("b", 0.70, rejected: false), verdict("c", 0.80, rejected: true),
            verdict("d", 0.90, rejected: false), verdict("e", 0.95, rejected: false),
            verdict("f", 0.99, rejected: false), verdict("rule", 1, rejected: true, tier: "rule"),
        ]
        let samples = VerdictThreshold.samples(verdicts)
        #expect(samples.map(\.queryID) == ["a", "b", "c", "d", "e", "f"], "rule answers are not thresholded")
        let table = VerdictThreshold.table(samples)
        #expect(table.map(\.threshold) == [0.65, 0.70, 0.80, 0.90, 0.95, 0.99])
        #expect(table.map(\.judged) == [6, 5, 4, 3, 2, 1])
        #expect(table.map(\.rejected) == [2, 1, 1, 0, 0, 0])
        #expect(VerdictThreshold.choose(table, target: 0.05, minimumVerdicts: 3)?.threshold == 0.90)
        #expect(VerdictThreshold.choose(table, target: 0.25, minimumVerdicts: 3)?.threshold == 0.70)  // 1 of 5
        #expect(VerdictThreshold.choose(table, target: 0.05, minimumVerdicts: 4) == nil)
        #expect(VerdictThreshold.table([]).isEmpty)
    }

    @Test("equal confidences share a row; verdicts under an older threshold are set aside")
    func tiesAndBasis() {
        let samples = VerdictThreshold.samples([
            verdict("old", 0.5, rejected: true, threshold: 0.4), verdict("x", 0.8, rejected: true),
            verdict("y", 0.8, rejected: false),
        ])
        let (kept, setAside) = VerdictThreshold.latestBasis(samples)
        #expect(kept.map(\.queryID) == ["x", "y"] && setAside == 1)
        let table = VerdictThreshold.table(kept)
        #expect(table.count == 1 && table[0].judged == 2 && table[0].rejectedShare == 0.5)
    }
}
