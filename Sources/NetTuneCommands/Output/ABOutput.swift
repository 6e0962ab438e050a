import Foundation
import NetTune

/// `apply --probe` for people: A against B, the ratio with its interval, a verdict.
enum ABOutput {
    static func render(_ result: ABResult) -> String {
        let a = result.a, b = result.b
        let method = a.methods.first?.rawValue ?? "?"
        let pairs = result.comparisons.values.compactMap { $0.throughput?.pairs }.max() ?? 0
        var out =
            "A/B: current (A) against profile \(result.plan.profile) (B): \(pairs) pairs of \(method) \(ByteCount(a.payloadBytes)) to \(a.peer), interleaved A B, B A …\n"
        out += "Changes in B: " + result.plan.changes.map(\.description).joined(separator: "; ") + "\n"
        out +=
            "Measured \(result.choice.directions.map(ProbeTable.describe).joined(separator: " and ")): "
            + result.choice.reasons.joined(separator: "; ") + "\n"
        if let cache = a.payloadCache { out += ProbeTable.payloadCacheLines(cache) }
        if let cache = a.peerPayloadCache { out += ProbeTable.payloadCacheLines(cache, server: true) }
        out += "\n"
        var rows = [["", "A (median)", "B (median)", "B/A", "95 % CI", ""]]
        for direction in result.choice.directions {
            guard let comparison = result.comparisons[direction] else { continue }
            let runsA = a.runs.filter { $0.direction == direction }, runsB = b.runs.filter { $0.direction == direction }
            let suffix = result.choice.directions.count > 1 ? " " + ProbeTable.arrow(direction) : ""
            func row(_ label: String, _ values: (RunResult) -> Double, _ c: Comparison?, format: (Double) -> String, higherIsBetter: Bool) {
                let medianA = Statistics.median(runsA.map(values)).map(format) ?? "-"
                let medianB = Statistics.median(runsB.map(values)).map(format) ?? "-"
                guard let c else {
                    rows.append([label + suffix, medianA, medianB, "-", "-", ""])
                    return
                }
                rows.append([
                    label + suffix, medianA, medianB, String(format: "%.3f×", c.ratio),
                    String(format: "[%.3f, %.3f]", c.lower, c.upper), describe(c.verdict(higherIsBetter: higherIsBetter))
                ])
            }
            row(
                "throughput", \.throughputBitsPerSecond, comparison.throughput, format: { BitRate(bitsPerSecond: $0).description },
                higherIsBetter: true)
            row("sender CPU-s/GiB", \.senderCPUSecondsPerGiB, comparison.senderCPU, format: { String(format: "%.3f", $0) }, higherIsBetter: false)
            row(
                "receiver CPU-s/GiB", \.receiverCPUSecondsPerGiB, comparison.receiverCPU, format: { String(format: "%.3f", $0) },
                higherIsBetter: false)
        }
        out += TextTable.render(rows, indent: "")
        for (label, report) in [("A", a), ("B", b)] {
            guard let method = report.methods.first else { continue }
            for direction in result.choice.directions {
                guard let diagnosis = report.diagnosis(of: method, direction: direction) else { continue }
                let which = result.choice.directions.count > 1 ? " (\(ProbeTable.describe(direction)))" : ""
                out += "\nDiagnosis \(label)\(which): \(diagnosis.bottleneck.rawValue)\n"
                for fact in diagnosis.evidence { out += "  - \(fact)\n" }
                out += "  \(diagnosis.advice)\n"
            }
        }
        out += "\nVerdict: \(describe(result.verdict)) in throughput"
        let parts = result.choice.directions.compactMap { direction -> String? in
            guard let c = result.comparisons[direction]?.throughput else { return nil }
            let name = result.choice.directions.count > 1 ? ProbeTable.describe(direction) + " " : ""
            return String(format: "%@B/A %.3f×, 95 %% CI [%.3f, %.3f]", name, c.ratio, c.lower, c.upper)
        }
        if !parts.isEmpty { out += " (" + parts.joined(separator: "; ") + ")" }
        out += ".\n"
        out +=
            result.keptB
            ? "Profile \(result.plan.profile) is applied; `nettune revert` restores the values before it.\n"
            : "The original values (A) are in place.\n"
        out += "Interval: paired t-interval on log(B/A) over the pairs.\n"
        return out
    }

    static func describe(_ verdict: Comparison.Verdict) -> String {
        switch verdict {
        case .better: return "better"
        case .worse: return "worse"
        case .noDifference: return "no detectable difference"
        }
    }
}

/// `apply --probe --json`.
struct ABJSON: Encodable {
    struct Side: Encodable {
        var runs: [ProbeJSON.Run]
        @Nullable var summary: ProbeJSON.Summary?
        @Nullable var diagnosis: DiagnosisJSON?

        var directions: [String: ProbeJSON.DirectionJSON]
        var local: TuningState

        init(_ report: ProbeReport) {
            runs = report.runs.map(ProbeJSON.Run.init)
            summary = report.methods.first.flatMap { report.summary(of: $0) }.map(ProbeJSON.Summary.init)
            diagnosis = report.methods.first.flatMap { report.diagnosis(of: $0) }.map(DiagnosisJSON.init)
            var perDirection: [String: ProbeJSON.DirectionJSON] = [:]
            if let method = report.methods.first {
                for way in report.directions {
                    perDirection[ProbeJSON.name(way)] = ProbeJSON.DirectionJSON(
                        summary: report.summary(of: method, direction: way).map(ProbeJSON.Summary.init),
                        diagnosis: report.diagnosis(of: method, direction: way).map(DiagnosisJSON.init))
                }
            }
            directions = perDirection
            local = report.local
        }
    }

    struct ComparisonJSON: Encodable {
        @Nullable var throughputRatio: Double?
        @Nullable var throughputCI: [Double]?
        @Nullable var senderCPURatio: Double?
        @Nullable var senderCPUCI: [Double]?
        @Nullable var receiverCPURatio: Double?
        @Nullable var receiverCPUCI: [Double]?
        var verdict: String
        var pairs: Int

        enum CodingKeys: String, CodingKey {
            case throughputRatio = "throughput_ratio"
            case throughputCI = "throughput_ci"
            case senderCPURatio = "sender_cpu_ratio"
            case senderCPUCI = "sender_cpu_ci"
            case receiverCPURatio = "receiver_cpu_ratio"
            case receiverCPUCI = "receiver_cpu_ci"
            case verdict, pairs
        }
    }

    var profile: String
    var peer: String
    var method: String
    var bytes: Int
    var changes: [PlanJSON.Setting]
    var directions: [String]
    var directionReasons: [String]
    @Nullable var directionWarning: String?
    var a: Side
    var b: Side
    var comparisons: [String: ComparisonJSON]
    var verdict: String
    var final: String
    @Nullable var payloadCache: ProbeJSON.PayloadCacheJSON?
    @Nullable var peerPayloadCache: ProbeJSON.PayloadCacheJSON?

    enum CodingKeys: String, CodingKey {
        case profile, peer, method, bytes, changes, directions
        case directionReasons = "direction_reasons"
        case directionWarning = "direction_warning"
        case a, b, comparisons, verdict, final
        case payloadCache = "payload_cache"
        case peerPayloadCache = "peer_payload_cache"
    }

    init(_ result: ABResult) {
        profile = result.plan.profile
        peer = result.a.peer.description
        method = result.a.methods.first?.rawValue ?? ""
        bytes = result.a.payloadBytes
        changes = result.plan.changes.map(PlanJSON.Setting.init)
        directions = result.choice.directions.map(ProbeJSON.name)
        directionReasons = result.choice.reasons
        directionWarning = result.choice.warning
        a = Side(result.a)
        b = Side(result.b)
        var all: [String: ComparisonJSON] = [:]
        for (direction, c) in result.comparisons {
            all[ProbeJSON.name(direction)] = ComparisonJSON(
                throughputRatio: c.throughput?.ratio, throughputCI: c.throughput.map { [$0.lower, $0.upper] },
                senderCPURatio: c.senderCPU?.ratio, senderCPUCI: c.senderCPU.map { [$0.lower, $0.upper] },
                receiverCPURatio: c.receiverCPU?.ratio, receiverCPUCI: c.receiverCPU.map { [$0.lower, $0.upper] },
                verdict: c.verdict.rawValue, pairs: c.throughput?.pairs ?? 0)
        }
        comparisons = all
        verdict = result.verdict.rawValue
        final = result.keptB ? "b" : "a"
        payloadCache = result.a.payloadCache.map(ProbeJSON.PayloadCacheJSON.init)
        peerPayloadCache = result.a.peerPayloadCache.map(ProbeJSON.PayloadCacheJSON.init)
    }
}
