/// Reproducible test data for the kernels: a 64-bit linear congruential generator (Knuth's
/// MMIX constants) giving floats in [-1, 1] with six decimal places.
struct SeededFloats {
    var state: UInt64

    mutating func next() -> Float {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return Float(Int64(bitPattern: state >> 11) % 2_000_001) / 1_000_000 - 1
    }
}
