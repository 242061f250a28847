import Foundation

/// When a failed delivery is tried again: after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h and
/// 20 h (about three days in all), each delay spread by ±20 % jitter so that a receiver coming back
/// from an outage is not hit by every retry at the same second. A `Retry-After` from the receiver
/// moves the next attempt later (never earlier), up to a day. After the last delay the delivery
/// has failed for good (it can still be replayed by hand).
public struct WebhookRetryPolicy: Sendable, Hashable {
    /// The delays after the first, second, … failed attempt.
    public var delays: [TimeInterval]
    /// The fraction each delay is spread by (0.2: between 80 % and 120 % of it).
    public var jitter: Double
    /// The longest `Retry-After` honoured.
    public var maximumRetryAfter: TimeInterval

    public static let standard = WebhookRetryPolicy(
        delays: [5, 300, 1800, 7200, 18_000, 36_000, 50_400, 72_000, 72_000], jitter: 0.2, maximumRetryAfter: 86_400)

    public init(delays: [TimeInterval], jitter: Double = 0.2, maximumRetryAfter: TimeInterval = 86_400) {
        self.delays = delays
        self.jitter = jitter
        self.maximumRetryAfter = maximumRetryAfter
    }

    /// Parses `5s,5m,30m,2h` (what `serve --webhook-retry-schedule` takes).
    public init(parsing text: String) throws {
        var delays: [TimeInterval] = []
        for part in text.split(separator: ",") {
            let item = part.trimmingCharacters(in: .whitespaces)
            let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86_400]
            guard let unit = item.last, let scale = units[unit], let value = Double(item.dropLast()), value >= 0,
                value.isFinite
            else {
                throw LedgerError.invalidInput("retry schedule item \(item) is not a delay like 5s, 30m, 2h or 1d")
            }
            delays.append(value * scale)
        }
        guard !delays.isEmpty, delays.count <= 50 else {
            throw LedgerError.invalidInput("a retry schedule has between 1 and 50 delays")
        }
        self.init(delays: delays)
    }

    /// The total span of the schedule, without jitter.
    public var span: TimeInterval { delays.reduce(0, +) }

    /// When to try again after `failedAttempts` attempts (counting the one that just failed), or
    /// nil when the schedule is used up. `random` is a number in [0, 1) (injected by tests).
    public func nextAttempt(
        afterFailedAttempts failedAttempts: Int, retryAfter: TimeInterval?, now: Date, random: Double
    )
        -> Date?
    {
        guard failedAttempts >= 1, failedAttempts <= delays.count else { return nil }
        let base = delays[failedAttempts - 1]
        var delay = base * (1 - jitter + 2 * jitter * min(max(random, 0), 1))
        if let retryAfter, retryAfter.isFinite, retryAfter > delay { delay = min(retryAfter, maximumRetryAfter) }
        return now.addingTimeInterval(delay)
    }
}
