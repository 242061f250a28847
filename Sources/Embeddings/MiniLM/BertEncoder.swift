import CBLAS
import CKernels
import Foundation
import VectorSearch

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
    /// output channel at load, activations per row, int32 accumulation; AVX-512 VNNI when present;
    /// the Q/K/V and feed-forward inputs smoothed by ranges calibrated at load, see
    /// ``QuantizedWeight``). Attention, LayerNorm, GELU and pooling stay f32 in both.
    public enum Precision: String, Sendable, CaseIterable {
        case f32, int8
    }

    // Safe to share: every stored property is immutable after init, and the weight buffers it
    // points into (the memory-mapped file and the arrays below) are never written again.
    public let configuration: BertConfiguration
    public let precision: Precision
    private let file: SafeTensorsFile
    private let embeddings: EmbeddingTables
    private let layers: [Layer]

    struct EmbeddingTables {
        var word: UnsafeBufferPointer<Float>
        var position: UnsafeBufferPointer<Float>
        var tokenType: UnsafeBufferPointer<Float>
        var norm: (gamma: UnsafeBufferPointer<Float>, beta: UnsafeBufferPointer<Float>)
    }

    /// Where ``forward(_:configuration:embeddings:layers:observe:)`` shows its activations to an
    /// observer: the input of a layer's Q/K/V projection and of its feed-forward block.
    enum ActivationPoint: Int, CaseIterable {
        case attentionInput, feedForwardInput
    }

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
    ///
    /// For `int8`, `calibration` (tokenised text, typical of what will be embedded) is run once
    /// through the f32 encoder and each quantised layer's input is smoothed by the ranges seen
    /// there (see ``QuantizedWeight``); without it the inputs are quantised unsmoothed, which
    /// loses about 1.7× as much accuracy.
    public init(
        configuration c: BertConfiguration, weights file: SafeTensorsFile, precision: Precision = .f32,
        calibration: [[Int32]] = []
    ) throws(EmbeddingError) {
        _ = ActivationMemory.retained
        self.configuration = c
        self.precision = precision
        self.file = file
        let h = c.hiddenSize
        // Some exports prefix tensor names with "bert."; accept both.
        let prefix = file.tensors["embeddings.word_embeddings.weight"] == nil ? "bert." : ""
        func t(_ name: String, _ shape: [Int]) throws(EmbeddingError) -> UnsafeBufferPointer<Float> {
            try file.floats(prefix + name, shape: shape)
        }
        let embeddings = EmbeddingTables(
            word: try t("embeddings.word_embeddings.weight", [c.vocabSize, h]),
            position: try t("embeddings.position_embeddings.weight", [c.maxPositionEmbeddings, h]),
            tokenType: try t("embeddings.token_type_embeddings.weight", [c.typeVocabSize, h]),
            norm: (try t("embeddings.LayerNorm.weight", [h]), try t("embeddings.LayerNorm.bias", [h])))
        self.embeddings = embeddings
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
            // The largest |value| of each channel at each smoothed input, over the calibration text.
            var maxima: [[[Float]]]? = nil
            if calibration.contains(where: { !$0.isEmpty }) {
                var seen = [[[Float]]](
                    repeating: [[Float]](
                        repeating: [Float](repeating: 0, count: h), count: ActivationPoint.allCases.count),
                    count: layers.count)
                _ = Self.forward(calibration, configuration: c, embeddings: embeddings, layers: layers) {
                    layer, point, x, rows in
                    for row in 0..<rows {
                        for j in 0..<h {
                            seen[layer][point.rawValue][j] = max(seen[layer][point.rawValue][j], abs(x[row * h + j]))
                        }
                    }
                }
                maxima = seen
            }
            for i in layers.indices {
                let layer = layers[i]
                let qkv = layer.qkvWeight.withUnsafeBufferPointer {
                    QuantizedWeight(
                        $0, outputs: 3 * h, inputs: h, inputMaxima: maxima?[i][ActivationPoint.attentionInput.rawValue],
                        segments: 3)
                }
                layers[i].quantized = (
                    qkv, QuantizedWeight(layer.attentionOutWeight, outputs: h, inputs: h),
                    QuantizedWeight(
                        layer.intermediateWeight, outputs: c.intermediateSize, inputs: h,
                        inputMaxima: maxima?[i][ActivationPoint.feedForwardInput.rawValue]),
                    QuantizedWeight(layer.outputWeight, outputs: h, inputs: c.intermediateSize)
                )
            }
        }
        self.layers = layers
    }

    /// Mean-pooled, L2-normalised sentence vectors for already tokenised sequences (each
    /// including `[CLS]`/`[SEP]`, at most `maxPositionEmbeddings` long).
    public func encode(_ sequences: [[Int32]]) -> [[Float]] {
        Self.forward(sequences, configuration: configuration, embeddings: embeddings, layers: layers)
    }

    /// The forward pass of ``encode(_:)`` with these weights; `observe`, when given, is shown
    /// each layer's activations at each ``ActivationPoint`` (the packed token rows, `rows × hidden`).
    static func forward(
        _ sequences: [[Int32]], configuration c: BertConfiguration, embeddings: EmbeddingTables, layers: [Layer],
        observe: ((_ layer: Int, _ point: ActivationPoint, _ x: [Float], _ rows: Int) -> Void)? = nil
    ) -> [[Float]] {
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
                    let word = embeddings.word.baseAddress! + tokenID * h
                    let pos = embeddings.position.baseAddress! + position * h
                    let type = embeddings.tokenType.baseAddress!
                    for j in 0..<h { row[j] = word[j] + pos[j] + type[j] }
                }
            }
            Self.layerNorm(
                x, rows: total, width: h, gamma: embeddings.norm.gamma, beta: embeddings.norm.beta,
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

        for (index, layer) in layers.enumerated() {
            observe?(index, .attentionInput, x, total)
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

            observe?(index, .feedForwardInput, x, total)
            Self.linear(
                x, rows: total, inputs: h, weight: layer.intermediateWeight, quantized: layer.quantized?.intermediate,
                outputs: c.intermediateSize, into: &intermediate)
            if let output = layer.quantized?.output, c.intermediateSize <= fusedGELUWidestInput {
                // int8: bias and GELU fused into quantising the product's input.
                Self.linear(
                    intermediate, rows: total, inputs: c.intermediateSize, quantized: output, outputs: h,
                    into: &projected, geluBias: layer.intermediateBias)
            } else {
                let intermediateBias = SharedFloats(layer.intermediateBias)
                let intermediateWidth = c.intermediateSize
                Self.rowwise(&intermediate, rows: total, width: intermediateWidth) { range, start in
                    ck_bias_gelu_rows(start, range.count, intermediateWidth, intermediateBias.pointer)
                }
                Self.linear(
                    intermediate, rows: total, inputs: c.intermediateSize, weight: layer.outputWeight,
                    quantized: layer.quantized?.output, outputs: h, into: &projected)
            }
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
                BLASCallLimit.run {
                    cblas_sgemm(
                        CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(outputs), Int32(inputs), 1,
                        input.baseAddress, Int32(inputs), weight.baseAddress, Int32(inputs), 0, out.baseAddress,
                        Int32(outputs))
                }
            }
        }
    }

    /// The widest row ``ck_bias_gelu_quantize_rows_u8`` takes (its L1 buffer; wider rows run GELU
    /// and quantising as separate passes).
    static let fusedGELUWidestInput = 4096

    /// The int8 `linear`: the input's rows quantised (per row, once per segment of the weight,
    /// each with the segment's smoothing) and multiplied against the packed weights; each worker
    /// quantises and multiplies its own share of the rows. With `geluBias`, the input is the
    /// pre-activation and `GELU(input + geluBias)` is what gets quantised (one pass, see
    /// ``ck_bias_gelu_quantize_rows_u8``; the weight must then be unsmoothed).
    static func linear(
        _ input: [Float], rows: Int, inputs: Int, quantized weight: QuantizedWeight, outputs: Int,
        into out: inout [Float], geluBias: UnsafeBufferPointer<Float>? = nil
    ) {
        let segments = weight.segments
        precondition(
            geluBias == nil || (segments.count == 1 && weight.inputScales.isEmpty && inputs <= fusedGELUWidestInput))
        // Scratch for the quantised rows, their scales and zero points, per segment (freed on return).
        let codes = UnsafeMutablePointer<UInt8>.allocate(capacity: segments.count * rows * inputs)
        let scales = UnsafeMutablePointer<Float>.allocate(capacity: segments.count * rows)
        let zeros = UnsafeMutablePointer<Int32>.allocate(capacity: segments.count * rows)
        defer {
            codes.deallocate()
            scales.deallocate()
            zeros.deallocate()
        }
        input.withUnsafeBufferPointer { input in
            weight.packed.withUnsafeBufferPointer { packed in
                weight.scales.withUnsafeBufferPointer { wscale in
                    weight.sums.withUnsafeBufferPointer { wsum in
                        weight.inputScales.withUnsafeBufferPointer { smoothing in
                            out.withUnsafeMutableBufferPointer { out in
                                let operands = Int8Operands(
                                    input: input.baseAddress!, codes: codes, scales: scales, zeros: zeros,
                                    smoothing: smoothing.isEmpty ? nil : smoothing.baseAddress!, rows: rows,
                                    inputs: inputs, packed: packed.baseAddress!, weightScales: wscale.baseAddress!,
                                    weightSums: wsum.baseAddress!, outputs: outputs, out: out.baseAddress!,
                                    geluBias: geluBias?.baseAddress)
                                let workers = cores
                                if rows < 64 * workers, workers > 1, outputs >= 256 * workers {
                                    // Too few rows to share out (a question): quantise them once, and
                                    // split the output columns between the cores instead.
                                    for segment in segments.indices {
                                        operands.quantize(segment: segment, rows: 0..<rows)
                                    }
                                    let blocks = outputs / 16
                                    DispatchQueue.concurrentPerform(iterations: workers) { w in
                                        let share = (blocks * w / workers)..<(blocks * (w + 1) / workers)
                                        for (index, segment) in segments.enumerated() {
                                            let part = share.clamped(to: segment.blocks)
                                            if !part.isEmpty {
                                                operands.multiply(segment: index, rows: 0..<rows, blocks: part)
                                            }
                                        }
                                    }
                                    return
                                }
                                parallelRows(rows) { range in
                                    for (index, segment) in segments.enumerated() {
                                        operands.quantize(segment: index, rows: range)
                                        operands.multiply(segment: index, rows: range, blocks: segment.blocks)
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// How the int8 products run on this CPU.
    public enum Int8Path: String, Sendable {
        /// AMX tiles (Sapphire Rapids and later, when the OS grants the tile registers).
        case amx = "AMX"
        /// AVX-512 VNNI byte dot products.
        case vnni = "AVX-512 VNNI"
        /// A plain loop any CPU runs.
        case portable = "portable loop"
    }

    /// The path the int8 products take on this CPU: the fastest it has. All accumulate exactly
    /// in int32, and AMX and VNNI give identical vectors.
    public static var int8Path: Int8Path {
        switch ck_gemm_u8s8_path() {
        case Int32(CK_INT8_AMX): .amx
        case Int32(CK_INT8_VNNI): .vnni
        default: .portable
        }
    }

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

/// The buffers of one int8 `linear`, handed to its worker threads. Safe to send: the input and
/// the weights are not written during the product, and workers write disjoint rows (or disjoint
/// output blocks) of `codes`, `scales`, `zeros` and `out`.
struct Int8Operands: @unchecked Sendable {
    let input: UnsafePointer<Float>
    /// `segments × rows × inputs` codes, and `segments × rows` scales and zero points.
    let codes: UnsafeMutablePointer<UInt8>
    let scales: UnsafeMutablePointer<Float>
    let zeros: UnsafeMutablePointer<Int32>
    let smoothing: UnsafePointer<Float>?
    let rows: Int
    let inputs: Int
    let packed: UnsafePointer<Int8>
    let weightScales: UnsafePointer<Float>
    let weightSums: UnsafePointer<Int32>
    let outputs: Int
    let out: UnsafeMutablePointer<Float>
    /// When set, the input is a pre-activation: GELU(input + geluBias) is quantised.
    let geluBias: UnsafePointer<Float>?

    /// Quantises `rows` of the input as `segment` sees it (smoothed by its input scales).
    func quantize(segment: Int, rows range: Range<Int>) {
        let first = segment * rows + range.lowerBound
        if let geluBias {
            let status = ck_bias_gelu_quantize_rows_u8(
                input + range.lowerBound * inputs, range.count, inputs, geluBias, codes + first * inputs,
                scales + first, zeros + first)
            precondition(status == 0, "rows wider than the fused GELU kernel takes")
            return
        }
        ck_quantize_rows_u8_scaled(
            input + range.lowerBound * inputs, range.count, inputs, smoothing.map { $0 + segment * inputs },
            codes + first * inputs, scales + first, zeros + first)
    }

    /// `out[rows, blocks] = codes[segment, rows] · packed[blocks]ᵀ`.
    func multiply(segment: Int, rows range: Range<Int>, blocks: Range<Int>) {
        let first = segment * rows + range.lowerBound
        ck_gemm_u8s8_columns(
            codes + first * inputs, scales + first, zeros + first, range.count, inputs, packed, weightScales,
            weightSums, outputs, blocks.lowerBound, blocks.upperBound, out + range.lowerBound * outputs)
    }
}
