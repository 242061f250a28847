import Embeddings
import Synchronization

/// Vectors of sentence windows already embedded, shared by every question of the process.
///
/// Support questions cluster on a few popular pages, so the windows ``AnswerQuote`` embeds for one
/// question are mostly the windows of the next one; embedding them again would cost about as much
/// as the rest of a RAG answer. Vectors are deterministic per model (``Embedder``'s contract), so
/// a cached vector is exactly the one the model would return and answers do not depend on what is
/// cached; only the metered tokens do (what was really embedded).
///
/// Bounded: when full, the oldest entries go first (first in, first out; a window used again is
/// simply embedded again later).
final class WindowVectorCache: Sendable {
    private struct State {
        var vectors: [Key: [Float]] = [:]
        var order: [Key] = []
        var head = 0
    }

    struct Key: Hashable {
        var model: String
        var text: String
    }

    let capacity: Int
    private let state = Mutex(State())

    init(capacity: Int) {
        precondition(capacity > 0, "a cache holds at least one vector")
        self.capacity = capacity
    }

    /// The process-wide cache: 20,000 windows of a 384-dimension model are about 31 MB.
    static let shared = WindowVectorCache(capacity: 20_000)

    func vector(model: String, text: String) -> [Float]? {
        state.withLock { $0.vectors[Key(model: model, text: text)] }
    }

    func store(model: String, text: String, vector: [Float]) {
        let key = Key(model: model, text: text)
        state.withLock { state in
            guard state.vectors[key] == nil else { return }
            if state.vectors.count >= capacity {
                let oldest = state.order[state.head]
                state.vectors[oldest] = nil
                state.order[state.head] = key
                state.head = (state.head + 1) % capacity
            } else {
                state.order.append(key)
            }
            state.vectors[key] = vector
        }
    }

    var count: Int { state.withLock { $0.vectors.count } }
}
