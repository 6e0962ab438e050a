/// A number of bytes, parsed from and printed as `230MiB`, `1G`, `4096`.
public struct ByteCount: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let bytes: Int

    public init(_ bytes: Int) { self.bytes = bytes }

    /// Parses a byte count with an optional unit: `B`, `K`/`KB` (10³), `KiB` (2¹⁰),
    /// and likewise M, G, T. A bare `K`/`M`/`G`, as in dd and iperf3, is binary.
    public init(parsing text: String) throws(ByteCountError) {
        let trimmed = text.trimmingWhitespace()
        let digits = trimmed.prefix { $0.isNumber || $0 == "." }
        let unit = String(trimmed.dropFirst(digits.count)).trimmingWhitespace()
        guard !digits.isEmpty, let number = Double(digits), number >= 0 else { throw .malformed(text) }
        guard let multiplier = Self.multiplier(for: unit) else { throw .unknownUnit(text: text, unit: unit) }
        let value = number * Double(multiplier)
        guard value < Double(Int.max) else { throw .tooLarge(text) }
        self.bytes = Int(value.rounded())
    }

    private static func multiplier(for unit: String) -> Int? {
        switch unit.lowercased() {
        case "", "b": return 1
        case "k", "kib": return 1 << 10
        case "m", "mib": return 1 << 20
        case "g", "gib": return 1 << 30
        case "t", "tib": return 1 << 40
        case "kb": return 1_000
        case "mb": return 1_000_000
        case "gb": return 1_000_000_000
        case "tb": return 1_000_000_000_000
        default: return nil
        }
    }

    /// `4 KiB`, `6 MiB`, `1.5 GiB`; exact bytes below 1 KiB.
    public var description: String {
        let units = ["KiB", "MiB", "GiB", "TiB"]
        guard bytes >= 1024 else { return "\(bytes) B" }
        var value = Double(bytes)
        var unit = "B"
        for candidate in units where value >= 1024 {
            value /= 1024
            unit = candidate
        }
        return "\(Self.trim(value)) \(unit)"
    }

    /// At most one decimal, none when it is zero.
    static func trim(_ value: Double) -> String {
        let tenths = (value * 10).rounded() / 10
        if tenths == tenths.rounded() { return String(Int(tenths)) }
        return String(tenths)
    }

    public static func < (lhs: ByteCount, rhs: ByteCount) -> Bool { lhs.bytes < rhs.bytes }
}

public enum ByteCountError: Error, Equatable, CustomStringConvertible {
    case malformed(String)
    case unknownUnit(text: String, unit: String)
    case tooLarge(String)

    public var description: String {
        switch self {
        case .malformed(let text): return "'\(text)' is not a size; write a number with an optional unit, e.g. 230MiB, 1G, 4096"
        case .unknownUnit(let text, let unit):
            return "'\(text)' has an unknown unit '\(unit)'; use B, KiB, MiB, GiB, TiB (or K, M, G, T; KB, MB, GB for powers of 1000)"
        case .tooLarge(let text): return "'\(text)' is too large"
        }
    }
}
