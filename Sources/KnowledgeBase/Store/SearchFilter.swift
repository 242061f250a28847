/// Narrows a search to part of the knowledge base. All given conditions must hold.
public struct SearchFilter: Hashable, Sendable, Codable {
    /// Only documents whose source starts with this (e.g. `sqlite-docs/c3ref/`).
    public var sourcePrefix: String?
    /// Only documents of these collections (ingest roots).
    public var collections: Set<String>?
    /// Only documents whose format is one of these (`html`, `markdown`, `beir`…).
    public var formats: Set<String>?

    public init(sourcePrefix: String? = nil, collections: Set<String>? = nil, formats: Set<String>? = nil) {
        self.sourcePrefix = sourcePrefix
        self.collections = collections
        self.formats = formats
    }

    public var isEmpty: Bool { sourcePrefix == nil && collections == nil && formats == nil }

    /// A SQL condition over `document d`, with its arguments.
    func sqlCondition() -> (sql: String, arguments: [String]) {
        var clauses: [String] = []
        var arguments: [String] = []
        if let sourcePrefix {
            // instr() instead of LIKE: no escaping of % and _ needed.
            clauses.append("substr(d.source, 1, length(?)) = ?")
            arguments += [sourcePrefix, sourcePrefix]
        }
        if let collections {
            clauses.append(
                "d.collection IN (\(Array(repeating: "?", count: collections.count).joined(separator: ",")))")
            arguments += collections.sorted()
        }
        if let formats {
            clauses.append("d.format IN (\(Array(repeating: "?", count: formats.count).joined(separator: ",")))")
            arguments += formats.sorted()
        }
        if collections?.isEmpty == true || formats?.isEmpty == true { return ("0", []) }
        return (clauses.isEmpty ? "1" : clauses.joined(separator: " AND "), arguments)
    }
}
