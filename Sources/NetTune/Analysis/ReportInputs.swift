import Foundation

/// What `nettune report` reads: the JSON `apply --probe --json` and `probe --json`
/// wrote. Each file is read from outside (mailed, copied from a device), so it is
/// bounded in size and a regular file, its text is made safe to show, and every
/// figure must be one a measurement could have produced (`ResultLimits`): a file
/// that holds another is refused with the figure and where it was.
public enum ReportInputs {
    public static let sizeLimit = 16 << 20

    public struct Run: Sendable {
        public var method: String
        public var direction: String
        public var throughput: Double
        public var senderCPUPerGiB: Double?
        public var receiverCPUPerGiB: Double?
        public var intervals: [(end: Double, throughput: Double)]
    }

    public struct Comparison: Sendable {
        /// B/A and its interval.
        public var ratio: Double?
        public var low: Double?
        public var high: Double?
        public var verdict: String
    }

    public struct ABInput: Sendable {
        public var profile: String
        public var peer: String
        public var a: [Run]
        public var b: [Run]
        public var directions: [String]
        public var comparisons: [String: Comparison]
        public var verdict: String
        public var final: String

        public init(
            profile: String, peer: String, a: [Run], b: [Run], directions: [String], comparisons: [String: Comparison], verdict: String,
            final: String
        ) {
            self.profile = profile
            self.peer = peer
            self.a = a
            self.b = b
            self.directions = directions
            self.comparisons = comparisons
            self.verdict = verdict
            self.final = final
        }
    }

    public struct ProbeInput: Sendable {
        public var peer: String
        public var runs: [Run]
    }

    /// The largest B/A a comparison can report and still be read as one.
    static let largestRatio = 1e6

    public static func ab(at path: String) throws -> ABInput {
        try ab(json: try TextFile.readBytes(try AtomicFile.absolute(path), limit: sizeLimit), path: path)
    }

    public static func probe(at path: String) throws -> ProbeInput {
        try probe(json: try TextFile.readBytes(try AtomicFile.absolute(path), limit: sizeLimit), path: path)
    }

    /// - Parameter path: where the bytes came from, for the error.
    public static func ab(json bytes: [UInt8], path: String) throws(ReportInputError) -> ABInput {
        let json = try object(bytes, path: path)
        guard let a = json["a"] as? [String: Any], let b = json["b"] as? [String: Any], let comparisons = json["comparisons"] as? [String: Any]
        else { throw ReportInputError(path: path, problem: "not the output of `apply --probe --json` (no a, b and comparisons)") }
        var compared: [String: Comparison] = [:]
        for (direction, value) in comparisons.prefix(16) {
            guard let c = value as? [String: Any] else { continue }
            let place = "comparisons.\(text(direction, limit: 32))"
            let ratio = try figure(c["throughput_ratio"], 0...largestRatio, "\(place).throughput_ratio", path)
            let ci = try ((c["throughput_ci"] as? [Any]) ?? []).prefix(2).map { value throws(ReportInputError) in
                try figure(value, 0...largestRatio, "\(place).throughput_ci", path)
            }
            compared[text(direction, limit: 32)] = Comparison(
                ratio: ratio, low: ci.first ?? nil, high: ci.last ?? nil, verdict: text(c["verdict"] as? String ?? "-"))
        }
        let listed = ((json["directions"] as? [Any]) ?? []).compactMap { $0 as? String }.map { text($0, limit: 32) }
        let directions = (listed.isEmpty ? compared.keys.sorted() : listed).reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
        return ABInput(
            profile: text(json["profile"] as? String ?? "B"), peer: text(json["peer"] as? String ?? "-"),
            a: try runs(a["runs"], "a.runs", path), b: try runs(b["runs"], "b.runs", path), directions: Array(directions.prefix(16)),
            comparisons: compared, verdict: text(json["verdict"] as? String ?? "-"), final: text(json["final"] as? String ?? "-"))
    }

    public static func probe(json bytes: [UInt8], path: String) throws(ReportInputError) -> ProbeInput {
        let json = try object(bytes, path: path)
        guard json["runs"] is [Any] else { throw ReportInputError(path: path, problem: "not the output of `probe --json` (no runs)") }
        return ProbeInput(peer: text(json["peer"] as? String ?? "-"), runs: try runs(json["runs"], "runs", path))
    }

    static func object(_ bytes: [UInt8], path: String) throws(ReportInputError) -> [String: Any] {
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] else {
            throw ReportInputError(path: path, problem: "not a JSON object (write it with --json)")
        }
        return object
    }

    static func runs(_ value: Any?, _ name: String, _ path: String) throws(ReportInputError) -> [Run] {
        let items = (value as? [Any]) ?? []
        guard items.count <= ResultLimits.runs else { throw ReportInputError(path: path, problem: "\(name): \(items.count) runs") }
        var runs: [Run] = []
        for (index, item) in items.enumerated() {
            let at = "\(name)[\(index)]"
            // A run without a throughput is not a run this version charts.
            guard let run = item as? [String: Any],
                let throughput = try figure(run["throughput_bps"], 0...ResultLimits.bitsPerSecond, "\(at).throughput_bps", path)
            else { continue }
            let gib = (try figure(run["bytes"], 0...Double(ResultLimits.bytes), "\(at).bytes", path) ?? 0) / Double(1 << 30)
            func cpu(_ side: String) throws(ReportInputError) -> Double? {
                guard let end = run[side] as? [String: Any] else { return nil }
                let user = try figure(
                    end["cpu_user_s"], 0...ResultLimits.runSeconds.upperBound * PeerFigures.maximumCPUs, "\(at).\(side).cpu_user_s", path)
                let system = try figure(
                    end["cpu_sys_s"], 0...ResultLimits.runSeconds.upperBound * PeerFigures.maximumCPUs, "\(at).\(side).cpu_sys_s", path)
                guard let user, let system, gib > 0 else { return nil }
                let perGiB = (user + system) / gib
                guard ResultLimits.isCPUPerGiB(perGiB) else { throw impossible("\(at).\(side)", "\(perGiB) CPU-seconds per GiB", path) }
                return perGiB
            }
            let rawIntervals = (run["intervals"] as? [Any]) ?? []
            guard rawIntervals.count <= ResultLimits.intervals else {
                throw ReportInputError(path: path, problem: "\(at): \(rawIntervals.count) intervals")
            }
            var intervals: [(end: Double, throughput: Double)] = []
            for (number, item) in rawIntervals.enumerated() {
                let it = "\(at).intervals[\(number)]"
                guard let interval = item as? [String: Any],
                    let start = try figure(interval["start_s"], ResultLimits.runSeconds, "\(it).start_s", path),
                    let end = try figure(interval["end_s"], ResultLimits.runSeconds, "\(it).end_s", path),
                    let bytes = try figure(interval["bytes"], 0...Double(ResultLimits.bytes), "\(it).bytes", path), end > start
                else { continue }
                let rate = bytes * 8 / (end - start)
                guard ResultLimits.isRate(rate) else { throw impossible(it, "\(BitRate(bitsPerSecond: rate))", path) }
                intervals.append((end, rate))
            }
            runs.append(
                Run(
                    method: text(run["method"] as? String ?? "-", limit: 32), direction: text(run["direction"] as? String ?? "send", limit: 32),
                    throughput: throughput, senderCPUPerGiB: try cpu("sender"), receiverCPUPerGiB: try cpu("receiver"), intervals: intervals))
        }
        return runs
    }

    /// A JSON number within `range`; nil when absent or not a number. A number
    /// outside it is an error: the file was not written by nettune, or was altered.
    static func figure(_ value: Any?, _ range: ClosedRange<Double>, _ name: String, _ path: String) throws(ReportInputError) -> Double? {
        guard let number = value as? NSNumber else { return nil }
        let double = number.doubleValue
        guard double.isFinite, range.contains(double) else { throw impossible(name, "\(number)", path) }
        return double
    }

    static func impossible(_ name: String, _ value: String, _ path: String) -> ReportInputError {
        ReportInputError(path: path, problem: "\(name) is \(value), which no measurement gives (a file nettune did not write, or one altered)")
    }

    static func text(_ value: String, limit: Int = 256) -> String { PeerText.sanitized(value, limit: limit) }
}

public struct ReportInputError: Error, CustomStringConvertible {
    public var path: String
    public var problem: String
    public var description: String { "\(path): \(problem)" }
}
