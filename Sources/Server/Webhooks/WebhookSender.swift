import AsyncHTTPClient
import Foundation
import Metering
import NIOCore
import NIOHTTP1

/// Sends one delivery: `POST` of the event's exact body with the Standard Webhooks headers,
/// after the address policy allowed every address of the host. Any 2xx is a delivery; a
/// redirect is not followed (it is a failure: the receiver must give its final URL); the answer's
/// body is read up to 64 KB and dropped.
public struct WebhookSender: Sendable {
    public let client: HTTPClient
    public var policy: WebhookAddressPolicy
    public var timeoutSeconds: Double
    public var userAgent: String

    /// A client that never follows redirects (a redirect could lead to an address the policy refuses).
    public static func makeClient() -> HTTPClient {
        HTTPClient(
            eventLoopGroupProvider: .singleton,
            configuration: HTTPClient.Configuration(redirectConfiguration: .disallow))
    }

    public init(
        client: HTTPClient, policy: WebhookAddressPolicy, timeoutSeconds: Double = 15,
        userAgent: String = "cascade-webhooks/\(ServiceVersion.number)"
    ) {
        self.client = client
        self.policy = policy
        self.timeoutSeconds = timeoutSeconds
        self.userAgent = userAgent
    }

    /// Sends `delivery` signed at `now` (the `webhook-timestamp`, whole seconds).
    public func send(_ delivery: ClaimedDelivery, now: Date, trigger: String = "scheduled") async
        -> WebhookAttemptResult
    {
        let started = ContinuousClock.now
        func elapsed() -> Int {
            let d = ContinuousClock.now - started
            return Int(d.components.seconds * 1000 + d.components.attoseconds / 1_000_000_000_000_000)
        }
        guard var components = URLComponents(string: delivery.endpoint.url), let host = components.host,
            let scheme = components.scheme?.lowercased()
        else {
            return WebhookAttemptResult(
                status: nil, error: "the endpoint's URL is not valid", durationMs: 0, trigger: trigger)
        }
        let port = components.port ?? (scheme == "https" ? 443 : 80)
        let addresses: [[UInt8]]
        do {
            addresses = try await policy.resolve(host: host, port: port)
        } catch {
            return WebhookAttemptResult(status: nil, error: "\(error)", durationMs: elapsed(), trigger: trigger)
        }
        let timestamp = Int64(now.timeIntervalSince1970.rounded(.down))
        var request = HTTPClientRequest(url: delivery.endpoint.url)
        if scheme == "http", let address = addresses.first {
            // Connect to the address that was checked, not to a second lookup's answer.
            let literal = IPNetwork.format(address)
            components.percentEncodedHost = address.count == 16 ? "[\(literal)]" : literal
            if let url = components.string { request = HTTPClientRequest(url: url) }
            request.headers.add(name: "Host", value: components.port.map { "\(host):\($0)" } ?? host)
        }
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: userAgent)
        request.headers.add(name: "webhook-id", value: delivery.event.id)
        request.headers.add(name: "webhook-timestamp", value: String(timestamp))
        request.headers.add(
            name: "webhook-signature",
            value: WebhookSignature.header(
                id: delivery.event.id, timestamp: timestamp, body: delivery.event.body,
                secrets: delivery.endpoint.signingSecrets(at: now)))
        request.body = .bytes(ByteBuffer(bytes: delivery.event.body))
        do {
            let response = try await client.execute(request, timeout: .milliseconds(Int64(timeoutSeconds * 1000)))
            _ = try? await response.body.collect(upTo: 64 << 10)
            let status = Int(response.status.code)
            let retryAfter = response.headers.first(name: "Retry-After").flatMap { Self.retryAfter($0, now: now) }
            var error: String?
            if !(200..<300).contains(status) {
                error =
                    (300..<400).contains(status)
                    ? "the receiver answered \(status) (a redirect, not followed: configure the final URL)"
                    : "the receiver answered \(status)"
            }
            return WebhookAttemptResult(
                status: status, error: error, retryAfter: retryAfter, durationMs: elapsed(), trigger: trigger)
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout {
            return WebhookAttemptResult(
                status: nil, error: "no answer within \(Int(timeoutSeconds)) s", durationMs: elapsed(), trigger: trigger
            )
        } catch {
            return WebhookAttemptResult(
                status: nil, error: "connection failed: \(error)", durationMs: elapsed(), trigger: trigger)
        }
    }

    /// `Retry-After` in seconds or as an HTTP date.
    public static func retryAfter(_ value: String, now: Date) -> TimeInterval? {
        let text = value.trimmingCharacters(in: .whitespaces)
        if let seconds = Double(text), seconds.isFinite, seconds >= 0 { return seconds }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        return formatter.date(from: text).map { max(0, $0.timeIntervalSince(now)) }
    }
}
