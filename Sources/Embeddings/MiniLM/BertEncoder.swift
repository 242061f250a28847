import CBLAS
import CKernels
import Foundation

/// The BERT forward pass on BLAS: embeddings + LayerNorm, then per layer multi-head
/// self-attention and a GELU feed-forward block, each with a residual and LayerNorm; then mean
/// pooling over each sequence's tokens and L2 normalisation.
///
/// Sequences of a batch are *packed*, not padded: the token rows of all sequences are stacked
/// into one matrix, so every dense layer is a single `sgemm` over exactly the real tokens and no
/// work is spent on padding; attention, the only step that mixes tokens, runs per sequence on
/// its own rows, so no padding mask is needed either. Weights are immutable after loading, so
/// one encoder serves any number of concurrent callers (each call allocates its own buffers).
public final class BertEncoder: @unchecked Sendable {
    /// How the dense layers multiply: `f32` (exact, BLAS sgemm) or `int8` (weights quantised per
    /// output channel at load, activations per row, int32 accumulation; AVX-512 VNNI when present).
    /// Attention, LayerNorm, GELU and pooling stay f32 in both.
    public enum Precision: String, Sendable, CaseIterable {
        case f32, int8
    }

    /// A weight matrix quantised and packed for ``ck_gemm_u8s8``.
    struct QuantizedWeight {
        var packed: [Int8]
        var scales: [Float]
        var sums: [Int32]

        init(_ weight: UnsafeBufferPointer<Float>, outputs: Int, inputs: Int) {
            packed = [Int8](repeating: 0, count: outputs * inputs)
            scales = [Float](repeating: 0, count: outputs)
            sums = [Int32](repeating: 0, count: outputs)
            let status = ck_pack_weights_s8(weight.baseAddress!, outputs, inputs, &packed, &scales, &sums)
            precondition(status == 0, "int8 packing needs outputs % 16 == 0 and inputs % 4 == 0")
        }
    }

    // Safe to share: every stored property is immutable after init, and the weight buffers it
    // points into (the memory-mapped file and the arrays below) are never written again.
    public let configuration: BertConfiguration
    public let precision: Precision
    private let file: SafeTensorsFile
    private let wordEmbeddings: UnsafeBufferPointer<Float>
    private let positionEmbeddings: UnsafeBufferPointer<Float>
    private let tokenTypeEmbeddings: UnsafeBufferPointer<Float>
    private let embeddingNorm: (gamma: UnsafeBufferPointer<Float>, beta: UnsafeBufferPointer<Float>)
    private let layers: [Layer]

    struct Layer {
        /// Query, key and value projections stacked into one [3·hidden × hidden] matrix, so the
        /// three projections are one `sgemm`.
        var qkvWeight: [Float]
        var qkvBias: [Float]
        var attentionOutWeight: UnsafeBufferPointer<Float>
        var attentionOutBias: UnsafeBufferPointer<Float>
        var attentionNorm: (gamma: UnsafeBufferPointer<Float>, beta: UnsafeBufferPointer<Float>)
        var intermediateWeight: UnsafeBufferPointer<Float>
        var intermediateBias: UnsafeBufferPointer<Float>
        var outputWeight: UnsafeBufferPointer<Float>
        var outputBias: UnsafeBufferPointer<Float>
        var outputNorm: (gamma: UnsafeBufferPointer<Float>, beta: UnsafeBufferPointer<Float>)
        /// The four dense layers quantised (int8 precision only).
        var quantized:
            (
                qkv: QuantizedWeight, attentionOut: QuantizedWeight, intermediate: QuantizedWeight,
                output: QuantizedWeight
            )?
    }

    /// Loads the encoder from a safetensors file, checking every tensor's presence, dtype and shape.
    public init(configuration c: BertConfiguration, weights file: SafeTensorsFile, precision: Precision = .f32)
        throws(EmbeddingError)
    {
        self.configuration = c
        self.precision = precision
        self.file = file
        let h = c.hiddenSize
        // Some exports prefix tensor names with "bert."; accept both.
        let prefix = file.tensors["embeddings.word_embeddings.weight"] == nil ? "bert." : ""
        func t(_ name: String, _ shape: [Int]) throws(EmbeddingError) -> UnsafeBufferPointer<Float> {
            try file.floats(prefix + name, shape: shape)
        }
        wordEmbeddings = try t("embeddings.word_embeddings.weight", [c.vocabSize, h])
        positionEmbeddings = try t("embeddings.position_embeddings.weight", [c.maxPositionEmbeddings, h])
        tokenTypeEmbeddings = try t("embeddings.token_type_embeddings.weight", [c.typeVocabSize, h])
        embeddingNorm = (try t("embeddings.LayerNorm.weight", [h]), try t("embeddings.LayerNorm.bias", [h]))
        var layers: [Layer] = []
        for i in 0..<c.numHiddenLayers {
            let p = "encoder.layer.\(i)."
            let q = try t(p + "attention.self.query.weight", [h, h])
            let k = try t(p + "attention.self.key.weight", [h, h])
            let v = try t(p + "attention.self.value.weight", [h, h])
            let qb = try t(p + "attention.self.query.bias", [h])
            let kb = try t(p + "attention.self.key.bias", [h])
            let vb = try t(p + "attention.self.value.bias", [h])
            layers.append(
                Layer(
                    qkvWeight: Array(q) + Array(k) + Array(v), qkvBias: Array(qb) + Array(kb) + Array(vb),
                    attentionOutWeight: try t(p + "attention.output.dense.weight", [h, h]),
                    attentionOutBias: try t(p + "attention.output.dense.bias", [h]),
                    attentionNorm: (
                        try t(p + "attention.output.LayerNorm.weight", [h]),
                        try t(p + "attention.output.LayerNorm.bias", [h])
                    ),
                    intermediateWeight: try t(p + "intermediate.dense.weight", [c.intermediateSize, h]),
                    intermediateBias: try t(p + "intermediate.dense.bias", [c.intermediateSize]),
                    outputWeight: try t(p + "output.dense.weight", [h, c.intermediateSize]),
                    outputBias: try t(p + "output.dense.bias", [h]),
                    outputNorm: (try t(p + "output.LayerNorm.weight", [h]), try t(p + "output.LayerNorm.bias", [h]))
                ))
        }
        if precision == .int8 {
            guard h % 16 == 0, c.intermediateSize % 16 == 0 else {
                throw .invalidModelFile(path: "config.json", reason: "int8 needs hidden sizes divisible by 16")
            }
            for i in layers.indices {
                let layer = layers[i]
                let qkv = layer.qkvWeight.withUnsafeBufferPointer { QuantizedWeight($0, outputs: 3 * h, inputs: h) }
                layers[i].quantized = (
                    qkv, QuantizedWeight(layer.attentionOutWeight, outputs: h, inputs: h),
                    QuantizedWeight(layer.intermediateWeight, outputs: c.intermediateSize, inputs: h),
                    QuantizedWeight(layer.outputWeight, outputs: h, inputs: c.intermediateSize)
                )
            }
        }
        self.layers = layers
    }

    /// Mean-pooled, L2-normalised sentence vectors for already tokenised sequences (each
    /// including `[CLS]`/`[SEP]`, at most `maxPositionEmbeddings` long).
    public func encode(_ sequences: [[Int32]]) -> [[Float]] {
        let c = configuration
        let h = c.hiddenSize
        let lengths = sequences.map { min($0.count, c.maxPositionEmbeddings) }
        let total = lengths.reduce(0, +)
        guard total > 0 else { return sequences.map { _ in [Float](repeating: 0, count: h) } }
        var starts: [Int] = []
        var running = 0
        for length in lengths {
            starts.append(running)
            running += length
        }

        var x = [Float](repeating: 0, count: total * h)
        x.withUnsafeMutableBufferPointer { x in
            for (s, sequence) in sequences.enumerated() {
                for position in 0..<lengths[s] {
                    let id = Int(sequence[position])
                    let tokenID = id >= 0 && id < c.vocabSize ? id : 0
                    let row = x.baseAddress! + (starts[s] + position) * h
                    let word = wordEmbeddings.baseAddress! + tokenID * h
                    let pos = positionEmbeddings.baseAddress! + position * h
                    let type = tokenTypeEmbeddings.baseAddress!
                    for j in 0..<h { row[j] = word[j] + pos[j] + type[j] }
                }
            }
            Self.layerNorm(
                x, rows: total, width: h, gamma: embeddingNorm.gamma, beta: embeddingNorm.beta,
                eps: Float(c.layerNormEps))
        }

        var qkv = [Float](repeating: 0, count: total * 3 * h)
        var context = [Float](repeating: 0, count: total * h)
        var projected = [Float](repeating: 0, count: total * h)
        var intermediate = [Float](repeating: 0, count: total * c.intermediateSize)
        let eps = Float(c.layerNormEps)
        let heads = c.numAttentionHeads
        let headSize = c.headSize
        let scale = 1 / Float(headSize).squareRoot()

        for layer in layers {
            // Q, K, V for all tokens at once.
            layer.qkvWeight.withUnsafeBufferPointer { w in
                Self.linear(
                    x, rows: total, inputs: h, weight: w, quantized: layer.quantized?.qkv, outputs: 3 * h, into: &qkv)
            }
            layer.qkvBias.withUnsafeBufferPointer { bias in
                let b = SharedFloats(bias)
                Self.rowwise(&qkv, rows: total, width: 3 * h) { range, start in
                    ck_add_bias_rows(start, range.count, 3 * h, b.pointer)
                }
            }
            // Attention, per sequence and head, on the sequence's own rows.
            qkv.withUnsafeBufferPointer { qkv in
                context.withUnsafeMutableBufferPointer { context in
                    Self.attention(
                        qkv: qkv.baseAddress!, context: context.baseAddress!, starts: starts, lengths: lengths,
                        hidden: h, heads: heads, headSize: headSize, scale: scale)
                }
            }
            Self.linear(
                context, rows: total, inputs: h, weight: layer.attentionOutWeight,
                quantized: layer.quantized?.attentionOut, outputs: h, into: &projected)
            Self.addAndNormalize(
                &x, projected, bias: layer.attentionOutBias, rows: total, width: h, norm: layer.attentionNorm, eps: eps)

            Self.linear(
                x, rows: total, inputs: h, weight: layer.intermediateWeight, quantized: layer.quantized?.intermediate,
                outputs: c.intermediateSize, into: &intermediate)
            let intermediateBias = SharedFloats(layer.intermediateBias)
            let intermediateWidth = c.intermediateSize
            Self.rowwise(&intermediate, rows: total, width: intermediateWidth) { range, start in
                ck_bias_gelu_rows(start, range.count, intermediateWidth, intermediateBias.pointer)
            }
            Self.linear(
                intermediate, rows: total, inputs: c.intermediateSize, weight: layer.outputWeight,
                quantized: layer.quantized?.output, outputs: h, into: &projected)
            Self.addAndNormalize(
                &x, projected, bias: layer.outputBias, rows: total, width: h, norm: layer.outputNorm, eps: eps)
        }

        // Mean pooling over each sequence's tokens, then L2 normalisation.
        return (0..<sequences.count).map { s in
            var pooled = [Float](repeating: 0, count: h)
            let length = lengths[s]
            guard length > 0 else { return pooled }
            x.withUnsafeBufferPointer { x in
                for position in 0..<length {
                    let row = x.baseAddress! + (starts[s] + position) * h
                    for j in 0..<h { pooled[j] += row[j] }
                }
            }
            var norm: Float = 0
            for j in 0..<h {
                pooled[j] /= Float(length)
                norm += pooled[j] * pooled[j]
            }
            let inverse = 1 / max(norm.squareRoot(), 1e-12)
            for j in 0..<h { pooled[j] *= inverse }
            return pooled
        }
    }

    /// The CPUs this process may use, read once: on Linux `activeProcessorCount` opens and parses
    /// cgroup and /proc files on every call, which costs more than a question's whole layer.
    static let cores = ProcessInfo.processInfo.activeProcessorCount

    /// Runs `body` over disjoint row ranges covering `0..<rows`, one per core (inline when small).
    static func parallelRows(_ rows: Int, _ body: @Sendable (Range<Int>) -> Void) {
        let workers = min(cores, max(1, rows / 64))
        guard workers > 1 else { return body(0..<rows) }
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            body((rows * w / workers)..<(rows * (w + 1) / workers))
        }
    }

    /// Self-attention for every sequence and head, sequences split across the CPU's cores.
    ///
    /// Each (sequence, head) is two small products (L×d·d×L and L×L·L×d); handing them to a
    /// multi-threaded BLAS one by one costs more in thread hand-offs than in arithmetic, so BLAS
    /// runs single-threaded here and the sequences are spread over worker threads instead. Each
    /// worker writes only its own sequences' rows of `context` and uses its own score buffer.
    static func attention(
        qkv: UnsafePointer<Float>, context: UnsafeMutablePointer<Float>, starts: [Int], lengths: [Int], hidden h: Int,
        heads: Int, headSize: Int, scale: Float
    ) {
        let workers = max(1, min(cores, lengths.count))
        // Balance by work (≈ L²): deal sequences, longest first, to the least-loaded worker.
        var assignment = [[Int]](repeating: [], count: workers)
        var load = [Int](repeating: 0, count: workers)
        for s in lengths.indices.sorted(by: { lengths[$0] > lengths[$1] }) {
            let w = load.indices.min { load[$0] < load[$1] }!
            assignment[w].append(s)
            load[w] += lengths[s] * lengths[s]
        }
        let plan = assignment
        let qkvAddress = UInt(bitPattern: qkv)
        let contextAddress = UInt(bitPattern: context)
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            let qkv = UnsafePointer<Float>(bitPattern: qkvAddress)!
            let context = UnsafeMutablePointer<Float>(bitPattern: contextAddress)!
            let maxLength = plan[w].map { lengths[$0] }.max() ?? 0
            var scratch = [Float](repeating: 0, count: (maxLength + 16) * (headSize + 8))
            scratch.withUnsafeMutableBufferPointer { scratch in
                for s in plan[w] {
                    let base = qkv + starts[s] * 3 * h
                    for head in 0..<heads {
                        ck_attention_head(
                            base + head * headSize, base + h + head * headSize, base + 2 * h + head * headSize,
                            3 * h, context + starts[s] * h + head * headSize, h, lengths[s], headSize, scale,
                            scratch.baseAddress!)
                    }
                }
            }
        }
    }

    /// `out (rows × outputs) = input (rows × inputs) · weightᵀ`, with PyTorch's `[outputs × inputs]`
    /// weight layout. The bias is not added here: it is fused into the element-wise pass that
    /// follows (GELU, residual + LayerNorm), which saves a full write and read of `out`.
    /// With `quantized` (int8 precision), the int8 product of the same weights instead.
    static func linear(
        _ input: [Float], rows: Int, inputs: Int, weight: UnsafeBufferPointer<Float>, quantized: QuantizedWeight? = nil,
        outputs: Int, into out: inout [Float]
    ) {
        if let quantized {
            return linear(input, rows: rows, inputs: inputs, quantized: quantized, outputs: outputs, into: &out)
        }
        out.withUnsafeMutableBufferPointer { out in
            input.withUnsafeBufferPointer { input in
                cblas_sgemm(
                    CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(outputs), Int32(inputs), 1,
                    input.baseAddress, Int32(inputs), weight.baseAddress, Int32(inputs), 0, out.baseAddress,
                    Int32(outputs))
            }
        }
    }

    /// The int8 `linear`: the input's rows quantised (per row) and multiplied against the packed
    /// weights; each worker quantises and multiplies its own share of the rows.
    static func linear(
        _ input: [Float], rows: Int, inputs: Int, quantized weight: QuantizedWeight, outputs: Int,
        into out: inout [Float]
    ) {
        // Scratch for the quantised rows, their scales and zero points (freed on return).
        let codes = UnsafeMutablePointer<UInt8>.allocate(capacity: rows * inputs)
        let scales = UnsafeMutablePointer<Float>.allocate(capacity: rows)
        let zeros = UnsafeMutablePointer<Int32>.allocate(capacity: rows)
        defer {
            codes.deallocate()
            scales.deallocate()
            zeros.deallocate()
        }
        let a = UInt(bitPattern: codes)
        let s = UInt(bitPattern: scales)
        let zp = UInt(bitPattern: zeros)
        input.withUnsafeBufferPointer { input in
            weight.packed.withUnsafeBufferPointer { packed in
                weight.scales.withUnsafeBufferPointer { wscale in
                    weight.sums.withUnsafeBufferPointer { wsum in
                        out.withUnsafeMutableBufferPointer { out in
                            let x = UInt(bitPattern: input.baseAddress!)
                            let p = UInt(bitPattern: packed.baseAddress!)
                            let ws = UInt(bitPattern: wscale.baseAddress!)
                            let wu = UInt(bitPattern: wsum.baseAddress!)
                            let o = UInt(bitPattern: out.baseAddress!)
                            let workers = cores
                            if rows < 64 * workers, workers > 1, outputs >= 256 * workers {
                                // Too few rows to share out (a question): quantise them once, and
                                // split the output columns between the cores instead.
                                ck_quantize_rows_u8(input.baseAddress!, rows, inputs, codes, scales, zeros)
                                let blocks = outputs / 16
                                DispatchQueue.concurrentPerform(iterations: workers) { w in
                                    ck_gemm_u8s8_columns(
                                        UnsafePointer<UInt8>(bitPattern: a)!, UnsafePointer<Float>(bitPattern: s)!,
                                        UnsafePointer<Int32>(bitPattern: zp)!, rows, inputs,
                                        UnsafePointer<Int8>(bitPattern: p)!, UnsafePointer<Float>(bitPattern: ws)!,
                                        UnsafePointer<Int32>(bitPattern: wu)!, outputs, blocks * w / workers,
                                        blocks * (w + 1) / workers, UnsafeMutablePointer<Float>(bitPattern: o)!)
                                }
                                return
                            }
                            parallelRows(rows) { range in
                                let first = range.lowerBound
                                let codes = UnsafeMutablePointer<UInt8>(bitPattern: a)! + first * inputs
                                let scales = UnsafeMutablePointer<Float>(bitPattern: s)! + first
                                let zeros = UnsafeMutablePointer<Int32>(bitPattern: zp)! + first
                                ck_quantize_rows_u8(
                                    UnsafePointer<Float>(bitPattern: x)! + first * inputs, range.count, inputs,
                                    codes, scales, zeros)
                                ck_gemm_u8s8(
                                    codes, scales, zeros, range.count, inputs, UnsafePointer<Int8>(bitPattern: p)!,
                                    UnsafePointer<Float>(bitPattern: ws)!, UnsafePointer<Int32>(bitPattern: wu)!,
                                    outputs, UnsafeMutablePointer<Float>(bitPattern: o)! + first * outputs)
                            }
                        }
                    }
                }
            }
        }
    }

    /// Whether the int8 products run on AVX-512 VNNI on this CPU (else a portable loop).
    public static var int8UsesVNNI: Bool { ck_gemm_u8s8_uses_vnni() != 0 }

    /// Runs a row-wise C kernel over `matrix` with the rows split across the cores; the kernel
    /// gets its share of rows and the share's first element. Shares are disjoint, so no two
    /// workers write the same row.
    static func rowwise(
        _ matrix: inout [Float], rows: Int, width: Int,
        _ kernel: @Sendable (Range<Int>, UnsafeMutablePointer<Float>) -> Void
    ) {
        matrix.withUnsafeMutableBufferPointer { buffer in
            let base = UInt(bitPattern: buffer.baseAddress!)
            parallelRows(rows) { range in
                kernel(range, UnsafeMutablePointer<Float>(bitPattern: base)! + range.lowerBound * width)
            }
        }
    }

    /// `x = LayerNorm(x + residual + bias)` row by row, split across the cores.
    static func addAndNormalize(
        _ x: inout [Float], _ residual: [Float], bias: UnsafeBufferPointer<Float>, rows: Int, width: Int,
        norm: (gamma: UnsafeBufferPointer<Float>, beta: UnsafeBufferPointer<Float>), eps: Float
    ) {
        residual.withUnsafeBufferPointer { r in
            let residual = SharedFloats(r)
            let bias = SharedFloats(bias)
            let gamma = SharedFloats(norm.gamma)
            let beta = SharedFloats(norm.beta)
            rowwise(&x, rows: rows, width: width) { range, start in
                ck_add_layernorm_rows(
                    start, residual.pointer + range.lowerBound * width, bias.pointer, range.count, width, gamma.pointer,
                    beta.pointer, eps)
            }
        }
    }

    static func layerNorm(
        _ x: UnsafeMutableBufferPointer<Float>, rows: Int, width: Int, gamma: UnsafeBufferPointer<Float>,
        beta: UnsafeBufferPointer<Float>, eps: Float
    ) {
        ck_add_layernorm_rows(x.baseAddress!, nil, nil, rows, width, gamma.baseAddress!, beta.baseAddress!, eps)
    }
}

/// A read-only float buffer handed to worker threads. Safe to send: the buffers wrapped (weights,
/// and activations of the current layer) stay alive and unmodified for the whole parallel section.
struct SharedFloats: @unchecked Sendable {
    let pointer: UnsafePointer<Float>

    init(_ buffer: UnsafeBufferPointer<Float>) { pointer = buffer.baseAddress! }
}
