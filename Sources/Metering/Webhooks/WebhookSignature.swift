import Crypto
import Foundation

/// Standard Webhooks signatures: `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`, one per
/// signing secret, separated by spaces (receivers accept the message when any one matches).
public enum WebhookSignature {
    /// The `webhook-signature` header for `body` sent as message `id` at `timestamp` (whole
    /// seconds since 1970, the `webhook-timestamp` header).
    public static func header(id: String, timestamp: Int64, body: Data, secrets: [WebhookSecret]) -> String {
        secrets.compactMap { secret in
            secret.keyBytes.map { key in "v1," + sign(id: id, timestamp: timestamp, body: body, key: key) }
        }.joined(separator: " ")
    }

    /// The base64 HMAC-SHA256 of `{id}.{timestamp}.{body}` under `key`.
    public static func sign(id: String, timestamp: Int64, body: Data, key: Data) -> String {
        var message = Data("\(id).\(timestamp).".utf8)
        message.append(body)
        let mac = HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: key))
        return Data(mac).base64EncodedString()
    }

    /// Whether `header` carries a valid signature of the message under `secret` (what a receiver
    /// checks; cascade's own tests and `webhooks` tooling use it).
    public static func verify(header: String, id: String, timestamp: Int64, body: Data, secret: WebhookSecret) -> Bool {
        guard let key = secret.keyBytes else { return false }
        let expected = Data(sign(id: id, timestamp: timestamp, body: body, key: key).utf8)
        for part in header.split(separator: " ") where part.hasPrefix("v1,") {
            let given = Data(part.dropFirst(3).utf8)
            // Constant time in the signature's length.
            if given.count == expected.count, zip(given, expected).reduce(0, { $0 | ($1.0 ^ $1.1) }) == 0 {
                return true
            }
        }
        return false
    }
}
