import Foundation

/// Strict ISO-8601 timestamps for events given by callers (`occurred_at`): a date that does not
/// exist (`2026-02-30`) is refused instead of rolled over, and fractional seconds are accepted.
public enum Timestamp {
    /// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`; nil for anything else.
    public static func parse(_ text: String) -> Date? {
        let s = Array(text.utf8)
        func number(_ from: Int, _ count: Int) -> Int? {
            guard from + count <= s.count else { return nil }
            var value = 0
            for b in s[from..<(from + count)] {
                guard (48...57).contains(b) else { return nil }
                value = value * 10 + Int(b - 48)
            }
            return value
        }
        func char(_ at: Int, _ c: Character) -> Bool { at < s.count && s[at] == c.asciiValue }
        guard let year = number(0, 4), char(4, "-"), let month = number(5, 2), char(7, "-"), let day = number(8, 2),
            char(10, "T") || char(10, "t") || char(10, " "), let hour = number(11, 2), char(13, ":"),
            let minute = number(14, 2), char(16, ":"), let second = number(17, 2)
        else { return nil }
        var i = 19
        var nanoseconds = 0
        if char(i, ".") {
            i += 1
            var digits = 0
            while i < s.count, (48...57).contains(s[i]) {
                if digits < 9 { nanoseconds = nanoseconds * 10 + Int(s[i] - 48) }
                digits += 1
                i += 1
            }
            guard digits > 0 else { return nil }
            if digits < 9 { for _ in digits..<9 { nanoseconds *= 10 } }
        }
        var offsetSeconds = 0
        if char(i, "Z") || char(i, "z") {
            i += 1
        } else if char(i, "+") || char(i, "-") {
            let sign = char(i, "-") ? -1 : 1
            guard let h = number(i + 1, 2), char(i + 3, ":"), let m = number(i + 4, 2), h <= 23, m <= 59 else {
                return nil
            }
            offsetSeconds = sign * (h * 3600 + m * 60)
            i += 6
        } else {
            return nil
        }
        guard i == s.count, (1...12).contains(month), (0...23).contains(hour), (0...59).contains(minute),
            (0...59).contains(second)
        else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? .gmt
        let components = DateComponents(
            year: year, month: month, day: day, hour: hour, minute: minute, second: second, nanosecond: nanoseconds)
        guard let date = calendar.date(from: components),
            calendar.component(.day, from: date) == day, calendar.component(.month, from: date) == month
        else { return nil }
        return date.addingTimeInterval(TimeInterval(-offsetSeconds))
    }
}
