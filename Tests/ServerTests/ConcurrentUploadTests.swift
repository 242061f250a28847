import Foundation
import HTTPTypes
import Server
import Testing

/// Many tenants at once, as a busy multi-tenant node sees them.
@Suite struct ConcurrentUploadTests {
    /// 200 tenants each uploading a document at the same moment once put ~160 threads into
    /// OpenBLAS's `sgemm` and the node died with SIGSEGV, losing 187 accepted uploads (see
    /// `BLASCallLimit`). The real model, so the uploads really embed.
    @Test("200 tenants upload at once and ask: the node stays up and every accepted upload is ingested")
    func twoHundredTenantsUploadAtOnce() async throws {
        let tenants = (0..<200).map { String(format: "t%03d", $0) }
        let fixture = try await ServiceFixture.make(tenants: tenants) { $0.embedderName = "minilm" }
        try await fixture.run { api in
            let outcomes = try await withThrowingTaskGroup(of: (String, String, Int).self) { group in
                for tenant in tenants {
                    group.addTask {
                        let job = try await api.upload(
                            "guide.md", "# Refunds at \(tenant)\n\nRefunds for \(tenant) take 14 days to arrive.\n",
                            as: "\(tenant).admin")
                        let search = try await api.call(
                            .post, "/v1/search", as: "\(tenant).query", body: #"{"query":"how long do refunds take"}"#)
                        let hits = (search.json["results"] as? [[String: Any]])?.count ?? -1
                        return (tenant, job["status"] as? String ?? "\(job)", hits)
                    }
                }
                var all: [(String, String, Int)] = []
                for try await outcome in group { all.append(outcome) }
                return all
            }
            #expect(outcomes.count == 200)
            let failed = outcomes.filter { $0.1 != "succeeded" }
            #expect(failed.isEmpty, "jobs not ingested: \(failed.prefix(5))")
            let blind = outcomes.filter { $0.2 < 1 }
            #expect(blind.isEmpty, "tenants whose search found nothing: \(blind.prefix(5))")
            // And the node still answers questions afterwards.
            #expect(try await api.ask("How long do refunds take?", as: "t000.query").status == .ok)
        }
    }
}
