import ArgumentParser
import Cascade
import Evaluation
import Foundation
import KnowledgeBase
import Metering

struct VerdictsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verdicts",
        abstract: "Customers' verdicts on answers, and the threshold they support.",
        subcommands: [List.self, Threshold.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A tenant's verdicts, oldest first.")
        @Option(help: "The tenant.") var tenant: String
        @OptionGroup var ledgerOption: LedgerOption
        @OptionGroup var databaseOption: DatabaseOption
        @Flag(help: "Print JSON lines.") var json = false

        func validate() throws { try TenantNameValidation.check(tenant) }

        struct Line: Encodable {
            var query_id: String
            var question: String?
            var tier: String
            var confidence: Double?
            var verdict: String
            var comment: String?
            var recorded_at: String

            enum CodingKeys: String, CodingKey {
                case query_id, question, tier, confidence, verdict, comment, recorded_at
            }

            func encode(to encoder: any Encoder) throws {
                var c = encoder.container(keyedBy: CodingKeys.self)
                try c.encode(query_id, forKey: .query_id)
                try c.encode(question, forKey: .question)
                try c.encode(tier, forKey: .tier)
                try c.encode(confidence, forKey: .confidence)
                try c.encode(verdict, forKey: .verdict)
                try c.encode(comment, forKey: .comment)
                try c.encode(recorded_at, forKey: .recorded_at)
            }
        }

        func run() async throws {
            try await runReportingErrors {
                let verdicts = try await databaseOption.withLedger(ledgerOption) {
                    try await $0.customerVerdicts(tenant: tenant)
                }
                for verdict in verdicts {
                    let line = Line(
                        query_id: verdict.query.queryID, question: verdict.query.question, tier: verdict.query.tier,
                        confidence: verdict.query.confidence, verdict: verdict.verdict.outcome,
                        comment: verdict.comment, recorded_at: JSONConvention.timestamp(verdict.recordedAt))
                    if json {
                        try Terminal.printJSON(line)
                    } else {
                        let confidence = line.confidence.map { String(format: " %.2f", $0) } ?? ""
                        print(
                            "\(line.query_id)\t\(line.verdict)\t\(line.tier)\(confidence)\t\(line.question ?? "")"
                                + (line.comment.map { "\n\tcomment: \($0)" } ?? ""))
                    }
                }
                if verdicts.isEmpty && !json { print("no verdicts for \(tenant)") }
            }
        }
    }

    struct Threshold: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The RAG threshold a tenant's customers' verdicts support.",
            discussion: """
                Each judged RAG answer is a label: rejected (not helpful) is a false resolution, confirmed a right \
                one. For each confidence recorded, the share of rejections among the judged answers at or above it \
                estimates the false-resolution rate of that threshold; the lowest one at or under \
                --max-false-resolution with at least --min-verdicts judged answers is recommended. Verdicts exist \
                only for answers above the threshold of their day, so they can raise the threshold, never lower it. \
                Only verdicts given under the latest threshold and calibration are compared. --write-config stores \
                the threshold with the confidence weights it goes with in the tenant's settings (which then \
                override the knowledge base's label-free calibration).
                """
        )
        @Option(help: "The tenant.") var tenant: String
        @Option(help: "Highest acceptable share of rejected answers, e.g. 0.05.")
        var maxFalseResolution: Double = 0.05
        @Option(help: "Fewest judged answers a threshold must keep to be trusted.")
        var minVerdicts: Int = 30
        @OptionGroup var ledgerOption: LedgerOption
        @OptionGroup var databaseOption: DatabaseOption
        @OptionGroup var store: KnowledgeBaseOption
        @Option(name: .customLong("tenants-dir"), help: "Folder of per-tenant settings. Default: <data>/tenants.")
        var tenantsDirOption: String?
        @Flag(help: "Write the recommended threshold (and the weights it goes with) into <tenants-dir>/<tenant>.yaml.")
        var writeConfig = false
        @Flag(help: "Print as JSON.") var json = false

        func validate() throws {
            try TenantNameValidation.check(tenant)
            if !(0.0..<1.0).contains(maxFalseResolution) {
                throw ValidationError("--max-false-resolution must be in [0, 1), e.g. 0.05")
            }
            if minVerdicts < 1 { throw ValidationError("--min-verdicts must be at least 1") }
        }

        struct Output: Encodable {
            var tenant: String
            var target: Double
            var min_verdicts: Int
            var verdicts: Int
            var rag_verdicts_used: Int
            var set_aside: Int
            var current_threshold: Double?
            var calibration: String?
            var recommended_threshold: Double?
            var reason: String
            var table: [VerdictThreshold.Row]
            var written_to: String?

            enum CodingKeys: String, CodingKey {
                case tenant, target, min_verdicts, verdicts, rag_verdicts_used, set_aside, current_threshold
                case calibration, recommended_threshold, reason, table, written_to
            }

            func encode(to encoder: any Encoder) throws {
                var c = encoder.container(keyedBy: CodingKeys.self)
                try c.encode(tenant, forKey: .tenant)
                try c.encode(target, forKey: .target)
                try c.encode(min_verdicts, forKey: .min_verdicts)
                try c.encode(verdicts, forKey: .verdicts)
                try c.encode(rag_verdicts_used, forKey: .rag_verdicts_used)
                try c.encode(set_aside, forKey: .set_aside)
                try c.encode(current_threshold, forKey: .current_threshold)
                try c.encode(calibration, forKey: .calibration)
                try c.encode(recommended_threshold, forKey: .recommended_threshold)
                try c.encode(reason, forKey: .reason)
                try c.encode(table, forKey: .table)
                try c.encode(written_to, forKey: .written_to)
            }
        }

        func run() async throws {
            try await runReportingErrors {
                let verdicts = try await databaseOption.withLedger(ledgerOption) {
                    try await $0.customerVerdicts(tenant: tenant)
                }
                let r = VerdictThreshold.recommend(
                    verdicts, target: maxFalseResolution, minimumVerdicts: minVerdicts)
                let reason =
                    r.recommendedThreshold == nil && r.used < minVerdicts ? r.reason + " (--min-verdicts)" : r.reason
                let (recommended, current, setAside, table) = (
                    r.recommendedThreshold, r.currentThreshold, r.setAside, r.table
                )
                var output = Output(
                    tenant: tenant, target: maxFalseResolution, min_verdicts: minVerdicts, verdicts: verdicts.count,
                    rag_verdicts_used: r.used, set_aside: setAside, current_threshold: current,
                    calibration: r.calibration, recommended_threshold: recommended, reason: reason, table: table,
                    written_to: nil)
                if writeConfig {
                    guard let recommended else {
                        throw CommandError("nothing written: \(reason)")
                    }
                    output.written_to = try write(
                        threshold: recommended, calibration: r.calibration, tenant: tenant)
                }
                if json {
                    try Terminal.printJSON(output)
                    return
                }
                print(
                    "\(tenant): \(verdicts.count) verdicts, \(r.used) on RAG answers under the latest calibration"
                        + (setAside > 0 ? " (\(setAside) older set aside)" : ""))
                if let current {
                    print(String(format: "threshold in force: %.3f (%@)", current, r.calibration ?? "unknown"))
                }
                print("  threshold  judged  confirmed  rejected  rejected share")
                for row in table {
                    print(
                        String(
                            format: "  %9.3f  %6d  %9d  %8d  %13.1f%%", row.threshold, row.judged, row.confirmed,
                            row.rejected, row.rejectedShare * 100))
                }
                print(
                    recommended.map { String(format: "recommended threshold: %.3f (%@)", $0, reason) }
                        ?? "no recommendation: \(reason)")
                if let path = output.written_to { print("Written to \(path)") }
            }
        }

        /// Stores `threshold` with the weights the verdicts' confidences were computed with.
        func write(threshold: Double, calibration: String?, tenant: String) throws -> String {
            let data = ledgerOption.dataOption.directory
            let directory = tenantsDirOption ?? data.tenantsDirectory
            var settings = try TenantConfiguration.load(tenant: tenant, directory: directory)
            switch calibration {
            case "tenant_settings":
                // The settings' own weights (or the defaults beside a threshold set by hand) stay.
                break
            case "knowledge_base":
                let path = try store.path(tenant: tenant, data: data)
                guard FileManager.default.fileExists(atPath: path) else {
                    throw CommandError(
                        "no knowledge base at \(path): pass --kb, the one the tenant's answers came from")
                }
                guard let stored = try SelfCalibration.cached(in: try KnowledgeBaseStore(existingAt: path)) else {
                    throw CommandError(
                        "the knowledge base \(path) has no current label-free calibration, so the weights these verdicts were judged under are unknown; run `cascade self-calibrate --kb \(path)` and collect verdicts again"
                    )
                }
                settings.confidence = stored.confidence
            case "defaults":
                settings.confidence = .init(RAGConfidence())
            default:
                throw CommandError(
                    "the verdicts' answers do not say which weights they were scored with (recorded before evidence named its calibration); nothing written"
                )
            }
            settings.threshold = threshold
            try settings.save(tenant: tenant, directory: directory)
            return URL(fileURLWithPath: directory).appendingPathComponent("\(tenant).yaml").path
        }
    }
}
