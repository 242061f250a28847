import Testing

@testable import VectorSearch

@Suite("Top-k selection")
struct TopKSelectorTests {
    @Test("keeps exactly the k best of random scores, best first", arguments: [1, 3, 10, 100])
    func matchesSort(k: Int) {
        var rng = SplitMix64(seed: UInt64(k))
        let scores = (0..<5_000).map { _ in Float.random(in: -1...1, using: &rng) }
        var selector = TopKSelector(k: k)
        for (i, s) in scores.enumerated() { selector.offer(index: i, score: s) }
        let want = scores.enumerated().sorted { $0.element > $1.element }.prefix(k).map(\.offset)
        #expect(selector.sortedDescending().map(\.index) == want)
    }

    @Test("ties are broken by the lower index, whatever the arrival order")
    func ties() {
        var forward = TopKSelector(k: 2)
        var backward = TopKSelector(k: 2)
        for i in 0..<5 { forward.offer(index: i, score: 1) }
        for i in (0..<5).reversed() { backward.offer(index: i, score: 1) }
        #expect(forward.sortedDescending().map(\.index) == [0, 1])
        #expect(backward.sortedDescending().map(\.index) == [0, 1])
    }

    @Test("NaN scores and k = 0 are ignored")
    func degenerate() {
        var selector = TopKSelector(k: 2)
        selector.offer(index: 0, score: .nan)
        selector.offer(index: 1, score: 0.5)
        #expect(selector.sortedDescending().map(\.index) == [1])
        var none = TopKSelector(k: 0)
        none.offer(index: 0, score: 1)
        #expect(none.count == 0)
    }
}
