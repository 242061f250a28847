import Foundation
import Synchronization

/// A Debian tool that turns a binary document into text (`pdftotext`, `pandoc`), run with no
/// shell, its stderr discarded, a deadline, and limits on its memory and CPU time set in the
/// child by util-linux's `prlimit`: a hostile file can neither hold an ingest forever nor take
/// the node's memory (a Word bomb once drove pandoc to 6.2 GB; with the limit it stops at 2 GB).
struct ExtractionTool {
    var name: String
    /// The Debian package that installs it (named in the error when it is missing).
    var package: String
    var timeout: TimeInterval = 60
    /// The child's address-space limit (`RLIMIT_AS`).
    var memoryBytes = 2 << 30
    /// The child's CPU-time limit (`RLIMIT_CPU`), in seconds.
    var cpuSeconds: Int { max(1, Int(timeout.rounded(.up))) }

    /// The tool's standard output for `arguments`.
    /// - Throws: ``IngestError/extractionToolMissing(source:tool:package:)`` without the tool,
    ///   `.malformed` when it fails or runs past the deadline (`failure` says what that means).
    func run(_ arguments: [String], source: String, failure: String) throws(IngestError) -> Data {
        guard let tool = Self.find(name) else {
            throw .extractionToolMissing(source: source, tool: name, package: package)
        }
        // Never without the limits (no silent fallback to an unbounded child).
        guard let prlimit = Self.find("prlimit") else {
            throw .extractionToolMissing(source: source, tool: "prlimit", package: "util-linux")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: prlimit)
        process.arguments = ["--as=\(memoryBytes)", "--cpu=\(cpuSeconds)", "--core=0", "--", tool] + arguments
        let stdout = Pipe()
        process.standardOutput = stdout
        process.standardError = FileHandle.nullDevice
        let output: Data
        let timedOut = Mutex(false)
        do {
            try process.run()
            let watchdog = DispatchWorkItem {
                if process.isRunning {
                    timedOut.withLock { $0 = true }
                    process.terminate()
                }
            }
            DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: watchdog)
            output = stdout.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            watchdog.cancel()
        } catch {
            throw .unreadable(source: source, reason: "\(name) could not run: \(error)")
        }
        if process.terminationReason == .uncaughtSignal {
            throw .malformed(
                source: source, line: nil,
                reason: timedOut.withLock { $0 }
                    ? "\(name) did not finish within \(Int(timeout)) s (\(failure))"
                    : "\(name) was stopped by its limits (\(memoryBytes >> 20) MB of memory, \(cpuSeconds) s of CPU) or crashed (\(failure))"
            )
        }
        guard process.terminationStatus == 0 else {
            throw .malformed(
                source: source, line: nil,
                reason: "\(name) failed or ran out of its \(memoryBytes >> 20) MB memory limit (\(failure))")
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
