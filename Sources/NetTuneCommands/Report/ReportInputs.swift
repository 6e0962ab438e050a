import Foundation
import NetTune

/// What `nettune report` reads: the JSON `apply --probe --json` and `probe --json`
/// wrote, and a history file. Each is read from outside, so bounded in size, a
/// regular file, and every figure taken only when it is a finite number.
struct ReportInputs {
    static let sizeLimit = 16 << 20

    struct Run {
        var method: String
        var direction: String
        var throughput: Double
        var senderCPUPerGiB: Double?
        var receiverCPUPerGiB: Double?
        var intervals: [(end: Double, throughput: Double)]
    }

    struct ABInput {
        var profile: String
        var peer: String
        var a: [Run]
        var b: [Run]
        var directions: [String]
        /// Per direction: B/A, its interval, the verdict.
        var comparisons: [String: (ratio: Double?, low: Double?, high: Double?, verdict: String)]
        var verdict: String
        var final: String
    }

    struct ProbeInput {
        var peer: String
        var runs: [Run]
    }

    static func object(at path: String) throws -> [String: Any] {
        let text = try TextFile.read(try AtomicFile.absolute(path), limit: sizeLimit)
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
            throw ReportInputError(path: path, problem: "not a JSON object (write it with --json)")
        }
        return object
    }

    static func ab(at path: String) throws -> ABInput {
        let json = try object(at: path)
        guard let a = json["a"] as? [String: Any], let b = json["b"] as? [String: Any], let comparisons = json["comparisons"] as? [String: Any]
        else { throw ReportInputError(path: path, problem: "not the output of `apply --probe --json` (no a, b and comparisons)") }
        var compared: [String: (ratio: Double?, low: Double?, high: Double?, verdict: String)] = [:]
        for (direction, value) in comparisons {
            guard let c = value as? [String: Any] else { continue }
            let ci = (c["throughput_ci"] as? [Any])?.compactMap(number)
            compared[direction] = (number(c["throughput_ratio"]), ci?.first, ci?.last, c["verdict"] as? String ?? "-")
        }
        return ABInput(
            profile: json["profile"] as? String ?? "B", peer: json["peer"] as? String ?? "-", a: runs(a["runs"]), b: runs(b["runs"]),
            directions: (json["directions"] as? [String]) ?? compared.keys.sorted(), comparisons: compared,
            verdict: json["verdict"] as? String ?? "-", final: json["final"] as? String ?? "-")
    }

    static func probe(at path: String) throws -> ProbeInput {
        let json = try object(at: path)
        guard json["runs"] is [Any] else { throw ReportInputError(path: path, problem: "not the output of `probe --json` (no runs)") }
        return ProbeInput(peer: json["peer"] as? String ?? "-", runs: runs(json["runs"]))
    }

    static func runs(_ value: Any?) -> [Run] {
        ((value as? [Any]) ?? []).compactMap { item -> Run? in
            guard let run = item as? [String: Any], let throughput = number(run["throughput_bps"]) else { return nil }
            let gib = (number(run["bytes"]) ?? 0) / Double(1 << 30)
            func cpu(_ side: String) -> Double? {
                guard let end = run[side] as? [String: Any], let user = number(end["cpu_user_s"]), let system = number(end["cpu_sys_s"]), gib > 0
                else { return nil }
                return (user + system) / gib
            }
            let intervals = ((run["intervals"] as? [Any]) ?? []).compactMap { item -> (end: Double, throughput: Double)? in
                guard let interval = item as? [String: Any], let start = number(interval["start_s"]), let end = number(interval["end_s"]),
                    let bytes = number(interval["bytes"]), end > start
                else { return nil }
                return (end, bytes * 8 / (end - start))
            }
            return Run(
                method: run["method"] as? String ?? "-", direction: run["direction"] as? String ?? "send", throughput: throughput,
                senderCPUPerGiB: cpu("sender"), receiverCPUPerGiB: cpu("receiver"), intervals: intervals)
        }
    }

    /// A finite JSON number, else nil.
    static func number(_ value: Any?) -> Double? {
        guard let number = value as? NSNumber else { return nil }
        let double = number.doubleValue
        return double.isFinite ? double : nil
    }
}

struct ReportInputError: Error, CustomStringConvertible {
    var path: String
    var problem: String
    var description: String { "\(path): \(problem)" }
}
