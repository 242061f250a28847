import Foundation
import Hummingbird

extension APIRequestContext {
    /// The path segment `name` as the id it stands for: percent-decoded (an escalation whose id
    /// holds a space or "é" arrives as `e%201` or `%C3%A9`, and could not be resolved before),
    /// and checked like ids in JSON bodies.
    /// - Throws: 400 for a malformed escape (`%ZZ`, or bytes that are not UTF-8); 404 for an id no
    ///   request could have created (control characters, over 200 bytes).
    func pathID(_ name: String) throws -> String {
        let raw = try parameters.require(name)
        guard let decoded = raw.removingPercentEncoding else {
            throw Problem.badRequest("the \(name) in the path is not valid percent-encoded UTF-8", code: "invalid-path")
        }
        // An id no request could have created (control characters, over 200 bytes) names nothing.
        guard (try? Identifier.validate(decoded, field: name)) != nil else {
            throw Problem.notFound("no \(name) \(decoded.debugDescription.prefix(60)) for this tenant")
        }
        return decoded
    }
}
