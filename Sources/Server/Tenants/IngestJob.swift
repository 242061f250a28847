import Foundation

/// A background ingest of uploaded documents, as `GET /v1/jobs/{id}` reports it.
public struct IngestJob: Sendable, Hashable {
    public enum Status: String, Sendable, Hashable {
        case queued, running, succeeded, failed
    }

    public var id: String
    public var tenant: String
    public var status: Status
    /// What the job is doing now: `queued`, `parsing`, `embedding`, `writing`, `done`.
    public var phase: String
    public var files: [String]
    public var documents: Int = 0
    public var chunksTotal: Int = 0
    public var chunksEmbedded: Int = 0
    public var chunksWritten: Int = 0
    public var createdAt: Date
    public var startedAt: Date?
    public var finishedAt: Date?
    public var error: String?

    var json: JSONValue {
        [
            "job_id": .string(id), "tenant": .string(tenant), "status": .string(status.rawValue),
            "phase": .string(phase), "files": .array(files.map { .string($0) }), "documents": .int(documents),
            "chunks_total": .int(chunksTotal), "chunks_embedded": .int(chunksEmbedded),
            "chunks_written": .int(chunksWritten),
            "progress": .double(
                status == .succeeded ? 1 : chunksTotal == 0 ? 0 : Double(chunksEmbedded) / Double(chunksTotal) * 0.9),
            "created_at": .timestamp(createdAt), "started_at": .timestamp(startedAt),
            "finished_at": .timestamp(finishedAt), "error": .string(error),
        ]
    }
}

/// One tenant's ingest jobs: run one at a time, in the order they were submitted.
actor JobQueue {
    private var jobs: [String: IngestJob] = [:]
    private var order: [String] = []
    private var tail: Task<Void, Never>?

    /// Registers `job` and runs `work` after every job submitted before it.
    func submit(_ job: IngestJob, work: @escaping @Sendable () async -> Void) {
        jobs[job.id] = job
        order.append(job.id)
        if order.count > 200, let oldest = order.first, jobs[oldest]?.finishedAt != nil {
            order.removeFirst()
            jobs[oldest] = nil
        }
        let previous = tail
        tail = Task {
            await previous?.value
            await work()
        }
    }

    func update(_ id: String, _ change: @Sendable (inout IngestJob) -> Void) {
        guard var job = jobs[id] else { return }
        change(&job)
        jobs[id] = job
    }

    func job(_ id: String) -> IngestJob? { jobs[id] }

    /// Newest first.
    func list() -> [IngestJob] { order.reversed().compactMap { jobs[$0] } }

    /// Jobs not finished yet.
    var pending: Int { jobs.values.filter { $0.finishedAt == nil }.count }

    /// Waits until every job submitted so far has finished (shutdown, tests).
    func drain() async { await tail?.value }
}
