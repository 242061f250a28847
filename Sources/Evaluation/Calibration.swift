import Cascade
import Foundation
import KnowledgeBase
import Retrieval

/// Fits the RAG tier's confidence to labelled questions and picks the escalation threshold.
///
/// *Calibrated* means: among questions answered with confidence c, about c of them are right.
/// The confidence is a logistic function of retrieval signals (``RAGConfidence``); calibration
/// refits its weights by maximum likelihood (Newton's method, a small ridge penalty for stability)
/// on questions labelled right (an answerable question whose answer would cite a relevant
/// document, see ``RAGAnswer``) or wrong (any other answerable question, and every unanswerable one). The
/// threshold is then the lowest confidence at which the false-resolution rate stays under the
/// target on the calibration half, and is reported on the held-out half it never saw.
public struct Calibration: Sendable {
    /// One labelled question's signals.
    public struct Sample: Sendable, Hashable {
        public var queryID: String
        public var signals: RAGConfidence.Signals
        public var correct: Bool
        /// The answer checks refuse it (not prose, the opposite action): never resolved,
        /// whatever the threshold.
        public var refused: Bool = false

        public init(queryID: String, signals: RAGConfidence.Signals, correct: Bool, refused: Bool = false) {
            self.queryID = queryID
            self.signals = signals
            self.correct = correct
            self.refused = refused
        }
    }

    /// One bin of a reliability table.
    public struct Bin: Sendable, Codable, Hashable {
        public var lower: Double
        public var upper: Double
        public var count: Int
        public var meanConfidence: Double
        public var accuracy: Double

        enum CodingKeys: String, CodingKey {
            case lower, upper, count
            case meanConfidence = "mean_confidence"
            case accuracy
        }
    }

    /// What a threshold does on one set of samples.
    public struct Operating: Sendable, Codable, Hashable {
        public var threshold: Double
        public var questions: Int
        public var resolved: Int
        public var falseResolutionRate: Double
        /// Answerable questions resolved correctly ÷ answerable questions.
        public var correctAutoResolutionRate: Double

        enum CodingKeys: String, CodingKey {
            case threshold, questions, resolved
            case falseResolutionRate = "false_resolution_rate"
            case correctAutoResolutionRate = "correct_auto_resolution_rate"
        }
    }

    /// Signals of every question: answerable ones labelled by their judgements.
    public static func samples(
        dataset: BEIRDataset, unanswerable: [BEIRDataset.Query], retriever: Retriever
    ) async throws -> (samples: [Sample], answerable: Set<String>) {
        var samples: [Sample] = []
        var answerable = Set<String>()
        for query in dataset.judgedQueries {
            answerable.insert(query.id)
            let results = try await retriever.search(query.text, k: 5, mode: .hybrid)
            let selection = RAGAnswer.select(
                question: query.text, results: results,
                terms: results.isEmpty
                    ? nil
                    : try KnownTerms.statistics(
                        query.text, chunks: retriever.indexedChunks, frequency: retriever.chunksMentioning))
            guard let signals = selection.signals else {
                samples.append(
                    Sample(
                        queryID: query.id, signals: .init(topSimilarity: 0, margin: 0, agreement: false), correct: false
                    ))
                continue
            }
            let relevant = dataset.qrels[query.id] ?? [:]
            let cited = selection.cited.map(\.chunk.docID)
            samples.append(
                Sample(
                    queryID: query.id, signals: signals, correct: cited.contains { (relevant[$0] ?? 0) > 0 },
                    refused: selection.refusal != nil))
        }
        for query in unanswerable {
            let results = try await retriever.search(query.text, k: 5, mode: .hybrid)
            let selection = RAGAnswer.select(
                question: query.text, results: results,
                terms: results.isEmpty
                    ? nil
                    : try KnownTerms.statistics(
                        query.text, chunks: retriever.indexedChunks, frequency: retriever.chunksMentioning))
            let signals = selection.signals ?? .init(topSimilarity: 0, margin: 0, agreement: false)
            samples.append(
                Sample(
                    queryID: "unanswerable:" + query.id, signals: signals, correct: false,
                    refused: selection.refusal != nil))
        }
        return (samples, answerable)
    }

    /// Deterministic, stratified half split (calibration, held-out): within right and within
    /// wrong questions, ordered by similarity, they alternate between the halves. Both halves
    /// then hold the hard cases (wrong answers with high similarity); a purely random split of a
    /// hundred questions can put all of them on one side.
    public static func split(_ samples: [Sample]) -> (calibration: [Sample], heldOut: [Sample]) {
        var a: [Sample] = []
        var b: [Sample] = []
        for label in [true, false] {
            let group = samples.filter { $0.correct == label }.sorted {
                $0.signals.topSimilarity != $1.signals.topSimilarity
                    ? $0.signals.topSimilarity > $1.signals.topSimilarity : $0.queryID < $1.queryID
            }
            for (i, sample) in group.enumerated() {
                if i % 2 == 0 { a.append(sample) } else { b.append(sample) }
            }
        }
        return (a, b)
    }

    /// Maximum-likelihood logistic fit of the confidence weights (Newton's method with step
    /// halving: a full step from saturated predictions can overshoot by orders of magnitude, so a
    /// step is shortened until the penalised loss goes down).
    /// - Parameters:
    ///   - ridge: L2 penalty on the weights (not the bias).
    ///   - prior: the weights the penalty pulls toward (0 by default): label-free calibration
    ///     pulls toward the hand-set weights, so noisy pseudo-labels move them only as far as
    ///     the evidence insists.
    public static func fit(_ samples: [Sample], ridge: Double = 0.01, prior: RAGConfidence? = nil) -> RAGConfidence {
        func features(_ s: RAGConfidence.Signals) -> [Double] {
            [1, s.topSimilarity, s.margin, s.agreement ? 1 : 0, s.coverage]
        }
        let n = 5
        let rows = samples.map { (x: features($0.signals), y: $0.correct ? 1.0 : 0.0) }
        func vector(_ m: RAGConfidence) -> [Double] {
            [m.bias, m.similarityWeight, m.marginWeight, m.agreementWeight, m.coverageWeight]
        }
        let center: [Double] = prior.map(vector) ?? [0, 0, 0, 0, 0]
        func loss(_ w: [Double]) -> Double {
            var total = 0.0
            for row in rows {
                let z = zip(w, row.x).reduce(0) { $0 + $1.0 * $1.1 }
                // log(1 + e^z) − y·z, computed without overflow.
                total += (z > 0 ? z + log1p(exp(-z)) : log1p(exp(z))) - row.y * z
            }
            for i in 1..<n { total += 0.5 * ridge * (w[i] - center[i]) * (w[i] - center[i]) }
            return total
        }
        var w: [Double] = prior.map(vector) ?? [-5.0, 9.0, 6.0, 0.8, 0]  // start from the hand-set weights
        var current = loss(w)
        for _ in 0..<100 {
            var gradient = [Double](repeating: 0, count: n)
            var hessian = [[Double]](repeating: [Double](repeating: 0, count: n), count: n)
            for row in rows {
                let z = zip(w, row.x).reduce(0) { $0 + $1.0 * $1.1 }
                let p = 1 / (1 + exp(-z))
                for i in 0..<n {
                    gradient[i] += (p - row.y) * row.x[i]
                    for j in 0..<n { hessian[i][j] += p * (1 - p) * row.x[i] * row.x[j] }
                }
            }
            for i in 1..<n {
                gradient[i] += ridge * (w[i] - center[i])
                hessian[i][i] += ridge
            }
            for i in 0..<n { hessian[i][i] += 1e-6 }
            guard let step = solve(hessian, gradient) else { break }
            var scale = 1.0
            var next = w
            var nextLoss = current
            for _ in 0..<30 {
                next = zip(w, step).map { $0 - scale * $1 }
                nextLoss = loss(next)
                if nextLoss <= current { break }
                scale /= 2
            }
            guard nextLoss <= current else { break }
            let moved = step.map { abs($0) * scale }.max() ?? 0
            w = next
            current = nextLoss
            if moved < 1e-8 { break }
        }
        return RAGConfidence(
            bias: w[0], similarityWeight: w[1], marginWeight: w[2], agreementWeight: w[3], coverageWeight: w[4])
    }

    /// Gaussian elimination with partial pivoting.
    static func solve(_ a: [[Double]], _ b: [Double]) -> [Double]? {
        var m = a
        var v = b
        let n = v.count
        for col in 0..<n {
            guard let pivot = (col..<n).max(by: { abs(m[$0][col]) < abs(m[$1][col]) }), abs(m[pivot][col]) > 1e-12
            else { return nil }
            m.swapAt(col, pivot)
            v.swapAt(col, pivot)
            for row in (col + 1)..<n {
                let f = m[row][col] / m[col][col]
                for k in col..<n { m[row][k] -= f * m[col][k] }
                v[row] -= f * v[col]
            }
        }
        var x = [Double](repeating: 0, count: n)
        for row in stride(from: n - 1, through: 0, by: -1) {
            var s = v[row]
            for k in (row + 1)..<n { s -= m[row][k] * x[k] }
            x[row] = s / m[row][row]
        }
        return x
    }

    /// Reliability table (equal-width bins) and expected calibration error.
    public static func reliability(_ samples: [Sample], model: RAGConfidence, bins: Int = 10) -> (
        table: [Bin], ece: Double
    ) {
        var table: [Bin] = []
        var ece = 0.0
        for b in 0..<bins {
            let lower = Double(b) / Double(bins)
            let upper = Double(b + 1) / Double(bins)
            let members = samples.filter {
                let c = model.confidence($0.signals)
                return c >= lower && (c < upper || (b == bins - 1 && c <= 1))
            }
            guard !members.isEmpty else { continue }
            let mean = members.map { model.confidence($0.signals) }.reduce(0, +) / Double(members.count)
            let accuracy = Double(members.filter(\.correct).count) / Double(members.count)
            table.append(
                Bin(lower: lower, upper: upper, count: members.count, meanConfidence: mean, accuracy: accuracy))
            ece += Double(members.count) / Double(max(samples.count, 1)) * abs(mean - accuracy)
        }
        return (table, ece)
    }

    /// What resolving at `threshold` does on `samples`.
    public static func operating(
        _ samples: [Sample], model: RAGConfidence, threshold: Double, answerable: Set<String>
    ) -> Operating {
        let resolved = samples.filter { !$0.refused && model.confidence($0.signals) >= threshold }
        let wrong = resolved.filter { !$0.correct }.count
        let answerableCount = samples.filter { answerable.contains($0.queryID) }.count
        return Operating(
            threshold: threshold, questions: samples.count, resolved: resolved.count,
            falseResolutionRate: resolved.isEmpty ? 0 : Double(wrong) / Double(resolved.count),
            correctAutoResolutionRate: Double(resolved.filter(\.correct).count) / Double(max(answerableCount, 1)))
    }

    /// The lowest threshold (on a 0.01 grid) such that it and every higher threshold keep the
    /// false-resolution rate on `samples` at most `target`: scanning down from 1.0, the scan stops
    /// at the first threshold that breaks the target, so a lucky dip below a bad region is never
    /// chosen. 1.0 (escalate everything) when even the highest thresholds break it.
    public static func threshold(
        _ samples: [Sample], model: RAGConfidence, target: Double, answerable: Set<String>
    ) -> Double {
        var best = 1.0
        for step in stride(from: 100, through: 1, by: -1) {
            let t = Double(step) / 100
            let point = operating(samples, model: model, threshold: t, answerable: answerable)
            if point.resolved == 0 { continue }
            if point.falseResolutionRate > target { break }
            best = t
        }
        return best
    }
}
