import Embeddings
import Foundation
import Hummingbird
import KnowledgeBase
import Retrieval

/// `POST /v1/search`: ranked chunks of the tenant's knowledge base, by text or by a caller's vector.
struct SearchRoutes {
    let service: CascadeService

    func register(on group: RouterGroup<APIRequestContext>) {
        group.post("search", use: search)
    }

    @Sendable func search(_ request: Request, context: APIRequestContext) async throws -> JSONResponse {
        let key = try context.require(.query)
        let body = try await BodyReader.object(
            request, limit: service.configuration.maxBodyBytes, allowed: ["query", "vector", "k", "mode", "filters"])
        let query = try body.string("query")
        let vector = try body.floats("vector")
        let k = try body.int("k") ?? 10
        guard (1...service.configuration.maxK).contains(k) else {
            throw Problem.unprocessable("\"k\" must be between 1 and \(service.configuration.maxK)")
        }
        guard query != nil || vector != nil else {
            throw Problem.unprocessable("send \"query\" (text) or \"vector\" (your own embedding), or both")
        }
        if let vector, !vector.contains(where: { $0 != 0 }) {
            throw Problem.unprocessable(
                "\"vector\" is all zeros: it has no direction to search in", code: "invalid-search")
        }
        let modeName = try body.string("mode") ?? (query == nil ? "vector" : "hybrid")
        guard let mode = SearchMode(rawValue: modeName) else {
            throw Problem.unprocessable(
                "\"mode\" must be one of \(SearchMode.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if query == nil, mode != .vector {
            throw Problem.unprocessable("a search by \"vector\" alone must use mode \"vector\"")
        }
        var filter: SearchFilter?
        if let filters = try body.object("filters") {
            let unknown = Set(filters.members.keys).subtracting(["source_prefix", "collections", "formats"])
            guard unknown.isEmpty else {
                throw Problem.unprocessable(
                    "unknown filter(s) \(unknown.sorted().joined(separator: ", ")); accepted: source_prefix, collections, formats",
                    code: "unknown-field")
            }
            filter = SearchFilter(
                sourcePrefix: try filters.string("source_prefix"),
                collections: try filters.strings("collections").map(Set.init),
                formats: try filters.strings("formats").map(Set.init))
            if filter?.isEmpty == true { filter = nil }
        }
        let knowledgeBase = try service.runtime(for: key.tenant).knowledgeBase
        let started = ContinuousClock.now
        let results: [SearchResult]
        do {
            if vector == nil, mode != .keyword, let query {
                // Embedded with the model the index serves (also across a model switch).
                results = try await knowledgeBase.search(query, k: k, mode: mode, filter: filter)
            } else {
                var text: String?
                if let query { text = try Retriever.validated(query: query, k: k) }
                results = try knowledgeBase.rank(text: text, vector: vector, k: k, mode: mode, filter: filter)
            }
        } catch let error as RetrievalError {
            throw Problem.unprocessable(error.description, code: "invalid-search")
        }
        let elapsed = ContinuousClock.now - started
        let ms = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        return JSONResponse([
            "query": .string(query), "mode": .string(mode.rawValue), "k": .int(k),
            "elapsed_ms": .double((ms * 1000).rounded() / 1000), "results": .array(results.map(Presenter.result)),
        ])
    }
}
