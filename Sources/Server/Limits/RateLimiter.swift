import Foundation
import Synchronization

/// A token bucket per API key: `rate` requests per second sustained, up to `burst` at once.
/// A refused request learns how long until a token is back (`Retry-After`).
final class RateLimiter: Sendable {
    private struct Bucket {
        var tokens: Double
        var updated: ContinuousClock.Instant
    }

    let rate: Double
    let burst: Double
    private let buckets = Mutex<[String: Bucket]>([:])

    init(rate: Double, burst: Double) {
        self.rate = rate
        self.burst = burst
    }

    /// Takes a token for `key`; returns nil when allowed, else the whole seconds to wait.
    func acquire(_ key: String, now: ContinuousClock.Instant = .now) -> Int? {
        buckets.withLock { buckets in
            var bucket = buckets[key] ?? Bucket(tokens: burst, updated: now)
            let elapsed = now - bucket.updated
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            bucket.tokens = min(burst, bucket.tokens + seconds * rate)
            bucket.updated = now
            defer { buckets[key] = bucket }
            if bucket.tokens >= 1 {
                bucket.tokens -= 1
                return nil
            }
            return max(1, Int(((1 - bucket.tokens) / rate).rounded(.up)))
        }
    }
}

/// Caps the requests one tenant has in progress, so one busy tenant cannot take every worker.
final class InFlightLimiter: Sendable {
    let limit: Int
    private let counts = Mutex<[String: Int]>([:])

    init(limit: Int) {
        self.limit = limit
    }

    /// Reserves a slot for `tenant`; false when it already has `limit` requests in progress.
    func enter(_ tenant: String) -> Bool {
        counts.withLock { counts in
            let current = counts[tenant, default: 0]
            guard current < limit else { return false }
            counts[tenant] = current + 1
            return true
        }
    }

    func leave(_ tenant: String) {
        counts.withLock { counts in
            let left = counts[tenant, default: 1] - 1
            counts[tenant] = left > 0 ? left : nil
        }
    }

    func current(_ tenant: String) -> Int { counts.withLock { $0[tenant, default: 0] } }
}
