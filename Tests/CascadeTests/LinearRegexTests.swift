import Foundation
import Testing

@testable import Cascade

/// Rule regexes run in linear time and agree with Foundation's (backtracking) engine on ordinary
/// patterns; what a linear engine cannot honour is refused at load with the reason.
@Suite("Linear-time rule regexes")
struct LinearRegexTests {
    static let cases: [(String, [String])] = [
        ("refund", ["i want a refund", "refunds?", "no"]),
        (#"\brefund\b"#, ["a refund now", "refunds", "prerefund"]),
        ("^hello", ["hello there", "say hello"]),
        ("bye$", ["goodbye", "bye now"]),
        ("colou?r", ["color", "colour", "colouur"]),
        ("(cancel|delete) (my )?account", ["cancel account", "delete my account", "cancel the account"]),
        (#"order #?\d{5,7}"#, ["order 12345", "order #1234567", "order 1234", "order #12345678"]),
        ("[a-c]+x", ["abcx", "dx", "ccccx"]),
        ("[^0-9 ]{3}", ["ab", "abc", "1 2 3"]),
        (#"\s+wal\s+"#, ["turn on wal mode", "walmode"]),
        ("(?:ab)*c", ["ababc", "c", "abab"]),
        ("a.c", ["abc", "a\nc", "ac"]),
        (#"\w+@\w+\.com"#, ["mail me at joe@example.com", "joe@example"]),
        ("x{2}y{0,1}z", ["xxz", "xxyz", "xyz", "xxyyz"]),
        (#"1\.5"#, ["version 1.5", "version 105"]),
        ("é", ["café", "cafe"]),
    ]

    @Test("agrees with NSRegularExpression on ordinary patterns", arguments: cases)
    func agreesWithFoundation(_ example: (String, [String])) throws {
        let (pattern, inputs) = example
        let ours = try LinearRegex(pattern)
        let reference = try NSRegularExpression(pattern: pattern)
        for input in inputs {
            let expected = reference.firstMatch(in: input, range: NSRange(input.startIndex..., in: input)) != nil
            #expect(ours.matches(input) == expected, "\(pattern) on \(input)")
        }
    }

    @Test("an empty pattern matches everything")
    func empty() throws {
        #expect(try LinearRegex("").matches(""))
        #expect(try LinearRegex("(?:)").matches("anything"))
    }

    @Test("catastrophic patterns run in linear time")
    func catastrophic() throws {
        let text = String(repeating: "a", count: 2000)
        for pattern in ["(a+)+b", "(a*)*b", "(a|a)*b", "(a|aa)+$x", "((a+)+)+c", "(.*a){12}z"] {
            let regex = try LinearRegex(pattern)
            #expect(!regex.matches(text), "\(pattern)")
            #expect(regex.matches(text + "b") == pattern.hasSuffix("b"), "\(pattern)")
        }
    }

    @Test("constructs a linear engine cannot honour are refused with the reason")
    func refused() {
        for (pattern, reason) in [
            (#"(a)\1"#, "back-reference"), ("(?=a)b", "look-around"), ("(?<=a)b", "look-around"),
            ("a{1000}", "above 100"), ("[[:alpha:]]", "POSIX"), ("(a", "missing ')'"), ("a)", "unbalanced"),
            ("*a", "nothing to repeat"), ("[z-a]", "reversed"), (#"\q"#, "unknown escape"),
            (String(repeating: "(", count: 60) + String(repeating: ")", count: 60), "nested"),
        ] {
            #expect(throws: LinearRegex.SyntaxError.self, "\(pattern)") { try LinearRegex(pattern) }
            do {
                _ = try LinearRegex(pattern)
            } catch {
                #expect(error.message.contains(reason), "\(pattern): \(error.message)")
            }
        }
    }

    @Test("a rules file with a backtracking-only regex fails at load with its line")
    func ruleFileLine() {
        let yaml = """
            rules:
              - id: ok
                match: { regex: "refund" }
                answer: yes
              - id: bad
                match: { regex: "(a)\\\\1" }
                answer: no
            """
        #expect {
            try RuleSet.parse(yaml, source: "rules.yaml")
        } throws: { error in
            guard let error = error as? RuleError else { return false }
            return error.line == 6 && error.message.contains("back-reference")
        }
    }
}
