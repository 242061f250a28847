import Foundation

/// Where the service's data lives under one folder (`--data`, default `.cascade/`):
///
/// ```
/// <data>/ledger.sqlite                 the metering ledger of every tenant (and their billing)
/// <data>/control.sqlite                tenants and API keys (hashes only)
/// <data>/tenants/<tenant>.yaml         the tenant's cascade settings (rules, threshold, LLM)
/// <data>/tenants/<tenant>/kb.sqlite    the tenant's own knowledge base
/// <data>/tenants/<tenant>/uploads/     documents uploaded through the API, as received
/// <data>/kb.sqlite                     the knowledge base of commands run without --tenant
/// <data>/plans.yaml                    a custom plan catalog (else the built-in plans)
/// <data>/signing.key(.pub)             the default checkpoint signing key (better kept elsewhere)
/// ```
///
/// `cascade serve` and every admin command that takes `--data` agree on these paths, so the CLI
/// and a running service work on the same files.
public struct DataDirectory: Hashable, Sendable {
    /// The folder itself.
    public var root: String

    /// The default folder, relative to the working directory.
    public static let defaultRoot = ".cascade"

    public init(_ root: String = DataDirectory.defaultRoot) {
        self.root = root
    }

    public var ledgerPath: String { path("ledger.sqlite") }
    public var controlPath: String { path("control.sqlite") }
    public var tenantsDirectory: String { path("tenants") }
    public var sharedKnowledgeBasePath: String { path("kb.sqlite") }
    /// The default Ed25519 key that signs ledger checkpoints (created on first use).
    public var signingKeyPath: String { path("signing.key") }
    /// The secret that signs dashboard session cookies (created by `cascade serve`, mode 0600).
    public var sessionSecretPath: String { path("session.secret") }
    /// `<data>/plans.yaml` when that file exists (a custom plan catalog), else nil (the built-in one).
    public var plansPath: String? {
        FileManager.default.fileExists(atPath: path("plans.yaml")) ? path("plans.yaml") : nil
    }

    /// The folder of `tenant`'s own files.
    public func tenantDirectory(_ tenant: String) throws(RuleError) -> String {
        (tenantsDirectory as NSString).appendingPathComponent(try TenantConfiguration.validatedName(tenant))
    }

    /// `tenant`'s knowledge base file.
    public func knowledgeBasePath(tenant: String) throws(RuleError) -> String {
        (try tenantDirectory(tenant) as NSString).appendingPathComponent("kb.sqlite")
    }

    /// Where documents uploaded for `tenant` are kept.
    public func uploadsDirectory(tenant: String) throws(RuleError) -> String {
        (try tenantDirectory(tenant) as NSString).appendingPathComponent("uploads")
    }

    private func path(_ name: String) -> String { (root as NSString).appendingPathComponent(name) }
}
