import Foundation
import Hummingbird
import KnowledgeBase

/// The tenant's documents (admin): upload (a background job), list, delete; and the jobs.
struct DocumentRoutes {
    let service: CascadeService

    func register(on group: RouterGroup<APIRequestContext>) {
        group.post("documents", use: upload)
        group.get("documents", use: list)
        group.delete("documents/{doc_id}", use: delete)
        group.get("jobs", use: jobs)
        group.get("jobs/{job_id}", use: job)
    }

    /// File extensions by media type, for uploads without a `name`.
    static let extensions: [String: String] = [
        "text/markdown": "md", "text/x-markdown": "md", "text/plain": "txt", "text/html": "html",
        "application/pdf": "pdf", "application/x-ndjson": "jsonl", "application/jsonl": "jsonl",
        "application/json": "json",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    ]
    static let accepted: Set<String> = ["md", "markdown", "txt", "html", "htm", "pdf", "jsonl", "json", "docx"]

    /// `POST /v1/documents?name=refunds.md` with the document as the body → 202 and a job.
    @Sendable func upload(_ request: Request, context: APIRequestContext) async throws -> JSONResponse {
        let key = try context.require(.admin)
        let mediaType = request.headers[.contentType]?.split(separator: ";").first.map {
            $0.trimmingCharacters(in: .whitespaces).lowercased()
        }
        var name = request.uri.queryParameters.get("name") ?? ""
        if request.uri.queryParameters.get("name") != nil, name.isEmpty {
            throw Problem.unprocessable("\"name\" is empty; leave it out or give a file name such as guide.md")
        }
        if name.isEmpty {
            guard let mediaType, let ext = Self.extensions[mediaType] else {
                throw Problem.unprocessable(
                    "give the document a name (?name=guide.md) or a Content-Type of text/markdown, text/plain, text/html or application/pdf",
                    code: "unknown-document-type")
            }
            name = "document-\(UUID().uuidString.lowercased().prefix(8)).\(ext)"
        }
        name = try Self.validatedName(name)
        let runtime = try service.runtime(for: key.tenant)
        guard await runtime.jobs.pending < service.configuration.maxQueuedJobsPerTenant else {
            throw Problem.tooManyRequests(
                "this tenant has \(service.configuration.maxQueuedJobsPerTenant) ingest jobs waiting; retry when one finishes",
                retryAfter: 5, code: "too-many-jobs")
        }
        let body = try await BodyReader.bytes(request, limit: service.configuration.maxUploadBytes)
        guard body.readableBytes > 0 else {
            throw Problem.unprocessable("the document is empty", code: "empty-document")
        }
        let job = try await Self.stage(Data(body.readableBytesView), name: name, runtime: runtime)
        return JSONResponse(
            job.json, status: .accepted, headers: [.location: "/v1/jobs/\(job.id)"])
    }

    /// Stages an upload (its name already validated) durably and queues its job.
    static func stage(_ data: Data, name: String, runtime: TenantRuntime) async throws -> IngestJob {
        try await runtime.acceptUpload(data, name: name)
    }

    /// A safe file name: one path component, printable ASCII, a known extension.
    static func validatedName(_ name: String) throws -> String {
        guard name.utf8.count <= 200, !name.hasPrefix("."), !name.contains("/"), !name.contains("\\"),
            name.unicodeScalars.allSatisfy({ $0.isASCII && $0.value >= 0x20 && $0.value != 0x7F })
        else {
            throw Problem.unprocessable(
                "\"name\" must be a plain file name (printable ASCII, no '/', not starting with '.', at most 200 bytes)"
            )
        }
        let ext = (name as NSString).pathExtension.lowercased()
        guard accepted.contains(ext) else {
            throw Problem(
                .unsupportedMediaType, code: "unsupported-document-type", title: "Unsupported document type",
                detail: "accepted: \(accepted.sorted().map { "." + $0 }.joined(separator: ", "))")
        }
        return name
    }

    @Sendable func list(_ request: Request, context: APIRequestContext) async throws -> JSONResponse {
        let key = try context.require(.admin)
        let parameters = request.uri.queryParameters
        let limit = try Self.integer(parameters.get("limit"), name: "limit", default: 100, range: 1...1000)
        let offset = try Self.integer(parameters.get("offset"), name: "offset", default: 0, range: 0...Int(Int32.max))
        let store = try service.runtime(for: key.tenant).knowledgeBase.currentStore
        let documents = try store?.documents(limit: limit, offset: offset) ?? []
        return JSONResponse([
            "documents": .array(documents.map(Presenter.document)), "limit": .int(limit), "offset": .int(offset),
        ])
    }

    static func integer(_ text: String?, name: String, default value: Int, range: ClosedRange<Int>) throws -> Int {
        guard let text else { return value }
        guard let number = Int(text), range.contains(number) else {
            throw Problem.unprocessable("\(name) must be an integer in \(range.lowerBound)…\(range.upperBound)")
        }
        return number
    }

    @Sendable func delete(_ request: Request, context: APIRequestContext) async throws -> JSONResponse {
        let key = try context.require(.admin)
        let docID = try context.pathID("doc_id")
        let knowledgeBase = try service.runtime(for: key.tenant).knowledgeBase
        guard let store = knowledgeBase.currentStore else { throw Problem.notFound("no document \(docID)") }
        let matches = try store.document(docID: docID)
        guard !matches.isEmpty else { throw Problem.notFound("no document \(docID)") }
        let collection = request.uri.queryParameters.get("collection")
        let targets = matches.filter { collection == nil || $0.collection == collection }
        guard targets.count == 1 else {
            throw Problem.conflict(
                "\(matches.count) documents have id \(docID) (collections \(matches.map(\.collection).joined(separator: ", "))); add ?collection=",
                code: "ambiguous-document")
        }
        let applied = try await knowledgeBase.commit(
            KnowledgeBaseChanges(removals: [DocumentKey(collection: targets[0].collection, docID: docID)]),
            vectors: [:],
            model: knowledgeBase.embedder)
        return JSONResponse([
            "doc_id": .string(docID), "collection": .string(targets[0].collection),
            "removed": .bool(applied.documentsRemoved == 1),
        ])
    }

    @Sendable func jobs(_ request: Request, context: APIRequestContext) async throws -> JSONResponse {
        let key = try context.require(.admin)
        let jobs = try await service.runtime(for: key.tenant).jobs.list()
        return JSONResponse(["jobs": .array(jobs.map(\.json))])
    }

    @Sendable func job(_ request: Request, context: APIRequestContext) async throws -> JSONResponse {
        let key = try context.require(.admin)
        let id = try context.pathID("job_id")
        guard let job = try await service.runtime(for: key.tenant).job(id) else {
            throw Problem.notFound("no job \(id) for this tenant")
        }
        return JSONResponse(job.json)
    }
}
