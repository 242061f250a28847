import Foundation

/// The check a workflow's output must pass to count as a successful run: a JSON Schema (draft
/// 2020-12 vocabulary, the part that validates values) from the workflow's settings.
///
/// Supported: `type` (one or a list), `enum`, `const`, `properties`, `required`,
/// `additionalProperties` (true, false or a schema), `items`, `minItems`, `maxItems`,
/// `uniqueItems`, `minLength`, `maxLength`, `pattern` (cascade's linear-time regular
/// expressions: no pathological pattern can stall a check), `minimum`, `maximum`,
/// `exclusiveMinimum`, `exclusiveMaximum`, `multipleOf`, `minProperties`, `maxProperties`,
/// `allOf`, `anyOf`, `oneOf`, `not`; annotations (`title`, `description`, `$comment`,
/// `default`, `examples`, `$schema`, `$id`) are ignored. Any other keyword (`$ref`,
/// `if`/`then`, `format`…) is refused when the settings load — a check that silently validated
/// less than it says would bill outputs it should not.
public struct OutputSchema: Sendable, Hashable {
    indirect enum Node: Sendable, Hashable {
        case bool(Bool)
        case schema(Keywords)
    }

    struct Keywords: Sendable, Hashable {
        var types: [String]?
        var enumValues: [JSONScalar]?
        var constValue: JSONScalar?
        var properties: [String: Node] = [:]
        var required: [String] = []
        var additionalProperties: Node?
        var items: Node?
        var minItems: Int?
        var maxItems: Int?
        var uniqueItems = false
        var minLength: Int?
        var maxLength: Int?
        var pattern: LinearRegex?
        var minimum: Double?
        var maximum: Double?
        var exclusiveMinimum: Double?
        var exclusiveMaximum: Double?
        var multipleOf: Double?
        var minProperties: Int?
        var maxProperties: Int?
        var allOf: [Node] = []
        var anyOf: [Node] = []
        var oneOf: [Node] = []
        var not: Node?
    }

    let root: Node

    /// A value compared by `enum`/`const`: its canonical JSON text.
    struct JSONScalar: Sendable, Hashable {
        var canonical: String
        init(_ value: Any) { canonical = OutputSchema.canonical(value) }
    }

    static let annotations: Set<String> = ["title", "description", "$comment", "default", "examples", "$schema", "$id"]
    static let maximumDepth = 32

    /// Compiles a schema given as a JSON object (or `true`/`false`).
    public init(_ value: Any) throws {
        root = try Self.node(value, path: "$", depth: 0)
    }

    /// Compiles a schema written as JSON text.
    public init(json text: String) throws {
        guard let data = text.data(using: .utf8),
            let value = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
        else { throw OutputSchemaError(message: "the output schema is not valid JSON") }
        try self.init(value)
    }

    static func node(_ value: Any, path: String, depth: Int) throws -> Node {
        guard depth <= maximumDepth else {
            throw OutputSchemaError(message: "\(path): the schema nests deeper than \(maximumDepth) levels")
        }
        if isBoolean(value), let bool = value as? Bool { return .bool(bool) }
        guard let object = value as? [String: Any] else {
            throw OutputSchemaError(message: "\(path): a schema is an object or true/false")
        }
        var k = Keywords()
        func int(_ key: String) throws -> Int? {
            guard let raw = object[key] else { return nil }
            guard let number = raw as? NSNumber, let int = Int(exactly: number.doubleValue), int >= 0 else {
                throw OutputSchemaError(message: "\(path).\(key) must be a whole number ≥ 0")
            }
            return int
        }
        func number(_ key: String) throws -> Double? {
            guard let raw = object[key] else { return nil }
            guard let number = raw as? NSNumber, !isBoolean(raw), number.doubleValue.isFinite
            else { throw OutputSchemaError(message: "\(path).\(key) must be a number") }
            return number.doubleValue
        }
        func list(_ key: String) throws -> [Node] {
            guard let raw = object[key] else { return [] }
            guard let items = raw as? [Any], !items.isEmpty else {
                throw OutputSchemaError(message: "\(path).\(key) must be a non-empty list of schemas")
            }
            return try items.enumerated().map { try node($1, path: "\(path).\(key)[\($0)]", depth: depth + 1) }
        }
        for key in object.keys {
            switch key {
            case "type":
                let names = (object[key] as? [String]) ?? (object[key] as? String).map { [$0] }
                let known: Set<String> = ["object", "array", "string", "number", "integer", "boolean", "null"]
                guard let names, !names.isEmpty, names.allSatisfy(known.contains) else {
                    throw OutputSchemaError(
                        message:
                            "\(path).type must be one of \(known.sorted().joined(separator: ", ")) or a list of them")
                }
                k.types = names
            case "enum":
                guard let values = object[key] as? [Any], !values.isEmpty else {
                    throw OutputSchemaError(message: "\(path).enum must be a non-empty list")
                }
                k.enumValues = values.map(JSONScalar.init)
            case "const": k.constValue = JSONScalar(object[key] as Any)
            case "properties":
                guard let properties = object[key] as? [String: Any] else {
                    throw OutputSchemaError(message: "\(path).properties must be an object")
                }
                for (name, schema) in properties {
                    k.properties[name] = try node(schema, path: "\(path).properties.\(name)", depth: depth + 1)
                }
            case "required":
                guard let names = object[key] as? [String] else {
                    throw OutputSchemaError(message: "\(path).required must be a list of property names")
                }
                k.required = names
            case "additionalProperties":
                k.additionalProperties = try node(
                    object[key] as Any, path: "\(path).additionalProperties", depth: depth + 1)
            case "items": k.items = try node(object[key] as Any, path: "\(path).items", depth: depth + 1)
            case "minItems": k.minItems = try int(key)
            case "maxItems": k.maxItems = try int(key)
            case "uniqueItems": k.uniqueItems = object[key] as? Bool ?? false
            case "minLength": k.minLength = try int(key)
            case "maxLength": k.maxLength = try int(key)
            case "minProperties": k.minProperties = try int(key)
            case "maxProperties": k.maxProperties = try int(key)
            case "pattern":
                guard let text = object[key] as? String else {
                    throw OutputSchemaError(message: "\(path).pattern must be a regular expression")
                }
                do {
                    k.pattern = try LinearRegex(text)
                } catch {
                    throw OutputSchemaError(message: "\(path).pattern: \(error)")
                }
            case "minimum": k.minimum = try number(key)
            case "maximum": k.maximum = try number(key)
            case "exclusiveMinimum": k.exclusiveMinimum = try number(key)
            case "exclusiveMaximum": k.exclusiveMaximum = try number(key)
            case "multipleOf":
                k.multipleOf = try number(key)
                if let m = k.multipleOf, m <= 0 {
                    throw OutputSchemaError(message: "\(path).multipleOf must be above 0")
                }
            case "allOf": k.allOf = try list(key)
            case "anyOf": k.anyOf = try list(key)
            case "oneOf": k.oneOf = try list(key)
            case "not": k.not = try node(object[key] as Any, path: "\(path).not", depth: depth + 1)
            case _ where annotations.contains(key): continue
            default:
                throw OutputSchemaError(
                    message:
                        "\(path): the keyword `\(key)` is not supported by cascade's output check; rewrite the schema without it"
                )
            }
        }
        return .schema(k)
    }

    /// The first reason `value` fails the schema, with where; nil when it passes.
    public func failure(of value: Any) -> String? {
        Self.failure(root, value, path: "$")
    }

    static func failure(_ node: Node, _ value: Any, path: String) -> String? {
        switch node {
        case .bool(let accepts): return accepts ? nil : "\(path): no value is allowed here"
        case .schema(let k): return failure(k, value, path: path)
        }
    }

    /// JSON `true`/`false` (Foundation gives them as a boolean NSNumber, YAML as `Bool`; a
    /// number 1 is not one).
    static func isBoolean(_ value: Any) -> Bool {
        if type(of: value) == Bool.self { return true }
        guard let number = value as? NSNumber else { return false }
        return String(cString: number.objCType) == "c"
    }

    static func kind(of value: Any) -> String {
        if value is NSNull { return "null" }
        if isBoolean(value) { return "boolean" }
        if let number = value as? NSNumber {
            let d = number.doubleValue
            return d.rounded() == d && abs(d) < 9.007_199_254_740_992e15 ? "integer" : "number"
        }
        if value is String { return "string" }
        if value is [Any] { return "array" }
        if value is [String: Any] { return "object" }
        return "unknown"
    }

    static func failure(_ k: Keywords, _ value: Any, path: String) -> String? {
        let kind = Self.kind(of: value)
        if let types = k.types, !types.contains(where: { $0 == kind || ($0 == "number" && kind == "integer") }) {
            return "\(path): expected \(types.joined(separator: " or ")), got \(kind)"
        }
        if let values = k.enumValues, !values.contains(JSONScalar(value)) {
            return "\(path): not one of the allowed values"
        }
        if let constant = k.constValue, constant != JSONScalar(value) { return "\(path): not the required value" }
        if let text = value as? String, kind == "string" {
            let length = text.unicodeScalars.count
            if let min = k.minLength, length < min { return "\(path): shorter than \(min) characters" }
            if let max = k.maxLength, length > max { return "\(path): longer than \(max) characters" }
            if let pattern = k.pattern, !pattern.matches(text) { return "\(path): does not match the pattern" }
        }
        if kind == "integer" || kind == "number", let number = (value as? NSNumber)?.doubleValue {
            if let min = k.minimum, number < min { return "\(path): below the minimum \(min)" }
            if let max = k.maximum, number > max { return "\(path): above the maximum \(max)" }
            if let min = k.exclusiveMinimum, number <= min { return "\(path): not above \(min)" }
            if let max = k.exclusiveMaximum, number >= max { return "\(path): not below \(max)" }
            if let m = k.multipleOf, (number / m).rounded() != number / m { return "\(path): not a multiple of \(m)" }
        }
        if let items = value as? [Any], kind == "array" {
            if let min = k.minItems, items.count < min { return "\(path): fewer than \(min) items" }
            if let max = k.maxItems, items.count > max { return "\(path): more than \(max) items" }
            if k.uniqueItems, Set(items.map(canonical)).count != items.count { return "\(path): items are not unique" }
            if let schema = k.items {
                for (i, item) in items.enumerated() {
                    if let why = failure(schema, item, path: "\(path)[\(i)]") { return why }
                }
            }
        }
        if let object = value as? [String: Any], kind == "object" {
            if let min = k.minProperties, object.count < min { return "\(path): fewer than \(min) properties" }
            if let max = k.maxProperties, object.count > max { return "\(path): more than \(max) properties" }
            for name in k.required where object[name] == nil { return "\(path): missing required property \(name)" }
            for name in object.keys.sorted() {
                let child = "\(path).\(name)"
                if let schema = k.properties[name] {
                    if let why = failure(schema, object[name] as Any, path: child) { return why }
                } else if let extra = k.additionalProperties {
                    if let why = failure(extra, object[name] as Any, path: child) {
                        return extra == .bool(false) ? "\(child): property not allowed" : why
                    }
                }
            }
        }
        for schema in k.allOf {
            if let why = failure(schema, value, path: path) { return why }
        }
        if !k.anyOf.isEmpty, k.anyOf.allSatisfy({ failure($0, value, path: path) != nil }) {
            return "\(path): matches none of anyOf"
        }
        if !k.oneOf.isEmpty {
            let passing = k.oneOf.filter { failure($0, value, path: path) == nil }.count
            if passing != 1 { return "\(path): matches \(passing) of oneOf, not exactly one" }
        }
        if let not = k.not, failure(not, value, path: path) == nil { return "\(path): matches a schema it must not" }
        return nil
    }

    /// Canonical JSON text (sorted keys) for comparisons.
    static func canonical(_ value: Any) -> String {
        if let data = try? JSONSerialization.data(withJSONObject: [value], options: [.sortedKeys, .fragmentsAllowed]),
            let text = String(data: data, encoding: .utf8)
        {
            return text
        }
        return "\(value)"
    }
}

/// A workflow's output schema that cannot be used, with where.
public struct OutputSchemaError: Error, CustomStringConvertible, Sendable, Hashable {
    public var message: String
    public var description: String { message }
}
