import Foundation
import Testing

/// The default search mode must never lose to one of its own inputs: on every evaluation set the
/// repository ships, `hybrid` scores at least the better of `vector` and `keyword` (nDCG@10). Run
/// in every build, so a change to fusion that regresses a set fails here, by name and margin.
///
/// It does not hold on `heldout-b`, the set written blind on 2026-11-27 (hybrid 0.823, vector
/// 0.847; docs/evaluation.md): that set is checked as a known issue, so the failure stays visible
/// and a fusion that fixes it makes this test say so (a known issue that stops occurring fails).
@Suite("default search mode against its parts")
struct DefaultModeRegressionTests {
    @Test(
        "on every shipped evaluation set, hybrid's nDCG@10 is at least max(vector, keyword) (heldout-b: known not to)")
    func hybridNeverLosesToItsParts() async throws {
        let dir = try TemporaryDirectory()
        let kb = dir.path("kb.sqlite")
        let corpus = CLIProcess.repositoryRoot.appendingPathComponent("corpora/sqlite-docs").path
        let ingest = try await CLIProcess.run(["ingest", corpus, "--kb", kb, "--embedder", "minilm"])
        try #require(ingest.status == 0, "\(ingest.stderr)")
        // `identifiers` is generated (tools/eval/identifier_set.py): lookups by name, where keywords
        // are the stronger part, so the default is checked against both sides.
        for set in ["eval", "heldout", "heldout-b", "identifiers"] {
            let run = try await CLIProcess.run([
                "eval", "retrieval", "--dataset", corpus + "/" + set, "--kb", kb, "--compare", "--json",
            ])
            try #require(run.status == 0, "\(set): \(run.stderr)")
            let output = try run.json()
            let rows = try #require(output["rows"] as? [[String: Any]])
            var ndcg: [String: Double] = [:]
            for row in rows {
                if let mode = row["mode"] as? String,
                    let value = (row["metrics"] as? [String: Any])?["ndcg_at_10"] as? Double
                {
                    ndcg[mode] = value
                }
            }
            let hybrid = try #require(ndcg["hybrid"])
            let parts = try #require(ndcg["vector"].flatMap { v in ndcg["keyword"].map { max(v, $0) } })
            if set == "heldout-b" {
                withKnownIssue("hybrid loses to vector on the blind set heldout-b (docs/evaluation.md)") {
                    #expect(hybrid >= parts, "\(set): hybrid \(hybrid) < the better part \(parts) (\(ndcg))")
                }
            } else {
                #expect(hybrid >= parts, "\(set): hybrid \(hybrid) < the better part \(parts) (\(ndcg))")
            }
            #expect(output["winner"] is String && output["hybrid_margin"] != nil, "\(set): \(output)")
        }
    }
}
