import Foundation
import Metering
import Retrieval

extension Resolver {
    /// The resolver a tenant's questions go through, built from the tenant's settings
    /// (`<settings>/<tenant>.yaml`: rules, threshold, confidence weights, LLM endpoint).
    ///
    /// `cascade ask` and `cascade serve` both build their resolvers here, so a question gets the
    /// same treatment whichever way it arrives.
    /// - Parameters:
    ///   - rulesPath: overrides the tenant's rules file (the CLI's `--rules`).
    ///   - threshold: overrides the tenant's threshold (the CLI's `--threshold`).
    ///   - defaultRulesPath: used when neither `rulesPath` nor the tenant names a rules file.
    ///   - calibration: the knowledge base's label-free calibration; its weights and threshold
    ///     apply when the tenant's settings name neither (settings written by `calibrate
    ///     --write-config` come from real labels and win; `threshold` still overrides).
    /// - Throws: ``RuleError`` for an invalid settings or rules file (never silently ignored).
    public static func forTenant(
        _ tenant: String, settingsDirectory: String, retriever: (any PassageSearching)?, ledger: any LedgerStore,
        rulesPath: String? = nil, threshold: Double? = nil, defaultRulesPath: String? = nil,
        calibration: KnowledgeBaseCalibration? = nil
    ) throws -> Resolver {
        let settings = try TenantConfiguration.load(tenant: tenant, directory: settingsDirectory)
        // A relative `rules:` path in the settings is relative to the settings' folder, so the
        // service and every command find the same file whatever their working directory.
        let tenantRules = settings.rules.map { path in
            path.hasPrefix("/")
                ? path
                : URL(fileURLWithPath: settingsDirectory, isDirectory: true).appendingPathComponent(path)
                    .standardizedFileURL.path
        }
        let rules = try (rulesPath ?? tenantRules ?? defaultRulesPath).map { try RuleSet.load(path: $0) } ?? .empty
        // The settings' threshold and weights go together (a threshold means something only
        // under the weights it was chosen for), so the knowledge base's calibration applies only
        // when the settings name neither.
        let labelFree = settings.threshold == nil && settings.confidence == nil ? calibration : nil
        var resolver = Resolver(
            rules: rules, retriever: retriever, ledger: ledger,
            threshold: threshold ?? settings.threshold ?? labelFree?.threshold ?? 0.6)
        resolver.llm = settings.llmClient()
        if let quoteThreshold = settings.quoteThreshold { resolver.quoteThreshold = quoteThreshold }
        if let remember = settings.rememberVerdicts { resolver.rememberVerdicts = remember }
        if let llm = settings.llm {
            if let price = llm.price { resolver.pricing.prices[llm.model] = price }
            if let threshold = llm.threshold { resolver.llmAcceptance.threshold = threshold }
            if let verify = llm.verifyAnswers { resolver.verifyAnswers = verify }
        }
        if let confidence = settings.confidence ?? labelFree?.confidence { resolver.confidence = confidence.model }
        resolver.calibrationSource =
            settings.threshold != nil || settings.confidence != nil
            ? "tenant_settings" : labelFree != nil ? "knowledge_base" : "defaults"
        return resolver
    }
}
