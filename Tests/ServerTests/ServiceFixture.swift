import Cascade
import Embeddings
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Metering
import NIOCore
import Server
import TestSupport

/// A service on a temporary data folder with two tenants, `acme` and `beta`, each with a query
/// and an admin key, served on a loopback port and called through AsyncHTTPClient.
struct ServiceFixture: Sendable {
    let directory: TemporaryDirectory
    let service: CascadeService
    /// `"acme.admin"`, `"beta.query"`… → the key.
    let keys: [String: String]

    static func make(
        tenants: [String] = ["acme", "beta"], _ configure: (inout ServerConfiguration) -> Void = { _ in }
    ) async throws -> ServiceFixture {
        let directory = try TemporaryDirectory()
        var configuration = ServerConfiguration()
        configuration.port = 0
        configuration.data = DataDirectory(directory.path("data"))
        configuration.embedderName = "hashing"
        // Every date the service writes or picks (rows, the current month) is the test's instant.
        configuration.clock = .fixed(TestClock.now)
        configure(&configuration)
        let control = try ControlStore(path: configuration.data.controlPath, create: true)
        var keys: [String: String] = [:]
        for tenant in tenants {
            try control.createTenant(tenant, now: TestClock.now)
            for scope in KeyScope.allCases {
                keys["\(tenant).\(scope.rawValue)"] =
                    try control.createKey(tenant: tenant, scope: scope, name: nil, now: TestClock.now).key
            }
        }
        var logger = Logger(label: "cascade.test")
        logger.logLevel = .warning
        let service = try await CascadeService(configuration: configuration, logger: logger)
        return ServiceFixture(directory: directory, service: service, keys: keys)
    }

    /// Runs `body` against the live server.
    func run(_ body: @Sendable (API) async throws -> Void) async throws {
        let keys = self.keys
        try await LiveServer.run(service) { client in try await body(API(client: client, keys: keys)) }
    }
}

/// A thin client: JSON in, parsed JSON and status out.
struct API: Sendable {
    let client: LiveClient
    let keys: [String: String]

    struct Reply: Sendable {
        var status: HTTPResponse.Status
        var headers: HTTPFields
        var text: String
        var json: [String: Any] {
            (try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]) ?? [:]
        }
        var isProblem: Bool { headers[.contentType] == "application/problem+json" }
        /// The problem's short code (the last segment of `type`).
        var problemCode: String? { (json["type"] as? String)?.components(separatedBy: "/").last }
    }

    func call(
        _ method: HTTPRequest.Method, _ path: String, as who: String? = nil, body: String? = nil,
        headers: HTTPFields = [:]
    ) async throws -> Reply {
        var fields = headers
        if let who { fields[.authorization] = "Bearer \(keys[who] ?? who)" }
        if body != nil, fields[.contentType] == nil { fields[.contentType] = "application/json" }
        let response = try await client.execute(
            uri: path, method: method, headers: fields, body: body.map { ByteBuffer(string: $0) })
        return Reply(status: response.status, headers: response.headers, text: String(buffer: response.body))
    }

    func ask(_ question: String, as who: String, id: String? = nil) async throws -> Reply {
        var headers: HTTPFields = [:]
        if let id { headers[HTTPField.Name("Idempotency-Key")!] = id }
        return try await call(.post, "/v1/ask", as: who, body: json(["question": question]), headers: headers)
    }

    /// Uploads a document and waits for its job to finish; returns the finished job.
    func upload(_ name: String, _ text: String, as who: String) async throws -> [String: Any] {
        let reply = try await call(
            .post, "/v1/documents?name=\(name)", as: who, body: text, headers: [.contentType: "text/markdown"])
        guard reply.status == .accepted, let id = reply.json["job_id"] as? String else {
            throw FixtureError("upload failed: \(reply.status) \(reply.text)")
        }
        // A limit that only ends a test whose job never finishes (a busy machine is slow, not wrong).
        for _ in 0..<4800 {
            let job = try await call(.get, "/v1/jobs/\(id)", as: who).json
            if job["finished_at"] is String { return job }
            try await Task.sleep(for: .milliseconds(25))
        }
        throw FixtureError("job \(id) did not finish in 120 s")
    }

    func json(_ object: [String: Any]) -> String {
        String(decoding: (try? JSONSerialization.data(withJSONObject: object)) ?? Data(), as: UTF8.self)
    }
}

struct FixtureError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A small help-centre page with several sections (several chunks).
let refundGuide = """
    # Refunds

    Refunds are issued within 14 days of purchase. Contact billing to request a refund of your order.

    ## Shipping

    We ship worldwide. Parcels arrive in 3 to 5 business days with tracking.

    ## Passwords

    Reset your password from the sign-in page with the "forgot password" link.
    """

extension ServiceFixture {
    var ledger: Ledger {
        get throws { try Ledger(path: service.configuration.data.ledgerPath) }
    }

    /// The kinds of the tenant's ledger rows (`query`, `attempt`, `correction`), optionally of one query.
    func ledgerKinds(tenant: String, queryID: String? = nil) throws -> [String] {
        let rows =
            try queryID.map { try ledger.entries(tenant: tenant, queryID: $0) } ?? ledger.entries(tenant: tenant)
        return rows.map(\.kind.rawValue)
    }

    /// The vector the service's model gives `text` (a client bringing its own embedder).
    func embed(_ text: String) async throws -> [Float] {
        try await HashingEmbedder().embed(text)
    }

    /// The service's current month (`YYYY-MM`, UTC: the fixture's tenants bill in UTC), or the one
    /// `offset` months from it.
    func month(offset: Int = 0) -> String { TestClock.month(offset: offset) }

    func setPlan(tenant: String, plan: String) throws {
        guard let chosen = PlanCatalog.standard.plan(plan) else { throw FixtureError("no plan \(plan)") }
        _ = try ledger.setBilling(
            tenant: tenant, plan: chosen, billing: .resolution, timeZone: "UTC", reopenWindowHours: 72,
            immediately: false, now: service.configuration.clock.now())
    }
}
