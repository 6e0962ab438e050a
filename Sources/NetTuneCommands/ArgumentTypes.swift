import ArgumentParser
import NetTune

// Typed command-line values: malformed input is a usage error before anything runs.

extension Endpoint: ExpressibleByArgument {
    public init?(argument: String) {
        guard let endpoint = try? Endpoint(parsing: argument) else { return nil }
        self = endpoint
    }
}

/// A `Duration` written as `30s`, `2m`, `500ms`.
struct TimeSpanArgument: ExpressibleByArgument {
    var duration: Duration
    init?(argument: String) {
        guard let duration = try? TimeSpan.parse(argument) else { return nil }
        self.duration = duration
    }
    init(_ duration: Duration) { self.duration = duration }
    var defaultValueDescription: String { "\(Int(duration.seconds))s" }
}
