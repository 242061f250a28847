import Foundation
import Hummingbird

/// Reading and validating request bodies: size first, then JSON shape, then each field, each
/// failure a problem naming the field.
enum BodyReader {
    /// The body's bytes, refused with 413 past `limit`.
    static func bytes(_ request: Request, limit: Int) async throws -> ByteBuffer {
        var request = request
        return try await buffer(&request, limit: limit)
    }

    /// Reads the whole body into memory and leaves it in `request` (later readers get it at once),
    /// refused with 413 past `limit`. A body shorter than its `Content-Length` (the connection
    /// ended early) is refused too, never taken for the whole.
    @discardableResult
    static func buffer(_ request: inout Request, limit: Int) async throws -> ByteBuffer {
        let declared = request.headers[.contentLength].flatMap(Int.init)
        if let declared, declared > limit {
            throw Problem.tooLarge("the body has \(declared) bytes; the limit is \(limit)")
        }
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: limit)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw Problem.tooLarge("the body is over the \(limit)-byte limit")
        }
        if let declared, buffer.readableBytes != declared {
            throw Problem.badRequest(
                "the body has \(buffer.readableBytes) bytes but Content-Length says \(declared)",
                code: "incomplete-body")
        }
        return buffer
    }

    /// Says where the JSON went wrong: line, column (in characters) and byte offset, so a client
    /// can find the mistake in a large body.
    static func invalidJSON(_ failure: JSONParser.Failure, in data: Data) -> Problem {
        let before = data.prefix(failure.offset)
        let line = before.reduce(1) { $0 + ($1 == 0x0A ? 1 : 0) }
        let lineStart = before.lastIndex(of: 0x0A).map { $0 + 1 } ?? before.startIndex
        let column = String(decoding: before[lineStart...], as: UTF8.self).count + 1
        var problem = Problem.badRequest(
            "the body is not valid JSON: \(failure.reason) at line \(line), column \(column) (byte \(failure.offset))",
            code: "invalid-json")
        problem.extra = [
            "line": .int(Int64(line)), "column": .int(Int64(column)), "offset": .int(Int64(failure.offset)),
        ]
        return problem
    }

    /// A JSON object body; `allowed` lists the accepted keys (a misspelt field is an error, not ignored).
    /// - Parameter optional: an empty body stands for `{}` (routes whose fields are all optional).
    static func object(_ request: Request, limit: Int, allowed: Set<String>, optional: Bool = false) async throws
        -> JSONObject
    {
        let buffer = try await bytes(request, limit: limit)
        if optional, buffer.readableBytes == 0 { return JSONObject(members: [:]) }
        guard buffer.readableBytes > 0 else { throw Problem.badRequest("the body is empty; send a JSON object") }
        let data = Data(buffer.readableBytesView)
        let value: JSONValue
        do {
            value = try JSONValue.parse(data)
        } catch let failure as JSONParser.Failure {
            throw Self.invalidJSON(failure, in: data)
        }
        guard case .object(let members) = value else {
            throw Problem.badRequest("the body must be a JSON object", code: "invalid-json")
        }
        let unknown = Set(members.keys).subtracting(allowed)
        if !unknown.isEmpty {
            throw Problem.unprocessable(
                "unknown field(s) \(unknown.sorted().joined(separator: ", ")); accepted: \(allowed.sorted().joined(separator: ", "))",
                code: "unknown-field")
        }
        return JSONObject(members: members)
    }
}

/// Typed access to a JSON object's fields, with the field named in every error.
struct JSONObject {
    var members: [String: JSONValue]

    func string(_ key: String, required: Bool = false) throws -> String? {
        switch members[key] {
        case .none, .some(.null):
            if required { throw Problem.unprocessable("\"\(key)\" is required") }
            return nil
        case .some(.string(let s)): return s
        default: throw Problem.unprocessable("\"\(key)\" must be a string")
        }
    }

    func bool(_ key: String) throws -> Bool? {
        switch members[key] {
        case .none, .some(.null): return nil
        case .some(.bool(let b)): return b
        default: throw Problem.unprocessable("\"\(key)\" must be true or false")
        }
    }

    func int(_ key: String) throws -> Int? {
        switch members[key] {
        case .none, .some(.null): return nil
        case .some(.int(let i)): return Int(exactly: i)
        default: throw Problem.unprocessable("\"\(key)\" must be an integer")
        }
    }

    func floats(_ key: String) throws -> [Float]? {
        switch members[key] {
        case .none, .some(.null): return nil
        case .some(.array(let items)):
            return try items.map { item in
                switch item {
                case .int(let i): return Float(i)
                case .double(let d): return Float(d)
                default: throw Problem.unprocessable("\"\(key)\" must be an array of numbers")
                }
            }
        default: throw Problem.unprocessable("\"\(key)\" must be an array of numbers")
        }
    }

    func object(_ key: String) throws -> JSONObject? {
        switch members[key] {
        case .none, .some(.null): return nil
        case .some(.object(let o)): return JSONObject(members: o)
        default: throw Problem.unprocessable("\"\(key)\" must be an object")
        }
    }

    func strings(_ key: String) throws -> [String]? {
        switch members[key] {
        case .none, .some(.null): return nil
        case .some(.array(let items)):
            return try items.map {
                guard case .string(let s) = $0 else { throw Problem.unprocessable("\"\(key)\" must be strings") }
                return s
            }
        default: throw Problem.unprocessable("\"\(key)\" must be an array of strings")
        }
    }
}

/// Identifiers clients choose (query ids, conversation and user ids): printable, bounded.
enum Identifier {
    static func validate(_ value: String?, field: String) throws -> String? {
        guard let value else { return nil }
        guard !value.isEmpty, value.utf8.count <= 200 else {
            throw Problem.unprocessable("\"\(field)\" must be 1 to 200 bytes")
        }
        guard !value.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw Problem.unprocessable("\"\(field)\" must not contain control characters (such as NUL or newlines)")
        }
        return value
    }
}
