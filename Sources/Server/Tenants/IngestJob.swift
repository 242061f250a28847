import Foundation

/// A background ingest of uploaded documents, as `GET /v1/jobs/{id}` reports it.
public struct IngestJob: Sendable, Hashable, Codable {
    public enum Status: String, Sendable, Hashable, Codable {
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
    /// Chunks whose text has no vector yet (the rest reuse stored ones); `chunksEmbedded` counts
    /// up to it while the job embeds.
    public var chunksToEmbed: Int = 0
    public var chunksEmbedded: Int = 0
    public var chunksWritten: Int = 0
    public var createdAt: Date
    public var startedAt: Date?
    public var finishedAt: Date?
    public var error: String?
    /// The node was stopped (or killed) before the job finished, and it was run again at start-up.
    public var resumedAfterRestart = false

    /// 0 to 1: parsing is 0, embedding goes to 0.9 as chunks are embedded, writing is 0.9.
    var progress: Double {
        switch (status, phase) {
        case (.succeeded, _): 1
        case (_, "writing"): 0.9
        case (_, "embedding"): chunksToEmbed == 0 ? 0.05 : 0.05 + 0.85 * Double(chunksEmbedded) / Double(chunksToEmbed)
        default: 0
        }
    }

    var json: JSONValue {
        [
            "job_id": .string(id), "tenant": .string(tenant), "status": .string(status.rawValue),
            "phase": .string(phase), "files": .array(files.map { .string($0) }), "documents": .int(documents),
            "chunks_total": .int(chunksTotal), "chunks_to_embed": .int(chunksToEmbed),
            "chunks_embedded": .int(chunksEmbedded), "chunks_written": .int(chunksWritten),
            "progress": .double((progress * 1000).rounded() / 1000),
            "resumed_after_restart": .bool(resumedAfterRestart),
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

    @discardableResult
    func update(_ id: String, _ change: @Sendable (inout IngestJob) -> Void) -> IngestJob? {
        guard var job = jobs[id] else { return nil }
        change(&job)
        jobs[id] = job
        return job
    }

    /// Finishes a job: `change` applied, `persist` run with the result (its record written, its
    /// staging removed), and only then the job shown as finished, so a client that sees it
    /// finished never finds it still staged.
    @discardableResult
    func finish(
        _ id: String, _ change: @Sendable (inout IngestJob) -> Void, persist: @Sendable (IngestJob) -> Void
    ) -> IngestJob? {
        guard var job = jobs[id] else { return nil }
        change(&job)
        persist(job)
        jobs[id] = job
        return job
    }

    /// Lists a job that finished before a restart (read back from its record), oldest first.
    func restore(_ finished: [IngestJob]) {
        for job in finished.sorted(by: { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) }) where jobs[job.id] == nil {
            jobs[job.id] = job
            order.append(job.id)
        }
    }

    func job(_ id: String) -> IngestJob? { jobs[id] }

    /// Newest first.
    func list() -> [IngestJob] { order.reversed().compactMap { jobs[$0] } }

    /// Jobs not finished yet.
    var pending: Int { jobs.values.filter { $0.finishedAt == nil }.count }

    /// Waits until every job submitted so far has finished (shutdown, tests).
    func drain() async { await tail?.value }
}
