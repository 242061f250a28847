/// A 64-bit FNV-1a hash that is the same in every process and on every machine.
///
/// Swift's `Hasher` is seeded per process, which would make hashed features (and so stored
/// vectors) differ between runs; anything persisted must use this instead.
public enum StableHash {
    public static func fnv1a64(_ bytes: some Sequence<UInt8>, seed: UInt64 = 0xcbf2_9ce4_8422_2325) -> UInt64 {
        var hash = seed
        for byte in bytes {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return hash
    }

    public static func fnv1a64(_ string: String) -> UInt64 {
        fnv1a64(string.utf8)
    }
}
