import Embeddings
import Foundation
import Testing

@testable import KnowledgeBase

/// Loading a file blocks (a large page to parse, a PDF waiting for `pdftotext`); it must block a
/// thread of its own. Swift's cooperative threads are as many as the machine's cores, and every
/// request of a node runs on them: a load that held one stopped the rest of the node.
@Suite("Ingest threads")
struct IngestThreadTests {
    /// Where the loads wait, and how many have arrived.
    final class Gate: @unchecked Sendable {
        // Safe: every access holds `condition`.
        private let condition = NSCondition()
        private var isOpen = false
        private var waiting = 0

        var arrived: Int {
            condition.lock()
            defer { condition.unlock() }
            return waiting
        }

        func open() {
            condition.lock()
            isOpen = true
            condition.broadcast()
            condition.unlock()
        }

        /// Waits for ``open()``, at most `limit` (a bound that only ends a test whose loads never
        /// got past it); whether it opened.
        func pass(within limit: TimeInterval) -> Bool {
            condition.lock()
            defer { condition.unlock() }
            waiting += 1
            let deadline = Date().addingTimeInterval(limit)
            while !isOpen, condition.wait(until: deadline) {}
            return isOpen
        }
    }

    /// Markdown, read only once the gate opens: a stand-in for an extraction tool that takes long.
    struct GatedLoader: DocumentLoader {
        var gate: Gate
        var fileExtensions: Set<String> { ["slow"] }
        var formatName: String { "markdown" }

        func load(_ data: Data, context: LoadContext) throws(IngestError) -> [ParsedDocument] {
            guard gate.pass(within: 300) else {
                throw .malformed(source: context.relativePath, line: nil, reason: "the gate never opened")
            }
            return try MarkdownLoader().load(data, context: context)
        }
    }

    @Test("more slow loads at once than the machine has cores, and the rest of the process still runs")
    func slowLoadsLeaveTheCooperativeThreadsFree() async throws {
        let gate = Gate()
        let count = ProcessInfo.processInfo.activeProcessorCount + 1
        let dir = try TemporaryDirectory()
        var ingestors: [Ingestor] = []
        for i in 0..<count {
            _ = try dir.write("docs\(i)/page.slow", "# Page \(i)\n\nWhat page \(i) says about its own topic.")
            ingestors.append(
                Ingestor(
                    store: try KnowledgeBaseStore(path: dir.path("kb\(i).sqlite")), embedder: HashingEmbedder(),
                    loaders: [GatedLoader(gate: gate)] + Ingestor.defaultLoaders))
        }
        try await withThrowingTaskGroup(of: IngestReport.self) { group in
            for (i, ingestor) in ingestors.enumerated() {
                group.addTask { try await ingestor.ingest(dir.path("docs\(i)")) }
            }
            // This task needs a cooperative thread to see every load waiting and to open the gate:
            // loads blocking those threads would leave it none until their bound ran out.
            while gate.arrived < count { try await Task.sleep(for: .milliseconds(10)) }
            gate.open()
            for try await report in group {
                #expect(report.documentsAdded == 1, "\(report.failures)")
                #expect(report.failures.isEmpty, "\(report.failures)")
            }
        }
    }
}
