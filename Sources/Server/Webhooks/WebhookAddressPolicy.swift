import Foundation

/// Which addresses a webhook may be sent to. A tenant's admin chooses the URL, so without a
/// policy an admin key could make the node call itself or its cloud's metadata service (and read
/// credentials through it): every delivery resolves the host and refuses it when any address is
/// loopback, link-local (169.254.0.0/16, which holds the metadata service, and fe80::/10),
/// unspecified, multicast, reserved, or a known metadata address or name — unless an operator
/// allowed that network (`serve --webhook-allow-network 127.0.0.1/32`, or
/// `CASCADE_WEBHOOK_ALLOW_NETWORKS`). Private networks (10/8, 172.16/12, 192.168/16, fc00::/7)
/// are allowed: a help desk on the company network is the common case. Redirects are never
/// followed, and a plain-http delivery connects to the very address that was checked (no second
/// lookup an attacker's DNS could answer differently).
public struct WebhookAddressPolicy: Sendable, Hashable {
    /// Networks an operator allowed, checked before the refused ones.
    public var allowed: [IPNetwork]

    public init(allowed: [IPNetwork] = []) {
        self.allowed = allowed
    }

    /// The policy from a comma-separated list of networks (`CASCADE_WEBHOOK_ALLOW_NETWORKS`) plus `extra`.
    public init(environment: [String: String] = ProcessInfo.processInfo.environment, extra: [String]) throws {
        var networks: [IPNetwork] = []
        let listed = (environment["CASCADE_WEBHOOK_ALLOW_NETWORKS"] ?? "").split(separator: ",").map {
            $0.trimmingCharacters(in: .whitespaces)
        }
        for text in listed.filter({ !$0.isEmpty }) + extra {
            guard let network = IPNetwork(text) else {
                throw WebhookPolicyError(message: "\(text) is not a network like 127.0.0.1/32 or fd00::/8")
            }
            networks.append(network)
        }
        self.init(allowed: networks)
    }

    static let refused: [(IPNetwork, String)] = [
        ("0.0.0.0/8", "unspecified"), ("127.0.0.0/8", "loopback"), ("169.254.0.0/16", "link-local"),
        ("100.100.100.200/32", "a cloud metadata address"), ("224.0.0.0/4", "multicast"), ("240.0.0.0/4", "reserved"),
        ("::/128", "unspecified"), ("::1/128", "loopback"), ("fe80::/10", "link-local"), ("ff00::/8", "multicast"),
        ("fd00:ec2::254/128", "a cloud metadata address"),
    ].compactMap { text, why in IPNetwork(text).map { ($0, why) } }

    /// Host names of metadata services, refused whatever they resolve to.
    static let metadataNames: Set<String> = [
        "metadata.google.internal", "metadata", "instance-data", "metadata.azure.com",
    ]

    /// Why `address` is refused, or nil when it may be called.
    public func refusal(for address: [UInt8]) -> String? {
        // An IPv4 address written as IPv6 (::ffff:a.b.c.d) is judged as the IPv4 one.
        var address = address
        if address.count == 16, address[0..<10].allSatisfy({ $0 == 0 }), address[10] == 0xFF, address[11] == 0xFF {
            address = Array(address[12..<16])
        }
        if allowed.contains(where: { $0.contains(address) }) { return nil }
        if let (_, why) = Self.refused.first(where: { $0.0.contains(address) }) {
            return "\(IPNetwork.format(address)) is \(why)"
        }
        return nil
    }

    /// Why `host` is refused by name, or nil.
    public func refusal(forHost host: String) -> String? {
        let name = host.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "."))
        return Self.metadataNames.contains(name) ? "\(host) is a cloud metadata service" : nil
    }

    /// Checks a URL before it is stored: its syntax, and a literal address or name the policy
    /// refuses (names that resolve to a refused address are caught at each delivery).
    public func checkConfigured(_ url: String) throws {
        guard let host = URLComponents(string: url)?.host else { return }
        if let why = refusal(forHost: host) ?? IPNetwork.parseAddress(host).flatMap({ refusal(for: $0) }) {
            throw WebhookPolicyError(message: Self.advice(why))
        }
    }

    static func advice(_ why: String) -> String {
        "webhooks are not sent there: \(why); an operator can allow a network with "
            + "`cascade serve --webhook-allow-network CIDR` (or CASCADE_WEBHOOK_ALLOW_NETWORKS)"
    }

    /// Resolves `host` (off the cooperative threads: the lookup blocks) and returns its
    /// addresses, refusing the host when any of them is refused.
    public func resolve(host: String, port: Int) async throws -> [[UInt8]] {
        if let why = refusal(forHost: host) { throw WebhookPolicyError(message: Self.advice(why)) }
        let addresses: [[UInt8]]
        if let literal = IPNetwork.parseAddress(host) {
            addresses = [literal]
        } else {
            addresses = try await Self.lookUp(host: host, port: port)
        }
        guard !addresses.isEmpty else { throw WebhookPolicyError(message: "\(host) has no address") }
        for address in addresses {
            if let why = refusal(for: address) { throw WebhookPolicyError(message: Self.advice(why)) }
        }
        return addresses
    }

    static let lookupQueue = DispatchQueue(label: "cascade.webhooks.dns", attributes: .concurrent)

    static func lookUp(host: String, port: Int) async throws -> [[UInt8]] {
        try await withCheckedThrowingContinuation { continuation in
            lookupQueue.async {
                var hints = addrinfo()
                hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
                var result: UnsafeMutablePointer<addrinfo>?
                let status = getaddrinfo(host, String(port), &hints, &result)
                guard status == 0, let first = result else {
                    let reason = String(cString: gai_strerror(status))
                    continuation.resume(throwing: WebhookPolicyError(message: "cannot resolve \(host): \(reason)"))
                    return
                }
                defer { freeaddrinfo(first) }
                var addresses: [[UInt8]] = []
                var cursor: UnsafeMutablePointer<addrinfo>? = first
                while let info = cursor {
                    if info.pointee.ai_family == AF_INET, let sa = info.pointee.ai_addr {
                        sa.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { v4 in
                            var a = v4.pointee.sin_addr
                            addresses.append(withUnsafeBytes(of: &a) { Array($0) })
                        }
                    } else if info.pointee.ai_family == AF_INET6, let sa = info.pointee.ai_addr {
                        sa.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { v6 in
                            var a = v6.pointee.sin6_addr
                            addresses.append(withUnsafeBytes(of: &a) { Array($0) })
                        }
                    }
                    cursor = info.pointee.ai_next
                }
                continuation.resume(returning: addresses)
            }
        }
    }
}

/// A webhook URL or address the policy refuses, with what to do.
public struct WebhookPolicyError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public var description: String { message }
}
