import Foundation

/// Money arithmetic for invoices: `Decimal` dollars, never `Double`.
///
/// Rounding rule (the one customers see): every invoice line is computed at full precision and
/// rounded once, half-to-even, to whole cents; totals are the sums of the rounded lines, so the
/// lines always add up to the total printed under them.
public enum Money {
    /// Exact dollars of an integer micro-dollar amount.
    public static func dollars(micros: Int64) -> Decimal {
        Decimal(micros) / Decimal(1_000_000)
    }

    /// `amount` rounded half-to-even to cents.
    public static func cents(_ amount: Decimal) -> Decimal {
        var value = amount
        var rounded = Decimal()
        NSDecimalRound(&rounded, &value, 2, .bankers)
        return rounded
    }

    /// "$1,234.50"-style text (always two decimals, dot separator, no locale surprises).
    public static func format(_ amount: Decimal) -> String {
        let rounded = cents(amount)
        let negative = rounded < 0
        let text = NSDecimalNumber(decimal: negative ? -rounded : rounded).stringValue
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        let whole = String(parts[0])
        let fraction = parts.count > 1 ? String(parts[1]).padding(toLength: 2, withPad: "0", startingAt: 0) : "00"
        var grouped = ""
        for (i, c) in whole.reversed().enumerated() {
            if i > 0 && i % 3 == 0 { grouped.append(",") }
            grouped.append(c)
        }
        return (negative ? "-$" : "$") + String(grouped.reversed()) + "." + fraction
    }

    /// The exact decimal text of `amount` ("80.78", "79", "-0.89", "0.0036"): how money is written
    /// in JSON (never a binary floating-point number).
    public static func string(_ amount: Decimal) -> String {
        NSDecimalNumber(decimal: amount).stringValue
    }

    /// Reads money written as a decimal string, or as a JSON number (invoices stored before money
    /// was written as strings).
    static func decode<Key: CodingKey>(_ container: KeyedDecodingContainer<Key>, _ key: Key) throws -> Decimal {
        if let text = try? container.decode(String.self, forKey: key) {
            guard let value = parse(text) else {
                throw DecodingError.dataCorruptedError(
                    forKey: key, in: container, debugDescription: "\(text) is not a decimal amount")
            }
            return value
        }
        return try container.decode(Decimal.self, forKey: key)
    }

    /// Parses a plain decimal string ("79", "2.70", "0.0125"); nil for anything else.
    public static func parse(_ text: String) -> Decimal? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty, trimmed.allSatisfy({ $0.isNumber || $0 == "." || $0 == "-" }) else { return nil }
        return Decimal(string: trimmed, locale: Locale(identifier: "en_US_POSIX"))
    }
}
