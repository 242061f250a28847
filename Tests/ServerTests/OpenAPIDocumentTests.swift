import Foundation
import HTTPTypes
import Hummingbird
import Server
import Testing

/// `openapi.yaml` describes the server that runs: the same document is served, and it lists
/// exactly the routes the router has.
@Suite struct OpenAPIDocumentTests {
    static let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("openapi.yaml")

    /// `"GET /v1/jobs/{job_id}"`… from the document's `paths`.
    static func documentedRoutes(_ yaml: String) -> Set<String> {
        var routes = Set<String>()
        var path: String?
        for line in yaml.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("  /"), line.hasSuffix(":") {
                path = String(line.dropFirst(2).dropLast())
            } else if line.hasPrefix("components:") {
                path = nil
            } else if let path, line.hasPrefix("    "), !line.hasPrefix("     "), line.hasSuffix(":") {
                let method = line.trimmingCharacters(in: .whitespaces).dropLast()
                if ["get", "post", "put", "patch", "delete"].contains(method) {
                    routes.insert("\(method.uppercased()) \(path)")
                }
            }
        }
        return routes
    }

    @Test func theServedDocumentIsTheRepositorysFile() async throws {
        let fixture = try await ServiceFixture.make()
        let onDisk = try String(contentsOf: Self.file, encoding: .utf8)
        try await fixture.run { api in
            let served = try await api.call(.get, "/openapi.yaml")
            #expect(served.text == onDisk, "run tools/gen-openapi after editing openapi.yaml")
        }
    }

    /// Routes outside the JSON API: `/mcp` speaks JSON-RPC (the MCP specification is its schema)
    /// and `/dashboard` serves HTML pages to people.
    static func isJSONAPI(_ route: String) -> Bool {
        !["/mcp", "/dashboard"].contains { prefix in
            let path = route.split(separator: " ").last.map(String.init) ?? ""
            return path == prefix || path.hasPrefix(prefix + "/")
        }
    }

    @Test func everyRouteIsDocumentedAndEveryDocumentedRouteExists() async throws {
        let fixture = try await ServiceFixture.make()
        let router = CascadeServer.buildRouter(service: fixture.service)
        let served = Set(
            router.routes.map { route in
                let path = "\(route.path)".split(separator: "/").map { segment in
                    segment.hasPrefix(":") ? "{\(segment.dropFirst())}" : String(segment)
                }
                return "\(route.method.rawValue) /" + path.joined(separator: "/")
            }
        ).filter(Self.isJSONAPI)
        let documented = Self.documentedRoutes(try String(contentsOf: Self.file, encoding: .utf8))
        #expect(documented.count >= 18)
        #expect(served.subtracting(documented).isEmpty, "undocumented: \(served.subtracting(documented).sorted())")
        #expect(documented.subtracting(served).isEmpty, "not served: \(documented.subtracting(served).sorted())")
    }
}
