import Foundation
import Metering

/// The RAG threshold a tenant's customers' verdicts support: labels that arrive with use.
///
/// A new tenant starts on the knowledge base's label-free calibration. Once customers have said
/// "helpful" or "not helpful" to enough RAG answers, their verdicts are labels on that tenant's
/// own questions: a rejected answer is a false resolution, a confirmed one a right one. Each
/// verdict's resolution recorded its confidence, so for every candidate threshold the share of
/// rejections among the judged answers at or above it estimates the false-resolution rate that
/// threshold would have had.
///
/// What verdicts cannot say: only answers above the threshold of their day were given and judged,
/// so they can justify raising the threshold, never lowering it; and customers who are unhappy
/// answer more often than those who are not, so the estimate errs towards more rejections (the
/// safe side for billing). Confidences compare only under the weights and threshold they were
/// computed with (the resolution's evidence names both the threshold and where it came from), so
/// verdicts recorded under another calibration than the latest are set aside.
public struct VerdictThreshold: Sendable {
    /// One judged RAG answer.
    public struct Sample: Sendable, Hashable {
        public var queryID: String
        public var confidence: Double
        public var rejected: Bool
        /// The threshold and its source when the answer was given (`0.72 knowledge_base`).
        public var basis: String
    }

    /// What one threshold would have done to the judged answers.
    public struct Row: Sendable, Codable, Hashable {
        public var threshold: Double
        /// Judged answers at or above the threshold.
        public var judged: Int
        public var confirmed: Int
        public var rejected: Int
        /// Rejected ÷ judged.
        public var rejectedShare: Double

        enum CodingKeys: String, CodingKey {
            case threshold, judged, confirmed, rejected
            case rejectedShare = "rejected_share"
        }
    }

    /// The judged RAG resolutions among `verdicts` (other tiers are not governed by the threshold).
    public static func samples(_ verdicts: [CustomerVerdict]) -> [Sample] {
        verdicts.compactMap { verdict in
            let query = verdict.query
            guard query.tier == "rag", let confidence = query.confidence, confidence.isFinite else { return nil }
            let evidence = query.evidence.flatMap(Evidence.init(json:))
            let basis =
                (evidence?.threshold.map { String(format: "%.6f", $0) } ?? "unknown") + " "
                + (evidence?.calibration ?? "unknown")
            return Sample(
                queryID: query.queryID, confidence: confidence, rejected: verdict.verdict == .notHelpful, basis: basis)
        }
    }

    /// The samples comparable with the latest one (same threshold and source), and how many were
    /// set aside.
    public static func latestBasis(_ samples: [Sample]) -> (samples: [Sample], setAside: Int) {
        guard let basis = samples.last?.basis else { return ([], 0) }
        let kept = samples.filter { $0.basis == basis }
        return (kept, samples.count - kept.count)
    }

    /// One row per distinct confidence of the samples, lowest first: what keeping only the
    /// answers at or above it would have done.
    public static func table(_ samples: [Sample]) -> [Row] {
        let sorted = samples.sorted { $0.confidence > $1.confidence }
        var rows: [Row] = []
        var confirmed = 0
        var rejected = 0
        var index = 0
        while index < sorted.count {
            let threshold = sorted[index].confidence
            while index < sorted.count, sorted[index].confidence == threshold {
                if sorted[index].rejected { rejected += 1 } else { confirmed += 1 }
                index += 1
            }
            let judged = confirmed + rejected
            rows.append(
                Row(
                    threshold: threshold, judged: judged, confirmed: confirmed, rejected: rejected,
                    rejectedShare: Double(rejected) / Double(judged)))
        }
        return rows.reversed()
    }

    /// What the verdicts support, as `cascade verdicts threshold` and `GET /v1/verdicts/threshold`
    /// report it.
    public struct Recommendation: Sendable, Hashable {
        public var target: Double
        public var minimumVerdicts: Int
        /// Every verdict of the tenant.
        public var verdicts: Int
        /// Judged RAG answers under the latest threshold and calibration (the table's).
        public var used: Int
        /// Judged RAG answers under an older threshold or calibration.
        public var setAside: Int
        /// The threshold, and where it came from, under which the latest judged answer was given.
        public var currentThreshold: Double?
        public var calibration: String?
        /// Nil when the verdicts support none (too few, or rejections at every confidence).
        public var recommendedThreshold: Double?
        /// Why, in words.
        public var reason: String
        public var table: [Row]
    }

    /// The recommendation of `verdicts` (a tenant's, oldest first): the lowest threshold at or
    /// under `target` keeping at least `minimumVerdicts` judged answers; the threshold in force
    /// when even the least confident judged answers meet the target (verdicts never lower it).
    public static func recommend(_ verdicts: [CustomerVerdict], target: Double, minimumVerdicts: Int)
        -> Recommendation
    {
        let (samples, setAside) = latestBasis(samples(verdicts))
        let latest = samples.last.flatMap { sample in
            verdicts.last { $0.query.queryID == sample.queryID }?.query.evidence.flatMap(Evidence.init(json:))
        }
        let table = table(samples)
        let chosen = choose(table, target: target, minimumVerdicts: minimumVerdicts)
        let current = latest?.threshold
        var recommended: Double?
        let reason: String
        if samples.count < minimumVerdicts {
            reason =
                "\(samples.count) judged RAG answers under the latest calibration; at least \(minimumVerdicts) are needed"
        } else if let chosen, chosen.threshold == table.first?.threshold {
            recommended = current ?? chosen.threshold
            reason = "the judged answers are rejected at most the target share already: keep the threshold"
        } else if let chosen {
            recommended = chosen.threshold
            reason = String(
                format: "%d judged answers at or above %.3f, %.1f%% rejected", chosen.judged, chosen.threshold,
                chosen.rejectedShare * 100)
        } else {
            reason =
                "no threshold keeps \(minimumVerdicts) judged answers with at most \(String(format: "%.1f%%", target * 100)) rejected"
        }
        return Recommendation(
            target: target, minimumVerdicts: minimumVerdicts, verdicts: verdicts.count, used: samples.count,
            setAside: setAside, currentThreshold: current, calibration: latest?.calibration,
            recommendedThreshold: recommended, reason: reason, table: table)
    }

    /// The lowest threshold whose judged answers number at least `minimumVerdicts` and are
    /// rejected at most `target` of the time; nil when none is (too few verdicts, or rejections at
    /// every confidence).
    public static func choose(_ table: [Row], target: Double, minimumVerdicts: Int) -> Row? {
        table.first { $0.judged >= minimumVerdicts && $0.rejectedShare <= target }
    }
}
