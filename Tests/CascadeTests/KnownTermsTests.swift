import Foundation
import Metering
import TestSupport
import Testing

@testable import Cascade

@Suite("Known terms and the calibration a tenant gets")
struct KnownTermsTests {
    @Test("candidate words leave out question, function and everyday words, keep short technical ones")
    func candidates() {
        #expect(KnownTerms.candidates("How do I protect a branch on GitHub?") == ["protect", "branch", "github"])
        #expect(KnownTerms.candidates("can somebody tell me the biggest csv file size") == ["csv", "file", "size"])
        #expect(KnownTerms.candidates("how do I do it?").isEmpty)
        // A contraction is a negation, not a subject the knowledge base must mention.
        #expect(KnownTerms.candidates("Why aren't my foreign keys enforced?") == ["foreign", "keys", "enforced"])
        #expect(KnownTerms.candidates("it doesn't and won't start, I can't, isn't it?") == ["start"])
    }

    @Test("a word no chunk holds is unknown; specificity falls with the number of chunks holding a word")
    func statistics() {
        let counts = ["branch": 400, "protect": 3, "github": 0]
        let statistics = KnownTerms.statistics("How do I protect a branch on GitHub?", chunks: 5000) { word, cap in
            min(counts[word] ?? 0, cap)
        }
        #expect(statistics.unknown == ["github"])
        #expect(statistics.specificity["github"] == 1)
        let protect = statistics.specificity["protect"] ?? 0
        let branch = statistics.specificity["branch"] ?? 0
        #expect(protect > branch && branch > 0)
        // A ten-page knowledge base says nothing by not using a word.
        let small = KnownTerms.statistics("How do I protect a branch on GitHub?", chunks: 40) { word, cap in
            min(counts[word] ?? 0, cap)
        }
        #expect(small.unknown.isEmpty && small.specificity["github"] == 1)
    }

    @Test(
        "weighted coverage: a passage missing the question's specific word covers it less than one missing a common word"
    )
    func weightedCoverage() {
        let question = "how do I rebase a branch"
        let specificity = ["rebase": 0.9, "branch": 0.2]
        let missingSpecific = AnswerCheck.coverage(
            question: question, passage: "Every branch has a name.", heading: "", title: "", specificity: specificity)
        let missingCommon = AnswerCheck.coverage(
            question: question, passage: "To rebase, run the command.", heading: "", title: "",
            specificity: specificity)
        #expect(missingSpecific < 0.25 && missingCommon > 0.75)
        // Unweighted, both are one word of two.
        #expect(
            AnswerCheck.coverage(question: question, passage: "Every branch has a name.", heading: "", title: "")
                == 0.5)
    }

    @Test("the knowledge base's calibration applies when the settings name no threshold or weights")
    func calibrationPrecedence() throws {
        let dir = try TemporaryDirectory()
        let calibration = KnowledgeBaseCalibration(
            contentVersion: "v", threshold: 0.47,
            confidence: TenantConfiguration.Confidence(RAGConfidence(bias: -6, similarityWeight: 8)), target: 0.15,
            answerableQuestions: 10, unanswerableQuestions: 10, falseResolutionRate: 0.1,
            correctAutoResolutionRate: 0.7)
        let ledger = try Ledger(path: dir.path("ledger.sqlite"))
        let fresh = try Resolver.forTenant(
            "new", settingsDirectory: dir.path("tenants"), retriever: nil, ledger: ledger, calibration: calibration)
        #expect(fresh.threshold == 0.47 && fresh.confidence.bias == -6 && fresh.calibrationSource == "knowledge_base")
        // --threshold overrides the threshold, not the weights.
        let overridden = try Resolver.forTenant(
            "new", settingsDirectory: dir.path("tenants"), retriever: nil, ledger: ledger, threshold: 0.9,
            calibration: calibration)
        #expect(overridden.threshold == 0.9 && overridden.confidence.bias == -6)
        // Settings from labelled calibration win, weights and threshold together.
        try dir.write(
            "tenants/labelled.yaml",
            "threshold: 0.55\nconfidence:\n  bias: -10\n  similarity: 18\n  margin: 2\n  agreement: 0.7\n")
        let labelled = try Resolver.forTenant(
            "labelled", settingsDirectory: dir.path("tenants"), retriever: nil, ledger: ledger,
            calibration: calibration)
        #expect(labelled.threshold == 0.55 && labelled.confidence.bias == -10)
        #expect(labelled.calibrationSource == "tenant_settings")
        // A threshold set by hand keeps the hand-set weights it was chosen under.
        try dir.write("tenants/manual.yaml", "threshold: 0.7\n")
        let manual = try Resolver.forTenant(
            "manual", settingsDirectory: dir.path("tenants"), retriever: nil, ledger: ledger,
            calibration: calibration)
        #expect(manual.threshold == 0.7 && manual.confidence == RAGConfidence())
        let none = try Resolver.forTenant("new", settingsDirectory: dir.path("tenants"), retriever: nil, ledger: ledger)
        #expect(none.threshold == 0.6 && none.calibrationSource == "defaults")
    }
}
