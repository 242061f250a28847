import Foundation
import Metering

#if canImport(Glibc)
    import Glibc
#endif

/// Writing to the terminal: results on stdout, messages and progress on stderr.
enum Terminal {
    static var stderrIsTTY: Bool { isatty(2) == 1 }
    static var stdoutIsTTY: Bool { isatty(1) == 1 }

    static func error(_ message: String) {
        writeStderr("error: \(message)\n")
    }

    static func note(_ message: String) {
        writeStderr("\(message)\n")
    }

    static func writeStderr(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }

    /// Prints an `Encodable` value as one line of JSON (sorted keys, so output is stable).
    /// The same convention as the HTTP API: snake_case keys, ISO-8601 UTC timestamps.
    static func printJSON(_ value: some Encodable) throws {
        let encoder = JSONConvention.encoder()
        print(String(decoding: try encoder.encode(value), as: UTF8.self))
    }
}
