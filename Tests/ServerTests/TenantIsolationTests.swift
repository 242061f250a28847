import Cascade
import Foundation
import HTTPTypes
import Metering
import Server
import TestSupport
import Testing

/// Tenant B's keys never reach tenant A's documents, chunks, ledger rows, escalations, jobs or
/// invoices: not by listing, not by filters, not by ids guessed or shared.
@Suite struct TenantIsolationTests {
    @Test func anotherTenantsKeySeesNothingOfAcme() async throws {
        let fixture = try await ServiceFixture.make()
        try fixture.setPlan(tenant: "acme", plan: "pro")
        try fixture.setPlan(tenant: "beta", plan: "starter")
        _ = try fixture.ledger.finalize(
            Invoice(
                tenant: "acme", month: fixture.month(offset: -1), plan: "pro", billing: .resolution, status: "preview",
                lines: [],
                total: 79), now: TestClock.now)
        try await fixture.run { api in
            let job = try await api.upload("refunds.md", refundGuide, as: "acme.admin")
            let jobID = try #require(job["job_id"] as? String)
            _ = try await api.ask("Where is my parcel from last week?", as: "acme.query", id: "shared-id")
            _ = try await api.ask("How long do refunds take?", as: "acme.query", id: "acme-only")

            // Documents and jobs.
            let documents = try await api.call(.get, "/v1/documents", as: "beta.admin")
            #expect((documents.json["documents"] as? [Any])?.isEmpty == true)
            #expect(try await api.call(.delete, "/v1/documents/refunds.md", as: "beta.admin").status == .notFound)
            #expect(try await api.call(.get, "/v1/jobs/\(jobID)", as: "beta.admin").status == .notFound)
            #expect((try await api.call(.get, "/v1/jobs", as: "beta.admin").json["jobs"] as? [Any])?.isEmpty == true)

            // Chunks: by text, by vector, through filters naming acme's sources and collections.
            let vector = try await fixture.embed("refund of my order")
            for body in [
                "{\"query\":\"refund\",\"k\":100}", "{\"query\":\"refund\",\"mode\":\"keyword\"}",
                api.json(["vector": vector, "k": 100]),
                "{\"query\":\"refund\",\"filters\":{\"source_prefix\":\"uploads/refunds.md\"}}",
                "{\"query\":\"refund\",\"filters\":{\"collections\":[\"uploads\"]}}",
            ] {
                let reply = try await api.call(.post, "/v1/search", as: "beta.query", body: body)
                #expect(reply.status == .ok)
                #expect((reply.json["results"] as? [Any])?.isEmpty == true, "\(body.prefix(60))")
            }

            // Ledger rows: a query id that only acme has, and one both tenants use.
            #expect(try await api.call(.get, "/v1/queries/acme-only", as: "beta.query").status == .notFound)
            for action in ["void", "reopen"] {
                let reply = try await api.call(
                    .post, "/v1/queries/acme-only/\(action)", as: "beta.admin", body: "{\"reason\":\"mine now\"}")
                #expect(reply.status == .notFound, "\(action)")
            }
            let betaAnswer = try await api.ask("How do I reset my password?", as: "beta.query", id: "shared-id")
            #expect(betaAnswer.status == .ok, "the same id in another tenant is another query")
            #expect(betaAnswer.json["replayed"] as? Bool == false)
            #expect(betaAnswer.json["tenant"] as? String == "beta")
            let acmeAgain = try await api.ask("Where is my parcel from last week?", as: "acme.query", id: "shared-id")
            #expect(acmeAgain.json["replayed"] as? Bool == true)
            #expect(acmeAgain.json["tenant"] as? String == "acme")
            let betaQuery = try await api.call(.get, "/v1/queries/shared-id", as: "beta.query")
            #expect(betaQuery.json["question"] == nil)
            let betaRows = try #require(betaQuery.json["ledger"] as? [[String: Any]])
            #expect(betaRows.allSatisfy { $0["tenant"] as? String == "beta" })
            #expect(betaRows.contains { $0["question"] as? String == "How do I reset my password?" })

            // Escalations.
            let escalations = try await api.call(.get, "/v1/escalations", as: "beta.admin")
            let open = try #require(escalations.json["escalations"] as? [[String: Any]])
            #expect(!open.contains { ($0["question"] as? String)?.contains("parcel") == true })
            let resolve = try await api.call(
                .post, "/v1/escalations/acme-only/resolve", as: "beta.admin", body: "{\"answer\":\"hijack\"}")
            #expect(resolve.status == .notFound)

            // Usage and invoices.
            let usage = try await api.call(.get, "/v1/usage", as: "beta.admin")
            #expect(usage.json["tenant"] as? String == "beta")
            #expect(usage.json["queries"] as? Int == 1)
            let invoice = try await api.call(.get, "/v1/invoices/\(fixture.month())", as: "beta.admin")
            #expect(invoice.json["tenant"] as? String == "beta")
            #expect(invoice.json["plan"] as? String == "starter")
            let betaFinals = try await api.call(.get, "/v1/invoices", as: "beta.admin")
            #expect((betaFinals.json["invoices"] as? [Any])?.isEmpty == true)
            let betaOctober = try await api.call(.get, "/v1/invoices/\(fixture.month(offset: -1))", as: "beta.admin")
            #expect(betaOctober.json["tenant"] as? String != "acme")
            #expect(betaOctober.json["status"] as? String != "final")
            let acmeFinals = try await api.call(.get, "/v1/invoices", as: "acme.admin")
            #expect((acmeFinals.json["invoices"] as? [[String: Any]])?.first?["total"] as? String == "79")
            let acmeUsage = try await api.call(.get, "/v1/usage", as: "acme.admin")
            #expect(acmeUsage.json["queries"] as? Int == 2)
        }
        // Nothing of beta's ended up in acme's rows or the other way round.
        #expect(try fixture.ledger.entries(tenant: "beta").allSatisfy { $0.question?.contains("parcel") != true })
    }

    @Test func aRevokedKeyIsRefusedOnTheNextRequest() async throws {
        let fixture = try await ServiceFixture.make()
        let control = try ControlStore(path: fixture.service.configuration.data.controlPath, create: false)
        let (record, key) = try control.createKey(tenant: "acme", scope: .query, name: "widget")
        try await fixture.run { api in
            #expect(try await api.ask("How long do refunds take?", as: key).status == .ok)
            try control.revokeKey(record.keyID)
            let refused = try await api.ask("How long do refunds take?", as: key)
            #expect(refused.status == .unauthorized)
            // A key with a valid id but a wrong secret is refused the same way.
            let forged = key.dropLast(4) + "AAAA"
            #expect(try await api.ask("hello there", as: String(forged)).status == .unauthorized)
        }
    }
}
