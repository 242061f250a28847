import ArgumentParser
import Foundation

/// Exit codes scripts can rely on (also listed in `cascade --help`).
enum ExitStatus {
    /// The command finished, but some inputs failed (e.g. files that could not be ingested).
    static let partialFailure = ExitCode(1)
    /// The command failed: bad input, unreadable store, missing model…
    static let failure = ExitCode(2)
}

/// A command that could not do its work for a reason other than how it was called (a missing
/// file, data in a state that does not allow it): exit status 2, where a usage error
/// (`ValidationError`) is 64.
struct CommandError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Runs a command body, turning any error into one clear line on stderr: exit status 64 for
/// invalid usage (`ValidationError`), 2 for everything else.
func runReportingErrors(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let exit as ExitCode {
        throw exit
    } catch let usage as ValidationError {
        Terminal.error(usage.message)
        throw ExitCode(64)
    } catch is CancellationError {
        Terminal.error("cancelled")
        throw ExitStatus.failure
    } catch let error as CocoaError {
        Terminal.error(FoundationErrorText.describe(error))
        throw ExitStatus.failure
    } catch let error as DecodingError {
        Terminal.error(FoundationErrorText.describe(error))
        throw ExitStatus.failure
    } catch let error as any CustomStringConvertible {
        Terminal.error(error.description)
        throw ExitStatus.failure
    } catch {
        Terminal.error("\(error)")
        throw ExitStatus.failure
    }
}

/// Foundation's errors in one line a user can act on (`NSCocoaErrorDomain Code=4 …` names no
/// remedy): what happened and the path.
enum FoundationErrorText {
    static func describe(_ error: CocoaError) -> String {
        let path = error.filePath ?? error.url?.path ?? "the file"
        switch error.code {
        case .fileNoSuchFile, .fileReadNoSuchFile:
            return "no such file or folder: \(path)"
        case .fileReadNoPermission, .fileWriteNoPermission:
            return "permission denied: \(path)"
        case .fileWriteOutOfSpace:
            return "the disk is full (writing \(path))"
        case .fileWriteFileExists:
            return "\(path) already exists; not replacing it"
        case .fileReadCorruptFile, .fileReadInapplicableStringEncoding, .fileReadUnknownStringEncoding:
            return "cannot read \(path): not in the expected format or encoding"
        case .fileWriteVolumeReadOnly:
            return "cannot write \(path): the file system is read-only"
        default:
            return "file error on \(path) (Foundation code \(error.code.rawValue))"
        }
    }

    static func describe(_ error: DecodingError) -> String {
        func at(_ path: [any CodingKey]) -> String {
            path.isEmpty
                ? "" : " at " + path.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
        }
        switch error {
        case .dataCorrupted(let context): return "invalid JSON\(at(context.codingPath)): \(context.debugDescription)"
        case .keyNotFound(let key, let context): return "missing field \"\(key.stringValue)\"\(at(context.codingPath))"
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            return "wrong type\(at(context.codingPath)): \(context.debugDescription)"
        @unknown default: return "invalid JSON"
        }
    }
}
