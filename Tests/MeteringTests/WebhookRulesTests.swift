import Foundation
import Metering
import Testing

/// The webhook rules that do not depend on a store: signatures as the Standard Webhooks spec
/// writes them, the retry schedule, event type lists and URL syntax.
@Suite("Webhook rules")
struct WebhookRulesTests {
    @Test("signatures match the Standard Webhooks specification's example, and every secret of a rotation signs")
    func signaturesFollowTheSpecification() throws {
        // The example of the Standard Webhooks specification (its README's "signature scheme").
        let secret = WebhookSecret(secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
        let body = Data(#"{"test": 2432232314}"#.utf8)
        let header = WebhookSignature.header(
            id: "msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp: 1_614_265_330, body: body, secrets: [secret])
        #expect(header == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
        #expect(
            WebhookSignature.verify(
                header: header, id: "msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp: 1_614_265_330, body: body, secret: secret
            ))
        // A changed body, id or timestamp does not verify.
        #expect(
            !WebhookSignature.verify(
                header: header, id: "msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp: 1_614_265_331, body: body, secret: secret
            ))
        #expect(
            !WebhookSignature.verify(
                header: header, id: "msg_other", timestamp: 1_614_265_330, body: body, secret: secret))
        #expect(
            !WebhookSignature.verify(
                header: header, id: "msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp: 1_614_265_330,
                body: body + Data(" ".utf8), secret: secret))

        let fresh = WebhookSecret.generate()
        let both = WebhookSignature.header(id: "msg_1", timestamp: 1, body: body, secrets: [fresh, secret])
        #expect(both.split(separator: " ").count == 2)
        #expect(WebhookSignature.verify(header: both, id: "msg_1", timestamp: 1, body: body, secret: fresh))
        #expect(WebhookSignature.verify(header: both, id: "msg_1", timestamp: 1, body: body, secret: secret))
        #expect(
            !WebhookSignature.verify(
                header: both, id: "msg_1", timestamp: 1, body: body, secret: WebhookSecret.generate()))
    }

    @Test("retries last about three days, spread by jitter; Retry-After moves them later, never earlier")
    func retrySchedule() throws {
        let policy = WebhookRetryPolicy.standard
        #expect(policy.span > 2.5 * 86_400 && policy.span < 3.5 * 86_400)
        let now = Date(timeIntervalSince1970: 1_000_000)
        for attempt in 1...policy.delays.count {
            let base = policy.delays[attempt - 1]
            let low = try #require(
                policy.nextAttempt(afterFailedAttempts: attempt, retryAfter: nil, now: now, random: 0))
            let high = try #require(
                policy.nextAttempt(afterFailedAttempts: attempt, retryAfter: nil, now: now, random: 1))
            #expect(abs(low.timeIntervalSince(now) - base * 0.8) < 0.001)
            #expect(abs(high.timeIntervalSince(now) - base * 1.2) < 0.001)
        }
        #expect(
            policy.nextAttempt(afterFailedAttempts: policy.delays.count + 1, retryAfter: nil, now: now, random: 0.5)
                == nil)
        // Retry-After: 120 s after the first failure (base 5 s) waits 120 s; a shorter one changes nothing;
        // a week is capped at a day.
        #expect(
            policy.nextAttempt(afterFailedAttempts: 1, retryAfter: 120, now: now, random: 0.5)
                == now.addingTimeInterval(120))
        #expect(
            policy.nextAttempt(afterFailedAttempts: 3, retryAfter: 1, now: now, random: 0.5)
                == now.addingTimeInterval(1800))
        #expect(
            policy.nextAttempt(afterFailedAttempts: 1, retryAfter: 7 * 86_400, now: now, random: 0.5)
                == now.addingTimeInterval(86_400))
        #expect(
            policy.nextAttempt(afterFailedAttempts: 1, retryAfter: .nan, now: now, random: 0.5)
                == now.addingTimeInterval(5))

        #expect(try WebhookRetryPolicy(parsing: "1s, 5m,2h,1d").delays == [1, 300, 7200, 86_400])
        for bad in ["", "5", "5x", "-1s", "nans", String(repeating: "1s,", count: 51) + "1s"] {
            #expect(throws: LedgerError.self, "\(bad)") { try WebhookRetryPolicy(parsing: bad) }
        }
    }

    @Test("event type lists: named types, * for all, unknown names refused with the list of types")
    func eventTypeLists() throws {
        #expect(
            try WebhookEventType.parseList("escalation.created, alert.triggered") == [
                .alertTriggered, .escalationCreated,
            ])
        #expect(try WebhookEventType.parseList("*") == WebhookEventType.allCases.sorted())
        #expect(throws: LedgerError.self) { try WebhookEventType.parseList("") }
        do {
            _ = try WebhookEventType.parseList("escalation.created,ticket.opened")
            Issue.record("an unknown type was accepted")
        } catch let error as LedgerError {
            #expect(error.description.contains("ticket.opened") && error.description.contains("invoice.finalized"))
        }
    }

    @Test("endpoint URLs: http(s) with a host, no credentials, fragment, control characters or excessive length")
    func urlSyntax() throws {
        for good in [
            "https://desk.example.com/hooks/cascade", "http://10.0.0.5:8080/in?token=abc", "https://[fd00::1]/x",
        ] {
            #expect(throws: Never.self, "\(good)") { try WebhookURL.check(good) }
        }
        for bad in [
            "javascript:alert(1)", "file:///etc/passwd", "https://", "https://a:b@desk.example.com/",
            "https://desk.example.com/#x",
            "https://desk.example.com/\u{0}", "https://desk.example.com/ a", "https://desk.example.com:0/",
            "https://desk.example.com/" + String(repeating: "a", count: 3000),
        ] {
            #expect(throws: LedgerError.self, "\(bad.prefix(60))") { try WebhookURL.check(bad) }
        }
    }
}
