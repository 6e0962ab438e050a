/// Random packet loss that is the same on every run with the same seed:
/// SplitMix64, one generator per direction so the two threads never share state.
struct LossModel: Sendable {
    /// The chance each packet is dropped, 0...1.
    let probability: Double
    private var state: UInt64

    init(probability: Double, seed: UInt64) {
        self.probability = probability
        state = seed
    }

    /// The next value in [0, 1).
    mutating func nextUnit() -> Double {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return Double(z >> 11) * 0x1p-53
    }

    /// Whether the next packet is lost.
    mutating func drops() -> Bool {
        guard probability > 0 else { return false }
        return nextUnit() < probability
    }
}
