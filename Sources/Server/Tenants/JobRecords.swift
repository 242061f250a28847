import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Where a tenant's ingest jobs survive a restart, even `kill -9`: an accepted upload is staged
/// with its job record, both on disk, before the 202 goes out; a finished job's record stays
/// readable by its id afterwards.
///
/// - `<uploads>/.incoming/<job_id>/<name>` and `…/job.json`: accepted, not finished. At start-up
///   each is queued again (or, if its file is gone, recorded as failed with the reason).
/// - `<uploads>/.jobs/<job_id>.json`: finished (succeeded or failed).
struct JobRecords: Sendable {
    let uploadsDirectory: String

    var incoming: URL { URL(fileURLWithPath: uploadsDirectory).appendingPathComponent(".incoming") }
    var finishedDirectory: URL { URL(fileURLWithPath: uploadsDirectory).appendingPathComponent(".jobs") }

    /// Job ids are `job_` and 20 lowercase hex digits: nothing else names a file here.
    static func isJobID(_ id: String) -> Bool {
        id.utf8.count == 24 && id.hasPrefix("job_")
            && id.utf8.dropFirst(4).allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }

    static func newJobID() -> String {
        "job_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(20)
    }

    /// Writes the upload and its job record durably; returns the staged file.
    func stage(_ data: Data, job: IngestJob, name: String) throws -> URL {
        let folder = incoming.appendingPathComponent(job.id)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let file = folder.appendingPathComponent(name)
        do {
            try Self.durableWrite(data, to: file)
            // The record last: a folder without one was never acknowledged (no 202 went out).
            try Self.durableWrite(try Self.encoder.encode(job), to: folder.appendingPathComponent("job.json"))
        } catch {
            try? FileManager.default.removeItem(at: folder)
            throw error
        }
        return file
    }

    /// Records `job` as finished and removes its staging folder.
    func finish(_ job: IngestJob) {
        do {
            try FileManager.default.createDirectory(at: finishedDirectory, withIntermediateDirectories: true)
            try Self.durableWrite(
                try Self.encoder.encode(job), to: finishedDirectory.appendingPathComponent("\(job.id).json"))
        } catch {
            // The job's outcome is still in memory; after a restart it would be run again (an
            // ingest of the same bytes changes nothing), so losing this record loses no data.
        }
        try? FileManager.default.removeItem(at: incoming.appendingPathComponent(job.id))
    }

    /// A finished job's record, by id.
    func finished(id: String) -> IngestJob? {
        guard Self.isJobID(id),
            let data = FileManager.default.contents(
                atPath: finishedDirectory.appendingPathComponent("\(id).json").path)
        else { return nil }
        return try? Self.decoder.decode(IngestJob.self, from: data)
    }

    /// The newest finished jobs (by creation), at most `limit`.
    func recentFinished(limit: Int) -> [IngestJob] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: finishedDirectory.path)) ?? []
        let jobs = names.compactMap { name -> IngestJob? in
            guard name.hasSuffix(".json") else { return nil }
            return finished(id: String(name.dropLast(5)))
        }
        return Array(jobs.sorted { ($0.createdAt, $0.id) > ($1.createdAt, $1.id) }.prefix(limit))
    }

    /// What a restart finds staged: jobs to run again (with their files), and folders that were
    /// never acknowledged (removed).
    func staged() -> (resume: [(job: IngestJob, file: URL)], lost: [IngestJob]) {
        let folders = (try? FileManager.default.contentsOfDirectory(atPath: incoming.path)) ?? []
        var resume: [(job: IngestJob, file: URL)] = []
        var lost: [IngestJob] = []
        for folder in folders {
            let path = incoming.appendingPathComponent(folder)
            guard Self.isJobID(folder),
                let data = FileManager.default.contents(atPath: path.appendingPathComponent("job.json").path),
                let job = try? Self.decoder.decode(IngestJob.self, from: data), job.id == folder,
                let name = job.files.first
            else {
                // Staged before a crash but never acknowledged (or left by an older version that
                // kept no record): the client was not told it was accepted.
                try? FileManager.default.removeItem(at: path)
                continue
            }
            let file = path.appendingPathComponent(name)
            if FileManager.default.fileExists(atPath: file.path) {
                resume.append((job, file))
            } else {
                lost.append(job)
            }
        }
        return (resume.sorted { ($0.job.createdAt, $0.job.id) < ($1.job.createdAt, $1.job.id) }, lost)
    }

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }()

    static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }()

    /// Writes `data` to a temporary name, flushes it to disk, renames it over `url` and flushes
    /// the folder: after a crash the file is either whole or absent.
    static func durableWrite(_ data: Data, to url: URL) throws {
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).tmp")
        guard FileManager.default.createFile(atPath: temporary.path, contents: data) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: temporary.path])
        }
        let handle = try FileHandle(forWritingTo: temporary)
        try handle.synchronize()
        try handle.close()
        guard rename(temporary.path, url.path) == 0 else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: url.path])
        }
        let folder = open(url.deletingLastPathComponent().path, O_RDONLY)
        if folder >= 0 {
            fsync(folder)
            close(folder)
        }
    }
}
