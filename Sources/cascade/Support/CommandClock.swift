import Foundation
import Metering

/// The clock every command dates its rows and picks its default month by: the machine's, or the
/// instant `CASCADE_NOW` names (``WallClock/fromEnvironment(_:)``; a malformed value is an error).
enum CommandClock {
    static func clock() throws -> WallClock { try WallClock.fromEnvironment() }
    static func now() throws -> Date { try clock().now() }

    /// Says on stderr that the clock is fixed, so a server started with `CASCADE_NOW` left over
    /// from a test never dates real rows silently.
    static func noteIfFixed() {
        guard let value = ProcessInfo.processInfo.environment[WallClock.environmentVariable] else { return }
        Terminal.note(
            "note: \(WallClock.environmentVariable)=\(value) fixes this process's clock (for tests and demos)")
    }
}
