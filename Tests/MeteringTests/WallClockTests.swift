import Foundation
import Metering
import Testing

/// The clock code takes instead of `Date()`: fixed by tests and by `CASCADE_NOW`, never silently
/// the machine's when asked for another.
@Suite struct WallClockTests {
    @Test func aFixedClockAlwaysReadsItsInstant() {
        let instant = Date(timeIntervalSince1970: 1_835_481_540)  // 2028-02-29T23:59:00Z
        let clock = WallClock.fixed(instant)
        #expect(clock.now() == instant && clock.now() == instant)
    }

    @Test func theEnvironmentFixesTheClockOrIsAnError() throws {
        #expect(
            try WallClock.fromEnvironment(["CASCADE_NOW": "2028-02-29T23:59:00Z"]).now()
                == Date(timeIntervalSince1970: 1_835_481_540))
        #expect(
            try WallClock.fromEnvironment(["CASCADE_NOW": "2027-01-01T01:00:30+01:00"]).now()
                == Date(timeIntervalSince1970: 1_798_761_630))
        let unset = try WallClock.fromEnvironment([:]).now()
        #expect(abs(unset.timeIntervalSinceNow) < 3600, "unset: the machine's clock")
        for bad in ["", "tomorrow", "2027-02-29T00:00:00Z", "2028-02-29"] {
            #expect(throws: WallClockError(value: bad)) { try WallClock.fromEnvironment(["CASCADE_NOW": bad]) }
        }
    }

    @Test func theMonthOfAnInstantIsTheTenantsMonth() {
        // 23:30 UTC on the last day of January is already February in Berlin.
        let instant = Date(timeIntervalSince1970: 1_801_431_000)  // 2027-01-31T21:30:00Z
        let late = instant.addingTimeInterval(2 * 3600)
        #expect(BillingMonth.containing(instant, in: TimeZone(identifier: "Europe/Berlin")!).description == "2027-01")
        #expect(BillingMonth.containing(late, in: TimeZone(identifier: "Europe/Berlin")!).description == "2027-02")
        #expect(BillingMonth.containing(late, in: TimeZone(identifier: "UTC")!).description == "2027-01")
    }
}
