import ArgumentParser
import Cascade
import Evaluation
import Foundation
import KnowledgeBase
import Retrieval

struct SelfCalibrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "self-calibrate",
        abstract: "Fit the RAG confidence and threshold on the knowledge base's own questions (no labels needed).",
        discussion: """
            Questions are written from the knowledge base's structure (section headings, FAQ questions, page titles, \
            "X is a …" definitions), each answered by the document it came from, plus questions it cannot answer \
            (other products and everyday matters, and its own questions moved to a product or thing it never \
            mentions). The weights and the lowest threshold whose false-resolution rate on them stays at most \
            --max-false-resolution are stored in the knowledge base for its current content. `cascade ingest` \
            does this after every change; the service and `ask` use it for a tenant whose settings name no \
            threshold or weights (settings written by `calibrate --write-config` from real labels win).
            """
    )

    @OptionGroup var store: KnowledgeBaseOption

    @Option(help: "Use this tenant's knowledge base (<data>/tenants/<tenant>/kb.sqlite).")
    var tenant: String?

    @OptionGroup var dataOption: DataOption

    @Option(help: "Highest acceptable share of wrong resolutions on the pseudo-questions.")
    var maxFalseResolution: Double = SelfCalibration.defaultTarget

    @Flag(help: "List every pseudo-question with its confidence and whether it was answered right.")
    var details = false

    @Flag(help: "Print as JSON.")
    var json = false

    func validate() throws {
        try TenantNameValidation.check(tenant)
        if !(0.0..<1.0).contains(maxFalseResolution) {
            throw ValidationError("--max-false-resolution must be in [0, 1), e.g. 0.15")
        }
    }

    struct Output: Encodable {
        var path: String
        var calibration: KnowledgeBaseCalibration
        var questions: [SelfCalibration.Detail]?

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(path, forKey: .path)
            try c.encode(calibration, forKey: .calibration)
            try c.encode(questions, forKey: .questions)
        }

        enum CodingKeys: String, CodingKey { case path, calibration, questions }
    }

    func run() async throws {
        try await runReportingErrors {
            let path = try store.path(tenant: tenant, data: dataOption.directory)
            guard FileManager.default.fileExists(atPath: path) else {
                throw StoreError.cannotOpen(
                    path: path, reason: "no such file; create it with `cascade ingest <folder> --kb \(path)`")
            }
            let kb = try KnowledgeBaseStore(existingAt: path)
            let retriever = try Retriever(store: kb)
            guard
                let (calibration, questions) = try await SelfCalibration.compute(
                    retriever: retriever, target: maxFalseResolution)
            else {
                let count = try PseudoQuestions.make(from: kb).answerable.count
                throw ValidationError(
                    "\(path) gives \(count) questions from its headings, titles and definitions; label-free calibration needs \(SelfCalibration.minimumQuestions): the defaults apply (or calibrate on labelled questions with `cascade calibrate`)"
                )
            }
            try SelfCalibration.store(calibration, in: kb)
            if json {
                try Terminal.printJSON(
                    Output(path: path, calibration: calibration, questions: details ? questions : nil))
                return
            }
            print(Self.summary(calibration, path: path))
            if details {
                for q in questions {
                    let verdict = q.refused ? "refused" : q.correct ? "right" : "wrong"
                    print(String(format: "  %.3f  %@  %@  %@", q.confidence, verdict, q.kind, q.question))
                }
            }
        }
    }

    static func summary(_ c: KnowledgeBaseCalibration, path: String) -> String {
        func pct(_ x: Double) -> String { String(format: "%.1f%%", x * 100) }
        let w = c.confidence
        return """
            Label-free calibration of \(path)
              questions     \(c.answerableQuestions) answerable, \(c.unanswerableQuestions) unanswerable (written from its headings, titles, FAQ and definitions)
              threshold     \(String(format: "%.2f", c.threshold)) (lowest with false resolutions ≤ \(pct(c.target)) on them)
              weights       bias \(String(format: "%.2f", w.bias)), similarity \(String(format: "%.2f", w.similarity)), margin \(String(format: "%.2f", w.margin)), agreement \(String(format: "%.2f", w.agreement)), coverage \(String(format: "%.2f", w.coverage ?? 0))
              on them       \(pct(c.falseResolutionRate)) false resolutions, \(pct(c.correctAutoResolutionRate)) of answerable ones resolved right
            Stored in the knowledge base for its current content; used by tenants whose settings name no threshold.
            """
    }
}
