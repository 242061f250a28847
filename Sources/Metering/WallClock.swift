import Foundation

/// Where "now" comes from for everything that dates a row or picks a month: ledger rows, billing
/// changes, the default report month, keys and sessions.
///
/// Code that needs the current date takes a clock instead of calling `Date()`, so a test can run
/// the same code on the last minute of a month, on 1 January or on 29 February without touching
/// the machine's time, and so a month named by a test is always the month of the clock the code
/// was given, never the month the test was written in.
public struct WallClock: Sendable {
    private let read: @Sendable () -> Date

    public init(_ read: @escaping @Sendable () -> Date) { self.read = read }

    /// The current instant.
    public func now() -> Date { read() }

    /// The machine's clock.
    public static let system = WallClock { Date() }

    /// A clock stopped at `date`: every reading gives the same instant.
    public static func fixed(_ date: Date) -> WallClock { WallClock { date } }

    /// The environment variable that fixes the clock of a `cascade` process (for tests and
    /// demos): an ISO-8601 instant such as `2028-02-29T23:59:00Z`.
    public static let environmentVariable = "CASCADE_NOW"

    /// The system clock, or the instant `CASCADE_NOW` names.
    /// - Throws: ``WallClockError`` when the variable is set but is not an ISO-8601 instant:
    ///   a misspelt date never falls back to the machine's clock.
    public static func fromEnvironment(
        _ environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> WallClock {
        guard let text = environment[environmentVariable] else { return .system }
        guard let date = Timestamp.parse(text) else { throw WallClockError(value: text) }
        return .fixed(date)
    }
}

/// `CASCADE_NOW` is set to something that is not an instant.
public struct WallClockError: Error, CustomStringConvertible, Equatable {
    public var value: String
    public init(value: String) { self.value = value }
    public var description: String {
        "\(WallClock.environmentVariable)=\(value.prefix(40)) is not an ISO-8601 instant (e.g. 2028-02-29T23:59:00Z); unset it to use the machine's clock"
    }
}
