import CKernels

extension BertEncoder {
    /// A dense layer's weight matrix quantised (signed bytes per output channel) and packed for
    /// ``ck_gemm_u8s8``, with the smoothing its input gets before it is quantised.
    ///
    /// **Smoothing** (SmoothQuant, Xiao et al. 2023): a layer's input is quantised per row, with
    /// one scale for all its channels, but a few channels of a transformer's hidden state run
    /// far wider than the rest, so they set the scale and the others keep only a few levels.
    /// Dividing input channel `j` by `s_j` and multiplying weight column `j` by `s_j` leaves the
    /// exact product unchanged and moves part of that range into the weights, which are
    /// quantised per output channel and absorb it better; `s_j = √(max|x_j| / max|W_·j|)` splits
    /// the range evenly between the two. `max|x_j|` comes from calibration activations.
    ///
    /// A stacked matrix (Q, K and V in one) is quantised in `segments`, each with its own `s`
    /// from its own rows: the input is then quantised once per segment.
    struct QuantizedWeight {
        var packed: [Int8]
        var scales: [Float]
        var sums: [Int32]
        /// Each segment's output blocks (16 channels each); its smoothing is its row of `inputScales`.
        var segments: [Segment]
        /// `segments.count × inputs` multipliers for the input columns (`1 / s_j`), or empty when
        /// the input is not smoothed.
        var inputScales: [Float]

        struct Segment {
            var blocks: Range<Int>
        }

        /// Quantises `weight` (`outputs × inputs`, PyTorch's layout). With `inputMaxima` (the
        /// largest |value| of each input channel in calibration activations), the input is
        /// smoothed, per segment of `outputs / segments` rows; without, it is quantised as it is.
        init(
            _ weight: UnsafeBufferPointer<Float>, outputs: Int, inputs: Int, inputMaxima: [Float]? = nil,
            segments segmentCount: Int = 1
        ) {
            // Segments differ only in their smoothing: without it, one is the same and costs less.
            let segmentCount = inputMaxima == nil ? 1 : segmentCount
            precondition(outputs % (16 * segmentCount) == 0, "segments must be whole blocks of 16 channels")
            let rowsPerSegment = outputs / segmentCount
            segments = (0..<segmentCount).map {
                Segment(blocks: ($0 * rowsPerSegment / 16)..<(($0 + 1) * rowsPerSegment / 16))
            }
            var matrix = Array(weight)
            inputScales = []
            if let inputMaxima {
                precondition(inputMaxima.count == inputs)
                for segment in 0..<segmentCount {
                    let rows = (segment * rowsPerSegment)..<((segment + 1) * rowsPerSegment)
                    var weightMaxima = [Float](repeating: 0, count: inputs)
                    for row in rows {
                        for j in 0..<inputs { weightMaxima[j] = max(weightMaxima[j], abs(matrix[row * inputs + j])) }
                    }
                    let s = (0..<inputs).map { j in Self.smoothing(input: inputMaxima[j], weight: weightMaxima[j]) }
                    for row in rows {
                        for j in 0..<inputs { matrix[row * inputs + j] *= s[j] }
                    }
                    inputScales += s.map { 1 / $0 }
                }
            }
            packed = [Int8](repeating: 0, count: outputs * inputs)
            scales = [Float](repeating: 0, count: outputs)
            sums = [Int32](repeating: 0, count: outputs)
            let status = ck_pack_weights_s8(matrix, outputs, inputs, &packed, &scales, &sums)
            precondition(status == 0, "int8 packing needs outputs % 16 == 0 and inputs % 4 == 0")
        }

        /// `s_j` for one channel: 1 (no smoothing) when either side is zero or the ratio is not
        /// a normal number, so a dead channel or an odd calibration can never make it worse
        /// than unsmoothed.
        static func smoothing(input: Float, weight: Float) -> Float {
            guard input > 0, weight > 0 else { return 1 }
            let s = (input / weight).squareRoot()
            return s.isNormal && s > 1e-6 && s < 1e6 ? s : 1
        }
    }
}
