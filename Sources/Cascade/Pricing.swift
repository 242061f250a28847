import Foundation

/// Model prices, in US dollars per million tokens, and the one rounding rule for costs.
///
/// Rounding rule: a cost in micro-dollars is `tokens × USD-per-million-tokens` (exactly: one
/// USD per million tokens is one micro-dollar per token), computed in `Decimal` and rounded
/// **up** to a whole micro-dollar per attempt, so the ledger never under-states what a model
/// call cost. Zero tokens cost zero.
public struct Pricing: Hashable, Sendable {
    public struct Price: Hashable, Sendable {
        public var inputPerMillion: Decimal
        public var outputPerMillion: Decimal

        public init(inputPerMillion: Decimal, outputPerMillion: Decimal = 0) {
            self.inputPerMillion = inputPerMillion
            self.outputPerMillion = outputPerMillion
        }
    }

    public var prices: [String: Price]

    public init(prices: [String: Price]) { self.prices = prices }

    /// Defaults: local embedding models are priced like a hosted small embedding model
    /// ($0.02/M tokens) so RAG has an honest non-zero cost; the hashing embedder is free.
    public static let standard = Pricing(prices: [
        "sentence-transformers/all-MiniLM-L6-v2": Price(inputPerMillion: Decimal(string: "0.02")!),
        "hashing-v1-384": Price(inputPerMillion: 0),
        "gpt-4o-mini": Price(inputPerMillion: Decimal(string: "0.15")!, outputPerMillion: Decimal(string: "0.60")!),
        "gpt-4o": Price(inputPerMillion: Decimal(string: "2.50")!, outputPerMillion: Decimal(string: "10.00")!),
    ])

    /// Cost in micro-dollars of `tokensIn` input and `tokensOut` output tokens of `model`
    /// (unknown models cost 0 and should be added to the table).
    public func costMicros(model: String, tokensIn: Int, tokensOut: Int = 0) -> Int64 {
        guard let price = prices[model] else { return 0 }
        return Self.roundUp(price.inputPerMillion * Decimal(tokensIn) + price.outputPerMillion * Decimal(tokensOut))
    }

    /// Rounds a non-negative micro-dollar amount up to an integer.
    static func roundUp(_ micros: Decimal) -> Int64 {
        var value = micros
        var rounded = Decimal()
        NSDecimalRound(&rounded, &value, 0, .up)
        return NSDecimalNumber(decimal: rounded).int64Value
    }
}
