import Foundation

/// The hyper-parameters of a BERT encoder, read from the model's `config.json`.
public struct BertConfiguration: Hashable, Sendable, Decodable {
    public var vocabSize: Int
    public var hiddenSize: Int
    public var numHiddenLayers: Int
    public var numAttentionHeads: Int
    public var intermediateSize: Int
    public var maxPositionEmbeddings: Int
    public var typeVocabSize: Int
    public var layerNormEps: Double
    public var hiddenAct: String

    enum CodingKeys: String, CodingKey {
        case vocabSize = "vocab_size"
        case hiddenSize = "hidden_size"
        case numHiddenLayers = "num_hidden_layers"
        case numAttentionHeads = "num_attention_heads"
        case intermediateSize = "intermediate_size"
        case maxPositionEmbeddings = "max_position_embeddings"
        case typeVocabSize = "type_vocab_size"
        case layerNormEps = "layer_norm_eps"
        case hiddenAct = "hidden_act"
    }

    public var headSize: Int { hiddenSize / numAttentionHeads }

    public static func load(from url: URL) throws(EmbeddingError) -> BertConfiguration {
        guard let data = try? Data(contentsOf: url) else {
            throw .modelUnavailable(model: url.path, reason: "cannot read \(url.lastPathComponent)")
        }
        guard let config = try? JSONDecoder().decode(BertConfiguration.self, from: data) else {
            throw .invalidModelFile(path: url.path, reason: "not a BERT config.json")
        }
        guard config.hiddenSize > 0, config.numAttentionHeads > 0, config.hiddenSize % config.numAttentionHeads == 0,
            config.hiddenAct == "gelu"
        else {
            throw .invalidModelFile(path: url.path, reason: "unsupported BERT shape or activation \(config.hiddenAct)")
        }
        return config
    }
}
