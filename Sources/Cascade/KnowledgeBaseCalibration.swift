import Foundation

/// The RAG tier's confidence weights and threshold fitted on a knowledge base's own
/// pseudo-questions (label-free calibration, `SelfCalibration` in the Evaluation module), stored
/// beside the content and valid for one content version.
///
/// What a new tenant gets with no labelled questions: settings written by `cascade calibrate
/// --write-config` (real labels) override it, and `--threshold` overrides its threshold.
public struct KnowledgeBaseCalibration: Codable, Hashable, Sendable {
    /// Version of the question generator and fit: a stored calibration of another version is
    /// recomputed, like one of other content. 2: questions the quote check refuses
    /// (``AnswerQuote/quoteThreshold``) count as refused, as the RAG tier now treats them.
    /// 3: an answer citing another document that holds the answering passage anywhere (a page
    /// shipped in two forms, a section included in several pages) counts as right, and a heading
    /// shared only by one page's forms still gives a question; quote windows keep the example an
    /// introduction leads to (``AnswerQuote``). 4: the margin signal's runner-up and the cited
    /// documents skip twins of a page already counted (``TwinDocuments``). 5: quote windows are
    /// scored with their section heading (``AnswerQuote``), which changes the quotes refused.
    /// 6: a section whose first chunk is too short to be recognised in another document (a
    /// table, a list of names) is recognised by the start of its second chunk too, so an answer
    /// citing the page's other form counts as right. 7: what folding leaves of a contraction
    /// ("aren", "doesn") is a question word, never an unknown subject.
    public static let currentVersion = 7

    public var version: Int
    /// ``KnowledgeBaseStore/contentVersion()`` of the content it was fitted on.
    public var contentVersion: String
    public var threshold: Double
    public var confidence: TenantConfiguration.Confidence
    /// The false-resolution rate the threshold was chosen for, on the pseudo-questions.
    public var target: Double
    public var answerableQuestions: Int
    public var unanswerableQuestions: Int
    /// What the threshold does on the pseudo-questions themselves (optimistic: they are easier
    /// than a customer's questions).
    public var falseResolutionRate: Double
    public var correctAutoResolutionRate: Double

    public init(
        contentVersion: String, threshold: Double, confidence: TenantConfiguration.Confidence, target: Double,
        answerableQuestions: Int, unanswerableQuestions: Int, falseResolutionRate: Double,
        correctAutoResolutionRate: Double
    ) {
        self.version = Self.currentVersion
        self.contentVersion = contentVersion
        self.threshold = threshold
        self.confidence = confidence
        self.target = target
        self.answerableQuestions = answerableQuestions
        self.unanswerableQuestions = unanswerableQuestions
        self.falseResolutionRate = falseResolutionRate
        self.correctAutoResolutionRate = correctAutoResolutionRate
    }

    enum CodingKeys: String, CodingKey {
        case version
        case contentVersion = "content_version"
        case threshold, confidence, target
        case answerableQuestions = "answerable_questions"
        case unanswerableQuestions = "unanswerable_questions"
        case falseResolutionRate = "false_resolution_rate"
        case correctAutoResolutionRate = "correct_auto_resolution_rate"
    }
}
