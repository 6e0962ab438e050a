/// Parses `30s`, `2m`, `500ms`, `1h`, or a bare number of seconds, into a `Duration`.
public enum TimeSpan {
    /// Longer than anything nettune waits for or measures (a year); larger values
    /// are refused instead of overflowing.
    public static let maximum: Duration = .seconds(365 * 24 * 3600)

    public static func parse(_ text: String) throws(TimeSpanError) -> Duration {
        let trimmed = text.trimmingWhitespace()
        let digits = trimmed.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
        let unit = String(trimmed.dropFirst(digits.count)).trimmingWhitespace().lowercased()
        guard !digits.isEmpty, let value = Double(digits), value.isFinite, value >= 0 else {
            throw TimeSpanError(text: text, reason: .malformed)
        }
        let seconds: Double
        switch unit {
        case "", "s", "sec": seconds = value
        case "ms": seconds = value / 1000
        case "m", "min": seconds = value * 60
        case "h": seconds = value * 3600
        default: throw TimeSpanError(text: text, reason: .malformed)
        }
        guard seconds <= maximum.seconds else { throw TimeSpanError(text: text, reason: .tooLong) }
        return .milliseconds(Int64((seconds * 1000).rounded()))
    }

    /// `250 ms`, `30 s`, `2 min 5 s`, `1 h 40 min`: how people say how long.
    public static func format(_ duration: Duration) -> String {
        let total = duration.seconds
        if total < 1 { return "\(Int((total * 1000).rounded())) ms" }
        if total < 60 {
            return total < 10 && total != total.rounded() ? "\(ByteCount.trim(total)) s" : "\(Int(total.rounded())) s"
        }
        let whole = Int(total.rounded())
        if whole < 3600 {
            let (minutes, seconds) = whole.quotientAndRemainder(dividingBy: 60)
            return seconds == 0 ? "\(minutes) min" : "\(minutes) min \(seconds) s"
        }
        let (hours, rest) = whole.quotientAndRemainder(dividingBy: 3600)
        let minutes = rest / 60
        return minutes == 0 ? "\(hours) h" : "\(hours) h \(minutes) min"
    }
}

public struct TimeSpanError: Error, Equatable, CustomStringConvertible {
    public enum Reason: Equatable, Sendable { case malformed, tooLong, notPositive }
    public var text: String
    public var reason: Reason

    public init(text: String, reason: Reason) {
        self.text = text
        self.reason = reason
    }

    public var description: String {
        switch reason {
        case .malformed: return "'\(text)' is not a duration; write e.g. 30s, 2m, 500ms"
        case .tooLong: return "'\(text)' is longer than nettune allows (\(TimeSpan.format(TimeSpan.maximum)))"
        case .notPositive: return "'\(text)' must be longer than zero"
        }
    }
}

extension Duration {
    /// Seconds as a Double, for arithmetic and printing.
    public var seconds: Double {
        let (whole, fraction) = components
        return Double(whole) + Double(fraction) / 1e18
    }
}
