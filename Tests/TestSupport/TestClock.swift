import Foundation

/// The instant a test takes as "now", and the months and days it names derived from it.
///
/// `tools/test` runs the date-sensitive suites again with `CASCADE_NOW` set to awkward instants
/// (the last minute of a month, 1 January, 29 February); without it, this is the moment the test
/// process started. Tests hand it to the code under test as a fixed clock and never write a
/// literal month that was true only on the day the test was written. Child `cascade` processes
/// inherit `CASCADE_NOW`, so they read the same instant.
public enum TestClock {
    public static let now: Date = {
        guard let text = ProcessInfo.processInfo.environment["CASCADE_NOW"] else { return Date() }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime]
        guard let date = formatter.date(from: text) else {
            fatalError("CASCADE_NOW=\(text) is not an ISO-8601 instant such as 2028-02-29T23:59:00Z")
        }
        return date
    }()

    /// `YYYY-MM` of the month `months` after the one holding `now` in `zone` (negative: before).
    public static func month(offset months: Int = 0, in zone: TimeZone = TimeZone(identifier: "UTC")!) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        let start = calendar.date(from: calendar.dateComponents([.year, .month], from: now))!
        let shifted = calendar.date(byAdding: .month, value: months, to: start)!
        let parts = calendar.dateComponents([.year, .month], from: shifted)
        return String(format: "%04d-%02d", parts.year!, parts.month!)
    }
}
