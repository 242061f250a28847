import Testing

@testable import Evaluation

@Suite("Paired comparison of two systems' per-query scores")
struct PairedComparisonTests {
    @Test("the same scores: no difference, every query a tie, an interval of zero width")
    func identical() throws {
        let scores = [0.2, 0.5, 0.9, 1.0, 0.0]
        let c = try #require(PairedComparison(scores, scores))
        #expect(c.meanDifference == 0 && c.wins == 0 && c.losses == 0 && c.ties == 5)
        #expect(c.low == 0 && c.high == 0)
    }

    @Test("better by the same amount on every query: the interval is that amount")
    func uniformGain() throws {
        let b = [0.1, 0.4, 0.6, 0.3]
        let c = try #require(PairedComparison(b.map { $0 + 0.1 }, b))
        #expect(abs(c.meanDifference - 0.1) < 1e-12 && c.wins == 4 && c.losses == 0)
        #expect(abs(c.low - 0.1) < 1e-12 && abs(c.high - 0.1) < 1e-12)
    }

    @Test("one query gained among many ties: a positive margin whose interval reaches zero")
    func oneLuckyQuery() throws {
        let b = Array(repeating: 0.5, count: 40)
        var a = b
        a[7] = 1.0
        let c = try #require(PairedComparison(a, b))
        #expect(c.meanDifference > 0 && c.wins == 1 && c.ties == 39)
        #expect(c.low == 0, "a sample without query 7 is likely among 10,000 resamples")
        #expect(c.high > c.meanDifference)
    }

    @Test("gains and losses that cancel: the interval straddles zero")
    func mixed() throws {
        let b = Array(repeating: 0.5, count: 30)
        let a = b.enumerated().map { $0.offset % 2 == 0 ? $0.element + 0.2 : $0.element - 0.2 }
        let c = try #require(PairedComparison(a, b))
        #expect(c.wins == 15 && c.losses == 15)
        #expect(c.low < 0 && c.high > 0)
    }

    @Test("the interval is the same on every run, and nil when there is nothing to pair")
    func deterministic() throws {
        let a = (0..<25).map { Double(($0 * 37) % 11) / 10 }
        let b = (0..<25).map { Double(($0 * 53) % 7) / 6 }
        #expect(PairedComparison(a, b) == PairedComparison(a, b))
        #expect(PairedComparison([], []) == nil)
        #expect(PairedComparison([0.1, 0.2], [0.1]) == nil)
    }
}
