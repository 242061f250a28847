import ArgumentParser
import Foundation

/// Exit codes scripts can rely on (also listed in `cascade --help`).
enum ExitStatus {
    /// The command finished, but some inputs failed (e.g. files that could not be ingested).
    static let partialFailure = ExitCode(1)
    /// The command failed: bad input, unreadable store, missing model…
    static let failure = ExitCode(2)
}

/// Runs a command body, turning any error into one clear line on stderr and exit status 2.
func runReportingErrors(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let exit as ExitCode {
        throw exit
    } catch is CancellationError {
        Terminal.error("cancelled")
        throw ExitStatus.failure
    } catch let error as any CustomStringConvertible {
        Terminal.error(error.description)
        throw ExitStatus.failure
    } catch {
        Terminal.error("\(error)")
        throw ExitStatus.failure
    }
}
