import Foundation
import Yams

/// The rules of one tenant, loaded from YAML:
///
/// ```yaml
/// rules:
///   - id: wal
///     match: { all: [wal], any: [enable, turn on, activate], none: [disable, turn off] }
///     answer: "Run PRAGMA journal_mode=WAL; once: the setting is persistent."
///   - id: human
///     match: { phrases: [talk to a human, real person] }
///     escalate: true
/// ```
///
/// Invalid files fail at load with the line and the reason, so a typo never silently disables
/// a rule.
public struct RuleSet: Sendable {
    public let rules: [Rule]
    private let compiled: [String: LinearRegex]

    public init(rules: [Rule]) throws(RuleError) {
        var compiled: [String: LinearRegex] = [:]
        for rule in rules {
            if let pattern = rule.regex {
                do {
                    compiled[rule.id] = try LinearRegex(pattern)
                } catch {
                    throw RuleError(line: nil, message: "rule \(rule.id): invalid regex \(pattern): \(error)")
                }
            }
        }
        self.rules = rules
        self.compiled = compiled
    }

    /// No rules at all (every question goes on to retrieval).
    public static let empty = RuleSet()

    private init() {
        rules = []
        compiled = [:]
    }

    /// The first rule matching `question`, in file order.
    public func match(_ question: String) -> Rule? {
        let folded = TextFolding.fold(question)
        return rules.first { $0.matches(folded: folded, compiled: compiled[$0.id]) }
    }

    /// Loads rules from a YAML file.
    public static func load(path: String) throws(RuleError) -> RuleSet {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw RuleError(line: nil, message: "cannot read rules file \(path)")
        }
        return try parse(text, source: path)
    }

    /// Parses rules from YAML text.
    public static func parse(_ text: String, source: String = "rules") throws(RuleError) -> RuleSet {
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw RuleError(
                line: Self.line(of: error), message: "\(source): not valid YAML (\(Self.reason(of: error)))")
        } catch {
            throw RuleError(line: nil, message: "\(source): not valid YAML (\(error))")
        }
        guard let root else { return try RuleSet(rules: []) }
        guard let list = root.mapping?["rules"] else {
            throw RuleError(line: line(root), message: "\(source): expected a top-level `rules:` list")
        }
        guard let items = list.sequence else {
            throw RuleError(line: line(list), message: "\(source): `rules` must be a list")
        }
        var rules: [Rule] = []
        var ids = Set<String>()
        for item in items {
            guard let map = item.mapping else {
                throw RuleError(
                    line: line(item), message: "\(source): each rule must be a mapping with id, match and answer")
            }
            let known: Set<String> = ["id", "match", "answer", "escalate"]
            for key in map.keys {
                guard let name = key.string, known.contains(name) else {
                    throw RuleError(line: line(key), message: "\(source): unknown field `\(key.string ?? "?")`")
                }
            }
            guard let id = map["id"]?.string, !id.isEmpty else {
                throw RuleError(line: line(item), message: "\(source): rule without an `id`")
            }
            guard ids.insert(id).inserted else {
                throw RuleError(line: line(item), message: "\(source): duplicate rule id `\(id)`")
            }
            guard let match = map["match"]?.mapping else {
                throw RuleError(line: line(item), message: "\(source): rule \(id) needs a `match` mapping")
            }
            func strings(_ key: String) throws(RuleError) -> [String] {
                guard let node = match[key] else { return [] }
                if let single = node.string { return [single] }
                guard let list = node.sequence else {
                    throw RuleError(
                        line: line(node), message: "\(source): rule \(id): `\(key)` must be a list of strings")
                }
                return list.compactMap(\.string)
            }
            for key in match.keys where !["any", "all", "phrases", "none", "regex"].contains(key.string ?? "") {
                throw RuleError(
                    line: line(key),
                    message:
                        "\(source): rule \(id): unknown match condition `\(key.string ?? "?")` (use any, all, phrases, none, regex)"
                )
            }
            let escalate = map["escalate"]?.bool ?? false
            let answer = map["answer"]?.string
            if answer == nil && !escalate {
                throw RuleError(
                    line: line(item), message: "\(source): rule \(id) needs an `answer` or `escalate: true`")
            }
            let rule = Rule(
                id: id, any: try strings("any"), all: try strings("all"), phrases: try strings("phrases"),
                none: try strings("none"), regex: match["regex"]?.string, answer: answer, escalate: escalate)
            if rule.any.isEmpty && rule.all.isEmpty && rule.phrases.isEmpty && rule.regex == nil {
                throw RuleError(line: line(item), message: "\(source): rule \(id) has an empty `match`")
            }
            if let pattern = rule.regex {
                do {
                    _ = try LinearRegex(pattern)
                } catch {
                    throw RuleError(
                        line: line(match["regex"]), message: "\(source): rule \(id): invalid regex \(pattern): \(error)"
                    )
                }
            }
            rules.append(rule)
        }
        return try RuleSet(rules: rules)
    }

    static func line(_ node: Node?) -> Int? { node?.mark.map { $0.line } }

    static func line(of error: YamlError) -> Int? {
        switch error {
        case .scanner(_, _, let mark, _), .parser(_, _, let mark, _): return mark.line
        default: return nil
        }
    }

    static func reason(of error: YamlError) -> String {
        switch error {
        case .scanner(_, let problem, _, _), .parser(_, let problem, _, _): return problem
        default: return "\(error)"
        }
    }
}

/// An invalid rules file: where and why.
public struct RuleError: Error, Equatable, Sendable, CustomStringConvertible {
    public var line: Int?
    public var message: String

    public var description: String {
        if let line { return "line \(line): \(message)" }
        return message
    }
}
