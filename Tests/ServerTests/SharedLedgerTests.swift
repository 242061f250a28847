import Cascade
import Embeddings
import Foundation
import Hummingbird
import HummingbirdTesting
import KnowledgeBase
import Logging
import Metering
import Server
import TestSupport
import Testing

@testable import PostgresStorage

/// The PostgreSQL server the tests use: `$CASCADE_TEST_DATABASE_URL` (tools/test sets it).
let sharedTestDatabaseURL =
    ProcessInfo.processInfo.environment["CASCADE_TEST_DATABASE_URL"]
    ?? "postgres://cascade:cascade@127.0.0.1:5432/cascade_test"

/// Two `cascade serve` nodes on one PostgreSQL ledger, each with its own connection pool and
/// HTTP server, the way two machines behind a load balancer run.
@Suite("Several nodes on one PostgreSQL database")
struct SharedLedgerTests {
    /// How long a test waits for something to reach the other node before calling it lost: a
    /// limit that only ends a test whose behaviour is wrong (loops stop as soon as it arrives),
    /// generous because the suite runs on a busy two-core machine.
    static let eventually = Duration.seconds(120)

    /// Two nodes on the fixture's data folder and a fresh schema of the test database.
    static func withTwoNodes(
        _ body: @Sendable (ServiceFixture, [API], PostgresLedger) async throws -> Void
    ) async throws {
        let fixture = try await ServiceFixture.make()
        var url = try PostgresURL(sharedTestDatabaseURL)
        url.schema = "test_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(16)
        let schemaURL = url
        var logger = Logger(label: "cascade.test")
        logger.logLevel = .warning
        let quiet = logger
        try await PostgresDatabase.with(schemaURL, operationTimeout: .seconds(180)) { first in
            try await first.migrate()
            do {
                try await Self.withSecondNode(first, fixture: fixture, logger: quiet, body)
            } catch {
                try? await first.dropSchema()
                throw error
            }
            try await first.dropSchema()
        }
    }

    static func withSecondNode(
        _ first: PostgresDatabase, fixture: ServiceFixture, logger quiet: Logger,
        _ body: @Sendable (ServiceFixture, [API], PostgresLedger) async throws -> Void
    ) async throws {
        try await PostgresDatabase.with(first.url, operationTimeout: .seconds(180)) { second in
            let ledgers = [try await PostgresLedger(database: first), try await PostgresLedger(database: second)]
            let controls = [
                try await PostgresControlStore(database: first), try await PostgresControlStore(database: second),
            ]
            // Tenants and keys in the shared database (the fixture's own SQLite keys are not used).
            var keys: [String: String] = [:]
            for tenant in ["acme", "beta"] {
                _ = try await controls[0].createTenant(tenant, now: Date())
                for scope in KeyScope.allCases {
                    keys["\(tenant).\(scope.rawValue)"] =
                        try await controls[0].createKey(tenant: tenant, scope: scope, name: nil, now: Date()).key
                }
            }
            let sharedKeys = keys
            let logs = [
                try await PostgresKnowledgeLog(database: first), try await PostgresKnowledgeLog(database: second),
            ]
            // Each node has a data folder of its own, as on its own machine: its local knowledge
            // bases are replays of the shared log.
            var services: [CascadeService] = []
            for index in 0..<2 {
                var configuration = fixture.service.configuration
                configuration.data = DataDirectory(fixture.directory.path("node-\(index)"))
                services.append(
                    try await CascadeService(
                        configuration: configuration, ledger: ledgers[index], control: controls[index],
                        knowledgeLog: logs[index], logger: quiet))
            }
            let (first, second) = (services[0], services[1])
            try await LiveServer.run(first) { clientA in
                try await LiveServer.run(second) { clientB in
                    try await body(
                        fixture, [API(client: clientA, keys: sharedKeys), API(client: clientB, keys: sharedKeys)],
                        ledgers[0])
                }
            }
        }
    }

    @Test(
        "overlapping idempotency keys from many clients on two nodes: each question recorded once, the chain verifies")
    func eachKeyOnceAcrossNodes() async throws {
        try await Self.withTwoNodes { fixture, nodes, ledger in
            let ids = (0..<8).map { "shared-\($0)" }
            let answers = try await withThrowingTaskGroup(of: (String, String).self) { group in
                for round in 0..<4 {
                    for (index, id) in ids.enumerated() {
                        let node = nodes[(round + index) % nodes.count]
                        group.addTask {
                            let reply = try await node.ask(
                                "How do I reset my password? (\(id))", as: "acme.query", id: id)
                            #expect(reply.status == .ok, "\(reply.status) \(reply.text)")
                            return (id, reply.json["answer"] as? String ?? "")
                        }
                    }
                }
                return try await group.reduce(into: [String: Set<String>]()) { $0[$1.0, default: []].insert($1.1) }
            }
            let rows = try await ledger.entries(tenant: "acme", since: nil)
            let queries = rows.filter { $0.kind == .query }
            #expect(queries.count == ids.count, "each idempotency key once")
            #expect(Set(queries.map(\.queryID)) == Set(ids))
            #expect(answers.values.allSatisfy { $0.count == 1 }, "every retry got the stored answer")
            #expect(try await ledger.verifyChains(tenant: nil).ok)
            // Either node reads what the other recorded; the other tenant sees nothing of it.
            for (index, id) in ids.enumerated() {
                let reply = try await nodes[(index + 1) % 2].call(.get, "/v1/queries/\(id)", as: "acme.query")
                #expect(reply.status == .ok, "\(reply.text)")
                let foreign = try await nodes[index % 2].call(.get, "/v1/queries/\(id)", as: "beta.query")
                #expect(foreign.status == .notFound)
            }
            #expect(try fixture.ledgerKinds(tenant: "acme").isEmpty, "nothing went to the node's own SQLite ledger")
        }
    }

    @Test("a document uploaded through one node is searchable through the other within seconds; a delete too")
    func knowledgeBasesAreShared() async throws {
        try await Self.withTwoNodes { _, nodes, _ in
            let search = #"{"query":"how long does shipping take","k":3}"#
            func sources(_ node: API, as who: String = "acme.query") async throws -> [String] {
                let reply = try await node.call(.post, "/v1/search", as: who, body: search)
                #expect(reply.status == .ok, "\(reply.text)")
                return (reply.json["results"] as? [[String: Any]] ?? []).compactMap { $0["source"] as? String }
            }
            #expect(try await sources(nodes[1]).isEmpty)
            let job = try await nodes[0].upload("guide.md", refundGuide, as: "acme.admin")
            #expect(job["status"] as? String == "succeeded", "\(job)")
            #expect(try await sources(nodes[0]).contains("uploads/guide.md"), "the uploading node serves it at once")
            let started = ContinuousClock.now
            while try await !sources(nodes[1]).contains("uploads/guide.md")
                && ContinuousClock.now - started < Self.eventually
            {
                try await Task.sleep(for: .milliseconds(50))
            }
            let visible = ContinuousClock.now - started
            #expect(
                try await sources(nodes[1]).contains("uploads/guide.md"), "not visible through node 2 after \(visible)")
            print("time to visibility on the other node: \(visible)")
            #expect(try await sources(nodes[1], as: "beta.query").isEmpty, "another tenant sees nothing")

            let docs = try await nodes[1].call(.get, "/v1/documents", as: "acme.admin")
            let docID = ((docs.json["documents"] as? [[String: Any]])?.first?["doc_id"] as? String) ?? ""
            let deleted = try await nodes[1].call(.delete, "/v1/documents/\(docID)", as: "acme.admin")
            #expect(deleted.status == .ok, "\(deleted.text)")
            let again = ContinuousClock.now
            while try await sources(nodes[0]).contains("uploads/guide.md")
                && ContinuousClock.now - again < Self.eventually
            {
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(try await !sources(nodes[0]).contains("uploads/guide.md"), "the delete reached node 1")
        }
    }

    @Test("while one node ingests, another never serves part of the upload: all of its chunks or none")
    func noHalfIngestOnOtherNodes() async throws {
        try await Self.withTwoNodes { _, nodes, _ in
            let sections = (1...30).map {
                "## Section \($0)\n\nParagraph \($0) about topic \($0 * 7) and nothing else.\n"
            }
            let big = "# Handbook\n\n" + sections.joined(separator: "\n")
            let search = #"{"query":"topic paragraph","k":100,"filters":{"source_prefix":"uploads/big.md"}}"#
            // The upload starts only after the watcher's first look (order, not a head start).
            let (looked, firstLook) = AsyncStream.makeStream(of: Void.self)
            let watcher = Task { () -> [Int] in
                var seen: [Int] = []
                let started = ContinuousClock.now
                while !Task.isCancelled && ContinuousClock.now - started < Self.eventually {
                    let reply = try await nodes[1].call(.post, "/v1/search", as: "acme.query", body: search)
                    let count = (reply.json["results"] as? [[String: Any]])?.count ?? -1
                    seen.append(count)
                    firstLook.yield()
                    if count > 0 { break }
                    try await Task.sleep(for: .milliseconds(5))
                }
                firstLook.finish()
                return seen
            }
            for await _ in looked { break }
            let job = try await nodes[0].upload("big.md", big, as: "acme.admin")
            let chunks = job["chunks_written"] as? Int ?? 0
            #expect(chunks > 1, "\(job)")
            let seen = try await watcher.value
            #expect(seen.first == 0, "the watch began before the upload was visible")
            #expect(seen.last == chunks, "node 2 ends with every chunk: \(seen.suffix(3)) of \(chunks)")
            #expect(seen.allSatisfy { $0 == 0 || $0 == chunks }, "node 2 only ever served none or all: \(Set(seen))")
        }
    }

    @Test(
        "a reindex is one change of the log: every node swaps model and index together, and a change of the old model is refused after it"
    )
    func modelSwitchReachesEveryNode() async throws {
        try await Self.withTwoNodes { fixture, nodes, ledger in
            let job = try await nodes[0].upload("guide.md", refundGuide, as: "acme.admin")
            #expect(job["status"] as? String == "succeeded", "\(job)")
            let log = try await PostgresKnowledgeLog(database: ledger.database)
            // What `cascade reindex --tenant acme --database …` does from an admin's machine.
            let copy = try KnowledgeBaseStore(path: fixture.directory.path("admin-copy.sqlite"))
            try await copy.replay(log, tenant: "acme")
            let newModel = HashingEmbedder(dimension: 256)
            #expect(try await Reindexer(store: copy, embedder: newModel).embedMissing() > 0)
            let switchRecord = try KnowledgeBaseLogRecord(
                switchingTo: newModel.modelID, dimension: 256, vectors: try copy.switchVectors(model: newModel.modelID),
                baseVersion: try copy.logVersion())
            // A switch computed on an older version is refused whole.
            var stale = switchRecord
            stale.baseVersion = 0
            await #expect(throws: StoreError.self) { try await log.append(tenant: "acme", record: stale, now: Date()) }
            _ = try await log.append(tenant: "acme", record: switchRecord, now: Date())

            // A client's own 256-dimension vector is accepted once a node serves the new index.
            let vector = try await newModel.embed("how long do refunds take")
            let body = String(
                decoding: try JSONSerialization.data(withJSONObject: ["vector": vector.map(Double.init), "k": 3]),
                as: UTF8.self)
            for (index, node) in nodes.enumerated() {
                let started = ContinuousClock.now
                // (A node that has not caught up with anything yet answers 200 with no results.)
                var reply = try await node.call(.post, "/v1/search", as: "acme.query", body: body)
                while (reply.status != .ok || (reply.json["results"] as? [Any])?.isEmpty != false)
                    && ContinuousClock.now - started < Self.eventually
                {
                    try await Task.sleep(for: .milliseconds(50))
                    reply = try await node.call(.post, "/v1/search", as: "acme.query", body: body)
                }
                #expect(reply.status == .ok, "node \(index + 1) never switched: \(reply.text)")
                #expect((reply.json["results"] as? [[String: Any]])?.isEmpty == false, "\(reply.text)")
                // Text queries are embedded with the new model too.
                let text = try await node.call(
                    .post, "/v1/search", as: "acme.query", body: #"{"query":"how long do refunds take","k":3}"#)
                #expect(text.status == .ok, "\(text.text)")
                #expect((text.json["results"] as? [[String: Any]])?.isEmpty == false, "node \(index + 1): \(text.text)")
            }
            // An upload after the switch is embedded with the new model, and reaches the other node.
            let later = try await nodes[1].upload("later.md", "# Later\n\nGift cards never expire.\n", as: "acme.admin")
            #expect(later["status"] as? String == "succeeded", "\(later)")
            let gift = #"{"query":"do gift cards expire","k":3}"#
            let started = ContinuousClock.now
            var seen: [String] = []
            while !seen.contains("uploads/later.md") && ContinuousClock.now - started < Self.eventually {
                let reply = try await nodes[0].call(.post, "/v1/search", as: "acme.query", body: gift)
                seen = (reply.json["results"] as? [[String: Any]] ?? []).compactMap { $0["source"] as? String }
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(seen.contains("uploads/later.md"), "the upload after the switch reached node 1: \(seen)")
            // A change embedded with the old model (an upload in flight during the switch) is refused.
            var old = try #require(try copy.exportRecord())
            old.model = HashingEmbedder().modelID
            old.dimension = 384
            old.vectors = [:]
            await #expect(throws: StoreError.self) { try await log.append(tenant: "acme", record: old, now: Date()) }
        }
    }

    @Test(
        "a snapshot in the log: a new node loads it and replays only what follows; nodes up to date keep serving; a stale one is refused"
    )
    func snapshotsBoundReplay() async throws {
        try await Self.withTwoNodes { fixture, nodes, ledger in
            for (name, text) in [("a.md", refundGuide), ("b.md", "# Gift cards\n\nGift cards never expire.\n")] {
                let job = try await nodes[0].upload(name, text, as: "acme.admin")
                #expect(job["status"] as? String == "succeeded", "\(job)")
            }
            let docs = try await nodes[0].call(.get, "/v1/documents", as: "acme.admin")
            let first = (docs.json["documents"] as? [[String: Any]] ?? []).first {
                ($0["source"] as? String) == "uploads/a.md"
            }
            let deleted = try await nodes[0].call(
                .delete, "/v1/documents/\(first?["doc_id"] as? String ?? "")", as: "acme.admin")
            #expect(deleted.status == .ok, "\(deleted.text)")
            let log = try await PostgresKnowledgeLog(database: ledger.database)
            // What `cascade compact --tenant acme --database …` does.
            let admin = try KnowledgeBaseStore(path: fixture.directory.path("admin.sqlite"))
            try await admin.replay(log, tenant: "acme")
            let snapshot = try #require(try admin.snapshotRecord())
            #expect(snapshot.baseVersion == 3 && snapshot.writes.count == 1)
            let version = try await log.append(tenant: "acme", record: snapshot, now: Date())
            #expect(version == 4)
            await #expect(throws: StoreError.self, "a snapshot of an older version is refused") {
                try await log.append(tenant: "acme", record: snapshot, now: Date())
            }
            // A new node: the snapshot, nothing before it.
            let fresh = try KnowledgeBaseStore(path: fixture.directory.path("fresh.sqlite"))
            #expect(Array(try await fresh.replay(log, tenant: "acme").keys) == [4])
            #expect(try fresh.documents().map(\.source) == ["uploads/b.md"])
            // Nodes that were up to date note its version and keep serving; what follows reaches everyone.
            let later = try await nodes[1].upload("c.md", "# Exchanges\n\nExchanges take a week.\n", as: "acme.admin")
            #expect(later["status"] as? String == "succeeded", "\(later)")
            #expect(try await fresh.replay(log, tenant: "acme").keys.sorted() == [5])
            #expect(Set(try fresh.documents().map(\.source)) == ["uploads/b.md", "uploads/c.md"])
            let search = #"{"query":"do gift cards expire","k":3}"#
            let started = ContinuousClock.now
            var sources: [String] = []
            repeat {
                let reply = try await nodes[0].call(.post, "/v1/search", as: "acme.query", body: search)
                sources = (reply.json["results"] as? [[String: Any]] ?? []).compactMap { $0["source"] as? String }
                if sources.contains("uploads/c.md") || ContinuousClock.now - started > Self.eventually { break }
                try await Task.sleep(for: .milliseconds(50))
            } while true
            #expect(Set(sources) == ["uploads/b.md", "uploads/c.md"], "node 1 after the snapshot: \(sources)")
        }
    }

    @Test("a key created or revoked through the shared database holds on every node at its next request")
    func keysAreShared() async throws {
        try await Self.withTwoNodes { _, nodes, ledger in
            let control = try await PostgresControlStore(database: ledger.database)
            let (record, key) = try await control.createKey(tenant: "acme", scope: .query, name: "widget", now: Date())
            for node in nodes {
                let reply = try await node.call(.post, "/v1/search", as: key, body: #"{"query":"refund"}"#)
                #expect(reply.status == .ok, "\(reply.text)")
            }
            _ = try await control.revokeKey(record.keyID, tenant: "acme", now: Date())
            for node in nodes {
                let refused = try await node.call(.post, "/v1/search", as: key, body: #"{"query":"refund"}"#)
                #expect(refused.status == .unauthorized && refused.isProblem)
            }
        }
    }

    @Test("PostgreSQL away: asks fail fast with 503 problem+json, nothing half-written; the node reconnects on its own")
    func outage() async throws {
        let fixture = try await ServiceFixture.make()
        let admin = try PostgresURL(sharedTestDatabaseURL)
        var url = admin
        url.database = "cascade_outage_" + UUID().uuidString.lowercased().prefix(8)
        let name = url.database
        let nodeURL = url
        var logger = Logger(label: "cascade.test")
        logger.logLevel = .critical
        let quiet = logger
        try await PostgresDatabase.with(admin, operationTimeout: .seconds(180)) { control in
            try await control.unsafeExecute("CREATE DATABASE \"\(name)\"")
            let cutOff = "ALTER DATABASE \"\(name)\" CONNECTION LIMIT 0"
            let restore = "ALTER DATABASE \"\(name)\" CONNECTION LIMIT -1"
            let kill = "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '\(name)'"
            do {
                try await PostgresDatabase.with(nodeURL, operationTimeout: .seconds(180)) { try await $0.migrate() }
                // The node waits at most 5 s for the database (the default), however loaded this machine is.
                try await PostgresDatabase.with(nodeURL, logger: quiet) { database in
                    let ledger = try await PostgresLedger(database: database)
                    let keyStore = try await PostgresControlStore(database: database)
                    _ = try await keyStore.createTenant("acme", now: Date())
                    let key = try await keyStore.createKey(tenant: "acme", scope: .query, name: nil, now: Date()).key
                    let service = try await CascadeService(
                        configuration: fixture.service.configuration, ledger: ledger, control: keyStore, logger: quiet)
                    try await LiveServer.run(service) { client in
                        // Keys, like the ledger, are in the database that goes away.
                        let node = API(client: client, keys: ["acme.query": key])
                        #expect(try await node.ask("Where is my parcel?", as: "acme.query", id: "before").status == .ok)

                        try await control.unsafeExecute(cutOff)
                        try await control.unsafeExecute(kill)
                        let started = ContinuousClock.now
                        let refused = try await node.ask("Where is my parcel now?", as: "acme.query", id: "during")
                        #expect(refused.status == .serviceUnavailable, "\(refused.text)")
                        #expect(refused.isProblem && refused.problemCode == "unavailable")
                        #expect(refused.headers[.retryAfter] != nil)
                        #expect(
                            ContinuousClock.now - started < .seconds(15), "fails fast, not after the pool's back-off")
                        let read = try await node.call(.get, "/v1/queries/before", as: "acme.query")
                        #expect(read.status == .serviceUnavailable && read.isProblem)

                        try await control.unsafeExecute(restore)
                        // The pool reconnects by itself; the client's retry with the same key succeeds.
                        var retried = refused
                        let deadline = ContinuousClock.now + .seconds(60)
                        while retried.status != .ok && ContinuousClock.now < deadline {
                            try await Task.sleep(for: .milliseconds(250))
                            retried = try await node.ask("Where is my parcel now?", as: "acme.query", id: "during")
                        }
                        #expect(retried.status == .ok, "the node did not come back: \(retried.text)")
                    }
                }
                try await PostgresDatabase.with(nodeURL, operationTimeout: .seconds(180)) { database in
                    let ledger = try await PostgresLedger(database: database)
                    let queries = try await ledger.entries(tenant: "acme", since: nil).filter { $0.kind == .query }
                    #expect(queries.map(\.queryID).sorted() == ["before", "during"], "each answered question once")
                    #expect(try await ledger.verifyChains(tenant: nil).ok)
                }
            } catch {
                try? await control.unsafeExecute(restore)
                try? await control.unsafeExecute(kill)
                try? await control.unsafeExecute("DROP DATABASE IF EXISTS \"\(name)\"")
                throw error
            }
            try await control.unsafeExecute(kill)
            try await control.unsafeExecute("DROP DATABASE IF EXISTS \"\(name)\"")
        }
    }
}
