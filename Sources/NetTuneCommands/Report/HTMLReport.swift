import Foundation
import NetTune

/// `nettune report`: one self-contained HTML page (inline SVG and CSS, no script,
/// nothing fetched) with the A/B comparison, a probe's intervals and runs, and the
/// history over time.
enum HTMLReport {
    static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"]

    static func render(ab: ReportInputs.ABInput?, probe: ReportInputs.ProbeInput?, history: [HistoryEntry], generated: Date) -> String {
        var body = ""
        if let ab { body += section(ab) }
        if let probe { body += section(probe) }
        if !history.isEmpty { body += section(history) }
        if body.isEmpty { body = "<p>Nothing to show: give --ab, --probe or a history with results.</p>\n" }
        let stamp = ISO8601DateFormatter().string(from: generated)
        return """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><title>nettune report</title>
            <style>
            body { font-family: sans-serif; margin: 24px; color: #222; max-width: 820px; }
            h1 { font-size: 22px; } h2 { font-size: 18px; margin-top: 32px; border-bottom: 1px solid #ccc; }
            .verdict { font-size: 15px; } .better { color: #2ca02c; } .worse { color: #d62728; } .no-difference { color: #555; }
            svg { display: block; margin: 12px 0; background: #fff; }
            </style></head><body>
            <h1>nettune report</h1>
            <p>Made \(SVGChart.escape(stamp)) by nettune \(NetTuneVersion.current).</p>
            \(body)</body></html>

            """
    }

    static func rate(_ bps: Double) -> String { BitRate(bitsPerSecond: bps).description }

    static func section(_ ab: ReportInputs.ABInput) -> String {
        var out = "<h2>Did it help? \(SVGChart.escape(ab.profile)) against the current tuning, to \(SVGChart.escape(ab.peer))</h2>\n"
        out +=
            "<p class=\"verdict \(SVGChart.escape(ab.verdict))\">Verdict: <b>\(SVGChart.escape(ab.verdict))</b>; \(ab.final == "b" ? "the profile stayed applied" : "the original values are in place").</p>\n"
        for direction in ab.directions {
            let a = ab.a.filter { $0.direction == direction }, b = ab.b.filter { $0.direction == direction }
            if let c = ab.comparisons[direction] {
                var text = "\(direction): B/A "
                if let ratio = c.ratio { text += String(format: "%.2f×", ratio) }
                if let low = c.low, let high = c.high { text += String(format: ", 95 %% interval [%.2f, %.2f]", low, high) }
                out += "<p class=\"verdict \(SVGChart.escape(c.verdict))\">\(SVGChart.escape(text)) — \(SVGChart.escape(c.verdict))</p>\n"
            }
            out += SVGChart(
                title: "Throughput per pair, \(direction)", xLabel: "pair", yLabel: "throughput (bit/s)",
                series: [
                    .init(
                        name: "A (current)", color: palette[0], style: .points,
                        points: a.enumerated().map { (Double($0.offset + 1), $0.element.throughput) }),
                    .init(
                        name: "B (\(ab.profile))", color: palette[1], style: .points,
                        points: b.enumerated().map { (Double($0.offset + 1), $0.element.throughput) })
                ], yFormat: rate, integerX: true
            ).render()
            let cpuA = a.enumerated().compactMap { run in run.element.senderCPUPerGiB.map { (Double(run.offset + 1), $0) } }
            let cpuB = b.enumerated().compactMap { run in run.element.senderCPUPerGiB.map { (Double(run.offset + 1), $0) } }
            if !cpuA.isEmpty || !cpuB.isEmpty {
                out += SVGChart(
                    title: "Sender CPU per GiB per pair, \(direction)", xLabel: "pair", yLabel: "CPU-seconds per GiB",
                    series: [
                        .init(name: "A (current)", color: palette[0], style: .bars, points: cpuA),
                        .init(name: "B (\(ab.profile))", color: palette[1], style: .bars, points: cpuB)
                    ], yFormat: { String(format: "%.2f", $0) }, integerX: true
                ).render()
            }
        }
        return out
    }

    static func section(_ probe: ReportInputs.ProbeInput) -> String {
        var out = "<h2>Probe to \(SVGChart.escape(probe.peer))</h2>\n"
        let columns = Array(Set(probe.runs.map { "\($0.method) \($0.direction)" })).sorted()
        for column in columns {
            let runs = probe.runs.filter { "\($0.method) \($0.direction)" == column }
            guard runs.contains(where: { !$0.intervals.isEmpty }) else { continue }
            out += SVGChart(
                title: "Throughput per interval, \(column)", xLabel: "time since the run began (s)", yLabel: "throughput (bit/s)",
                series: runs.enumerated().map { index, run in
                    .init(
                        name: "run \(index + 1)", color: palette[index % palette.count], style: .line,
                        points: run.intervals.map { ($0.end, $0.throughput) })
                }, xFormat: { String(format: "%.1f", $0) }, yFormat: rate
            ).render()
        }
        out += SVGChart(
            title: "Throughput per run", xLabel: "run", yLabel: "throughput (bit/s)",
            series: columns.enumerated().map { index, column in
                let runs = probe.runs.filter { "\($0.method) \($0.direction)" == column }
                return .init(
                    name: column, color: palette[index % palette.count], style: .bars,
                    points: runs.enumerated().map { (Double($0.offset + 1), $0.element.throughput) })
            }, yFormat: rate, integerX: true
        ).render()
        return out
    }

    static func section(_ history: [HistoryEntry]) -> String {
        var out = "<h2>History</h2>\n"
        let peers = history.reduce(into: [String]()) { if !$0.contains($1.peer) { $0.append($1.peer) } }
        for peer in peers {
            let entries = history.filter { $0.peer == peer }.sorted { $0.time < $1.time }
            // One colour per tuning (fingerprint), named by its profile where one was applied.
            let ids = entries.reduce(into: [String]()) { if !$0.contains($1.fingerprintID) { $0.append($1.fingerprintID) } }
            // A change of tuning from one result to the next starts a new baseline.
            var markers: [SVGChart.Marker] = []
            for (previous, entry) in zip(entries, entries.dropFirst()) where previous.fingerprintID != entry.fingerprintID {
                markers.append(.init(x: Double(entry.time), label: "→ \(tuning(entries.filter { $0.fingerprintID == entry.fingerprintID }))"))
            }
            let span = Double(entries.last?.time ?? 0) - Double(entries.first?.time ?? 0)
            out += SVGChart(
                title: "Throughput over time to \(peer)", xLabel: "date (UTC)", yLabel: "median throughput (bit/s)",
                series: ids.enumerated().map { index, id in
                    let group = entries.filter { $0.fingerprintID == id }
                    return .init(
                        name: tuning(group), color: palette[index % palette.count], style: .points,
                        points: group.compactMap { entry in Statistics.median(entry.throughputs).map { (Double(entry.time), $0) } })
                }, markers: markers, xFormat: { date($0, span: span) }, yFormat: rate
            ).render()
        }
        return out
    }

    /// A tuning's name: the profile applied under it, if any entry knew one, with the fingerprint.
    static func tuning(_ group: [HistoryEntry]) -> String {
        guard let id = group.first?.fingerprintID else { return "-" }
        let profile = group.map(\.fingerprint.label).last { !$0.hasPrefix("fingerprint ") }
        return profile.map { "\($0) (\(id))" } ?? "fingerprint \(id)"
    }

    /// As much of the date as tells the ticks of a `span` (seconds) apart.
    static func date(_ seconds: Double, span: Double) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = span < 3_600 ? "HH:mm:ss" : (span < 3 * 86_400 ? "MM-dd HH:mm" : "yyyy-MM-dd")
        return formatter.string(from: Date(timeIntervalSince1970: seconds))
    }
}
