/// Where one stored vector lives: a pack (one blob of many rows) and the row inside it.
///
/// Packed into one `Int64` (pack id × 2²⁰ + slot) so an in-memory index can carry it as its row
/// identifier; packs hold at most ``VectorPacking/rowsPerPack`` rows, far below 2²⁰.
public struct VectorRef: Hashable, Sendable, Comparable {
    public let pack: Int64
    public let slot: Int
    /// Slots per pack the packed form can address (2²⁰).
    public static let maxSlots = 1 << 20

    public init(pack: Int64, slot: Int) {
        self.pack = pack
        self.slot = slot
    }

    public init(packed: Int64) {
        self.init(pack: packed >> 20, slot: Int(packed & 0xFFFFF))
    }

    public var packed: Int64 { pack << 20 | Int64(slot) }

    public static func < (a: VectorRef, b: VectorRef) -> Bool { a.packed < b.packed }
}
