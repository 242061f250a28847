import Foundation
import Testing

@testable import KnowledgeBase

/// Builds a small, valid one-page PDF whose page shows `lines` of text (Helvetica), with a
/// correct cross-reference table, so the test exercises the real pdftotext.
func makePDF(lines: [String]) -> Data {
    var stream = "BT /F1 12 Tf 72 720 Td 14 TL\n"
    for line in lines { stream += "(\(line)) Tj T*\n" }
    stream += "ET"
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
        "<< /Length \(stream.utf8.count) >>\nstream\n\(stream)\nendstream",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    var pdf = "%PDF-1.4\n"
    var offsets: [Int] = []
    for (i, body) in objects.enumerated() {
        offsets.append(pdf.utf8.count)
        pdf += "\(i + 1) 0 obj\n\(body)\nendobj\n"
    }
    let xref = pdf.utf8.count
    pdf += "xref\n0 \(objects.count + 1)\n0000000000 65535 f \n"
    for offset in offsets { pdf += String(format: "%010d 00000 n \n", offset) }
    pdf += "trailer\n<< /Size \(objects.count + 1) /Root 1 0 R >>\nstartxref\n\(xref)\n%%EOF\n"
    return Data(pdf.utf8)
}

@Suite("PDF loader", .enabled(if: ExtractionTool.find("pdftotext") != nil, "needs poppler-utils (tools/setup)"))
struct PDFLoaderTests {
    @Test("text is extracted from a real PDF with pdftotext")
    func extractsText() throws {
        let dir = try TemporaryDirectory()
        let file = try dir.write(
            "manual.pdf", makePDF(lines: ["Resetting the widget", "Hold the button for ten seconds."]))
        let docs = try PDFLoader().load(
            try Data(contentsOf: file), context: LoadContext(fileURL: file, relativePath: "manual.pdf"))
        let text = try #require(docs.first?.text)
        #expect(text.contains("Resetting the widget"))
        #expect(text.contains("Hold the button for ten seconds."))
        #expect(docs.first?.metadata["format"] == "pdf")
    }

    @Test("a damaged PDF is reported, not crashed on")
    func damaged() throws {
        let dir = try TemporaryDirectory()
        let file = try dir.write("broken.pdf", Data("%PDF-1.4\nthis is not really a pdf".utf8))
        #expect(throws: IngestError.self) {
            try PDFLoader().load(
                try Data(contentsOf: file), context: LoadContext(fileURL: file, relativePath: "broken.pdf"))
        }
        let notPDF = try dir.write("fake.pdf", Data("hello".utf8))
        #expect(throws: IngestError.malformed(source: "fake.pdf", line: nil, reason: "not a PDF file (no %PDF header)"))
        {
            try PDFLoader().load(
                try Data(contentsOf: notPDF), context: LoadContext(fileURL: notPDF, relativePath: "fake.pdf"))
        }
    }
}
