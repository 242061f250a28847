import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A plain TCP connection to the live server, for what an HTTP client library will not send:
/// half a request, a body a byte at a time, a NUL in a header.
final class RawConnection: @unchecked Sendable {
    let fd: Int32

    /// Connects to `base` (`http://127.0.0.1:PORT`).
    init(_ base: String) throws {
        guard let port = UInt16(base.split(separator: ":").last ?? "") else { throw FixtureError("no port in \(base)") }
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw FixtureError("socket() failed") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else {
            close(fd)
            throw FixtureError("connect to \(base) failed")
        }
        // A read waits at most this long: it only ends a test whose server never answers.
        var limit = timeval(tv_sec: 120, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd) }

    /// Sends `bytes`; false once the server has closed the connection.
    @discardableResult
    func send(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } == bytes.count
    }

    @discardableResult
    func send(_ text: String) -> Bool { send(Array(text.utf8)) }

    /// Everything the server sends until it closes the connection; `closed` is false when the
    /// 120 s read limit passed first.
    ///
    /// The blocking reads run on a thread of their own: on a 2-core machine Swift's cooperative
    /// pool has two threads, and two tests blocked in `recv` there would starve the very server
    /// they wait for (both then failed after the read limit, with nothing received).
    func readToEnd() async -> (text: String, closed: Bool) {
        await offPool { self.blockingReadToEnd() }
    }

    /// One response of a keep-alive connection (headers, then `Content-Length` bytes of body).
    func readResponse() async -> String {
        await offPool { self.blockingReadResponse() }
    }

    private func offPool<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            let thread = Thread { continuation.resume(returning: work()) }
            thread.start()
        }
    }

    private func blockingReadToEnd() -> (text: String, closed: Bool) {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        var last = 0
        repeat {
            last = recv(fd, &buffer, buffer.count, 0)
            if last > 0 { received += buffer[0..<last] }
        } while last > 0
        return (String(decoding: received, as: UTF8.self), last == 0)
    }

    private func blockingReadResponse() -> String {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let text = String(decoding: received, as: UTF8.self)
            if let end = text.range(of: "\r\n\r\n") {
                let head = text[..<end.lowerBound].lowercased()
                let length =
                    head.split(separator: "\r\n").first { $0.hasPrefix("content-length:") }
                    .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) } ?? 0
                if text.utf8.distance(from: end.upperBound.samePosition(in: text.utf8)!, to: text.utf8.endIndex)
                    >= length
                {
                    return text
                }
            }
            let count = recv(fd, &buffer, buffer.count, 0)
            if count <= 0 { return text }
            received += buffer[0..<count]
        }
    }
}
