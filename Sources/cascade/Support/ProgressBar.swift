import Foundation

/// A one-line progress bar on stderr, drawn only when stderr is a terminal (logs stay clean).
final class ProgressBar: @unchecked Sendable {
    // Safe: every access to the mutable state below holds `lock`.
    private let lock = NSLock()
    private let enabled: Bool
    private let started = Date()
    private var lastDraw = Date.distantPast

    init(enabled: Bool = Terminal.stderrIsTTY) {
        self.enabled = enabled
    }

    func update(done: Int, total: Int, detail: String) {
        guard enabled else { return }
        lock.lock()
        defer { lock.unlock() }
        let now = Date()
        guard done >= total || now.timeIntervalSince(lastDraw) > 0.1 else { return }
        lastDraw = now
        let width = 30
        let fraction = total > 0 ? Double(done) / Double(total) : 1
        let filled = Int(fraction * Double(width))
        let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
        let elapsed = now.timeIntervalSince(started)
        let eta = fraction > 0.02 && fraction < 1 ? String(format: " eta %.0fs", elapsed / fraction - elapsed) : ""
        let shown = detail.count > 40 ? "…" + detail.suffix(39) : detail
        Terminal.writeStderr(
            "\r\u{1B}[2K\(bar) \(done)/\(total) \(String(format: "%3.0f%%", fraction * 100))\(eta) \(shown)")
    }

    func finish() {
        guard enabled else { return }
        Terminal.writeStderr("\r\u{1B}[2K")
    }
}
