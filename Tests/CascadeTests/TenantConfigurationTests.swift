import Foundation
import Metering
import TestSupport
import Testing

@testable import Cascade

@Suite("Tenant configuration")
struct TenantConfigurationTests {
    @Test("a tenant file sets rules, threshold and its own LLM endpoint, with the key read from the environment")
    func load() throws {
        let dir = try TemporaryDirectory()
        try dir.write(
            "tenants/acme.yaml",
            """
            rules: rules/acme.yaml
            threshold: 0.7
            llm:
              url: http://127.0.0.1:9/v1
              model: gpt-4o-mini
              api_key_env: ACME_KEY
            """)
        let configuration = try TenantConfiguration.load(tenant: "acme", directory: dir.path("tenants"))
        #expect(configuration.rules == "rules/acme.yaml")
        #expect(configuration.threshold == 0.7)
        let client = try #require(configuration.llmClient(environment: ["ACME_KEY": "sk-acme"]))
        #expect(client.configuration.model == "gpt-4o-mini")
        #expect(client.configuration.apiKey == "sk-acme")
    }

    @Test("quote_threshold sets the quote check, survives a save, and a value out of range is refused")
    func quoteThreshold() throws {
        let dir = try TemporaryDirectory()
        try dir.write("tenants/acme.yaml", "threshold: 0.5\nquote_threshold: 0.72\n")
        let configuration = try TenantConfiguration.load(tenant: "acme", directory: dir.path("tenants"))
        #expect(configuration.quoteThreshold == 0.72)
        try configuration.save(tenant: "copy", directory: dir.path("tenants"))
        #expect(try TenantConfiguration.load(tenant: "copy", directory: dir.path("tenants")) == configuration)
        let ledger = try Ledger(path: dir.path("ledger.sqlite"))
        let resolver = try Resolver.forTenant(
            "acme", settingsDirectory: dir.path("tenants"), retriever: nil, ledger: ledger)
        #expect(resolver.quoteThreshold == 0.72)
        let plain = try Resolver.forTenant(
            "plain", settingsDirectory: dir.path("tenants"), retriever: nil, ledger: ledger)
        #expect(plain.quoteThreshold == nil, "no setting: the embedding model's default applies")
        try dir.write("tenants/bad.yaml", "quote_threshold: 3\n")
        #expect(throws: RuleError.self) { try TenantConfiguration.load(tenant: "bad", directory: dir.path("tenants")) }
        try dir.write("tenants/typo.yaml", "quote_treshold: 0.7\n")
        #expect(throws: RuleError.self) { try TenantConfiguration.load(tenant: "typo", directory: dir.path("tenants")) }
    }

    @Test("remember_verdicts turns the verdict memory off, survives a save; on by default; not a boolean is refused")
    func rememberVerdicts() throws {
        let dir = try TemporaryDirectory()
        try dir.write("tenants/acme.yaml", "remember_verdicts: false\n")
        let configuration = try TenantConfiguration.load(tenant: "acme", directory: dir.path("tenants"))
        #expect(configuration.rememberVerdicts == false)
        try configuration.save(tenant: "copy", directory: dir.path("tenants"))
        #expect(try TenantConfiguration.load(tenant: "copy", directory: dir.path("tenants")) == configuration)
        let ledger = try Ledger(path: dir.path("ledger.sqlite"))
        #expect(
            try Resolver.forTenant("acme", settingsDirectory: dir.path("tenants"), retriever: nil, ledger: ledger)
                .rememberVerdicts == false)
        #expect(
            try Resolver.forTenant("plain", settingsDirectory: dir.path("tenants"), retriever: nil, ledger: ledger)
                .rememberVerdicts)
        try dir.write("tenants/bad.yaml", "remember_verdicts: sometimes\n")
        #expect(throws: RuleError.self) { try TenantConfiguration.load(tenant: "bad", directory: dir.path("tenants")) }
    }

    @Test("no file means defaults; a bad file or tenant name is a clear error")
    func defaultsAndErrors() throws {
        let dir = try TemporaryDirectory()
        #expect(try TenantConfiguration.load(tenant: "globex", directory: dir.path("tenants")) == TenantConfiguration())
        #expect(TenantConfiguration().llmClient(environment: [:]) == nil)
        try dir.write("tenants/bad.yaml", "threshold: 7\n")
        #expect(throws: RuleError.self) { try TenantConfiguration.load(tenant: "bad", directory: dir.path("tenants")) }
        try dir.write("tenants/ugly.yaml", "threshold: [not, a, number]\n")
        #expect(throws: RuleError.self) { try TenantConfiguration.load(tenant: "ugly", directory: dir.path("tenants")) }
        #expect(throws: RuleError.self) {
            try TenantConfiguration.load(tenant: "../etc/passwd", directory: dir.path("tenants"))
        }
    }
}

@Suite("Tenant settings files that cannot be used")
struct TenantSettingsRefusalTests {
    @Test("an unreadable or misspelt settings file is an error, never a silent default")
    func refused() throws {
        let dir = try TemporaryDirectory()
        #expect(try TenantConfiguration.load(tenant: "none", directory: dir.path("")) == TenantConfiguration())
        try dir.write("latin1.yaml", Data([0x74, 0x68, 0x72, 0x65, 0x73, 0x68, 0x6F, 0x6C, 0x64, 0x3A, 0x20, 0xE9]))
        #expect {
            try TenantConfiguration.load(tenant: "latin1", directory: dir.path(""))
        } throws: { "\($0)".contains("UTF-8") }
        try dir.write("typo.yaml", Data("threshold: 0.5\ntreshold: 0.9\n".utf8))
        #expect {
            try TenantConfiguration.load(tenant: "typo", directory: dir.path(""))
        } throws: { error in
            (error as? RuleError)?.line == 2 && "\(error)".contains("treshold")
        }
        try dir.write("nested.yaml", Data("llm:\n  url: http://x\n  modle: y\n".utf8))
        #expect {
            try TenantConfiguration.load(tenant: "nested", directory: dir.path(""))
        } throws: { "\($0)".contains("llm.modle") }
    }

    @Test("a tenant's LLM settings: price, max tokens, timeouts, attempts and its own threshold; bad values refused")
    func llmSettings() throws {
        let dir = try TemporaryDirectory()
        try dir.write(
            "tenants/acme.yaml",
            """
            llm:
              url: http://127.0.0.1:9/v1
              model: smollm2-135m
              max_tokens: 300
              timeout_seconds: 45
              deadline_seconds: 90
              max_attempts: 2
              threshold: 0.4
              price_in: "0.05"
              price_out: "0.10"
              verify_answers: false
            """)
        let resolver = try Resolver.forTenant(
            "acme", settingsDirectory: dir.path("tenants"), retriever: nil,
            ledger: try Ledger(path: dir.path("ledger.sqlite")))
        let llm = try #require(resolver.llm)
        #expect(llm.configuration.maxTokens == 300 && llm.configuration.timeoutSeconds == 45)
        #expect(llm.configuration.deadlineSeconds == 90 && llm.configuration.maxAttempts == 2)
        #expect(resolver.llmAcceptance.threshold == 0.4)
        #expect(
            resolver.pricing.costMicros(model: "smollm2-135m", tokensIn: 1_000_000, tokensOut: 1_000_000) == 150_000)
        #expect(resolver.warnings.isEmpty, "the model has a price")
        #expect(!resolver.verifyAnswers, "verify_answers: false turns the LLM verifier off")
        let saved = try TenantConfiguration.load(tenant: "acme", directory: dir.path("tenants"))
        #expect(saved.yaml().contains("verify_answers: false"), "it survives a save")
        try dir.write("tenants/plain.yaml", "llm:\n  url: http://127.0.0.1:9/v1\n  model: m\n")
        let plain = try Resolver.forTenant(
            "plain", settingsDirectory: dir.path("tenants"), retriever: nil,
            ledger: try Ledger(path: dir.path("ledger.sqlite")))
        #expect(plain.verifyAnswers, "with an LLM, RAG answers are verified unless the tenant says otherwise")
        for bad in [
            "  threshold: 2", "  max_tokens: 5", "  price_in: \"cheap\"", "  timeout_seconds: 0", "  max_attempts: 50",
            "  verify_answers: sometimes",
        ] {
            try dir.write("tenants/bad.yaml", "llm:\n  url: http://127.0.0.1:9/v1\n  model: m\n\(bad)\n")
            #expect(throws: RuleError.self, "\(bad)") {
                try TenantConfiguration.load(tenant: "bad", directory: dir.path("tenants"))
            }
        }
    }
}
