import ArgumentParser
import Foundation
import NetTune

// Typed command-line values. Each is parsed by a throwing function whose error
// says what is wrong (ArgumentParser prints it after "The value '…' is invalid for
// '--option'"), so malformed input is refused before anything runs.

enum Parse {
    static func endpoint(_ text: String) throws -> Endpoint {
        try Endpoint(parsing: text)
    }

    /// A duration of zero or more.
    static func duration(_ text: String) throws -> TimeSpanArgument {
        TimeSpanArgument(try TimeSpan.parse(text))
    }

    /// A duration longer than zero: timeouts, intervals, test lengths.
    static func positiveDuration(_ text: String) throws -> TimeSpanArgument {
        let duration = try TimeSpan.parse(text)
        guard duration > .zero else { throw TimeSpanError(text: text, reason: .notPositive) }
        return TimeSpanArgument(duration)
    }

    /// `--interval`: at least `ProbeRequest.shortestInterval`, as iperf3's -i.
    static func reportInterval(_ text: String) throws -> TimeSpanArgument {
        let interval = try positiveDuration(text)
        guard interval.duration >= ProbeRequest.shortestInterval else {
            throw ArgumentProblem(
                "'\(text)' is shorter than \(TimeSpan.format(ProbeRequest.shortestInterval)), the shortest interval (as iperf3's -i)")
        }
        return interval
    }

    static func size(_ text: String) throws -> SizeArgument {
        SizeArgument(try ByteCount(parsing: text).bytes)
    }

    static func positiveSize(_ text: String) throws -> SizeArgument {
        let size = try ByteCount(parsing: text).bytes
        guard size > 0 else { throw ArgumentProblem("must be more than 0 bytes") }
        return SizeArgument(size)
    }

    /// A secret shared by `probe` and `serve`: 1–255 bytes, as the wire carries it.
    static func token(_ text: String) throws -> String {
        guard !text.isEmpty else { throw ArgumentProblem("an empty token would admit everyone; give a secret, or leave the option out") }
        guard text.utf8.count <= ProbeWire.maxTokenLength else {
            throw ArgumentProblem("\(text.utf8.count) bytes is longer than the \(ProbeWire.maxTokenLength) the probe protocol carries")
        }
        return text
    }

    static func interface(_ text: String) throws -> String {
        guard InterfaceName.isValid(text) else {
            throw ArgumentProblem("not an interface name (1–15 characters, no '/', ':' or spaces); `nettune show` lists them")
        }
        return text
    }

    static func methods(_ text: String) throws -> MethodList {
        var methods: [ProbeMethod] = []
        for name in text.split(separator: ",", omittingEmptySubsequences: false) {
            let trimmed = name.trimmingCharacters(in: .whitespaces)
            guard let method = ProbeMethod(rawValue: trimmed) else {
                throw ArgumentProblem("'\(trimmed)' is not a method; use sendfile, splice, readwrite")
            }
            guard !methods.contains(method) else { throw ArgumentProblem("\(trimmed) is listed twice") }
            methods.append(method)
        }
        return MethodList(methods: methods)
    }

    static func direction(_ text: String) throws -> ProbeDirection {
        switch text {
        case "send": return .send
        case "receive": return .receive
        case "both": return .both
        default: throw ArgumentProblem("'\(text)' is not a direction; use send, receive or both")
        }
    }

    static func port(_ text: String) throws -> UInt16 {
        guard let port = UInt16(text) else { throw ArgumentProblem("must be a whole number from 0 to 65535") }
        return port
    }

    /// A count in `range`, e.g. runs or pairs.
    static func count(_ range: ClosedRange<Int>) -> @Sendable (String) throws -> Int {
        { text in
            guard let value = Int(text), range.contains(value) else {
                throw ArgumentProblem("must be a whole number from \(range.lowerBound) to \(range.upperBound)")
            }
            return value
        }
    }
}

/// Why an argument was refused, printed after ArgumentParser's "The value … is invalid".
struct ArgumentProblem: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A `Duration` written as `30s`, `2m`, `500ms`.
struct TimeSpanArgument: CustomStringConvertible {
    var duration: Duration
    init(_ duration: Duration) { self.duration = duration }
    /// How help prints a default.
    var description: String { TimeSpan.format(duration).replacingOccurrences(of: " ", with: "") }
}

/// A byte count written as `230MiB`, `1G`, `4096`.
struct SizeArgument: CustomStringConvertible {
    var bytes: Int
    init(_ bytes: Int) { self.bytes = bytes }
    var description: String { ByteCount(bytes).description.replacingOccurrences(of: " ", with: "") }
}

extension ProbeMethod: ExpressibleByArgument {}
extension DrainMethod: ExpressibleByArgument {}

/// `sendfile,splice,readwrite`.
struct MethodList {
    var methods: [ProbeMethod]
}
