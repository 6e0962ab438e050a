import NetTune

/// `nettune history` for people: one row per entry, the tuning by its label.
enum HistoryTable {
    static func render(_ entries: [HistoryEntry]) -> String {
        var rows = [["TIME", "PEER", "FROM", "METHOD", "WAY", "SIZE", "THROUGHPUT", "RUNS", "BOTTLENECK", "TUNING"]]
        for entry in entries {
            let way = entry.direction + (entry.streams > 1 ? " ×\(entry.streams)" : "")
            rows.append([
                ProbeTable.timestamp(entry.time), entry.peer, source(entry.source), entry.method, way, ByteCount(entry.bytes).description,
                Statistics.median(entry.throughputs).map { BitRate(bitsPerSecond: $0).description } ?? "-",
                String(entry.throughputs.count), entry.bottleneck ?? "-", tuning(entry)
            ])
        }
        return TextTable.render(rows, indent: "")
    }

    static func source(_ source: HistoryEntry.Source) -> String {
        switch source {
        case .probe: return "probe"
        case .applyA: return "A/B: A"
        case .applyB: return "A/B: B"
        }
    }

    /// The profile's name with its fingerprint, or the fingerprint alone (once).
    static func tuning(_ entry: HistoryEntry) -> String {
        let label = entry.fingerprint.label
        return label.hasSuffix(entry.fingerprintID) ? label : "\(label) (\(entry.fingerprintID))"
    }
}
