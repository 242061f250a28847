import ArgumentParser
import Cascade

/// The `--kb` option shared by every command that reads or writes a knowledge base.
struct KnowledgeBaseOption: ParsableArguments {
    @Option(
        name: .customLong("kb"),
        help:
            "Path of the knowledge base file. Default: <data>/tenants/<tenant>/kb.sqlite with --tenant, else <data>/kb.sqlite."
    )
    var explicitPath: String?

    /// The knowledge base file: `--kb`, else the tenant's under `data`, else the shared one.
    func path(tenant: String?, data: DataDirectory) throws -> String {
        if let explicitPath { return explicitPath }
        if let tenant { return try data.knowledgeBasePath(tenant: tenant) }
        return data.sharedKnowledgeBasePath
    }
}
