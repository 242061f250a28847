/// Progress of an ingest run, reported after each file.
public struct IngestProgress: Sendable {
    public var filesDone: Int
    public var filesTotal: Int
    public var chunksEmbedded: Int
    public var currentSource: String
}
