import Foundation

/// A zero-cost answer (or a forced escalation) for questions matching fixed patterns.
///
/// All given conditions must hold: `any` (at least one keyword), `all` (every keyword),
/// `phrases` (at least one phrase, as consecutive words), `none` (not one of these words or
/// phrases: the near misses a rule must not answer, such as "disable" for an "enable" rule)
/// and `regex`. Keywords and phrases are
/// compared case- and accent-insensitively, as whole words; the regex runs on the folded text
/// (lower case, no accents, punctuation as spaces).
public struct Rule: Hashable, Sendable {
    public var id: String
    public var any: [String]
    public var all: [String]
    public var phrases: [String]
    /// Words or phrases that keep the rule from matching.
    public var none: [String]
    public var regex: String?
    /// The answer given when the rule matches; nil for escalation rules.
    public var answer: String?
    /// Send matching questions straight to a human (e.g. refund requests).
    public var escalate: Bool

    public init(
        id: String, any: [String] = [], all: [String] = [], phrases: [String] = [], none: [String] = [],
        regex: String? = nil, answer: String? = nil, escalate: Bool = false
    ) {
        self.id = id
        self.any = any.map(TextFolding.fold)
        self.all = all.map(TextFolding.fold)
        self.phrases = phrases.map(TextFolding.fold)
        self.none = none.map(TextFolding.fold)
        self.regex = regex
        self.answer = answer
        self.escalate = escalate
    }

    /// Whether the rule matches `folded` (text already passed through ``TextFolding/fold(_:)``).
    func matches(folded: String, compiled: LinearRegex?) -> Bool {
        if !any.isEmpty, !any.contains(where: { TextFolding.containsWords(folded, $0) }) { return false }
        if !all.isEmpty, !all.allSatisfy({ TextFolding.containsWords(folded, $0) }) { return false }
        if !phrases.isEmpty, !phrases.contains(where: { TextFolding.containsWords(folded, $0) }) { return false }
        if none.contains(where: { TextFolding.containsWords(folded, $0) }) { return false }
        if let compiled, !compiled.matches(folded) { return false }
        return true
    }
}
