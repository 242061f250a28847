import Foundation
import HTTPTypes
import Metering
import TestSupport
import Testing

@testable import Server

/// The dashboard's pieces without a browser (tools/test-dashboard drives a real one): who may
/// look, what a forged form gets, how values are written.
@Suite struct DashboardTests {
    @Test func signInIsRequiredAndOnlyAdminKeysMayLook() async throws {
        let fixture = try await ServiceFixture.make()
        try await fixture.run { api in
            let anonymous = try await api.call(.get, "/dashboard")
            // (The test client follows the 303 to the sign-in page.)
            #expect(anonymous.text.contains("id=\"login\"") && !anonymous.text.contains("id=\"tenant\""))
            #expect(try await api.call(.get, "/dashboard", as: "acme.query").status == .forbidden)
            let admin = try await api.call(.get, "/dashboard", as: "acme.admin")
            #expect(admin.status == .ok)
            #expect(admin.headers[.contentType] == "text/html; charset=utf-8")
            #expect(admin.headers[HTTPField.Name("Content-Security-Policy")!]?.contains("default-src 'none'") == true)
            #expect(admin.text.contains("id=\"tenant\">acme<"))
        }
    }

    @Test func aQuestionWithMarkupIsShownAsText() async throws {
        let fixture = try await ServiceFixture.make()
        try await fixture.run { api in
            _ = try await api.ask(
                "<script>alert(1)</script><img src=x onerror=alert(2)> zorblax?", as: "acme.query", id: "x1")
            let page = try await api.call(.get, "/dashboard/escalations", as: "acme.admin")
            #expect(page.text.contains("&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;"))
            #expect(!page.text.contains("<script>alert") && !page.text.contains("<img src=x"))
        }
    }

    @Test func aSessionFormWithoutItsTokenIsRefusedAndWritesNothing() async throws {
        let fixture = try await ServiceFixture.make()
        try await fixture.run { api in
            _ = try await api.ask("zorblax flux capacitor on Mars?", as: "acme.query", id: "esc-1")
            let keyID = try #require(fixture.keys["acme.admin"].flatMap(APIKeyFormat.keyID(of:)))
            let cookie = fixture.service.sessions.issue(keyID: keyID, now: fixture.service.configuration.clock.now())
            let form: HTTPFields = [
                .cookie: "cascade_session=\(cookie)", .contentType: "application/x-www-form-urlencoded",
            ]
            let page = try await api.call(
                .get, "/dashboard/escalations", headers: [.cookie: "cascade_session=\(cookie)"])
            #expect(page.status == .ok && page.text.contains("esc-1"))
            let forged = try await api.call(
                .post, "/dashboard/escalations/esc-1/resolve", body: "answer=hi", headers: form)
            #expect(forged.status == .forbidden)
            var crossSite = form
            crossSite[.origin] = "https://evil.example"
            let token = fixture.service.sessions.csrfToken(for: cookie)
            let fromElsewhere = try await api.call(
                .post, "/dashboard/escalations/esc-1/resolve", body: "answer=hi&csrf=\(token)", headers: crossSite)
            #expect(fromElsewhere.status == .forbidden)
            #expect(!(try fixture.ledgerKinds(tenant: "acme", queryID: "esc-1")).contains("correction"))
            let genuine = try await api.call(
                .post, "/dashboard/escalations/esc-1/resolve", body: "answer=Call+us&csrf=\(token)", headers: form)
            #expect(genuine.status == .ok && genuine.text.contains("Escalation esc-1 answered"))
            #expect(try fixture.ledgerKinds(tenant: "acme", queryID: "esc-1").contains("correction"))
        }
    }

    @Test func sessionsCannotBeForgedOrOutliveTheirKey() async throws {
        let sessions = DashboardSessions(secret: Data(repeating: 7, count: 32))
        let cookie = sessions.issue(keyID: "abcdefabcdef")
        #expect(sessions.keyID(ofSession: cookie) == "abcdefabcdef")
        #expect(sessions.keyID(ofSession: "012345012345" + cookie.dropFirst(12)) == nil, "another key id")
        #expect(sessions.keyID(ofSession: cookie, now: Date().addingTimeInterval(9 * 3600)) == nil, "expired")
        #expect(DashboardSessions(secret: Data(repeating: 8, count: 32)).keyID(ofSession: cookie) == nil)
        #expect(sessions.keyID(ofSession: "") == nil && sessions.keyID(ofSession: "a.b.c.d") == nil)

        let fixture = try await ServiceFixture.make()
        let keyID = try #require(fixture.keys["acme.admin"].flatMap(APIKeyFormat.keyID(of:)))
        let live = fixture.service.sessions.issue(keyID: keyID, now: fixture.service.configuration.clock.now())
        try await fixture.run { api in
            let before = try await api.call(.get, "/dashboard", headers: [.cookie: "cascade_session=\(live)"])
            #expect(before.status == .ok && before.text.contains("id=\"tenant\">acme<"), "signed in before")
            _ = try await fixture.service.control.revokeKey(keyID, tenant: nil, now: TestClock.now)
            let after = try await api.call(.get, "/dashboard", headers: [.cookie: "cascade_session=\(live)"])
            #expect(after.text.contains("id=\"login\""), "a revoked key's session ends at once")
        }
    }

    @Test func signingOutEndsTheSessionEvenForACopyOfItsCookie() async throws {
        let fixture = try await ServiceFixture.make()
        let keyID = try #require(fixture.keys["acme.admin"].flatMap(APIKeyFormat.keyID(of:)))
        let cookie = fixture.service.sessions.issue(keyID: keyID, now: fixture.service.configuration.clock.now())
        let other = fixture.service.sessions.issue(keyID: keyID, now: fixture.service.configuration.clock.now())
        try await fixture.run { api in
            let copy: HTTPFields = [.cookie: "cascade_session=\(cookie)"]
            #expect(try await api.call(.get, "/dashboard", headers: copy).status == .ok)
            let token = fixture.service.sessions.csrfToken(for: cookie)
            let out = try await api.call(
                .post, "/dashboard/logout", body: "csrf=\(token)",
                headers: [.cookie: "cascade_session=\(cookie)", .contentType: "application/x-www-form-urlencoded"])
            #expect(out.status.code < 400, "signed out: \(out.status)")
            // The browser dropped the cookie; someone who copied it before gets the sign-in page.
            let after = try await api.call(.get, "/dashboard", headers: copy)
            #expect(after.status != .ok || after.text.contains("id=\"login\""), "a signed-out session is refused")
            #expect(!after.text.contains("id=\"tenant\">acme<"))
            // Another session of the same key is still signed in.
            let still = try await api.call(.get, "/dashboard", headers: [.cookie: "cascade_session=\(other)"])
            #expect(still.status == .ok && still.text.contains("id=\"tenant\">acme<"))
        }
    }

    @Test func moneyIsShownWithTheDigitsItNeeds() {
        #expect(HTML.dollars(micros: 203) == "$0.000203")
        #expect(HTML.dollars(micros: 12_500) == "$0.0125")
        #expect(HTML.dollars(micros: 1_500_000) == "$1.50")
        #expect(HTML.dollars(micros: 1_234_567_000_000) == "$1,234,567.00")
        #expect(HTML.dollars(micros: -10) == "-$0.00001")
        #expect(HTML.dollars(Decimal(string: "0.0000676666")!) == "$0.0000677")
        #expect(HTML.dollars(Decimal(string: "13.1666")!) == "$13.17")
        #expect(HTML.dollars(Decimal(string: "0.0000008")!) == "$0.0000008")
        #expect(HTML.dollars(Decimal(0)) == "$0.00")
        #expect(HTML.escape("a<b>&\"'\u{0}") == "a&lt;b&gt;&amp;&quot;&#39;\u{FFFD}")
    }

    @Test func formBodiesParseOrAreRefused() throws {
        #expect(FormBody.urlEncoded(Array("answer=Call+us%21&csrf=x".utf8)) == ["answer": "Call us!", "csrf": "x"])
        #expect(FormBody.urlEncoded(Array("a=%ZZ".utf8)) == nil)
        #expect(FormBody.urlEncoded(Array("a=1&a=2".utf8)) == nil, "a repeated field is ambiguous")
        #expect(FormBody.urlEncoded(Array("a=%FF%FE".utf8)) == nil, "not UTF-8")
        let body = Array(
            "--XyZ\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\ntok\r\n--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.md\"\r\nContent-Type: text/markdown\r\n\r\n# A\r\n\r\nbody --XyZ inside\r\n--XyZ--\r\n"
                .utf8)
        let parts = try #require(FormBody.multipart(body, boundary: "XyZ"))
        #expect(parts.map(\.name) == ["csrf", "file"])
        #expect(parts[1].filename == "a.md")
        #expect(String(decoding: parts[1].data, as: UTF8.self) == "# A\r\n\r\nbody --XyZ inside")
        #expect(FormBody.multipart(Array(body.prefix(60)), boundary: "XyZ") == nil, "truncated")
        #expect(FormBody.multipart(Array("garbage".utf8), boundary: "XyZ") == nil)
        #expect(FormBody.boundary(contentType: "multipart/form-data; boundary=\"----abc\"") == "----abc")
        #expect(FormBody.boundary(contentType: "text/plain") == nil)
    }

    @Test func onlyDashboardPathsAreFollowedAfterSignIn() {
        #expect(DashboardRoutes.safeNext("/dashboard/escalations") == "/dashboard/escalations")
        for hostile in [
            "https://evil.example", "//evil.example", "/dashboard//evil", "/etc", "/dashboard\"><script>", nil,
        ] {
            #expect(DashboardRoutes.safeNext(hostile) == "/dashboard")
        }
    }
}
