/// A rate in bits per second, printed in SI units as network people expect (`100 Mbit/s`).
public struct BitRate: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let bitsPerSecond: Double

    public init(bitsPerSecond: Double) { self.bitsPerSecond = bitsPerSecond }

    public var description: String {
        // Beyond Int's range (or not a number) only a figure from outside could be;
        // it is shown as it is rather than trapping.
        guard bitsPerSecond.isFinite, abs(bitsPerSecond) < 1e15 * 1e12 else { return String(format: "%.3g bit/s", bitsPerSecond) }
        let steps: [(Double, String)] = [(1e12, "Tbit/s"), (1e9, "Gbit/s"), (1e6, "Mbit/s"), (1e3, "kbit/s")]
        for (scale, unit) in steps where bitsPerSecond >= scale {
            return "\(Self.significant(bitsPerSecond / scale)) \(unit)"
        }
        return "\(Int(bitsPerSecond)) bit/s"
    }

    /// Three significant digits: 957, 95.6, 9.57.
    static func significant(_ value: Double) -> String {
        let decimals = value >= 100 ? 0 : value >= 10 ? 1 : 2
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let rounded = (value * scale).rounded() / scale
        if decimals == 0 || rounded == rounded.rounded() { return String(Int(rounded)) }
        return String(rounded)
    }

    public static func < (lhs: BitRate, rhs: BitRate) -> Bool { lhs.bitsPerSecond < rhs.bitsPerSecond }
}
