import Foundation
import Testing

@testable import Metering

@Suite("Strict event timestamps")
struct TimestampTests {
    @Test("real times parse, with fractions and offsets")
    func valid() throws {
        let base = try #require(Timestamp.parse("2026-11-26T10:00:00Z"))
        #expect(base.timeIntervalSince1970 == 1_795_687_200)
        #expect(Timestamp.parse("2026-11-26T10:00:00.250Z")?.timeIntervalSince(base) == 0.25)
        #expect(Timestamp.parse("2026-11-26T11:00:00+01:00") == base)
        #expect(Timestamp.parse("2026-11-26T10:00:00.1234567891Z") != nil)
        #expect(Timestamp.parse("2024-02-29T00:00:00Z") != nil)
    }

    @Test(
        "dates that do not exist and malformed text are refused, never rolled over",
        arguments: [
            "2026-02-30T10:00:00Z", "2025-02-29T00:00:00Z", "2026-13-01T00:00:00Z", "2026-11-26T24:00:00Z",
            "2026-11-26T10:60:00Z", "2026-11-26T10:00:00", "2026-11-26", "2026-11-26T10:00:00.Z",
            "2026-11-26T10:00:00+1",
            "2026-11-26T10:00:00Zjunk", "",
        ])
    func invalid(_ text: String) {
        #expect(Timestamp.parse(text) == nil, "\(text)")
    }
}
