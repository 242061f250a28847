import Foundation

/// A workflow's settings in the tenant's file:
///
/// ```yaml
/// workflows:
///   refund-approval:
///     description: Approves or declines a refund request
///     output_schema:                       # the check a successful run's output must pass
///       type: object
///       required: [decision, amount]
///       properties:
///         decision: { enum: [approve, decline] }
///         amount: { type: number, minimum: 0 }
/// ```
///
/// `output_schema` may also be JSON text. A workflow without settings (or without a schema) has
/// no declared check: its runs reported `succeeded` are billable as they are.
public struct WorkflowSettings: Hashable, Sendable, Codable {
    public var description: String?
    /// The schema as JSON text (compiled by ``check``).
    public var outputSchema: String?

    enum CodingKeys: String, CodingKey {
        case description
        case outputSchema = "output_schema"
    }

    public init(description: String? = nil, outputSchema: String? = nil) {
        self.description = description
        self.outputSchema = outputSchema
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        description = try c.decodeIfPresent(String.self, forKey: .description)
        if let text = try? c.decodeIfPresent(String.self, forKey: .outputSchema) {
            outputSchema = text
        } else if let value = try c.decodeIfPresent(PlainJSON.self, forKey: .outputSchema) {
            outputSchema = value.text
        }
    }

    /// The compiled check, nil when none is declared.
    public func check() throws -> OutputSchema? {
        try outputSchema.map { try OutputSchema(json: $0) }
    }

    static let keys: Set<String> = ["description", "output_schema"]
}

/// Any JSON value read from YAML or JSON by `Codable`, written back as JSON text.
struct PlainJSON: Decodable {
    let value: Any

    init(from decoder: any Decoder) throws {
        if var list = try? decoder.unkeyedContainer() {
            var items: [Any] = []
            while !list.isAtEnd { items.append(try list.decode(PlainJSON.self).value) }
            value = items
            return
        }
        if let object = try? decoder.container(keyedBy: AnyKey.self) {
            var members: [String: Any] = [:]
            for key in object.allKeys {
                members[key.stringValue] = try object.decode(PlainJSON.self, forKey: key).value
            }
            value = members
            return
        }
        let single = try decoder.singleValueContainer()
        if single.decodeNil() {
            value = NSNull()
        } else if let bool = try? single.decode(Bool.self) {
            value = bool
        } else if let int = try? single.decode(Int.self) {
            value = int
        } else if let double = try? single.decode(Double.self) {
            value = double
        } else {
            value = try single.decode(String.self)
        }
    }

    var text: String {
        let data =
            (try? JSONSerialization.data(withJSONObject: [value], options: [.sortedKeys, .fragmentsAllowed])) ?? Data()
        // Unwrap the one-element array used to allow a scalar at the top.
        let wrapped = String(decoding: data, as: UTF8.self)
        return String(wrapped.dropFirst().dropLast())
    }

    struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }
}
