import Embeddings
import Foundation
import KnowledgeBase
import Metering

/// Everything the service keeps in memory for one tenant: its knowledge base (store and index,
/// shared by all of its requests) and its ingest jobs.
final class TenantRuntime: Sendable {
    let tenant: String
    let knowledgeBase: TenantKnowledgeBase
    let jobs = JobQueue()
    let uploadsDirectory: String
    /// Dates the jobs.
    let clock: WallClock
    /// Shared by every tenant of the service: how many ingest jobs parse and embed at once.
    let ingestSlots: AsyncSemaphore

    init(
        tenant: String, knowledgeBase: TenantKnowledgeBase, uploadsDirectory: String, clock: WallClock = .system,
        ingestSlots: AsyncSemaphore = AsyncSemaphore(limit: 2)
    ) {
        self.tenant = tenant
        self.clock = clock
        self.ingestSlots = ingestSlots
        self.knowledgeBase = knowledgeBase
        self.uploadsDirectory = uploadsDirectory
    }

    /// The collection uploaded documents belong to.
    static let uploadsCollection = "uploads"

    /// Queues the ingest of a document already written to `staged` (named `name` in citations).
    func submitUpload(staged: URL, name: String) async -> IngestJob {
        let job = IngestJob(
            id: "job_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(20),
            tenant: tenant, status: .queued, phase: "queued", files: [name], createdAt: clock.now())
        let jobs = self.jobs
        let knowledgeBase = self.knowledgeBase
        let uploads = self.uploadsDirectory
        let clock = self.clock
        let slots = self.ingestSlots
        await jobs.submit(job) {
            // Many tenants uploading at once queue here instead of all embedding at once (which
            // put ~160 threads into BLAS and crashed the server; see BLASCallLimit).
            await slots.withSlot {
                await Self.run(
                    job.id, staged: staged, name: name, jobs: jobs, knowledgeBase: knowledgeBase, uploads: uploads,
                    clock: clock)
            }
        }
        return job
    }

    private static func run(
        _ id: String, staged: URL, name: String, jobs: JobQueue, knowledgeBase: TenantKnowledgeBase, uploads: String,
        clock: WallClock
    ) async {
        await jobs.update(id) {
            $0.status = .running
            $0.phase = "parsing"
            $0.startedAt = clock.now()
        }
        do {
            let store = try knowledgeBase.storeForWriting()
            let embedder = knowledgeBase.embedder
            let ingestor = Ingestor(store: store, embedder: embedder)
            let collection = uploadsCollection
            let (documents, data) = try ingestor.load(staged, relativePath: name, collection: collection)
            guard !documents.isEmpty else { throw IngestError.noContent(source: "\(collection)/\(name)") }
            let contentHash = SHA256.hex(data)
            let prepared = documents.map { document in
                ingestor.prepare(
                    document, collection: collection,
                    contentHash: Ingestor.fingerprint(
                        document, fileHash: contentHash, relativePath: name, documentsInFile: documents.count),
                    byteSize: data.count)
            }
            let total = prepared.reduce(0) { $0 + $1.chunks.count }
            await jobs.update(id) {
                $0.phase = "embedding"
                $0.documents = prepared.count
                $0.chunksTotal = total
            }
            let (vectors, embedded) = try await ingestor.embedMissing(prepared)
            await jobs.update(id) {
                $0.phase = "writing"
                $0.chunksEmbedded = total
            }
            let applied = try await knowledgeBase.commit(
                KnowledgeBaseChanges(writes: prepared), vectors: vectors, model: embedder)
            // Keep the document as received, under its name, once it is searchable.
            let kept = URL(fileURLWithPath: uploads).appendingPathComponent(name)
            try? FileManager.default.createDirectory(atPath: uploads, withIntermediateDirectories: true)
            try? FileManager.default.removeItem(at: kept)
            try? FileManager.default.moveItem(at: staged, to: kept)
            try? FileManager.default.removeItem(at: staged.deletingLastPathComponent())
            await jobs.update(id) {
                $0.status = .succeeded
                $0.phase = "done"
                $0.chunksWritten = applied.chunksWritten
                $0.chunksEmbedded = embedded
                $0.finishedAt = clock.now()
            }
        } catch {
            try? FileManager.default.removeItem(at: staged.deletingLastPathComponent())
            let message = String(describing: error)
            await jobs.update(id) {
                $0.status = .failed
                $0.phase = "done"
                $0.error = message
                $0.finishedAt = clock.now()
            }
        }
    }
}
