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

    /// Where jobs are staged and their outcomes kept (see ``JobRecords``).
    var records: JobRecords { JobRecords(uploadsDirectory: uploadsDirectory) }

    /// Stages an upload durably (its bytes and its job record) and queues its ingest: once this
    /// returns, a restart resumes the job instead of losing it.
    func acceptUpload(_ data: Data, name: String) async throws -> IngestJob {
        let job = IngestJob(
            id: JobRecords.newJobID(), tenant: tenant, status: .queued, phase: "queued", files: [name],
            createdAt: clock.now())
        let staged = try records.stage(data, job: job, name: name)
        await submit(job, staged: staged)
        return job
    }

    /// Queues again what a previous run of the node accepted and did not finish, lists the jobs it
    /// finished, and records as failed the staged jobs whose file is gone. Returns how many were
    /// queued again.
    @discardableResult
    func resumeStagedJobs() async -> Int {
        let records = self.records
        await jobs.restore(records.recentFinished(limit: 200))
        let (resume, lost) = records.staged()
        for var job in lost {
            job.status = .failed
            job.phase = "done"
            job.error = "the uploaded file was missing when the node restarted; upload it again"
            job.resumedAfterRestart = true
            job.finishedAt = clock.now()
            records.finish(job)
            await jobs.restore([job])
        }
        for (staged, file) in resume {
            var job = staged
            job.status = .queued
            job.phase = "queued"
            job.resumedAfterRestart = true
            await submit(job, staged: file)
        }
        return resume.count
    }

    /// A job by id: one of this run's, or a finished one's record.
    func job(_ id: String) async -> IngestJob? {
        if let job = await jobs.job(id) { return job }
        return records.finished(id: id)
    }

    private func submit(_ job: IngestJob, staged: URL) async {
        let name = job.files.first ?? staged.lastPathComponent
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
            let (vectors, embedded) = try await ingestor.embedMissing(prepared) { done, missing in
                await jobs.update(id) {
                    $0.chunksToEmbed = missing
                    $0.chunksEmbedded = done
                }
            }
            await jobs.update(id) {
                $0.phase = "writing"
                $0.chunksEmbedded = embedded
            }
            let applied = try await knowledgeBase.commit(
                KnowledgeBaseChanges(writes: prepared), vectors: vectors, model: embedder)
            // Keep the document as received, under its name, once it is searchable.
            let kept = URL(fileURLWithPath: uploads).appendingPathComponent(name)
            try? FileManager.default.createDirectory(atPath: uploads, withIntermediateDirectories: true)
            try? FileManager.default.removeItem(at: kept)
            try? FileManager.default.moveItem(at: staged, to: kept)
            let now = clock.now()
            await jobs.finish(id) {
                $0.status = .succeeded
                $0.phase = "done"
                $0.chunksWritten = applied.chunksWritten
                $0.chunksEmbedded = embedded
                $0.finishedAt = now
            } persist: {
                JobRecords(uploadsDirectory: uploads).finish($0)
            }
        } catch {
            let message = String(describing: error)
            let now = clock.now()
            await jobs.finish(id) {
                $0.status = .failed
                $0.phase = "done"
                $0.error = message
                $0.finishedAt = now
            } persist: {
                JobRecords(uploadsDirectory: uploads).finish($0)
            }
        }
    }
}
