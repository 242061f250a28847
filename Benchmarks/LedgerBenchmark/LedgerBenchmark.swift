import Foundation
import Metering
import PostgresStorage

/// `tools/bench/ledger`: ledger write throughput on SQLite (one file, the embedded default) and on
/// PostgreSQL (one database for several nodes), in the same run, on the same records: each record
/// is what one answered question writes (a query row and one attempt, in one transaction,
/// idempotent, hash-chained). Concurrent writers, spread over 8 tenants or all on one tenant
/// (PostgreSQL chains are per tenant, so one tenant's writes serialise on its lock), and, on
/// PostgreSQL, split over two connection pools as two nodes would be.
@main
struct LedgerBenchmark {
    struct Row {
        var backend: String
        var writers: Int
        var tenants: Int
        var nodes: Int
        var records: Int
        var seconds: Double
        var latencies: [Double]
    }

    static func main() async throws {
        var records = 2_000
        var databaseURL =
            ProcessInfo.processInfo.environment["CASCADE_BENCH_DATABASE_URL"]
            ?? "postgres://cascade:cascade@127.0.0.1:5432/cascade_test"
        var arguments = CommandLine.arguments.dropFirst().makeIterator()
        while let argument = arguments.next() {
            switch argument {
            case "--records": records = Int(arguments.next() ?? "") ?? records
            case "--database": databaseURL = arguments.next() ?? databaseURL
            case "-h", "--help":
                print("usage: tools/bench/ledger [--records 2000] [--database postgres://…]")
                return
            default:
                FileHandle.standardError.write(Data("unknown option \(argument)\n".utf8))
                exit(64)
            }
        }
        var rows: [Row] = []
        for (writers, tenants) in [(1, 8), (8, 8), (32, 8), (32, 1)] {
            rows.append(try await sqlite(records: records, writers: writers, tenants: tenants))
            for nodes in writers >= 8 ? [1, 2] : [1] {
                rows.append(
                    try await postgres(
                        url: databaseURL, records: records, writers: writers, tenants: tenants, nodes: nodes))
            }
        }
        print("ledger write throughput: \(records) records per row (a query row + one attempt each, one transaction)")
        print("backend     writers  tenants  nodes  records/s   p50 ms   p99 ms")
        for row in rows {
            let sorted = row.latencies.sorted()
            print(
                String(
                    format: "%@ %7d %8d %6d %10.0f %8.2f %8.2f",
                    row.backend.padding(toLength: 10, withPad: " ", startingAt: 0),
                    row.writers, row.tenants, row.nodes, Double(row.records) / row.seconds, sorted[sorted.count / 2],
                    sorted[min(sorted.count - 1, sorted.count * 99 / 100)]))
        }
        for (writers, tenants) in [(1, 8), (8, 8), (32, 8), (32, 1)] {
            let lite = rows.first { $0.backend == "sqlite" && $0.writers == writers && $0.tenants == tenants }!
            let pg = rows.first { $0.backend == "postgres" && $0.writers == writers && $0.tenants == tenants }!
            print(
                String(
                    format: "postgres / sqlite, %d writers over %d tenant(s): %.2f× records/s", writers, tenants,
                    lite.seconds / pg.seconds))
        }
    }

    static func record(_ i: Int, tenants: Int) -> (LedgerEntry, LedgerEntry) {
        let tenant = "tenant-\(i % tenants)"
        let id = "q-\(i)"
        let now = Date()
        let query = LedgerEntry(
            kind: .query, queryID: id, tenant: tenant, tier: "llm", outcome: "resolved", question: "How do I \(i)?",
            answer: "Like this.", confidence: 0.91, costMicros: 812, tokensIn: 900, tokensOut: 120, latencyMs: 40,
            occurredAt: now)
        let attempt = LedgerEntry(
            kind: .attempt, queryID: id, tenant: tenant, tier: "rag", outcome: "low_confidence", confidence: 0.4,
            costMicros: 3, occurredAt: now)
        return (query, attempt)
    }

    /// `writers` tasks take record numbers from a shared counter until `records` are written.
    static func drive(_ stores: [any LedgerStore], records: Int, writers: Int, tenants: Int) async throws -> (
        Double, [Double]
    ) {
        let counter = Counter()
        let start = ContinuousClock.now
        let latencies = try await withThrowingTaskGroup(of: [Double].self) { group in
            for w in 0..<writers {
                let store = stores[w % stores.count]
                group.addTask {
                    var times: [Double] = []
                    while let i = counter.next(below: records) {
                        let (query, attempt) = record(i, tenants: tenants)
                        let t = ContinuousClock.now
                        _ = try await store.record(query: query, attempts: [attempt], now: Date())
                        times.append(seconds(ContinuousClock.now - t) * 1000)
                    }
                    return times
                }
            }
            return try await group.reduce(into: [Double]()) { $0 += $1 }
        }
        return (seconds(ContinuousClock.now - start), latencies)
    }

    static func sqlite(records: Int, writers: Int, tenants: Int) async throws -> Row {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("bench-ledger-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let ledger = try Ledger(path: directory.appendingPathComponent("ledger.sqlite").path)
        let (elapsed, latencies) = try await drive([ledger], records: records, writers: writers, tenants: tenants)
        let written = try ledger.entries().count
        precondition(written == 2 * records, "expected \(2 * records) rows, found \(written)")
        return Row(
            backend: "sqlite", writers: writers, tenants: tenants, nodes: 1, records: records, seconds: elapsed,
            latencies: latencies)
    }

    static func postgres(url text: String, records: Int, writers: Int, tenants: Int, nodes: Int) async throws -> Row {
        var url = try PostgresURL(text)
        url.schema = "bench_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(12)
        let schemaURL = url
        let perNode = max(1, writers / nodes)
        return try await PostgresDatabase.with(schemaURL, maximumConnections: perNode) { first in
            try await first.migrate()
            let (elapsed, latencies) = try await withNodes(schemaURL, count: nodes - 1, connections: perNode) {
                others in
                var stores: [any LedgerStore] = [try await PostgresLedger(database: first)]
                for other in others { stores.append(try await PostgresLedger(database: other)) }
                return try await drive(stores, records: records, writers: writers, tenants: tenants)
            }
            let ledger = try await PostgresLedger(database: first)
            let written = try await ledger.entries(tenant: nil, since: nil).count
            precondition(written == 2 * records, "expected \(2 * records) rows, found \(written)")
            let verification = try await ledger.verifyChains(tenant: nil)
            precondition(verification.ok, verification.problem ?? "")
            try await first.dropSchema()
            return Row(
                backend: "postgres", writers: writers, tenants: tenants, nodes: nodes, records: records,
                seconds: elapsed, latencies: latencies)
        }
    }

    /// Opens `count` more pools on the same database (more nodes), runs `body`, closes them.
    static func withNodes<R: Sendable>(
        _ url: PostgresURL, count: Int, connections: Int, _ body: @Sendable ([PostgresDatabase]) async throws -> R
    ) async throws -> R {
        guard count > 0 else { return try await body([]) }
        return try await PostgresDatabase.with(url, maximumConnections: connections) { node in
            try await withNodes(url, count: count - 1, connections: connections) { rest in
                try await body([node] + rest)
            }
        }
    }

    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }
}

/// Hands out 0, 1, 2, … below a limit to concurrent writers.
final class Counter: @unchecked Sendable {
    // Safe: every access holds `lock`.
    private let lock = NSLock()
    private var value = 0

    func next(below limit: Int) -> Int? {
        lock.lock()
        defer { lock.unlock() }
        guard value < limit else { return nil }
        value += 1
        return value - 1
    }
}
