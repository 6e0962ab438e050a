import Foundation
import NetTune

/// `apply --probe` for people: A against B, the ratio with its interval, a verdict.
enum ABOutput {
    static func render(_ result: ABResult) -> String {
        let a = result.a, b = result.b
        let method = a.methods.first?.rawValue ?? "?"
        var out = "A/B: current (A) against profile \(result.plan.profile) (B): \(result.throughput?.pairs ?? 0) pairs of \(method) \(ByteCount(a.payloadBytes)) to \(a.peer), interleaved A B A B …\n"
        out += "Changes in B: " + result.plan.changes.map(\.description).joined(separator: "; ") + "\n\n"
        var rows = [["", "A (median)", "B (median)", "B/A", "95 % CI", ""]]
        func row(_ label: String, _ values: (RunResult) -> Double, _ comparison: Comparison?, format: (Double) -> String, higherIsBetter: Bool) {
            let medianA = Statistics.median(a.runs.map(values)).map(format) ?? "-"
            let medianB = Statistics.median(b.runs.map(values)).map(format) ?? "-"
            guard let c = comparison else {
                rows.append([label, medianA, medianB, "-", "-", ""])
                return
            }
            rows.append([label, medianA, medianB, String(format: "%.3f×", c.ratio),
                         String(format: "[%.3f, %.3f]", c.lower, c.upper), describe(c.verdict(higherIsBetter: higherIsBetter))])
        }
        row("throughput", \.throughputBitsPerSecond, result.throughput, format: { BitRate(bitsPerSecond: $0).description }, higherIsBetter: true)
        row("sender CPU-s/GiB", \.senderCPUSecondsPerGiB, result.senderCPU, format: { String(format: "%.3f", $0) }, higherIsBetter: false)
        row("receiver CPU-s/GiB", \.receiverCPUSecondsPerGiB, result.receiverCPU, format: { String(format: "%.3f", $0) }, higherIsBetter: false)
        out += TextTable.render(rows, indent: "")
        for (label, report) in [("A", a), ("B", b)] {
            guard let method = report.methods.first, let diagnosis = report.diagnosis(of: method) else { continue }
            out += "\nDiagnosis \(label): \(diagnosis.bottleneck.rawValue)\n"
            for fact in diagnosis.evidence { out += "  - \(fact)\n" }
            out += "  \(diagnosis.advice)\n"
        }
        out += "\nVerdict: \(describe(result.verdict)) in throughput"
        if let c = result.throughput { out += String(format: " (B/A %.3f×, 95 %% CI [%.3f, %.3f])", c.ratio, c.lower, c.upper) }
        out += ".\n"
        out += result.keptB
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

        init(_ report: ProbeReport) {
            runs = report.runs.map(ProbeJSON.Run.init)
            summary = report.methods.first.flatMap(report.summary(of:)).map(ProbeJSON.Summary.init)
            diagnosis = report.methods.first.flatMap(report.diagnosis(of:)).map(DiagnosisJSON.init)
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
            case throughputRatio = "throughput_ratio", throughputCI = "throughput_ci", senderCPURatio = "sender_cpu_ratio"
            case senderCPUCI = "sender_cpu_ci", receiverCPURatio = "receiver_cpu_ratio", receiverCPUCI = "receiver_cpu_ci"
            case verdict, pairs
        }
    }

    var profile: String
    var peer: String
    var method: String
    var bytes: Int
    var changes: [PlanJSON.Setting]
    var a: Side
    var b: Side
    var comparison: ComparisonJSON
    var final: String

    init(_ result: ABResult) {
        profile = result.plan.profile
        peer = result.a.peer.description
        method = result.a.methods.first?.rawValue ?? ""
        bytes = result.a.payloadBytes
        changes = result.plan.changes.map(PlanJSON.Setting.init)
        a = Side(result.a)
        b = Side(result.b)
        comparison = ComparisonJSON(
            throughputRatio: result.throughput?.ratio, throughputCI: result.throughput.map { [$0.lower, $0.upper] },
            senderCPURatio: result.senderCPU?.ratio, senderCPUCI: result.senderCPU.map { [$0.lower, $0.upper] },
            receiverCPURatio: result.receiverCPU?.ratio, receiverCPUCI: result.receiverCPU.map { [$0.lower, $0.upper] },
            verdict: result.verdict.rawValue, pairs: result.throughput?.pairs ?? 0)
        final = result.keptB ? "b" : "a"
    }
}
