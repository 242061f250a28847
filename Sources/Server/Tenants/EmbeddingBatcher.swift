import Embeddings
import Synchronization

/// Embeds concurrent requests' queries together: while one batch is being embedded, the queries
/// that arrive wait and go in the next batch, up to `maxBatch` at a time. A lone query starts at
/// once (no waiting window), so batching only happens under load, where one matrix product over
/// several queries costs less than one per query (measured by `tools/bench/serve`).
final class EmbeddingBatcher: Sendable {
    private struct Pending {
        var text: String
        var continuation: CheckedContinuation<[Float], any Error>
    }

    private struct State {
        var pending: [Pending] = []
        var running = false
    }

    let embedder: any Embedder
    let maxBatch: Int
    private let state = Mutex(State())

    init(embedder: any Embedder, maxBatch: Int = 32) {
        self.embedder = embedder
        self.maxBatch = maxBatch
    }

    func embed(_ text: String) async throws -> [Float] {
        try await withCheckedThrowingContinuation { continuation in
            let lead = state.withLock { state in
                state.pending.append(Pending(text: text, continuation: continuation))
                if state.running { return false }
                state.running = true
                return true
            }
            if lead { Task { await self.drain() } }
        }
    }

    private func drain() async {
        while true {
            let batch = state.withLock { state -> [Pending] in
                guard !state.pending.isEmpty else {
                    state.running = false
                    return []
                }
                let batch = Array(state.pending.prefix(maxBatch))
                state.pending.removeFirst(batch.count)
                return batch
            }
            guard !batch.isEmpty else { return }
            do {
                let vectors = try await embedder.embed(batch.map(\.text))
                guard vectors.count == batch.count else { throw EmbeddingError.emptyResult(model: embedder.modelID) }
                for (item, vector) in zip(batch, vectors) { item.continuation.resume(returning: vector) }
            } catch {
                for item in batch { item.continuation.resume(throwing: error) }
            }
        }
    }
}
