import Foundation
import Testing

@testable import Cascade

@Suite("Rules tier")
struct RuleSetTests {
    let yaml = """
        rules:
          - id: human
            match: { phrases: [talk to a human, real person] }
            escalate: true
          - id: wal
            match:
              all: [wal]
              any: [enable, turn on]
            answer: Run PRAGMA journal_mode=WAL.
          - id: version
            match: { regex: "\\\\bversion\\\\s+[0-9]+" }
            answer: We support every version from 3.31 on.
        """

    @Test("rules match case- and accent-insensitively, on whole words, first match wins")
    func matching() throws {
        let rules = try RuleSet.parse(yaml)
        #expect(rules.match("How do I ENABLE wal?")?.id == "wal")
        #expect(rules.match("Comment activer le WAL? enable")?.id == "wal")
        #expect(rules.match("Can I talk to a HUMAN please")?.id == "human")
        #expect(rules.match("I want a réal pérson!")?.id == "human")
        #expect(rules.match("does version 3 work")?.id == "version")
        #expect(rules.match("walrus enable") == nil, "whole words only")
        #expect(rules.match("wal mode") == nil, "all + any must both hold")
    }

    @Test(
        "invalid rules files fail at load with the line and the reason",
        arguments: [
            ("rules:\n  - id: a\n    match: { any: [x] }\n", 2, "needs an `answer`"),
            ("rules:\n  - id: a\n    match: { sometimes: [x] }\n    answer: y\n", 3, "unknown match condition"),
            (
                "rules:\n  - id: a\n    match: { any: [x] }\n    answer: y\n  - id: a\n    match: { any: [z] }\n    answer: w\n",
                5, "duplicate"
            ),
            ("rules:\n  - id: a\n    match: { regex: \"([\" }\n    answer: y\n", 3, "invalid regex"),
            ("rules:\n  - id: a\n    matchh: {}\n", 3, "unknown field"),
            ("rules: [\n  - broken", 2, "not valid YAML"),
            ("other: 1\n", 1, "top-level `rules:`"),
        ])
    func invalidFiles(text: String, line: Int, reason: String) {
        #expect {
            try RuleSet.parse(text)
        } throws: { error in
            guard let error = error as? RuleError else { return false }
            return error.line == line && error.message.contains(reason) && error.description.hasPrefix("line \(line):")
        }
    }

    @Test("the shipped demo rules load")
    func demoRules() throws {
        let rules = try RuleSet.load(path: repositoryRoot.appendingPathComponent("corpora/sqlite-docs/rules.yaml").path)
        #expect(rules.rules.count >= 4)
        #expect(rules.match("How do I turn on WAL mode?")?.id == "wal-enable")
        #expect(rules.match("I want a refund")?.escalate == true)
    }
}
