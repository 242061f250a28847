import Foundation
import Yams

/// Per-tenant settings of the cascade, from `<tenants dir>/<tenant>.yaml`:
///
/// ```yaml
/// rules: acme.rules.yaml                  # a relative path is relative to this file's folder
/// threshold: 0.62                         # minimum confidence to resolve without a human
/// quote_threshold: 0.65                   # minimum score of a RAG answer's best quoted sentence
/// remember_verdicts: true                 # a passage a customer rejected is not billed again (default)
/// confidence:                             # RAG confidence weights, written by `cascade calibrate`
///   bias: -6.1
///   similarity: 10.2
///   margin: 4.0
///   agreement: 0.9
/// llm:
///   url: https://api.openai.com/v1
///   model: gpt-4o-mini
///   api_key_env: ACME_OPENAI_KEY          # the key itself never goes into the file
///   verify_answers: true                  # the model checks each RAG answer before it is billed
/// ```
///
/// Every field is optional; command-line flags override the file, and the file overrides the
/// defaults (`CASCADE_LLM_*` environment variables for the LLM, threshold 0.6).
public struct TenantConfiguration: Hashable, Sendable, Codable {
    public struct LLM: Hashable, Sendable, Codable {
        public var url: String
        public var model: String
        public var apiKeyEnv: String?
        /// Generation cap sent with every request (default 400).
        public var maxTokens: Int?
        /// Per request (default 30) and for all attempts at one question (default 60).
        public var timeoutSeconds: Double?
        public var deadlineSeconds: Double?
        /// Attempts on connection errors, 429 and 5xx (default 3; never after a timeout).
        public var maxAttempts: Int?
        /// The LLM tier's own acceptance threshold on the model's confidence (default 0.5).
        public var threshold: Double?
        /// US dollars per million input and output tokens, as decimal text ("0.15"); overrides
        /// the built-in price table for this model.
        public var priceIn: String?
        public var priceOut: String?
        /// Whether the model checks each RAG answer before it resolves (default true): the
        /// verifier's tokens are metered at this model's price (tier `verify`).
        public var verifyAnswers: Bool?

        public init(url: String, model: String, apiKeyEnv: String? = nil) {
            self.url = url
            self.model = model
            self.apiKeyEnv = apiKeyEnv
        }

        enum CodingKeys: String, CodingKey {
            case url, model
            case apiKeyEnv = "api_key_env"
            case maxTokens = "max_tokens"
            case timeoutSeconds = "timeout_seconds"
            case deadlineSeconds = "deadline_seconds"
            case maxAttempts = "max_attempts"
            case threshold
            case priceIn = "price_in"
            case priceOut = "price_out"
            case verifyAnswers = "verify_answers"
        }

        static let keys: Set<String> = [
            "url", "model", "api_key_env", "max_tokens", "timeout_seconds", "deadline_seconds", "max_attempts",
            "threshold", "price_in", "price_out", "verify_answers",
        ]

        /// The tenant's price for its model, when both parts are set and valid.
        public var price: Pricing.Price? {
            guard let priceIn, let input = Decimal(string: priceIn, locale: Locale(identifier: "en_US_POSIX")),
                input >= 0
            else { return nil }
            let output = priceOut.flatMap { Decimal(string: $0, locale: Locale(identifier: "en_US_POSIX")) } ?? 0
            return Pricing.Price(inputPerMillion: input, outputPerMillion: output)
        }
    }

    /// Weights of the RAG confidence (see ``RAGConfidence``), as fitted by `cascade calibrate`.
    public struct Confidence: Hashable, Sendable, Codable {
        public var bias: Double
        public var similarity: Double
        public var margin: Double
        public var agreement: Double
        /// Absent in settings calibrated before the answer checks existed (weight 0 then).
        public var coverage: Double?

        public init(_ model: RAGConfidence) {
            bias = model.bias
            similarity = model.similarityWeight
            margin = model.marginWeight
            agreement = model.agreementWeight
            coverage = model.coverageWeight
        }

        public var model: RAGConfidence {
            RAGConfidence(
                bias: bias, similarityWeight: similarity, marginWeight: margin, agreementWeight: agreement,
                coverageWeight: coverage ?? 0)
        }
    }

    public var rules: String?
    public var threshold: Double?
    public var confidence: Confidence?
    public var llm: LLM?
    /// Settings of the tenant's workflows, by name (their output checks).
    public var workflows: [String: WorkflowSettings]?
    /// Least score of a RAG answer's best quoted fragment (default
    /// ``AnswerQuote/quoteThreshold``; 0 turns the check off).
    public var quoteThreshold: Double?
    /// Whether a RAG answer quoting the passage a customer rejected for the same question is
    /// withheld (``VerdictMemory``; default true). One customer's "not helpful" withholds the
    /// passage for every customer of the tenant asking the same question, until a later verdict
    /// on it says otherwise: a tenant whose customers reject answers carelessly can turn it off.
    public var rememberVerdicts: Bool?

    enum CodingKeys: String, CodingKey {
        case rules, threshold, confidence, llm, workflows
        case quoteThreshold = "quote_threshold"
        case rememberVerdicts = "remember_verdicts"
    }

    public init(rules: String? = nil, threshold: Double? = nil, confidence: Confidence? = nil, llm: LLM? = nil) {
        self.rules = rules
        self.threshold = threshold
        self.confidence = confidence
        self.llm = llm
    }

    /// Writes this configuration to `<directory>/<tenant>.yaml` (atomically; the folder is created).
    public func save(tenant: String, directory: String) throws {
        _ = try Self.validatedName(tenant)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = URL(fileURLWithPath: directory).appendingPathComponent("\(tenant).yaml")
        try Data(yaml().utf8).write(to: path, options: .atomic)
    }

    /// The configuration as YAML, numbers in plain decimal notation (readable, diff-friendly).
    public func yaml() -> String {
        func number(_ x: Double) -> String { String(format: "%.6g", x) }
        func quoted(_ s: String) -> String {
            "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
        }
        var lines: [String] = []
        if let rules { lines.append("rules: \(quoted(rules))") }
        if let threshold { lines.append("threshold: \(number(threshold))") }
        if let quoteThreshold { lines.append("quote_threshold: \(number(quoteThreshold))") }
        if let rememberVerdicts { lines.append("remember_verdicts: \(rememberVerdicts)") }
        if let confidence {
            lines.append("confidence:")
            lines.append("  bias: \(number(confidence.bias))")
            lines.append("  similarity: \(number(confidence.similarity))")
            lines.append("  margin: \(number(confidence.margin))")
            lines.append("  agreement: \(number(confidence.agreement))")
            if let coverage = confidence.coverage { lines.append("  coverage: \(number(coverage))") }
        }
        if let workflows, !workflows.isEmpty {
            lines.append("workflows:")
            for name in workflows.keys.sorted() {
                lines.append("  \(quoted(name)):")
                if let d = workflows[name]?.description { lines.append("    description: \(quoted(d))") }
                if let schema = workflows[name]?.outputSchema { lines.append("    output_schema: \(quoted(schema))") }
            }
        }
        if let llm {
            lines.append("llm:")
            lines.append("  url: \(quoted(llm.url))")
            lines.append("  model: \(quoted(llm.model))")
            if let key = llm.apiKeyEnv { lines.append("  api_key_env: \(quoted(key))") }
            if let v = llm.maxTokens { lines.append("  max_tokens: \(v)") }
            if let v = llm.timeoutSeconds { lines.append("  timeout_seconds: \(number(v))") }
            if let v = llm.deadlineSeconds { lines.append("  deadline_seconds: \(number(v))") }
            if let v = llm.maxAttempts { lines.append("  max_attempts: \(v)") }
            if let v = llm.threshold { lines.append("  threshold: \(number(v))") }
            if let v = llm.priceIn { lines.append("  price_in: \(quoted(v))") }
            if let v = llm.priceOut { lines.append("  price_out: \(quoted(v))") }
            if let v = llm.verifyAnswers { lines.append("  verify_answers: \(v)") }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// A tenant name is also a file name: ASCII letters, digits, '-', '_' and '.', at most 64
    /// characters, not starting with '.'.
    public static func validatedName(_ tenant: String) throws(RuleError) -> String {
        guard
            tenant.unicodeScalars.allSatisfy({
                ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0)
                    || $0 == "-" || $0 == "_" || $0 == "."
            }),
            !tenant.hasPrefix("."), !tenant.isEmpty, tenant.utf8.count <= 64
        else {
            throw RuleError(
                line: nil,
                message:
                    "tenant names may only use ASCII letters, digits, '-', '_' and '.' (at most 64, not starting with '.')"
            )
        }
        return tenant
    }

    /// The tenant's file in `directory`, or an empty configuration when there is none.
    public static func load(tenant: String, directory: String) throws(RuleError) -> TenantConfiguration {
        _ = try validatedName(tenant)
        let path = URL(fileURLWithPath: directory).appendingPathComponent("\(tenant).yaml").path
        // No file means defaults; a file that exists but cannot be read is an error, never a
        // silent default (its escalation rules and threshold would quietly stop applying).
        guard FileManager.default.fileExists(atPath: path) else { return TenantConfiguration() }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw RuleError(line: nil, message: "\(path): cannot read the tenant's settings (permissions?)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw RuleError(line: nil, message: "\(path): the tenant's settings are not valid UTF-8")
        }
        try checkKeys(text, path: path)
        let configuration: TenantConfiguration
        do {
            configuration = try YAMLDecoder().decode(TenantConfiguration.self, from: text)
        } catch {
            throw RuleError(line: nil, message: "\(path): invalid tenant configuration (\(error))")
        }
        for (name, workflow) in configuration.workflows ?? [:] {
            do {
                _ = try workflow.check()
            } catch {
                throw RuleError(line: nil, message: "\(path): workflows.\(name).output_schema: \(error)")
            }
        }
        if let threshold = configuration.threshold, !(0...1).contains(threshold) {
            throw RuleError(line: nil, message: "\(path): threshold must be between 0 and 1")
        }
        if let quoteThreshold = configuration.quoteThreshold, !(0...2).contains(quoteThreshold) {
            throw RuleError(line: nil, message: "\(path): quote_threshold must be between 0 and 2")
        }
        if let llm = configuration.llm {
            if let v = llm.threshold, !(0...1).contains(v) {
                throw RuleError(line: nil, message: "\(path): llm.threshold must be between 0 and 1")
            }
            if let v = llm.maxTokens, !(16...32_768).contains(v) {
                throw RuleError(line: nil, message: "\(path): llm.max_tokens must be 16…32768")
            }
            for (name, value) in [("timeout_seconds", llm.timeoutSeconds), ("deadline_seconds", llm.deadlineSeconds)]
            where value.map({ !($0 > 0 && $0 <= 3600) }) ?? false {
                throw RuleError(line: nil, message: "\(path): llm.\(name) must be above 0 and at most 3600")
            }
            if let v = llm.maxAttempts, !(1...10).contains(v) {
                throw RuleError(line: nil, message: "\(path): llm.max_attempts must be 1…10")
            }
            if llm.priceIn != nil && llm.price == nil || llm.priceOut != nil && llm.priceIn == nil {
                throw RuleError(
                    line: nil,
                    message:
                        "\(path): llm.price_in and llm.price_out are dollars per million tokens as decimal text, e.g. \"0.15\""
                )
            }
        }
        return configuration
    }

    /// Refuses misspelt keys (a `treshold:` would otherwise be ignored), naming the line.
    static func checkKeys(_ text: String, path: String) throws(RuleError) {
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch {
            throw RuleError(line: nil, message: "\(path): not valid YAML (\(error))")
        }
        guard let root else { return }
        guard let mapping = root.mapping else {
            throw RuleError(line: root.mark?.line, message: "\(path): the settings must be a mapping of keys")
        }
        let known: [String: Set<String>] = [
            "confidence": ["bias", "similarity", "margin", "agreement", "coverage"], "llm": LLM.keys,
        ]
        for (key, value) in mapping {
            let name = key.string ?? ""
            guard
                ["rules", "threshold", "quote_threshold", "remember_verdicts", "confidence", "llm", "workflows"]
                    .contains(name)
            else {
                throw RuleError(
                    line: key.mark?.line,
                    message:
                        "\(path): unknown setting `\(name)` (known: rules, threshold, quote_threshold, remember_verdicts, confidence, llm, workflows)"
                )
            }
            if name == "workflows", let workflows = value.mapping {
                for (workflowName, settings) in workflows {
                    guard let inner = settings.mapping else { continue }
                    for (innerKey, _) in inner where !WorkflowSettings.keys.contains(innerKey.string ?? "") {
                        throw RuleError(
                            line: innerKey.mark?.line,
                            message:
                                "\(path): unknown setting `workflows.\(workflowName.string ?? "").\(innerKey.string ?? "")` (known: description, output_schema)"
                        )
                    }
                }
            }
            if let allowed = known[name], let inner = value.mapping {
                for (innerKey, _) in inner where !allowed.contains(innerKey.string ?? "") {
                    throw RuleError(
                        line: innerKey.mark?.line,
                        message:
                            "\(path): unknown setting `\(name).\(innerKey.string ?? "")` (known: \(allowed.sorted().joined(separator: ", ")))"
                    )
                }
            }
        }
    }

    /// The LLM client this tenant uses: its own endpoint, else the `CASCADE_LLM_*` environment.
    public func llmClient(environment: [String: String] = ProcessInfo.processInfo.environment) -> LLMClient? {
        if let llm, let url = URL(string: llm.url) {
            let key = llm.apiKeyEnv.flatMap { environment[$0] }
            var configuration = LLMClient.Configuration(baseURL: url, model: llm.model, apiKey: key)
            if let v = llm.maxTokens { configuration.maxTokens = v }
            if let v = llm.timeoutSeconds { configuration.timeoutSeconds = v }
            if let v = llm.deadlineSeconds { configuration.deadlineSeconds = v }
            if let v = llm.maxAttempts { configuration.maxAttempts = v }
            return LLMClient(configuration: configuration)
        }
        return LLMClient.Configuration.fromEnvironment(environment).map { LLMClient(configuration: $0) }
    }
}
