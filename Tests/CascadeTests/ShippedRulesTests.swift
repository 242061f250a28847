import Foundation
import Testing

@testable import Cascade

/// The demo's rules (corpora/sqlite-docs/rules.yaml) answer their question and nothing near it:
/// each rule is asked the questions it answers and the near misses it must leave to retrieval
/// (the opposite action, a condition, a comparison, another product's question).
@Suite struct ShippedRulesTests {
    static let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("corpora/sqlite-docs/rules.yaml").path

    static let cases: [(rule: String, fires: [String], misses: [String])] = [
        (
            "wal-enable",
            [
                "How do I turn on WAL mode?", "How can I enable write-ahead logging (WAL)?", "activate wal please",
                "How do I switch to WAL journal mode?", "how to use WAL mode",
            ],
            [
                "Can I use WAL mode on a network file system?", "How do I disable WAL mode?",
                "How do I turn off WAL and go back to rollback journal?", "Why is my WAL file so large?",
                "Should I enable WAL for a read-only database?", "Is WAL faster than the rollback journal?",
                "How do I enable WAL on Android?", "I can't enable WAL, it says database is locked",
                "When does SQLite checkpoint the WAL?", "What is the difference between WAL and DELETE mode?",
                "How do I stop using WAL mode?", "WAL on a shared drive: how do I enable it?",
            ]
        ),
        (
            "download",
            [
                "Where can I download SQLite?", "How do I install sqlite?", "where do I get sqlite from",
            ],
            [
                "How do I install a SQLite extension?", "How do I download a database file from SQLite?",
                "How do I get the number of rows in a SQLite table?", "How do I install SQLite for Python?",
                "Where can I download the SQLite documentation?", "How do I get started with SQLite?",
                "How do I upgrade SQLite to a newer version?", "How do I get the result of a query in SQLite?",
            ]
        ),
        (
            "refund",
            ["Can I get a refund for my license?", "I want my money back", "How do chargebacks work for you?"],
            ["How do I roll back a transaction?", "Can I get the disk space back after deleting rows?"]
        ),
        (
            "human",
            ["I want to talk to a human", "Can I speak to a real person?", "please let me talk to someone"],
            ["How does SQLite handle human-readable dates?", "Can two people write to one database at once?"]
        ),
    ]

    @Test func everyShippedRuleHasCases() throws {
        let rules = try RuleSet.load(path: Self.path)
        #expect(Set(rules.rules.map(\.id)) == Set(Self.cases.map(\.rule)), "add cases for a new rule here")
    }

    @Test(arguments: cases.map(\.rule))
    func answersItsQuestionAndNotItsNearMisses(rule id: String) throws {
        let rules = try RuleSet.load(path: Self.path)
        let entry = try #require(Self.cases.first { $0.rule == id })
        for question in entry.fires {
            #expect(rules.match(question)?.id == id, "\(id) should answer: \(question)")
        }
        for question in entry.misses {
            let fired = rules.match(question)
            #expect(fired?.id != id, "\(id) answered a question it does not answer: \(question)")
            if let fired, fired.answer != nil {
                Issue.record("\(fired.id) answered a near miss of \(id): \(question)")
            }
        }
    }

    @Test func noneKeepsARuleFromMatching() throws {
        let rules = try RuleSet.parse(
            """
            rules:
              - id: enable
                match: { all: [wal], any: [enable], none: [disable, "can't"] }
                answer: on
            """)
        #expect(rules.match("enable wal")?.id == "enable")
        #expect(rules.match("enable wal, then disable it") == nil)
        #expect(rules.match("I can't enable WAL") == nil)
        #expect(throws: RuleError.self) {
            try RuleSet.parse("rules:\n  - id: x\n    match: { never: [a] }\n    answer: y\n")
        }
    }
}
