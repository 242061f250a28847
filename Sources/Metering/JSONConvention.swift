import Foundation

/// The one JSON convention of the CLI's `--json` and the HTTP API: snake_case keys, ISO-8601 UTC
/// timestamps with milliseconds (types write nulls and decimal-string money themselves).
public enum JSONConvention {
    /// `2026-11-26T15:04:05.123Z`
    public static func timestamp(_ date: Date) -> String {
        date.formatted(
            Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: TimeZone(identifier: "UTC") ?? .gmt))
    }

    /// An encoder following the convention (sorted keys, so output is stable).
    public static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(timestamp(date))
        }
        return encoder
    }
}
