import Crypto
import Foundation

/// Dashboard sessions as signed cookies: `<key id>.<expiry>.<nonce>.<HMAC>`, so any node with
/// the data folder's secret can check one. The key behind a session is looked up on every
/// request, so revoking the key ends its sessions at once; signing out records the session's
/// nonce in the control store (shared by every node) until it would have expired, so a copied
/// cookie stops working at sign-out too.
///
/// CSRF: every form carries a token derived from the session (HMAC of the cookie), checked on
/// every POST; the login form, before any session exists, carries one derived from a
/// short-lived pre-login cookie. Both cookies are `HttpOnly` and `SameSite=Strict` (and `Secure`
/// behind TLS).
struct DashboardSessions: Sendable {
    static let cookieName = "cascade_session"
    static let loginCookieName = "cascade_login"
    /// How long a login lasts.
    static let lifetime: TimeInterval = 8 * 3600

    private let key: SymmetricKey

    init(secret: Data) { key = SymmetricKey(data: secret) }

    static func randomSecret() -> Data {
        var generator = SystemRandomNumberGenerator()
        return Data((0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }

    /// The secret at `path`, created (32 random bytes, mode 0600) when missing.
    static func loadSecret(path: String) throws -> Data {
        if let existing = FileManager.default.contents(atPath: path), existing.count >= 32 { return existing }
        let secret = randomSecret()
        let temporary = path + ".\(UUID().uuidString.prefix(8)).tmp"
        guard
            FileManager.default.createFile(atPath: temporary, contents: secret, attributes: [.posixPermissions: 0o600])
        else { throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path]) }
        // Another process may have created it meanwhile: keep the first one.
        if link(temporary, path) != 0 {
            unlink(temporary)
            guard let existing = FileManager.default.contents(atPath: path), existing.count >= 32 else {
                throw CocoaError(.fileReadCorruptFile, userInfo: [NSFilePathErrorKey: path])
            }
            return existing
        }
        unlink(temporary)
        return secret
    }

    private func mac(_ text: String) -> String {
        let code = HMAC<SHA256>.authenticationCode(for: Data(text.utf8), using: key)
        return Data(code).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    static func nonce() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<16).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
    }

    /// A new session cookie value for `keyID`.
    func issue(keyID: String, now: Date = Date()) -> String {
        let payload = "\(keyID).\(Int(now.timeIntervalSince1970 + Self.lifetime)).\(Self.nonce())"
        return payload + "." + mac("session|" + payload)
    }

    /// The key id of a valid, unexpired session cookie (signed out or not: see ``session(_:now:)``).
    func keyID(ofSession value: String, now: Date = Date()) -> String? {
        session(value, now: now)?.keyID
    }

    /// A valid, unexpired session cookie's key id, its id (the nonce, which sign-out revokes) and
    /// its expiry.
    func session(_ value: String, now: Date = Date()) -> (keyID: String, sessionID: String, expiresAt: Date)? {
        let parts = value.split(separator: ".", omittingEmptySubsequences: false)
        guard value.utf8.count < 300, parts.count == 4, let expiry = Double(parts[1]) else { return nil }
        let payload = parts[0...2].joined(separator: ".")
        guard APIKeyFormat.constantTimeEqual(mac("session|" + payload), String(parts[3])),
            expiry > now.timeIntervalSince1970
        else { return nil }
        return (String(parts[0]), String(parts[2]), Date(timeIntervalSince1970: expiry))
    }

    /// The CSRF token of the forms of a session (or of the login form, from its pre-login nonce).
    func csrfToken(for cookieValue: String) -> String { mac("csrf|" + cookieValue) }

    func checkCSRF(_ token: String?, cookieValue: String) -> Bool {
        guard let token else { return false }
        return APIKeyFormat.constantTimeEqual(csrfToken(for: cookieValue), token)
    }

    /// A `Set-Cookie` value with the dashboard's flags.
    static func cookie(_ name: String, _ value: String, maxAge: Int, secure: Bool) -> String {
        "\(name)=\(value); Path=/dashboard; Max-Age=\(maxAge); HttpOnly; SameSite=Strict" + (secure ? "; Secure" : "")
    }
}
