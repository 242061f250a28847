/// Keeps the `k` best-scoring entries seen so far in a bounded min-heap.
///
/// Selecting top-k this way costs O(n log k) and touches each score once, instead of sorting all
/// n scores; for the usual k ≤ 100 the heap stays in L1 cache. Ties are broken by the smaller
/// index so results are deterministic whatever order scores arrive in.
public struct TopKSelector: Sendable {
    public let k: Int
    private var heap: [(index: Int, score: Float)] = []

    public init(k: Int) {
        self.k = max(0, k)
        heap.reserveCapacity(self.k)
    }

    /// The lowest score currently kept, or `-infinity` while fewer than `k` entries are held.
    @inlinable public var threshold: Float { count < k ? -.infinity : minimumScore }

    public var count: Int { heap.count }

    @usableFromInline var minimumScore: Float { heap[0].score }

    /// `a` ranks below `b`: lower score, or equal score and larger index.
    @inline(__always)
    private static func ranksBelow(_ a: (index: Int, score: Float), _ b: (index: Int, score: Float)) -> Bool {
        a.score < b.score || (a.score == b.score && a.index > b.index)
    }

    /// Offers one candidate; it is kept when it beats the current worst entry.
    @inline(__always)
    public mutating func offer(index: Int, score: Float) {
        guard k > 0, !score.isNaN else { return }
        let entry = (index: index, score: score)
        if heap.count < k {
            heap.append(entry)
            siftUp(heap.count - 1)
        } else if Self.ranksBelow(heap[0], entry) {
            heap[0] = entry
            siftDown(0)
        }
    }

    /// The kept entries, best first.
    public func sortedDescending() -> [(index: Int, score: Float)] {
        heap.sorted { Self.ranksBelow($1, $0) }
    }

    private mutating func siftUp(_ start: Int) {
        var child = start
        while child > 0 {
            let parent = (child - 1) / 2
            guard Self.ranksBelow(heap[child], heap[parent]) else { return }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    private mutating func siftDown(_ start: Int) {
        var parent = start
        let n = heap.count
        while true {
            let left = 2 * parent + 1
            guard left < n else { return }
            var smallest = left
            let right = left + 1
            if right < n, Self.ranksBelow(heap[right], heap[left]) { smallest = right }
            guard Self.ranksBelow(heap[smallest], heap[parent]) else { return }
            heap.swapAt(smallest, parent)
            parent = smallest
        }
    }
}
