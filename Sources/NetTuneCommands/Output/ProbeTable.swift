import Foundation
import NetTune

/// `nettune probe` for people: one column per method, medians with their spread.
enum ProbeTable {
    /// What the probe measures and from where: printed before the first byte when
    /// the probe shows its intervals live, else at the top of the table.
    static func header(_ report: ProbeReport, resolved: String? = nil) -> String {
        let address = resolved.map { $0 == report.peer.description || "iperf3://" + $0 == report.peer.description ? "" : " (\($0))" } ?? ""
        var out = "Probe to \(report.peer)\(address): \(describe(report.direction))"
        out += report.streams > 1 ? ", \(report.streams) streams each way" : ""
        out += report.direction == .receive ? " of the server's payload\n" : ", \(ByteCount(report.payloadBytes)) from \(report.payloadPath)\n"
        var environment = "Linux \(report.kernel)"
        if let congestion = report.congestion ?? report.local.congestion { environment += ", congestion \(congestion)" }
        if let egress = report.egressInterface { environment += ", egress \(egress)" + (report.mtu.map { " (MTU \($0))" } ?? "") }
        return out + environment + "\n"
    }

    /// Said only when the page cache did not hold the payload: what was read before
    /// the runs, and what the runs still read from the disk. `server`: the payload
    /// the server sent, from its own page cache.
    static func payloadCacheLines(_ cache: PayloadCacheLoad, server: Bool = false) -> String {
        func percent(_ share: Double) -> String { "\(Int((share * 100).rounded(.up))) %" }
        let time = TimeSpan.format(.milliseconds(Int64(cache.seconds * 1000)))
        var out = ""
        if cache.coldShare > 0 {
            out +=
                server
                ? "server payload: \(percent(cache.coldShare)) of it was not in its page cache; the server prepared it before the runs (\(time))\n"
                : "payload: \(percent(cache.coldShare)) of it was not in the page cache; read before the runs (\(time))\n"
        }
        if cache.uncachedShare > 0.01 {
            out +=
                server
                ? "warning: \(percent(cache.uncachedShare)) of the server's payload does not stay in its page cache (too little free memory there): "
                    + "the runs read it from the server's disk and measure that disk too; a smaller serve --payload-size (or --file) on the server avoids that\n"
                : "warning: \(percent(cache.uncachedShare)) of the payload does not stay in the page cache (too little free memory): "
                    + "the runs read it from the disk and measure the disk too; a smaller --size avoids that\n"
        }
        return out
    }

    /// The column heads above live interval lines.
    static let intervalColumns =
        pad("run", 6) + pad("way", 8) + pad("interval", 16) + pad("transfer", 11, right: true) + pad("throughput", 14, right: true)
        + pad("retr", 8, right: true) + pad("cwnd", 12, right: true) + pad("rtt", 10, right: true)

    /// One interval as iperf3 prints it: time range, bytes, rate, and the sender's
    /// retransmits, congestion window and RTT when this machine sent.
    static func intervalLine(_ stage: ProbeStage, _ ended: DirectedInterval) -> String {
        var run = "-"
        if case .run(let index, let total) = stage { run = "\(index)/\(total)" }
        let interval = ended.interval
        let range = String(format: "%.2f-%.2f s", interval.start, interval.end)
        let retransmits = interval.retransmits.map(String.init) ?? "-"
        let cwnd = interval.congestionWindowBytes.map { ByteCount(Int(clamping: $0)).description } ?? "-"
        let rtt = interval.rttMicroseconds.map { String(format: "%.2f ms", Double($0) / 1000) } ?? "-"
        return pad(run, 6) + pad(ended.direction == .send ? "send" : "receive", 8) + pad(range, 16)
            + pad(ByteCount(Int(clamping: interval.bytes)).description, 11, right: true)
            + pad(BitRate(bitsPerSecond: interval.bitsPerSecond).description, 14, right: true)
            + pad(retransmits, 8, right: true) + pad(cwnd, 12, right: true) + pad(rtt, 10, right: true)
    }

    private static func pad(_ text: String, _ width: Int, right: Bool = false) -> String {
        let fill = String(repeating: " ", count: max(0, width - text.count))
        return right ? fill + text : text + fill
    }

    /// The table; `headerShown` leaves out the header already printed before the first byte.
    static func render(_ report: ProbeReport, headerShown: Bool = false) -> String {
        var out = headerShown ? "" : header(report)
        if let remote = report.remote {
            var server =
                "server: "
                + [
                    remote.version.map { "nettune \($0)" }, remote.kernel.map { "Linux \($0)" },
                    remote.tcpRmem.map { "tcp_rmem \($0)" }, remote.tcpWmem.map { "tcp_wmem \($0)" }
                ]
                .compactMap { $0 }.joined(separator: ", ")
            if let mtu = remote.mtu { server += ", MTU \(mtu)" }
            out += server + "\n"
        } else if report.peer.peerProtocol == .iperf3 {
            out += "server: iperf3 (it reports bytes, its process CPU and retransmits; not its version, tuning or TCP_INFO)\n"
        }
        if let cache = report.payloadCache { out += payloadCacheLines(cache) }
        if let cache = report.peerPayloadCache { out += payloadCacheLines(cache, server: true) }
        out += "\n"

        // One column per method and direction.
        let columns = report.methods.flatMap { method in report.directions.map { (method, $0) } }
        let twoWays = report.directions.count > 1
        var rows: [[String]] = [[""] + columns.map { twoWays ? "\($0.0.rawValue) \(arrow($0.1))" : $0.0.rawValue }]
        func row(_ label: String, _ cell: ([RunResult]) -> String) {
            rows.append([label] + columns.map { cell(report.runs(of: $0.0, direction: $0.1)) })
        }
        let runsPerColumn = columns.first.map { report.runs(of: $0.0, direction: $0.1).count } ?? 0
        row("throughput") { runs in
            let values = runs.map(\.throughputBitsPerSecond)
            guard let median = Statistics.median(values) else { return "-" }
            return "\(BitRate(bitsPerSecond: median))  \(Int((median / 8 / 1e6).rounded())) MB/s"
        }
        if runsPerColumn > 1 {
            row("  spread (\(runsPerColumn) runs)") { runs in
                let values = runs.map(\.throughputBitsPerSecond)
                guard let low = values.min(), let high = values.max() else { return "-" }
                let cv = Statistics.coefficientOfVariation(values).map { String(format: ", CV %.1f %%", $0 * 100) } ?? ""
                return "\(BitRate(bitsPerSecond: low).description)–\(BitRate(bitsPerSecond: high).description)\(cv)"
            }
        }
        if report.streams > 1 {
            row("  per stream") { runs in
                guard let run = medianRun(runs) else { return "-" }
                let rates = run.streams.map(\.throughputBitsPerSecond)
                guard let low = rates.min(), let high = rates.max() else { return "-" }
                let fairness = run.fairness.map { String(format: ", fairness %.3f", $0) } ?? ""
                return "\(BitRate(bitsPerSecond: low).description)–\(BitRate(bitsPerSecond: high).description)\(fairness)"
            }
        }
        row("time per run") { runs in
            guard let median = Statistics.median(runs.map(\.seconds)), let bytes = runs.first?.bytes else { return "-" }
            return String(format: "%.3f s for ", median) + ByteCount(Int(bytes)).description
        }
        row("sender CPU") { runs in cpu(runs, \.sender) }
        row("receiver CPU") { runs in cpu(runs, \.receiver) }
        row("host CPU busy (sender)") { runs in hostBusy(runs, \.sender) }
        row("retransmits") { runs in
            Statistics.median(runs.map { Double($0.tcpInfo.totalRetransmits) }).map { String(Int($0)) } ?? "-"
        }
        row("RTT (min)") { all in
            let runs = all.filter { $0.tcpInfoFrom != .unavailable }
            guard let rtt = Statistics.median(runs.map { Double($0.tcpInfo.rttMicroseconds) }) else { return "not reported" }
            let min = Statistics.median(runs.compactMap { $0.tcpInfo.minRTTMicroseconds.map { Double($0) } })
            return "\(Int(rtt)) µs" + (min.map { " (\(Int($0)) µs)" } ?? "")
        }
        // The run the diagnosis reads: a median of per-run shares could disagree with it.
        row(runsPerColumn > 1 ? "limited by (median run)" : "limited by") { runs in limitedBy(medianRun(runs)) }
        out += TextTable.render(rows, indent: "")

        for (method, direction) in columns {
            let runs = report.runs(of: method, direction: direction)
            guard let chartRun = medianRun(runs), !chartRun.intervals.isEmpty else { continue }
            out +=
                "\n\(method.rawValue)\(twoWays ? " " + arrow(direction) : ""), per interval (run at the median): "
                + Sparkline.render(chartRun.intervals.map(\.bitsPerSecond))
            if let peak = chartRun.intervals.map(\.bitsPerSecond).max() { out += "  peak \(BitRate(bitsPerSecond: peak))" }
            out += "\n"
        }
        for (method, direction) in columns {
            guard let diagnosis = report.diagnosis(of: method, direction: direction) else { continue }
            let source: String
            switch report.runs(of: method, direction: direction).first?.tcpInfoFrom {
            case .peer: source = "from the server's TCP_INFO"
            case .unavailable: source = "without the sender's TCP_INFO"
            default: source = "from this machine's TCP_INFO"
            }
            out += "\nDiagnosis (\(method.rawValue)\(twoWays ? ", " + describe(direction) : ""), \(source)): \(diagnosis.bottleneck.rawValue)\n"
            for fact in diagnosis.evidence { out += "  - \(fact)\n" }
            out += "  \(diagnosis.advice)\n"
        }
        out += "\nCPU: % of one core and CPU-seconds per GiB from each process's getrusage (iperf3's meter);\n"
        out += "on veth and loopback the kernel charges network work to whichever end triggers it, so compare host busy too.\n"
        if twoWays {
            // getrusage cannot split a process's time by direction; iperf3's --bidir has one figure too.
            out += "Both ways at once: each process sent and received, so its CPU covers both directions,\n"
            out += "and each direction's CPU per GiB counts the other direction's work as well.\n"
        }
        return out
    }

    static func describe(_ direction: ProbeDirection) -> String {
        switch direction {
        case .send: return "sending"
        case .receive: return "receiving (the server sends)"
        case .both: return "both ways at once"
        }
    }

    static func arrow(_ direction: ProbeDirection) -> String {
        direction == .send ? "(send)" : "(receive)"
    }

    /// "vs 2026-11-20 14:03 under kernel-default: throughput +3.1 % [−0.5, +6.8], no detectable difference"
    static func baselineLine(_ change: BaselineChange) -> String {
        func percent(_ ratio: Double) -> String { String(format: "%+.1f", (ratio - 1) * 100) }
        var line = "vs \(timestamp(change.baseline.time)) under \(change.baseline.fingerprint.label): throughput \(percent(change.throughputRatio)) %"
        if let interval = change.interval {
            line += " [\(percent(interval.lower)), \(percent(interval.upper))], " + ABOutput.describe(change.verdict)
        } else {
            line += " (one run on a side: no interval)"
        }
        return line
    }

    static func timestamp(_ time: Int) -> String {
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyy-MM-dd HH:mm"
        formatter.locale = Locale(identifier: "en_US_POSIX")
        return formatter.string(from: Date(timeIntervalSince1970: TimeInterval(time)))
    }

    /// What a run waits for before its transfer, if it waits.
    static func waitingText(_ progress: ProbeProgress) -> String? {
        if let position = progress.queuePosition { return "queued at the server, position \(position) …" }
        if let preparing = progress.serverPreparing {
            let share = preparing.bytes > 0 ? Int(Double(preparing.read) / Double(preparing.bytes) * 100) : 100
            return "the server is preparing its payload (\(ByteCount(Int(clamping: preparing.bytes)))), \(share) % …"
        }
        return nil
    }

    static func progressLine(_ stage: ProbeStage, _ progress: ProbeProgress) -> String {
        let label: String
        switch stage {
        case .loadingPayload:
            return "warm-up: reading the payload (\(ByteCount(Int(clamping: progress.totalBytes ?? 0)))) into the page cache …"
        case .warmup: label = "warm-up"
        case .run(let index, let total): label = "run \(index)/\(total)"
        }
        if let waiting = waitingText(progress) { return "\(label): \(waiting)" }
        let rate = progress.elapsed > .zero ? BitRate(bitsPerSecond: Double(progress.bytes) * 8 / progress.elapsed.seconds).description : ""
        let amount =
            progress.totalBytes.map { "\(ByteCount(Int(clamping: progress.bytes))) of \(ByteCount(Int(clamping: $0)))" }
            ?? "\(ByteCount(Int(clamping: progress.bytes))) in \(Int(progress.elapsed.seconds)) s"
        // A sized run's time left, at the rate so far, and the probe's: on a slow link
        // the default 230 MiB takes minutes a run, and the runs still to come multiply it.
        var left = ""
        if let total = progress.totalBytes, progress.bytes > 0, total > progress.bytes, progress.elapsed > .milliseconds(500) {
            let perByte = progress.elapsed.seconds / Double(progress.bytes)
            let seconds = Double(total - progress.bytes) * perByte
            left = ", ~\(Self.roughly(seconds)) left"
            if case .run(let index, let runs) = stage, index < runs {
                left += " (~\(Self.roughly(seconds + Double(runs - index) * Double(total) * perByte)) in all)"
            }
        }
        return "\(label) \(progress.method.rawValue): \(amount)  \(rate)\(left)"
    }

    private static func roughly(_ seconds: Double) -> String {
        TimeSpan.format(.milliseconds(Int64(min(seconds, 1e7) * 1000)))
    }

    private static func cpu(_ runs: [RunResult], _ side: KeyPath<RunResult, CPUUsage>) -> String {
        guard let perGiB = Statistics.median(runs.map { $0[keyPath: side].processSeconds / max(Double($0.bytes) / Double(1 << 30), 1e-12) }),
            let percent = Statistics.median(runs.map { $0.seconds > 0 ? $0[keyPath: side].processSeconds / $0.seconds * 100 : 0 })
        else { return "-" }
        return String(format: "%.0f %% of a core, %.3f s/GiB", percent, perGiB)
    }

    private static func hostBusy(_ runs: [RunResult], _ side: KeyPath<RunResult, CPUUsage>) -> String {
        let shares = runs.compactMap { $0[keyPath: side].hostShares }
        guard let busy = Statistics.median(shares.map { $0.busy * 100 }),
            let softirq = Statistics.median(shares.map { $0.softirq * 100 })
        else {
            // Known, but every run ended within one of /proc/stat's ticks.
            if !runs.isEmpty, runs.allSatisfy({ $0[keyPath: side].hostTotalSeconds == 0 }) { return "runs too short to count (10 ms ticks)" }
            return "not reported"
        }
        return String(format: "%.0f %% of all CPUs (softirq %.0f %%)", busy, softirq)
    }

    private static func limitedBy(_ run: RunResult?) -> String {
        guard let info = run?.tcpInfo, let busy = info.busyMicroseconds, busy > 0 else { return "-" }
        let rwnd = Double(info.rwndLimitedMicroseconds ?? 0) / Double(busy) * 100
        let sndbuf = Double(info.sndbufLimitedMicroseconds ?? 0) / Double(busy) * 100
        return String(format: "rwnd %.0f %%, sndbuf %.0f %% of busy time", rwnd, sndbuf)
    }

    private static func medianRun(_ runs: [RunResult]) -> RunResult? {
        let sorted = runs.sorted { $0.throughputBitsPerSecond < $1.throughputBitsPerSecond }
        return sorted.isEmpty ? nil : sorted[sorted.count / 2]
    }
}

/// A one-line chart: ▁▂▃▄▅▆▇█ scaled from zero to the largest value.
enum Sparkline {
    static let bars: [Character] = ["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"]

    static func render(_ values: [Double]) -> String {
        guard let top = values.max(), top > 0 else { return String(repeating: bars[0], count: values.count) }
        return String(
            values.map { value in
                bars[min(bars.count - 1, max(0, Int((value / top * Double(bars.count - 1)).rounded())))]
            })
    }
}
