/// Parses `30s`, `2m`, `500ms`, `1h`, or a bare number of seconds, into a `Duration`.
public enum TimeSpan {
    public static func parse(_ text: String) throws(TimeSpanError) -> Duration {
        let trimmed = text.trimmingWhitespace()
        let digits = trimmed.prefix { $0.isNumber || $0 == "." }
        let unit = String(trimmed.dropFirst(digits.count)).trimmingWhitespace().lowercased()
        guard !digits.isEmpty, let value = Double(digits), value >= 0 else { throw TimeSpanError(text: text) }
        let seconds: Double
        switch unit {
        case "", "s", "sec": seconds = value
        case "ms": seconds = value / 1000
        case "m", "min": seconds = value * 60
        case "h": seconds = value * 3600
        default: throw TimeSpanError(text: text)
        }
        return .milliseconds(Int64((seconds * 1000).rounded()))
    }
}

public struct TimeSpanError: Error, Equatable, CustomStringConvertible {
    public var text: String
    public var description: String { "'\(text)' is not a duration; write e.g. 30s, 2m, 500ms" }
}

extension Duration {
    /// Seconds as a Double, for arithmetic and printing.
    public var seconds: Double {
        let (whole, fraction) = components
        return Double(whole) + Double(fraction) / 1e18
    }
}
