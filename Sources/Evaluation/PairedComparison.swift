import Foundation
import VectorSearch

/// How one system's per-query scores compare with another's on the same queries: the mean
/// difference, how many queries each wins, and a paired bootstrap interval of the difference.
///
/// A set's nDCG@10 margin of +0.003 over 43 queries says nothing by itself: it can be one query
/// gained, or ten gained and nine lost. The interval says whether the sign would survive a
/// different sample of queries like these (it is the 2.5th and 97.5th percentile of the mean
/// difference over resamples of the queries, drawn with replacement, Efron's percentile method).
/// Resampling uses a fixed-seed generator (``SplitMix64``), so a run prints the same interval
/// every time.
public struct PairedComparison: Sendable, Hashable {
    /// Mean of `a − b` over the queries.
    public var meanDifference: Double
    /// Queries where `a` scored higher, lower, or the same (within 1e-9).
    public var wins: Int
    public var losses: Int
    public var ties: Int
    /// The paired bootstrap 95% interval of ``meanDifference``.
    public var low: Double
    public var high: Double

    /// Resamples drawn; enough for the percentiles' third decimal to be stable.
    public static let resamples = 10_000

    /// Compares `a` with `b`, query by query (`a[i]` and `b[i]` are the same query's scores).
    /// Nil when there are no queries or the two lists differ in length.
    public init?(_ a: [Double], _ b: [Double]) {
        guard !a.isEmpty, a.count == b.count else { return nil }
        let differences = zip(a, b).map { $0 - $1 }
        let n = differences.count
        meanDifference = differences.reduce(0, +) / Double(n)
        wins = differences.filter { $0 > 1e-9 }.count
        losses = differences.filter { $0 < -1e-9 }.count
        ties = n - wins - losses
        var generator = SplitMix64(seed: 0x5EED)
        var means: [Double] = []
        means.reserveCapacity(Self.resamples)
        for _ in 0..<Self.resamples {
            var sum = 0.0
            for _ in 0..<n { sum += differences[Int(generator.next() % UInt64(n))] }
            means.append(sum / Double(n))
        }
        means.sort()
        low = means[Int((Double(Self.resamples - 1) * 0.025).rounded())]
        high = means[Int((Double(Self.resamples - 1) * 0.975).rounded())]
    }
}
