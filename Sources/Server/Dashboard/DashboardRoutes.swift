import Evaluation
import Foundation
import HTTPTypes
import Hummingbird
import KnowledgeBase
import Logging
import Metering
import NIOCore

/// `/dashboard`: server-rendered pages for a tenant's admins (usage, escalations, knowledge
/// base). Sign-in is the tenant's admin key, either as `Authorization: Bearer` (scripts) or
/// through the login form, which sets a signed session cookie. No page loads anything from
/// the network and none runs script (the Content-Security-Policy forbids it).
struct DashboardRoutes {
    let service: CascadeService

    func register(on router: Router<APIRequestContext>) {
        let group = router.group("dashboard")
        group.get(use: usage)
        group.get("login", use: loginForm)
        group.post("login", use: login)
        group.post("logout", use: logout)
        group.get("escalations", use: escalations)
        group.post("escalations/{query_id}/resolve", use: resolve)
        group.get("knowledge-base", use: knowledgeBase)
        group.post("knowledge-base/documents", use: upload)
    }

    /// Who is looking: the key, and the CSRF token for the page's forms (nil for a Bearer key,
    /// whose requests carry no ambient credential to forge).
    struct Viewer {
        var key: APIKeyRecord
        var csrf: String?
        var sessionCookie: String?
    }

    enum Access {
        case viewer(Viewer)
        case denied(Response)

        /// The page answering a denied request (nil for a viewer).
        var refusal: Response? {
            if case .denied(let response) = self { return response }
            return nil
        }
    }

    // MARK: - Responses

    static func html(_ body: String, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        var fields = headers
        fields[.contentType] = "text/html; charset=utf-8"
        fields[.cacheControl] = "no-store"
        // No script, no plug-ins, no framing, forms post only here; styles and SVG are inline.
        fields[HTTPField.Name("Content-Security-Policy")!] =
            "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        fields[HTTPField.Name("X-Content-Type-Options")!] = "nosniff"
        fields[HTTPField.Name("Referrer-Policy")!] = "same-origin"
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    static func redirect(_ location: String, headers: HTTPFields = [:]) -> Response {
        var fields = headers
        fields[.location] = location
        fields[.cacheControl] = "no-store"
        return Response(status: .seeOther, headers: fields)
    }

    static func message(_ title: String, _ text: String, status: HTTPResponse.Status, viewer: Viewer? = nil) -> Response
    {
        html(
            HTML.page(
                title: title, tenant: viewer?.key.tenant, csrf: viewer?.csrf,
                body: "<h1>\(HTML.escape(title))</h1><p class=\"error\" id=\"error\">\(HTML.escape(text))</p>"),
            status: status)
    }

    /// `2026-11-26 16:03 UTC`.
    static func utc(_ date: Date) -> String {
        let text = JSONConvention.timestamp(date)
        return text.prefix(10) + " " + text.dropFirst(11).prefix(5) + " UTC"
    }

    // MARK: - Sign-in

    static func cookies(_ request: Request) -> [String: String] {
        var cookies: [String: String] = [:]
        for header in request.headers[values: .cookie] {
            for pair in header.split(separator: ";") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                guard parts.count == 2 else { continue }
                let name = parts[0].trimmingCharacters(in: .whitespaces)
                if cookies[name] == nil { cookies[name] = parts[1].trimmingCharacters(in: .whitespaces) }
            }
        }
        return cookies
    }

    /// Whether the browser reached us over TLS (directly or through a proxy that says so).
    static func isSecure(_ request: Request) -> Bool {
        request.headers[HTTPField.Name("X-Forwarded-Proto")!]?.lowercased() == "https"
    }

    /// A POST from another site is refused even before its CSRF token is checked: browsers send
    /// `Origin` with every POST, and it must name this host.
    static func sameOrigin(_ request: Request) -> Bool {
        guard let origin = request.headers[.origin] else { return true }
        guard let host = request.head.authority else { return false }
        guard let url = URL(string: origin), let originHost = url.host else { return false }
        let port = url.port.map { ":\($0)" } ?? ""
        return originHost + port == host
    }

    func access(_ request: Request) async throws -> Access {
        if let header = request.headers[.authorization] {
            let parts = header.split(separator: " ", maxSplits: 1)
            guard parts.count == 2, parts[0].lowercased() == "bearer",
                let key = try await service.control.authenticateKey(parts[1].trimmingCharacters(in: .whitespaces))
            else {
                return .denied(
                    Self.message(
                        "Not signed in", "The key in the Authorization header is not a valid key.",
                        status: .unauthorized))
            }
            guard key.scope.allows(.admin) else {
                return .denied(
                    Self.message(
                        "Admins only", "The dashboard needs an admin key; this is a query key.", status: .forbidden))
            }
            return .viewer(Viewer(key: key, csrf: nil, sessionCookie: nil))
        }
        guard let cookie = Self.cookies(request)[DashboardSessions.cookieName],
            let session = service.sessions.session(cookie, now: service.configuration.clock.now()),
            try await !service.control.isSessionRevoked(session.sessionID),
            let key = try await service.control.liveKeyRecord(id: session.keyID), key.scope.allows(.admin)
        else {
            if request.method == .get {
                let next = request.uri.path.hasPrefix("/dashboard") ? request.uri.path : "/dashboard"
                return .denied(Self.redirect("/dashboard/login?next=\(next)"))
            }
            return .denied(
                Self.message("Not signed in", "Your session has ended; sign in again.", status: .unauthorized))
        }
        return .viewer(Viewer(key: key, csrf: service.sessions.csrfToken(for: cookie), sessionCookie: cookie))
    }

    /// The viewer of a form POST: signed in, from this site, with the form's CSRF token.
    func formAccess(_ request: Request, fields: [String: String]) async throws -> Access {
        guard Self.sameOrigin(request) else {
            return .denied(Self.message("Refused", "This form was sent from another site.", status: .forbidden))
        }
        let result = try await access(request)
        guard case .viewer(let viewer) = result, let cookie = viewer.sessionCookie else { return result }
        guard service.sessions.checkCSRF(fields["csrf"], cookieValue: cookie) else {
            return .denied(
                Self.message(
                    "Refused", "The form's security token is missing or stale: reload the page and try again.",
                    status: .forbidden, viewer: viewer))
        }
        return result
    }

    @Sendable func loginForm(_ request: Request, context: APIRequestContext) async throws -> Response {
        loginPage(request, error: nil, status: .ok)
    }

    func loginPage(_ request: Request, error: String?, status: HTTPResponse.Status) -> Response {
        let nonce = DashboardSessions.nonce()
        let token = service.sessions.csrfToken(for: "login|" + nonce)
        let next = Self.safeNext(request.uri.queryParameters.get("next"))
        let body = """
            <h1>Sign in</h1><p class="sub">The dashboard is for a tenant's admins: paste an admin key \
            (create one with <code>cascade keys create --tenant TENANT --scope admin</code>).</p>
            \(error.map { "<p class=\"error\" id=\"error\">\(HTML.escape($0))</p>" } ?? "")
            <form method="post" action="/dashboard/login?next=\(HTML.escape(next))" class="card" id="login">
            <label for="key">Admin key</label><br><input type="password" id="key" name="key" autocomplete="off" required><br><br>
            <input type="hidden" name="csrf" value="\(token)"><button class="primary" type="submit">Sign in</button></form>
            """
        let cookie = DashboardSessions.cookie(
            DashboardSessions.loginCookieName, nonce, maxAge: 3600, secure: Self.isSecure(request))
        return Self.html(
            HTML.page(title: "Sign in", tenant: nil, body: body), status: status, headers: [.setCookie: cookie])
    }

    /// Only paths of the dashboard are followed after signing in (no open redirect).
    static func safeNext(_ next: String?) -> String {
        guard let next, next.hasPrefix("/dashboard"), !next.contains("//"), !next.contains("\\"),
            next.unicodeScalars.allSatisfy({ $0.isASCII && $0.value > 0x20 && $0.value != 0x7F && $0 != "\"" })
        else { return "/dashboard" }
        return next
    }

    @Sendable func login(_ request: Request, context: APIRequestContext) async throws -> Response {
        guard Self.sameOrigin(request) else {
            return Self.message("Refused", "This form was sent from another site.", status: .forbidden)
        }
        let fields = try await Self.form(request, limit: 8192)
        guard let fields, let nonce = Self.cookies(request)[DashboardSessions.loginCookieName],
            service.sessions.checkCSRF(fields["csrf"], cookieValue: "login|" + nonce)
        else {
            return loginPage(request, error: "The sign-in form expired; try again.", status: .forbidden)
        }
        guard let keyText = fields["key"]?.trimmingCharacters(in: .whitespacesAndNewlines), keyText.count < 512,
            let key = try await service.control.authenticateKey(keyText)
        else {
            return loginPage(request, error: "That is not a valid key.", status: .unauthorized)
        }
        guard key.scope.allows(.admin) else {
            return loginPage(
                request, error: "That is a query key; the dashboard needs an admin key.", status: .forbidden)
        }
        let secure = Self.isSecure(request)
        var headers = HTTPFields()
        headers.append(
            HTTPField(
                name: .setCookie,
                value: DashboardSessions.cookie(
                    DashboardSessions.cookieName,
                    service.sessions.issue(keyID: key.keyID, now: service.configuration.clock.now()),
                    maxAge: Int(DashboardSessions.lifetime), secure: secure)))
        headers.append(
            HTTPField(
                name: .setCookie,
                value: DashboardSessions.cookie(DashboardSessions.loginCookieName, "", maxAge: 0, secure: secure)))
        context.logger.info(
            "dashboard sign-in", metadata: ["tenant": .string(key.tenant), "key_id": .string(key.keyID)])
        return Self.redirect(Self.safeNext(request.uri.queryParameters.get("next")), headers: headers)
    }

    @Sendable func logout(_ request: Request, context: APIRequestContext) async throws -> Response {
        let fields = try await Self.form(request, limit: 4096) ?? [:]
        let access = try await formAccess(request, fields: fields)
        if let refusal = access.refusal { return refusal }
        // The cookie is cleared in this browser, and the session refused everywhere from now on
        // (a copy of the cookie elsewhere included).
        if case .viewer(let viewer) = access, let value = viewer.sessionCookie,
            let session = service.sessions.session(value, now: service.configuration.clock.now())
        {
            try await service.control.revokeSession(
                session.sessionID, expiresAt: session.expiresAt, now: service.configuration.clock.now())
        }
        let cookie = DashboardSessions.cookie(
            DashboardSessions.cookieName, "", maxAge: 0, secure: Self.isSecure(request))
        return Self.redirect("/dashboard/login", headers: [.setCookie: cookie])
    }

    /// The fields of a URL-encoded form body; nil when it is not one.
    static func form(_ request: Request, limit: Int) async throws -> [String: String]? {
        let type = request.headers[.contentType]?.lowercased() ?? ""
        guard type.hasPrefix("application/x-www-form-urlencoded") else { return nil }
        let body = try await BodyReader.bytes(request, limit: limit)
        return FormBody.urlEncoded(Array(body.readableBytesView))
    }

    // MARK: - Pages

    @Sendable func usage(_ request: Request, context: APIRequestContext) async throws -> Response {
        let access = try await access(request)
        guard case .viewer(let viewer) = access else { return access.refusal! }
        let tenant = viewer.key.tenant
        let zone = try await service.ledger.billingHistory(tenant: tenant).last?.zone ?? TimeZone(identifier: "UTC")!
        let now = service.configuration.clock.now()
        let current = BillingMonth.containing(now, in: zone)
        var month = current
        if let text = request.uri.queryParameters.get("month") {
            guard let chosen = try? BillingMonth(text) else {
                return Self.message(
                    "Invalid month", "month must look like 2026-11", status: .badRequest, viewer: viewer)
            }
            month = chosen
        }
        var body =
            "<h1>Usage, \(month)\(month == current ? " (month to date)" : "")</h1>"
            + "<p class=\"nav-month\"><a href=\"/dashboard?month=\(month.previous)\" id=\"previous-month\">← \(month.previous)</a>"
            + (month < current
                ? "<a href=\"/dashboard?month=\(month.next)\" id=\"next-month\">\(month.next) →</a>" : "")
            + "</p>"
        do {
            let statement = try await BillingStatement.compute(
                ledger: service.ledger, catalog: try service.planCatalog(), tenant: tenant, month: month)
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = statement.setting.zone
            let through = month == current ? calendar.component(.day, from: now) : nil
            let report = UsageReport(usage: statement.usage, invoice: statement.invoice)
            if let status = try await service.spend.status(
                tenant: tenant,
                usage: SpendUsage(
                    month: month.description, modelCostMicros: report.totalCostMicros, billedAmount: nil,
                    billableResolutions: report.billableResolutions), current: month == current,
                zone: statement.setting.zone)
            {
                body += UsagePage.spendCap(status)
            }
            body += UsagePage.sections(statement: statement, through: through)
        } catch let error as BillingError {
            body += "<p class=\"error\">\(HTML.escape(error.description))</p>"
        }
        body += UsagePage.verdictSection(
            VerdictThreshold.recommend(
                try await service.ledger.customerVerdicts(tenant: tenant, latest: 5000), target: 0.05,
                minimumVerdicts: 30))
        body += UsagePage.finalInvoices(try await service.ledger.finalInvoices(tenant: tenant))
        return Self.html(
            HTML.page(title: "Usage \(month)", tenant: tenant, current: "/dashboard", csrf: viewer.csrf, body: body))
    }

    @Sendable func escalations(_ request: Request, context: APIRequestContext) async throws -> Response {
        let access = try await access(request)
        guard case .viewer(let viewer) = access else { return access.refusal! }
        let open = try await service.ledger.escalationQueue(tenant: viewer.key.tenant)
        var body = "<h1>Escalations</h1><p class=\"sub\">Questions no tier could answer, and answers customers said "
        body += "did not help, oldest first. "
        body += "An answer you send is recorded in the ledger as the agent's correction (never billed).</p>"
        if let resolved = request.uri.queryParameters.get("resolved") {
            body +=
                "<p class=\"flash\" id=\"flash\">Escalation \(HTML.escape(String(resolved.prefix(200)))) answered.</p>"
        }
        if open.isEmpty {
            body += "<p class=\"card empty\" id=\"no-escalations\">No open escalations.</p>"
        } else {
            body +=
                "<div class=\"card\"><table id=\"escalations\"><tr><th>When (UTC)</th><th>Question and why it was escalated</th><th>Answer</th></tr>"
            for item in open {
                let e = item.query
                let id = HTML.escape(e.queryID)
                let rejected =
                    item.rejectedAnswer.map {
                        "<div class=\"rejected-answer\">Answer the customer rejected: \(HTML.escape($0))</div>"
                    } ?? ""
                let action =
                    "/dashboard/escalations/\(e.queryID.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/"))) ?? "")/resolve"
                // The colleague's answer, sent as it is with one click (or copied into the box).
                let before = item.answeredBefore.map {
                    "<div class=\"answered-before\">Answered before (\(HTML.escape($0.queryID)): “\(HTML.escape($0.question ?? ""))”): \(HTML.escape($0.answer))"
                        + "<form method=\"post\" action=\"\(HTML.escape(action))\"><input type=\"hidden\" name=\"answer\" value=\"\(HTML.escape($0.answer))\">"
                        + "<input type=\"hidden\" name=\"csrf\" value=\"\(viewer.csrf ?? "")\">"
                        + "<button type=\"submit\" aria-label=\"Send the answer given to \(HTML.escape($0.queryID)) to \(id)\">Send this answer</button></form></div>"
                }.joined()
                let sources =
                    item.sources.isEmpty
                    ? ""
                    : "<div class=\"sources\">Passages found: "
                        + item.sources.map { HTML.escape($0.source) }.joined(separator: ", ") + "</div>"
                body += """
                    <tr data-query-id="\(id)"><td class="when"><time datetime="\(JSONConvention.timestamp(e.occurredAt))">\(Self.utc(e.occurredAt))</time><br><small>\(id)</small></td>\
                    <td><div class="question">\(HTML.escape(e.question ?? ""))</div><div class="why">\(HTML.escape(item.why ?? ""))</div>\(rejected)\(before)\(sources)</td>\
                    <td><form method="post" action="\(HTML.escape(action))"><textarea name="answer" required maxlength="20000" \
                    aria-label="Answer to \(id)"></textarea><input type="hidden" name="csrf" value="\(viewer.csrf ?? "")">\
                    <button class="primary" type="submit">Resolve</button></form></td></tr>
                    """
            }
            body += "</table></div>"
        }
        return Self.html(
            HTML.page(
                title: "Escalations", tenant: viewer.key.tenant, current: "/dashboard/escalations", csrf: viewer.csrf,
                body: body))
    }

    @Sendable func resolve(_ request: Request, context: APIRequestContext) async throws -> Response {
        let fields = try await Self.form(request, limit: 256 << 10) ?? [:]
        let access = try await formAccess(request, fields: fields)
        guard case .viewer(let viewer) = access else { return access.refusal! }
        let id = try context.pathID("query_id")
        guard let answer = fields["answer"]?.trimmingCharacters(in: .whitespacesAndNewlines), !answer.isEmpty,
            answer.count <= 20_000, !answer.unicodeScalars.contains("\u{0}")
        else {
            return Self.message(
                "Answer needed", "Write an answer (at most 20,000 characters) before resolving.",
                status: .unprocessableContent,
                viewer: viewer)
        }
        let rows = try await service.ledger.entries(tenant: viewer.key.tenant, queryID: id)
        guard let query = rows.first(where: { $0.kind == .query }), query.tier == "escalated" else {
            return Self.message(
                "Not found", "No escalated question \(id) for this tenant.", status: .notFound, viewer: viewer)
        }
        guard !rows.contains(where: { $0.kind == .correction && $0.outcome == "agent_answer" }) else {
            return Self.message(
                "Already answered", "Escalation \(id) was already answered.", status: .conflict, viewer: viewer)
        }
        _ = try await service.ledger.correct(
            tenant: viewer.key.tenant, queryID: id, outcome: "agent_answer", answer: answer, note: nil,
            now: service.configuration.clock.now())
        let encoded = id.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
        return Self.redirect("/dashboard/escalations?resolved=\(encoded)")
    }

    @Sendable func knowledgeBase(_ request: Request, context: APIRequestContext) async throws -> Response {
        let access = try await access(request)
        guard case .viewer(let viewer) = access else { return access.refusal! }
        let runtime = try service.runtime(for: viewer.key.tenant)
        let store = runtime.knowledgeBase.currentStore
        let stats = try store?.stats()
        let documents = try store?.documents(limit: 50) ?? []
        let jobs = await runtime.jobs.list()
        let running = jobs.contains { $0.status == .queued || $0.status == .running }
        var body = "<h1>Knowledge base</h1>"
        if let queued = request.uri.queryParameters.get("queued") {
            body +=
                "<p class=\"flash\" id=\"flash\">Upload queued as job \(HTML.escape(String(queued.prefix(60)))); this page refreshes until it is done.</p>"
        }
        let lastIngest = documents.map(\.ingestedAt).max()
        body += "<div class=\"tiles\">"
        for (id, label, value) in [
            ("documents", "Documents", "\(stats?.documents ?? 0)"), ("chunks", "Chunks", "\(stats?.chunks ?? 0)"),
            ("last-ingest", "Last ingest (UTC)", lastIngest ?? "never"),
            ("model", "Embedding model", stats?.embeddingModel ?? "none yet"),
        ] {
            body +=
                "<div class=\"tile\"><div class=\"label\">\(label)</div><div class=\"value\" id=\"\(id)\" style=\"font-size:16px\">\(HTML.escape(value))</div></div>"
        }
        body += "</div><h2>Upload a document</h2>"
        body += """
            <form method="post" action="/dashboard/knowledge-base/documents" enctype="multipart/form-data" class="card" id="upload">
            <input type="file" name="file" id="file" required accept=".md,.markdown,.txt,.html,.htm,.pdf,.jsonl,.json,.docx">
            <input type="hidden" name="csrf" value="\(viewer.csrf ?? "")"> <button class="primary" type="submit">Upload</button>
            <p class="sub">Markdown, text, HTML, PDF, Word (.docx), a help-centre export (.json) or JSON Lines, at most \(service.configuration.maxUploadBytes >> 20) MB. \
            It is searchable once its job has succeeded.</p></form>
            """
        body += "<h2>Ingest jobs</h2>"
        if jobs.isEmpty {
            body += "<p class=\"card empty\">No ingest jobs since the service started.</p>"
        } else {
            body +=
                "<div class=\"card\"><table id=\"jobs\"><tr><th>Job</th><th>File</th><th>Status</th><th class=\"num\">Progress</th><th>Problem</th></tr>"
            for job in jobs {
                let progress = job.chunksTotal > 0 ? "\(job.chunksEmbedded) / \(job.chunksTotal) chunks" : job.phase
                body += """
                    <tr data-job="\(HTML.escape(job.id))" data-status="\(job.status.rawValue)"><td>\(HTML.escape(job.id))</td>\
                    <td>\(HTML.escape(job.files.joined(separator: ", ")))</td><td class="status">\(job.status.rawValue)</td>\
                    <td class="num">\(HTML.escape(progress))</td><td class="why">\(HTML.escape(job.error ?? ""))</td></tr>
                    """
            }
            body += "</table></div>"
        }
        body += "<h2>Documents</h2>"
        if documents.isEmpty {
            body +=
                "<p class=\"card empty\" id=\"no-documents\">No documents yet: upload one above or run <code>cascade ingest</code>.</p>"
        } else {
            body +=
                "<div class=\"card\"><table id=\"documents-table\"><tr><th>Source</th><th>Title</th><th>Format</th><th class=\"num\">Chunks</th><th>Ingested (UTC)</th></tr>"
            for d in documents {
                body += """
                    <tr><td>\(HTML.escape(d.source))</td><td>\(HTML.escape(d.title))</td><td>\(HTML.escape(d.format))</td>\
                    <td class="num">\(d.chunkCount)</td><td>\(HTML.escape(d.ingestedAt))</td></tr>
                    """
            }
            body += "</table></div>"
            if (stats?.documents ?? 0) > documents.count {
                body +=
                    "<p class=\"sub\">The newest \(documents.count) of \(stats?.documents ?? 0) documents; GET /v1/documents lists all.</p>"
            }
        }
        return Self.html(
            HTML.page(
                title: "Knowledge base", tenant: viewer.key.tenant, current: "/dashboard/knowledge-base",
                csrf: viewer.csrf,
                body: body, refreshSeconds: running ? 2 : nil))
    }

    @Sendable func upload(_ request: Request, context: APIRequestContext) async throws -> Response {
        guard Self.sameOrigin(request) else {
            return Self.message("Refused", "This form was sent from another site.", status: .forbidden)
        }
        let access = try await access(request)
        guard case .viewer(var viewer) = access else { return access.refusal! }
        guard let boundary = FormBody.boundary(contentType: request.headers[.contentType] ?? "") else {
            return Self.message(
                "Not a file upload", "Send the form as multipart/form-data.", status: .badRequest, viewer: viewer)
        }
        let body: ByteBuffer
        do {
            body = try await BodyReader.bytes(request, limit: service.configuration.maxUploadBytes + 64 << 10)
        } catch let problem as Problem {
            return Self.message("File too large", problem.detail, status: problem.status, viewer: viewer)
        }
        guard let parts = FormBody.multipart(Array(body.readableBytesView), boundary: boundary) else {
            return Self.message(
                "Malformed upload", "The form's body could not be read.", status: .badRequest, viewer: viewer)
        }
        let csrf = parts.first { $0.name == "csrf" }.flatMap { String(validating: $0.data, as: UTF8.self) }
        if let cookie = viewer.sessionCookie {
            guard service.sessions.checkCSRF(csrf, cookieValue: cookie) else {
                viewer.csrf = service.sessions.csrfToken(for: cookie)
                return Self.message(
                    "Refused", "The form's security token is missing or stale: reload the page and try again.",
                    status: .forbidden, viewer: viewer)
            }
        }
        guard let file = parts.first(where: { $0.name == "file" }), let filename = file.filename, !filename.isEmpty
        else {
            return Self.message("No file", "Choose a file to upload.", status: .badRequest, viewer: viewer)
        }
        guard !file.data.isEmpty else {
            return Self.message("Empty file", "\(filename) is empty.", status: .unprocessableContent, viewer: viewer)
        }
        guard file.data.count <= service.configuration.maxUploadBytes else {
            return Self.message(
                "File too large", "The limit is \(service.configuration.maxUploadBytes) bytes.",
                status: .contentTooLarge,
                viewer: viewer)
        }
        // Browsers may send a path; keep its last component.
        let base = String(filename.split(whereSeparator: { $0 == "/" || $0 == "\\" }).last ?? "")
        let name: String
        do {
            name = try DocumentRoutes.validatedName(base)
        } catch let problem as Problem {
            return Self.message("Cannot take this file", problem.detail, status: problem.status, viewer: viewer)
        }
        let runtime = try service.runtime(for: viewer.key.tenant)
        guard await runtime.jobs.pending < service.configuration.maxQueuedJobsPerTenant else {
            return Self.message(
                "Too many jobs",
                "This tenant already has \(service.configuration.maxQueuedJobsPerTenant) ingest jobs waiting; try again when one finishes.",
                status: .tooManyRequests, viewer: viewer)
        }
        let job = try await DocumentRoutes.stage(Data(file.data), name: name, runtime: runtime)
        context.logger.info("dashboard upload", metadata: ["job": .string(job.id), "file": .string(name)])
        return Self.redirect("/dashboard/knowledge-base?queued=\(job.id)")
    }
}
