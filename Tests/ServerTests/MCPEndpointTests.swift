import Foundation
import HTTPTypes
import Server
import Testing

/// `/mcp` speaks JSON-RPC for the tenant of the key that calls it: another tenant's key reaches
/// none of acme's passages, documents or escalations, and a call without a key gets no answer.
/// (The official MCP client is run against both transports by tools/test-mcp.)
@Suite struct MCPEndpointTests {
    static let headers: HTTPFields = [
        .accept: "application/json, text/event-stream", HTTPField.Name("MCP-Protocol-Version")!: "2025-06-18",
    ]

    func rpc(_ api: API, _ method: String, _ params: String, as who: String?) async throws
        -> API.Reply
    {
        try await api.call(
            .post, "/mcp", as: who,
            body: "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"\(method)\",\"params\":\(params)}",
            headers: Self.headers)
    }

    @Test func anotherTenantsKeyFindsNothingOfAcme() async throws {
        let fixture = try await ServiceFixture.make()
        try await fixture.run { api in
            _ = try await api.upload("refunds.md", refundGuide, as: "acme.admin")
            _ = try await api.ask("Zorblax flux capacitor warranty on Mars?", as: "acme.query", id: "acme-escalated")

            let own = try await rpc(
                api, "tools/call", "{\"name\":\"search_knowledge_base\",\"arguments\":{\"query\":\"refund\"}}",
                as: "acme.query")
            #expect(own.status == .ok)
            #expect(own.text.contains("14 days"), "acme's own key finds its passage")
            #expect(own.text.contains("cascade://documents/uploads/refunds.md"))

            let other = try await rpc(
                api, "tools/call",
                "{\"name\":\"search_knowledge_base\",\"arguments\":{\"query\":\"refund\",\"k\":100}}",
                as: "beta.admin")
            #expect(other.status == .ok)
            #expect(!other.text.contains("14 days"))
            let read = try await rpc(
                api, "resources/read", "{\"uri\":\"cascade://documents/uploads/refunds.md\"}", as: "beta.admin")
            #expect(!read.text.contains("14 days"))
            #expect(read.text.contains("\"error\""), "reading acme's document with beta's key is an error")
            let listed = try await rpc(api, "resources/list", "{}", as: "beta.admin")
            #expect(!listed.text.contains("refunds.md"))
            let escalations = try await rpc(
                api, "tools/call", "{\"name\":\"list_escalations\",\"arguments\":{}}", as: "beta.admin")
            #expect(!escalations.text.contains("acme-escalated"))
            #expect(escalations.text.contains("No open escalations"))

            let anonymous = try await rpc(api, "tools/list", "{}", as: nil)
            #expect(anonymous.status == .unauthorized)
            #expect(anonymous.isProblem)
        }
    }

    @Test func aBatchIsRefusedAndRecordsNothing() async throws {
        let fixture = try await ServiceFixture.make()
        try await fixture.run { api in
            let call =
                "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"ask\",\"arguments\":{\"question\":\"How long do refunds take?\",\"query_id\":\"batch-1\"}}}"
            let reply = try await api.call(
                .post, "/mcp", as: "acme.query", body: " [\(call),\(call)]", headers: Self.headers)
            #expect(reply.status == .badRequest)
            #expect(reply.text.contains("batches are not accepted"))
            #expect(try fixture.ledgerKinds(tenant: "acme", queryID: "batch-1").isEmpty)
        }
    }

    @Test func aQueryKeyCannotListEscalations() async throws {
        let fixture = try await ServiceFixture.make()
        try await fixture.run { api in
            let tools = try await rpc(api, "tools/list", "{}", as: "acme.query")
            #expect(tools.text.contains("\"ask\"") && !tools.text.contains("list_escalations"))
            let call = try await rpc(
                api, "tools/call", "{\"name\":\"list_escalations\",\"arguments\":{}}", as: "acme.query")
            #expect(call.text.contains("\"isError\":true"))
            #expect(call.text.contains("needs an admin key"))
        }
    }

    @Test func anAskThroughMCPIsMeteredOnceLikeAnyQuestion() async throws {
        let fixture = try await ServiceFixture.make()
        try await fixture.run { api in
            _ = try await api.upload("refunds.md", refundGuide, as: "acme.admin")
            let arguments = "{\"question\":\"How long do refunds take?\",\"query_id\":\"mcp-1\"}"
            for _ in 0..<2 {
                let reply = try await rpc(
                    api, "tools/call", "{\"name\":\"ask\",\"arguments\":\(arguments)}", as: "acme.query")
                #expect(reply.status == .ok)
                #expect(reply.text.contains("\"query_id\":\"mcp-1\""))
            }
            let kinds = try fixture.ledgerKinds(tenant: "acme", queryID: "mcp-1")
            #expect(kinds.filter { $0 == "query" }.count == 1, "asked twice with one id: recorded once")
            // The same id through /v1/ask is the same question, replayed.
            let replay = try await api.ask("How long do refunds take?", as: "acme.query", id: "mcp-1")
            #expect(replay.json["replayed"] as? Bool == true)
        }
    }
}
