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

/// A byte count written as `230MiB`, `1G`, `4096`.
struct SizeArgument: ExpressibleByArgument {
    var bytes: Int
    init?(argument: String) {
        guard let count = try? ByteCount(parsing: argument) else { return nil }
        bytes = count.bytes
    }
    init(_ bytes: Int) { self.bytes = bytes }
    var defaultValueDescription: String { ByteCount(bytes).description.replacingOccurrences(of: " ", with: "") }
}

extension ProbeMethod: ExpressibleByArgument {}
extension DrainMethod: ExpressibleByArgument {}

/// `sendfile,splice,readwrite`.
struct MethodList: ExpressibleByArgument {
    var methods: [ProbeMethod]
    init?(argument: String) {
        var methods: [ProbeMethod] = []
        for name in argument.split(separator: ",") {
            guard let method = ProbeMethod(rawValue: String(name).trimmingCharacters(in: .whitespaces)), !methods.contains(method) else { return nil }
            methods.append(method)
        }
        guard !methods.isEmpty else { return nil }
        self.methods = methods
    }
}

import Foundation
