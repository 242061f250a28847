import Cascade
import Foundation
import MCP

/// `cascade mcp`: the MCP tools of one tenant over stdin and stdout, for an MCP client that
/// starts cascade as a subprocess (Claude Desktop, IDE assistants). The local user is trusted
/// as the tenant's admin: whoever can read the data folder can read the ledger anyway.
public enum MCPStdioServer {
    /// Serves until the client closes stdin.
    /// - Throws: ``MCPSetupError`` when the tenant does not exist.
    public static func run(service: CascadeService, tenant: String) async throws {
        guard try await service.control.tenant(tenant) != nil else {
            throw MCPSetupError.unknownTenant(tenant, data: service.configuration.data.root)
        }
        // With a shared database, this machine's copy of the knowledge base catches up first,
        // then keeps following the log while the client is connected.
        await service.catchUpKnowledgeBases()
        let follower = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(500))
                await service.catchUpKnowledgeBases()
            }
        }
        defer { follower.cancel() }
        let server = await MCPToolbox(service: service, tenant: tenant, scope: .admin)
            .makeServer(version: ServiceVersion.number)
        try await server.start(transport: StdioTransport())
        await server.waitUntilCompleted()
    }
}

/// Why `cascade mcp` cannot start.
public enum MCPSetupError: Error, CustomStringConvertible {
    case unknownTenant(String, data: String)

    public var description: String {
        switch self {
        case .unknownTenant(let tenant, let data):
            "no tenant \(tenant) in \(data); create it with `cascade tenants create \(tenant) --data \(data)`"
        }
    }
}
