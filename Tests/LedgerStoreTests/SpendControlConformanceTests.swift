import Foundation
import Metering
import Testing

/// Spend caps and alerts on every backend: an alert fires once a month, stays in alarm until its
/// metric falls below it, never repeats while the metric hovers at the threshold, resolves when
/// the month ends, and two nodes evaluating at once send one event.
@Suite("Spend caps and alerts on every backend")
struct SpendControlConformanceTests {
    static func usage(_ month: String, cost: Int64, billed: Decimal? = nil, resolutions: Int = 0) -> SpendUsage {
        SpendUsage(month: month, modelCostMicros: cost, billedAmount: billed, billableResolutions: resolutions)
    }

    @Test("caps are set, changed and removed per tenant", arguments: Backend.allCases)
    func caps(backend: Backend) async throws {
        try await LedgerHarness.with(backend) { h in
            let store = try #require(h.store as? any SpendControlStore)
            let at = Date(timeIntervalSince1970: 1_800_000_000)
            #expect(try await store.spendCap(tenant: "acme") == nil)
            let cap = SpendCap(capMicros: 200_000_000, mode: .hard, stops: .llmAndRAG, updatedAt: at)
            try await store.setSpendCap(tenant: "acme", cap: cap)
            #expect(try await store.spendCap(tenant: "acme") == cap)
            #expect(try await store.spendCap(tenant: "beta") == nil)
            let soft = SpendCap(capMicros: 50_000_000, mode: .soft, updatedAt: at.addingTimeInterval(1))
            try await store.setSpendCap(tenant: "acme", cap: soft)
            #expect(try await store.spendCap(tenant: "acme") == soft)
            try await store.setSpendCap(tenant: "acme", cap: nil)
            #expect(try await store.spendCap(tenant: "acme") == nil)
        }
    }

    @Test(
        "an alert fires once a month, not again while usage hovers, resolves below, and at the month's end",
        arguments: Backend.allCases)
    func alertLifecycle(backend: Backend) async throws {
        try await LedgerHarness.with(backend) { h in
            let store = try #require(h.store as? any SpendControlStore)
            let hooks = try #require(h.store as? any WebhookStore)
            let now = Date()
            _ = try await hooks.addEndpoint(
                tenant: "acme", url: "https://finance.example.com/in", eventTypes: [.alertTriggered, .alertResolved],
                description: nil, now: now)
            let cap = SpendCap(capMicros: 100_000_000, mode: .soft, updatedAt: now)
            try await store.setSpendCap(tenant: "acme", cap: cap)
            let eighty = try await store.addAlert(
                tenant: "acme", metric: .modelCost, threshold: .percentOfCap(80), name: "80% of the cap", now: now)
            let billed = try await store.addAlert(
                tenant: "acme", metric: .billedAmount,
                threshold: try AlertThreshold.parse("500", metric: .billedAmount),
                name: nil, now: now)
            #expect(Set(try await store.alerts(tenant: "acme").map(\.id)) == [eighty.id, billed.id])
            #expect(try await store.alerts(tenant: "beta").isEmpty)

            func apply(_ usage: SpendUsage) async throws -> [AlertTransition.Kind] {
                let alerts = try await store.alerts(tenant: "acme")
                let observations = alerts.compactMap { AlertObservation.observe($0, usage: usage, cap: cap) }
                return try await store.applyAlertObservations(tenant: "acme", observations, cap: cap, now: now).map(
                    \.kind)
            }
            #expect(try await apply(Self.usage("2026-11", cost: 79_000_000, billed: 10)) == [])
            #expect(try await apply(Self.usage("2026-11", cost: 80_000_000, billed: 10)) == [.triggered])
            // Hovering at and around the threshold: nothing more.
            for cost: Int64 in [80_000_001, 85_000_000, 80_000_000, 90_000_000] {
                #expect(try await apply(Self.usage("2026-11", cost: cost, billed: 10)) == [])
            }
            // A void lowers the cost below the threshold: resolved; crossing again this month does not fire again.
            #expect(try await apply(Self.usage("2026-11", cost: 70_000_000, billed: 10)) == [.resolved])
            #expect(try await apply(Self.usage("2026-11", cost: 95_000_000, billed: 10)) == [])
            // The billed-amount alert fires on its own.
            #expect(try await apply(Self.usage("2026-11", cost: 95_000_000, billed: 500)) == [.triggered])
            // The month ends: what is in alarm resolves; the new month can fire again.
            #expect(try await apply(Self.usage("2026-12", cost: 1_000, billed: 0)) == [.resolved])
            #expect(try await apply(Self.usage("2026-12", cost: 81_000_000, billed: 0)) == [.triggered])

            let states = try await store.alertStates(tenant: "acme")
            #expect(states.map { "\($0.period) \($0.inAlarm)" } == ["2026-11 false", "2026-11 false", "2026-12 true"])
            // Each change sent one event, with the values.
            let claimed = try await hooks.claimDeliveries(owner: "a", limit: 50, lease: 60, now: now)
            #expect(
                claimed.map(\.event.type) == [
                    .alertTriggered, .alertResolved, .alertTriggered, .alertResolved, .alertTriggered,
                ])
            let first = try #require(
                try JSONSerialization.jsonObject(with: claimed[0].event.body) as? [String: Any])
            let data = try #require(first["data"] as? [String: Any])
            #expect(data["threshold"] as? String == "80%" && data["threshold_value"] as? String == "80")
            #expect(data["value"] as? String == "80" && data["period"] as? String == "2026-11")
            #expect((data["spend_cap"] as? [String: Any])?["cap"] as? String == "100")

            // A removed alert never fires again (its open alarm is dropped with it, silently).
            try await store.removeAlert(id: eighty.id, tenant: "acme", now: now)
            await #expect(throws: LedgerError.self) {
                try await store.removeAlert(id: eighty.id, tenant: "acme", now: now)
            }
            await #expect(throws: LedgerError.self) {
                try await store.removeAlert(id: billed.id, tenant: "beta", now: now)
            }
            #expect(try await apply(Self.usage("2027-01", cost: 99_000_000, billed: 0)) == [])
        }
    }

    @Test("two nodes evaluating the same crossing at once send one event", arguments: Backend.allCases)
    func concurrentEvaluation(backend: Backend) async throws {
        try await LedgerHarness.with(backend) { h in
            let store = try #require(h.store as? any SpendControlStore)
            let now = Date()
            let alert = try await store.addAlert(
                tenant: "acme", metric: .billableResolutions, threshold: .absolute(10), name: nil, now: now)
            let usage = Self.usage("2026-11", cost: 0, resolutions: 12)
            let observation = try #require(AlertObservation.observe(alert, usage: usage, cap: nil))
            try await h.withNode { other in
                let otherStore = try #require(other as? any SpendControlStore)
                let fired = try await withThrowingTaskGroup(of: Int.self) { group in
                    for index in 0..<8 {
                        let chosen = index.isMultiple(of: 2) ? store : otherStore
                        group.addTask {
                            try await chosen.applyAlertObservations(tenant: "acme", [observation], cap: nil, now: now)
                                .count
                        }
                    }
                    return try await group.reduce(0, +)
                }
                #expect(fired == 1)
            }
        }
    }

    @Test("thresholds: money, counts and percentages of the cap parse; nonsense is refused")
    func thresholds() throws {
        #expect(try AlertThreshold.parse("150", metric: .modelCost) == .absolute(150_000_000))
        #expect(try AlertThreshold.parse("149.50", metric: .billedAmount) == .absolute(149_500_000))
        #expect(try AlertThreshold.parse("1000", metric: .billableResolutions) == .absolute(1000))
        #expect(try AlertThreshold.parse("80%", metric: .modelCost) == .percentOfCap(80))
        for (text, metric) in [
            ("80%", AlertMetric.billedAmount), ("0", .modelCost), ("-5", .modelCost), ("1.5", .billableResolutions),
            ("abc", .modelCost), ("0%", .modelCost), ("5000%", .modelCost), ("1.0000001", .modelCost),
        ] {
            #expect(throws: LedgerError.self, "\(text) \(metric)") { try AlertThreshold.parse(text, metric: metric) }
        }
        let cap = SpendCap(capMicros: 200_000_000, mode: .hard, updatedAt: Date())
        #expect(AlertThreshold.percentOfCap(80).value(cap: cap) == 160_000_000)
        #expect(AlertThreshold.percentOfCap(80).value(cap: nil) == nil)
        #expect(cap.stops(tier: "llm") && !cap.stops(tier: "rag") && !cap.stops(tier: "rule"))
    }
}
