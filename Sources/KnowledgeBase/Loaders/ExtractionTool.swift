import Foundation

/// A Debian tool that turns a binary document into text (`pdftotext`, `pandoc`), run with no
/// shell, its stderr discarded, and a deadline: a hostile file cannot hold an ingest forever.
struct ExtractionTool {
    var name: String
    /// The Debian package that installs it (named in the error when it is missing).
    var package: String
    var timeout: TimeInterval = 60

    /// The tool's standard output for `arguments`.
    /// - Throws: ``IngestError/extractionToolMissing(source:tool:package:)`` without the tool,
    ///   `.malformed` when it fails or runs past the deadline (`failure` says what that means).
    func run(_ arguments: [String], source: String, failure: String) throws(IngestError) -> Data {
        guard let tool = Self.find(name) else {
            throw .extractionToolMissing(source: source, tool: name, package: package)
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        let stdout = Pipe()
        process.standardOutput = stdout
        process.standardError = FileHandle.nullDevice
        let output: Data
        do {
            try process.run()
            let watchdog = DispatchWorkItem { if process.isRunning { process.terminate() } }
            DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: watchdog)
            output = stdout.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            watchdog.cancel()
        } catch {
            throw .unreadable(source: source, reason: "\(name) could not run: \(error)")
        }
        if process.terminationReason == .uncaughtSignal {
            throw .malformed(
                source: source, line: nil, reason: "\(name) did not finish within \(Int(timeout)) s (\(failure))")
        }
        guard process.terminationStatus == 0 else {
            throw .malformed(source: source, line: nil, reason: "\(name) failed (\(failure))")
        }
        return output
    }

    /// The tool's path on `PATH`.
    static func find(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for dir in path.split(separator: ":") {
            let candidate = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }
}
