import ArgumentParser
import Cascade
import Evaluation
import Foundation
import KnowledgeBase
import Retrieval

struct CalibrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "calibrate",
        abstract: "Fit the RAG confidence on labelled questions and pick the escalation threshold.",
        discussion: """
            Questions are split in two stratified halves (right and wrong ones alternate by similarity): the confidence weights and the threshold \
            (the lowest one whose false-resolution rate is at most --max-false-resolution) come from the first \
            half, and are reported on the held-out half. --write-config stores both in the tenant's settings.
            """
    )

    @OptionGroup var options: EvaluationOptions

    @Option(help: "JSONL of {_id, text} questions the corpus cannot answer. Default: unanswerable.jsonl in the set.")
    var unanswerable: String?

    @Option(help: "Highest acceptable share of wrong resolutions, e.g. 0.05.")
    var maxFalseResolution: Double = 0.05

    @Option(help: "Tenant whose settings --write-config updates.")
    var tenant: String = "eval"

    @Option(name: .customLong("tenants-dir"), help: "Folder of per-tenant settings. Default: <data>/tenants.")
    var tenantsDirOption: String?

    @OptionGroup var dataOption: DataOption

    var tenantsDir: String { tenantsDirOption ?? dataOption.directory.tenantsDirectory }

    @Flag(help: "Write the fitted confidence and threshold into <tenants-dir>/<tenant>.yaml (other settings kept).")
    var writeConfig = false

    @Flag(help: "Print as JSON.")
    var json = false

    func validate() throws {
        if !(0.0..<1.0).contains(maxFalseResolution) {
            throw ValidationError("--max-false-resolution must be in [0, 1), e.g. 0.05")
        }
    }

    struct Side: Encodable {
        var ece: Double
        var reliability: [Calibration.Bin]
    }

    struct Output: Encodable {
        var dataset: String
        var questions: Int
        var target: Double
        var before: Side
        var after: Side
        var confidence: TenantConfiguration.Confidence
        var threshold: Double
        var calibration_split: Calibration.Operating
        var held_out: Calibration.Operating
        var all_questions: Calibration.Operating
        var written_to: String?
        var questions_detail: [Detail]
    }

    struct Detail: Encodable {
        var query_id: String
        var half: String
        var top_similarity: Double
        var margin: Double
        var agreement: Bool
        var coverage: Double
        /// The answer checks refuse this question's answer (not prose, the opposite action).
        var refused: Bool
        var confidence: Double
        var correct: Bool
    }

    func run() async throws {
        try await runReportingErrors {
            let (set, retriever) = try await options.open(data: dataOption.directory)
            let extra = try options.unanswerable(unanswerable, set: set)
            guard !extra.isEmpty else {
                throw ValidationError(
                    "calibration needs unanswerable questions: give --unanswerable FILE (JSONL of {_id, text})")
            }
            let (samples, answerable) = try await Calibration.samples(
                dataset: set, unanswerable: extra, retriever: retriever)
            let (fitSet, heldOut) = Calibration.split(samples)
            let hand = RAGConfidence()
            let fitted = Calibration.fit(fitSet)
            let threshold = Calibration.threshold(
                fitSet, model: fitted, target: maxFalseResolution, answerable: answerable)
            let before = Calibration.reliability(heldOut, model: hand)
            let after = Calibration.reliability(heldOut, model: fitted)
            var output = Output(
                dataset: set.name, questions: samples.count, target: maxFalseResolution,
                before: Side(ece: before.ece, reliability: before.table),
                after: Side(ece: after.ece, reliability: after.table), confidence: .init(fitted), threshold: threshold,
                calibration_split: Calibration.operating(
                    fitSet, model: fitted, threshold: threshold, answerable: answerable),
                held_out: Calibration.operating(heldOut, model: fitted, threshold: threshold, answerable: answerable),
                all_questions: Calibration.operating(
                    samples, model: fitted, threshold: threshold, answerable: answerable),
                written_to: nil,
                questions_detail: [("calibration", fitSet), ("held-out", heldOut)].flatMap { half, samples in
                    samples.map {
                        Detail(
                            query_id: $0.queryID, half: half, top_similarity: $0.signals.topSimilarity,
                            margin: $0.signals.margin, agreement: $0.signals.agreement,
                            coverage: $0.signals.coverage, refused: $0.refused,
                            confidence: fitted.confidence($0.signals), correct: $0.correct)
                    }
                })
            if writeConfig {
                var configuration = try TenantConfiguration.load(tenant: tenant, directory: tenantsDir)
                configuration.threshold = threshold
                configuration.confidence = .init(fitted)
                try configuration.save(tenant: tenant, directory: tenantsDir)
                output.written_to = URL(fileURLWithPath: tenantsDir).appendingPathComponent("\(tenant).yaml").path
            }
            if json {
                try Terminal.printJSON(output)
                return
            }
            printReport(output)
        }
    }

    func printReport(_ o: Output) {
        func pct(_ x: Double) -> String { String(format: "%.1f%%", x * 100) }
        print("Calibration on \(o.dataset): \(o.questions) questions, target false-resolution rate ≤ \(pct(o.target))")
        print("")
        print("Reliability on the held-out half (confidence bin → share right):")
        print("  bin        before: n  conf   right   after: n  conf   right")
        for b in 0..<10 {
            let lo = Double(b) / 10
            let x = o.before.reliability.first { abs($0.lower - lo) < 1e-9 }
            let y = o.after.reliability.first { abs($0.lower - lo) < 1e-9 }
            func cell(_ bin: Calibration.Bin?) -> String {
                bin.map { String(format: "%4d  %.2f   %.2f", $0.count, $0.meanConfidence, $0.accuracy) }
                    ?? "   -     -      -"
            }
            print(String(format: "  %.1f–%.1f  ", lo, lo + 0.1) + cell(x) + "     " + cell(y))
        }
        print(String(format: "  expected calibration error: before %.3f, after %.3f", o.before.ece, o.after.ece))
        print("")
        print(
            String(
                format: "Fitted confidence: bias %.3f, similarity %.3f, margin %.3f, agreement %.3f, coverage %.3f",
                o.confidence.bias, o.confidence.similarity, o.confidence.margin, o.confidence.agreement,
                o.confidence.coverage ?? 0))
        print(String(format: "Threshold: %.2f", o.threshold))
        for (name, p) in [
            ("calibration half", o.calibration_split), ("held-out half", o.held_out), ("all", o.all_questions),
        ] {
            print(
                "  \(name): \(p.questions) questions, \(p.resolved) resolved, false-resolution \(pct(p.falseResolutionRate)), "
                    + "correct auto-resolution \(pct(p.correctAutoResolutionRate))")
        }
        if let path = o.written_to { print("Written to \(path)") }
    }
}
