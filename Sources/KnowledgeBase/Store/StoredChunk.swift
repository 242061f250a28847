/// A chunk as stored, joined with the document it belongs to: everything a result needs to cite.
public struct StoredChunk: Hashable, Sendable, Codable {
    public var chunkID: Int64
    public var docID: String
    public var collection: String
    public var source: String
    public var title: String
    public var heading: String
    public var anchor: String?
    public var text: String
    public var startOffset: Int
    public var endOffset: Int

    public init(
        chunkID: Int64, docID: String, collection: String, source: String, title: String, heading: String,
        anchor: String?, text: String, startOffset: Int, endOffset: Int
    ) {
        self.chunkID = chunkID
        self.docID = docID
        self.collection = collection
        self.source = source
        self.title = title
        self.heading = heading
        self.anchor = anchor
        self.text = text
        self.startOffset = startOffset
        self.endOffset = endOffset
    }

    /// `source#anchor` when the chunk's section has an anchor, else the source.
    public var citation: String {
        guard let anchor, !anchor.isEmpty else { return source }
        return "\(source)#\(anchor)"
    }
}
