import Testing

@testable import Server

/// Citations map to MCP resource URIs and back without loss, and nothing else parses as one.
@Suite struct DocumentURITests {
    @Test(
        arguments: [
            ("guides/refunds.md", nil), ("guides/refunds.md", "refund-window"),
            ("https://help.example.com/hc/en-us/articles/360-Refunds?x=1", nil), ("dossier/Ünïcode file.md", "Ab #c"),
        ] as [(String, String?)])
    func roundTrips(source: String, anchor: String?) throws {
        let uri = DocumentURI(source: source, anchor: anchor)
        let parsed = try #require(DocumentURI(parsing: uri.string))
        #expect(parsed == uri)
        #expect(uri.string.hasPrefix("cascade://documents/"))
        #expect(!uri.string.dropFirst("cascade://".count).contains(" "))
    }

    @Test func pathsStayReadable() {
        #expect(
            DocumentURI(source: "guides/refunds.md", anchor: "window").string
                == "cascade://documents/guides/refunds.md#window")
    }

    @Test(arguments: [
        "file:///etc/passwd", "cascade://documents/", "cascade://documents/%ZZ", "cascade://documents/a%00b",
        "cascade://other/x.md", "cascade://documents/a.md#%0A",
    ])
    func refusesWhatItDidNotWrite(text: String) {
        #expect(DocumentURI(parsing: text) == nil)
    }
}
