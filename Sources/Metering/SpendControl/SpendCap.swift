import Foundation

/// A ceiling on a tenant's month-to-date model cost (what its tiers cost to run: embeddings and
/// LLM tokens), in the tenant's billing month.
///
/// - `soft`: nothing is stopped; usage and the dashboard show the cap, what is left and the
///   projection, and alerts can be set on a percentage of it.
/// - `hard`: once the cap would be passed, the costly tiers stop, most costly first — the LLM
///   tier, then (with `stops: llm_and_rag`) the RAG tier — and questions go to a person; the
///   ledger row and the answer say why. Rules (free) keep answering. Before a tier runs, its
///   largest possible cost is reserved against the cap, so concurrent requests cannot pass it by
///   more than one request's cost.
public struct SpendCap: Sendable, Hashable {
    public enum Mode: String, Sendable, CaseIterable, Codable {
        case soft, hard
    }

    /// Which tiers a hard cap stops.
    public enum Stops: String, Sendable, CaseIterable, Codable {
        case llm
        case llmAndRAG = "llm_and_rag"
    }

    public var capMicros: Int64
    public var mode: Mode
    public var stops: Stops
    public var updatedAt: Date

    public init(capMicros: Int64, mode: Mode, stops: Stops = .llm, updatedAt: Date) {
        self.capMicros = capMicros
        self.mode = mode
        self.stops = stops
        self.updatedAt = updatedAt
    }

    /// The cap as a decimal string of dollars.
    public var amount: Decimal { Money.dollars(micros: capMicros) }

    /// Whether a hard cap stops `tier` (`llm` and the LLM verifier `verify`, `rag`).
    public func stops(tier: String) -> Bool {
        guard mode == .hard else { return false }
        switch tier {
        case "llm", "verify": return true
        case "rag": return stops == .llmAndRAG
        default: return false
        }
    }

    /// Parses a cap amount in dollars (`200`, `199.99`): positive, at most a billion, whole micro-dollars.
    public static func parseAmount(_ text: String) throws -> Int64 {
        guard let amount = Money.parse(text.trimmingCharacters(in: .whitespaces)), amount > 0,
            amount <= 1_000_000_000
        else {
            throw LedgerError.invalidInput(
                "a spend cap is an amount in dollars above 0, like 200 or 149.50 (got \(text.prefix(40)))")
        }
        let micros = amount * 1_000_000
        guard micros == Decimal(Int64(truncating: NSDecimalNumber(decimal: micros))) else {
            throw LedgerError.invalidInput("a spend cap has at most six decimal places")
        }
        return Int64(truncating: NSDecimalNumber(decimal: micros))
    }
}

/// A tenant's month so far, as the spend controls read it (the same numbers as `GET /v1/usage`).
public struct SpendUsage: Sendable, Hashable {
    /// `2026-12`, in the tenant's billing time zone.
    public var month: String
    public var modelCostMicros: Int64
    /// The month's invoice total so far (null without a plan).
    public var billedAmount: Decimal?
    public var billableResolutions: Int

    public init(month: String, modelCostMicros: Int64, billedAmount: Decimal?, billableResolutions: Int) {
        self.month = month
        self.modelCostMicros = modelCostMicros
        self.billedAmount = billedAmount
        self.billableResolutions = billableResolutions
    }
}
