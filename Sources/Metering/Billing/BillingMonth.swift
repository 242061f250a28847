import Foundation

/// A calendar month as a tenant sees it: months are cut at midnight in the tenant's time zone,
/// so a question asked at 23:30 UTC on 31 October belongs to November for a tenant in Berlin.
public struct BillingMonth: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let year: Int
    public let month: Int

    public init(year: Int, month: Int) {
        self.year = year
        self.month = month
    }

    /// Parses "YYYY-MM".
    public init(_ text: String) throws(BillingError) {
        let parts = text.split(separator: "-")
        guard parts.count == 2, parts[0].count == 4, parts[1].count == 2, let y = Int(parts[0]), let m = Int(parts[1]),
            (1...12).contains(m), y >= 2000
        else { throw .invalidMonth(text) }
        self.init(year: y, month: m)
    }

    /// Parses "YYYY-MM" or "YYYY-MM..YYYY-MM" into the months it spans (at most 36).
    public static func range(_ text: String) throws(BillingError) -> [BillingMonth] {
        let ends = text.components(separatedBy: "..")
        guard ends.count <= 2 else { throw .invalidMonth(text) }
        let first = try BillingMonth(ends[0])
        let last = ends.count == 2 ? try BillingMonth(ends[1]) : first
        guard first <= last else { throw .invalidMonth(text) }
        var months: [BillingMonth] = []
        var current = first
        while current <= last {
            months.append(current)
            guard months.count <= 36 else { throw .invalidMonth(text + " (more than 36 months)") }
            current = current.next
        }
        return months
    }

    public var description: String { String(format: "%04d-%02d", year, month) }

    public var next: BillingMonth {
        month == 12 ? .init(year: year + 1, month: 1) : .init(year: year, month: month + 1)
    }
    public var previous: BillingMonth {
        month == 1 ? .init(year: year - 1, month: 12) : .init(year: year, month: month - 1)
    }

    /// The month containing `date` in `timeZone`.
    public static func containing(_ date: Date, in timeZone: TimeZone) -> BillingMonth {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let c = calendar.dateComponents([.year, .month], from: date)
        return BillingMonth(year: c.year ?? 2000, month: c.month ?? 1)
    }

    /// [start, end) of the month in `timeZone`.
    public func interval(in timeZone: TimeZone) -> (start: Date, end: Date) {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let start =
            calendar.date(from: DateComponents(year: year, month: month, day: 1)) ?? Date(timeIntervalSince1970: 0)
        let end = calendar.date(from: DateComponents(year: next.year, month: next.month, day: 1)) ?? start
        return (start, end)
    }

    /// Days in the month.
    public var dayCount: Int {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let start = calendar.date(from: DateComponents(year: year, month: month, day: 1))!
        return calendar.range(of: .day, in: .month, for: start)?.count ?? 30
    }

    public static func < (a: BillingMonth, b: BillingMonth) -> Bool { (a.year, a.month) < (b.year, b.month) }
}
