import Foundation
import HTTPTypes
import Server
import Testing

/// An ingest job lands all at once: searches running meanwhile see all of its chunks or none.
@Suite struct IngestSwapTests {
    @Test func searchesDuringIngestNeverSeeAHalfIngestedJob() async throws {
        let fixture = try await ServiceFixture.make()
        // A BEIR corpus upload: many documents in one job.
        let documents = (0..<60).map { i in
            "{\"_id\":\"faq-\(i)\",\"title\":\"Warranty question \(i)\",\"text\":\"The zephyr warranty covers part \(i) for two years.\"}"
        }
        let corpus = documents.joined(separator: "\n") + "\n"
        try await fixture.run { api in
            _ = try await api.upload("refunds.md", refundGuide, as: "acme.admin")
            let upload = try await api.call(
                .post, "/v1/documents?name=faq.jsonl", as: "acme.admin", body: corpus,
                headers: [.contentType: "application/x-ndjson"])
            #expect(upload.status == .accepted)
            let jobID = try #require(upload.json["job_id"] as? String)
            var seen = Set<Int>()
            var finished = false
            while !finished {
                let job = try await api.call(.get, "/v1/jobs/\(jobID)", as: "acme.admin").json
                finished = job["finished_at"] is String
                let reply = try await api.call(
                    .post, "/v1/search", as: "acme.query",
                    body: "{\"query\":\"zephyr warranty\",\"mode\":\"keyword\",\"k\":100}")
                #expect(reply.status == .ok)
                let count = (reply.json["results"] as? [Any])?.count ?? -1
                seen.insert(count)
                #expect(count == 0 || count == 60, "a search saw \(count) of the job's 60 documents")
            }
            let after = try await api.call(
                .post, "/v1/search", as: "acme.query",
                body: "{\"query\":\"zephyr warranty\",\"mode\":\"keyword\",\"k\":100}")
            #expect((after.json["results"] as? [Any])?.count == 60)
            #expect(seen.isSubset(of: [0, 60]))
        }
    }
}
