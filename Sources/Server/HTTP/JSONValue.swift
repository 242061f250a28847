import Foundation
import HTTPTypes
import Hummingbird
import Metering

/// A JSON document built explicitly, so every response follows one convention: snake_case keys,
/// nulls written (never omitted), timestamps as ISO-8601 UTC strings, money as decimal strings.
public indirect enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    /// Keys are written sorted, so output is stable.
    case object([String: JSONValue])

    public static func int(_ value: Int) -> JSONValue { .int(Int64(value)) }
    public static func string(_ value: String?) -> JSONValue { value.map { .string($0) } ?? .null }
    public static func double(_ value: Double?) -> JSONValue {
        guard let value, value.isFinite else { return .null }
        return .double(value)
    }
    /// An ISO-8601 UTC timestamp with milliseconds (`2026-11-26T15:04:05.123Z`).
    public static func timestamp(_ date: Date?) -> JSONValue {
        guard let date else { return .null }
        return .string(JSONConvention.timestamp(date))
    }
    /// An exact decimal amount as a string (`"83.45"`), never a binary float.
    public static func money(_ amount: Decimal?) -> JSONValue {
        guard let amount else { return .null }
        return .string(NSDecimalNumber(decimal: amount).stringValue)
    }

    /// As Foundation's JSON objects (`NSNull`, `Bool`, `NSNumber`, `String`, arrays and
    /// dictionaries), for checks written against them (a workflow's output schema).
    var foundationValue: Any {
        switch self {
        case .null: return NSNull()
        case .bool(let b): return b
        case .int(let i): return NSNumber(value: i)
        case .double(let d): return NSNumber(value: d)
        case .string(let s): return s
        case .array(let items): return items.map(\.foundationValue)
        case .object(let members): return members.mapValues(\.foundationValue)
        }
    }

    /// The compact JSON text.
    public var serialized: String {
        var out = ""
        write(to: &out)
        return out
    }

    private func write(to out: inout String) {
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .double(let d): out += d.isFinite ? Self.formatDouble(d) : "null"
        case .string(let s): Self.writeString(s, to: &out)
        case .array(let items):
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += "," }
                item.write(to: &out)
            }
            out += "]"
        case .object(let members):
            out += "{"
            for (i, key) in members.keys.sorted().enumerated() {
                if i > 0 { out += "," }
                Self.writeString(key, to: &out)
                out += ":"
                members[key]?.write(to: &out)
            }
            out += "}"
        }
    }

    private static func formatDouble(_ d: Double) -> String {
        if d == d.rounded(), abs(d) < 1e15 { return String(format: "%.1f", d) }
        return "\(d)"
    }

    private static func writeString(_ s: String, to out: inout String) {
        out += "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{2028}": out += "\\u2028"
            case "\u{2029}": out += "\\u2029"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    out += String(format: "\\u%04x", scalar.value)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }

    /// Converts an `Encodable` value (encoded with snake_case keys already) to a JSON value.
    static func encoding(_ value: some Encodable) throws -> JSONValue {
        let data = try JSONConvention.encoder().encode(value)
        return try parse(data)
    }

    /// Converts a Foundation JSON object (dictionaries, arrays, strings, numbers, `NSNull`).
    static func fromJSONObject(_ object: Any) throws -> JSONValue {
        try parse(try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]))
    }

    /// Parses JSON text with ``JSONParser`` (linear time, nesting bounded).
    static func parse(_ data: Data) throws -> JSONValue {
        try JSONParser.parse(Array(data))
    }

    public subscript(key: String) -> JSONValue? {
        if case .object(let members) = self { return members[key] }
        return nil
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .int(Int64(value)) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, b in b }))
    }
    public init(nilLiteral: ()) { self = .null }
}

/// A JSON response with a status and extra headers.
struct JSONResponse: ResponseGenerator {
    var status: HTTPResponse.Status = .ok
    var body: JSONValue
    var headers: HTTPFields = [:]

    init(_ body: JSONValue, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) {
        self.body = body
        self.status = status
        self.headers = headers
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        var fields = headers
        fields[.contentType] = "application/json"
        return Response(
            status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(string: body.serialized + "\n")))
    }
}
