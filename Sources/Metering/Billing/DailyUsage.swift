import Foundation

/// One day of a tenant's month, in the tenant's time zone: what the dashboard's daily charts
/// draw. Derived from ``MonthlyUsage`` (the same statuses the invoice uses), so the days add up
/// to the month's report.
public struct DailyUsage: Sendable, Hashable {
    /// Day of the month, 1-based.
    public var day: Int
    /// Questions asked that day, by the tier that ended them (`rule`, `rag`, `llm`, `escalated`, `rejected`).
    public var questionsByTier: [String: Int] = [:]
    /// Resolutions that day by tier (rule, RAG or LLM), whatever their billing status.
    public var resolutionsByTier: [String: Int] = [:]
    /// Resolutions billed (not flagged, duplicated, reopened or voided).
    public var billableResolutions = 0
    public var costMicros: Int64 = 0

    public var questions: Int { questionsByTier.values.reduce(0, +) }
    public var resolutions: Int { resolutionsByTier.values.reduce(0, +) }

    public init(day: Int) { self.day = day }

    /// Every day of the month up to its last (or up to `through`, e.g. today), with days
    /// without questions present and empty, so a chart's axis has no gaps.
    /// - Parameter through: the last day to include; nil for the whole month.
    public static func days(of usage: MonthlyUsage, timeZone: TimeZone, through: Int? = nil) -> [DailyUsage] {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let (start, _) = usage.month.interval(in: timeZone)
        let length = calendar.range(of: .day, in: .month, for: start)?.count ?? 31
        let last = min(length, max(through ?? length, 1))
        var days = (1...last).map(DailyUsage.init(day:))
        for query in usage.queries {
            let day = calendar.component(.day, from: query.occurredAt)
            guard day >= 1, day <= last else { continue }
            days[day - 1].questionsByTier[query.tier, default: 0] += 1
            days[day - 1].costMicros += query.costMicros
            if ["rule", "rag", "llm"].contains(query.tier) {
                days[day - 1].resolutionsByTier[query.tier, default: 0] += 1
                if query.status == .billable { days[day - 1].billableResolutions += 1 }
            }
        }
        return days
    }
}
