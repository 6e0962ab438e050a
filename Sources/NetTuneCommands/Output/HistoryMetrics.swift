import NetTune

/// `nettune history --format openmetrics`: the latest result of each series (peer,
/// method, direction, streams, source) as gauges, for node_exporter's textfile
/// collector. The text is valid OpenMetrics and Prometheus text format 0.0.4 alike:
/// gauges only, no sample timestamps (the collector refuses them), `# EOF` last.
enum HistoryMetrics {
    struct Family: Sendable {
        var name: String
        var help: String
        var value: @Sendable (HistoryEntry) -> Double?
    }

    static let families: [Family] = [
        // Prometheus counts in base units: bytes, not bits.
        Family(name: "nettune_throughput_bytes_per_second", help: "Median throughput of the latest result's runs.") {
            Statistics.median($0.throughputs).map { $0 / 8 }
        },
        Family(name: "nettune_sender_cpu_seconds_per_gibibyte", help: "Median CPU-seconds per GiB of the sending process.") {
            Statistics.median($0.senderCPUSecondsPerGiB)
        },
        Family(name: "nettune_receiver_cpu_seconds_per_gibibyte", help: "Median CPU-seconds per GiB of the receiving process.") {
            Statistics.median($0.receiverCPUSecondsPerGiB)
        },
        Family(name: "nettune_retransmits", help: "Median retransmitted segments per run, as the sender counted them.") {
            $0.retransmits.flatMap { Statistics.median($0.map(Double.init)) }
        },
        Family(name: "nettune_runs", help: "Runs in the latest result.") { Double($0.throughputs.count) },
        Family(name: "nettune_result_timestamp_seconds", help: "When the latest result was measured (Unix time).") { Double($0.time) }
    ]

    /// The latest entry of each series, in the order the series first appeared.
    static func latest(_ entries: [HistoryEntry]) -> [HistoryEntry] {
        var order: [String] = []
        var last: [String: HistoryEntry] = [:]
        for entry in entries {
            let key = [entry.peer, entry.method, entry.direction, String(entry.streams), entry.source.rawValue].joined(separator: "\u{0}")
            if last[key] == nil { order.append(key) }
            if (last[key]?.time ?? .min) <= entry.time { last[key] = entry }
        }
        return order.compactMap { last[$0] }
    }

    static func render(_ entries: [HistoryEntry]) -> String {
        let series = latest(entries)
        var out = ""
        for family in families {
            let samples = series.compactMap { entry in family.value(entry).map { (entry, $0) } }
            guard !samples.isEmpty else { continue }
            out += "# HELP \(family.name) \(family.help)\n# TYPE \(family.name) gauge\n"
            for (entry, value) in samples { out += "\(family.name){\(labels(entry))} \(number(value))\n" }
        }
        // An enumeration as Prometheus writes one: a sample per state, 1 for the current.
        let judged = series.filter { $0.verdict != nil }
        if !judged.isEmpty {
            out += "# HELP nettune_verdict The A/B verdict, or a probe's change against its baseline (1 = this verdict).\n"
            out += "# TYPE nettune_verdict gauge\n"
            for entry in judged {
                for verdict in ["better", "worse", "no-difference"] {
                    out += "nettune_verdict{\(labels(entry)),verdict=\"\(verdict)\"} \(entry.verdict?.rawValue == verdict ? 1 : 0)\n"
                }
            }
        }
        return out + "# EOF\n"
    }

    static func labels(_ entry: HistoryEntry) -> String {
        let pairs = [
            ("peer", entry.peer), ("method", entry.method), ("direction", entry.direction), ("streams", String(entry.streams)),
            ("source", entry.source.rawValue), ("fingerprint", entry.fingerprintID), ("tuning", entry.fingerprint.label)
        ]
        return pairs.map { "\($0.0)=\"\(escape($0.1))\"" }.joined(separator: ",")
    }

    /// Label values escape backslash, double quote and line feed.
    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }

    static func number(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return String(value)
    }
}
